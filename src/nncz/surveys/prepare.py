"""A model's features from a survey file, with the training cuts; rows keep their place.

>>> inputs, cut = prepare_for_model(sweep, "lsdr10", model.required_columns_)  # doctest: +SKIP

The cuts, magnitudes and dust correction are those of the training sets
(:func:`nncz.surveys.select_lsdr10`, :func:`nncz.surveys.select_ps1`, called the same way as
:mod:`nncz.datasets` calls them). A row that fails a cut keeps its place: its features are NaN
and ``cut`` names the first cut it failed ('' where it passed every cut).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from nncz.funnel import Funnel
from nncz.surveys.layouts import LayoutError
from nncz.surveys.normalise import canonical_columns, has_i_band, require_layout
from nncz.surveys.read import Inputs, read_survey

__all__ = ["SURVEY_ALIASES", "read_photometry", "require_i_band", "prepare_for_model",
           "model_input_chunks", "apply_cut_flags", "CUT_COLUMN"]

#: --survey spellings -> survey adapter
SURVEY_ALIASES: dict[str, str] = {"lsdr10": "lsdr10", "lsdr9": "lsdr10", "lsdr8": "lsdr10",
                                  "ls": "lsdr10", "legacysurvey": "lsdr10", "ps1": "ps1",
                                  "ps1dr2": "ps1"}
CUT_COLUMN = "nncz_cut"
ROW = "_nncz_input_row"


def _survey_key(survey: str) -> str:
    key = SURVEY_ALIASES.get(str(survey).lower().replace("_", "").replace("-", ""))
    if key is None:
        raise ValueError(f"--survey {survey!r} not known; use one of {sorted(SURVEY_ALIASES)}")
    return key


def read_photometry(inputs: Inputs, survey: str, required: Sequence[str], purpose: str,
                    extra: Sequence[str] = ()) -> tuple[pd.DataFrame, str]:
    """Read a photometric table in any known layout and check the columns ``purpose`` needs.

    Returns
    -------
    (DataFrame, source)
        Canonical names; raises one :class:`LayoutError` naming the layout and the missing
        columns.
    """
    columns = list(dict.fromkeys([*canonical_columns(survey), *extra]))
    table, layout, source = read_survey(inputs, survey, columns, what=f"{survey} table")
    require_layout(table, layout, list(required), source, purpose)
    return table, source


def require_i_band(table: pd.DataFrame, source: str, bands: Sequence[str],
                   purpose: str) -> None:
    """Refuse, in one line, an LS table without any observed i band for a set that needs i."""
    if "i" in bands and not has_i_band(table):
        raise LayoutError(f"{source}: no observed i band in this Legacy Surveys table (DR8/DR9 "
                          f"files and the north have none), but {purpose} needs mag_i; use a "
                          "g r z W1 W2 model (feature set lsdr10_noi) or lsdr10_ps1i (i from PS1)")


class _RowFunnel(Funnel):
    """A funnel that also remembers, per input row, the first cut the row failed."""

    def __init__(self, n_rows: int) -> None:
        super().__init__("prepare")
        self.failed = np.full(n_rows, "", dtype=object)

    def apply(self, df: pd.DataFrame, keep, cut: str, stage: str = "") -> pd.DataFrame:
        keep = np.asarray(keep, dtype=bool)
        if ROW in df.columns and keep.shape == (len(df),):
            self.failed[df[ROW].to_numpy()[~keep]] = cut
        return super().apply(df, keep, cut, stage)


def _ls_bands(features: Sequence[str]) -> tuple[str, ...]:
    from nncz.surveys.lsdr10 import LS_BANDS

    return tuple(b for b in LS_BANDS if f"mag_{b}" in features or f"magerr_{b}" in features)


def _required(key: str, extra: Sequence[str] = ()) -> list[str]:
    from nncz.surveys import lsdr10 as ls
    from nncz.surveys import ps1

    return ls.required_columns() if key == "lsdr10" else [*ps1.required_columns(), *extra]


def _check_features(key: str, features: Sequence[str]) -> None:
    from nncz.surveys.featuresets import available_columns

    known = set(available_columns(key))
    other = [f for f in features if f not in known]
    if other:
        raise ValueError(f"model features {other} are not built from one {key} table (they "
                         "need a second catalogue matched on the sky: use `nncz catalog`); "
                         f"{key} gives {sorted(known)}")


def prepare_for_model(table: Inputs, survey: str, features: Sequence[str], *,
                      snr_bands: Sequence[str] | None = None, dust: str = "auto",
                      ebv_column: str | None = None, psf_kron_bands: Sequence[str] = ("i",),
                      source: str | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Model features of every row of a survey table, with the training cuts as flags.

    Parameters
    ----------
    table : DataFrame, path, list of paths, directory or glob
        N rows of one survey in any layout nncz knows (docs/SCHEMAS.md).
    survey : str
        ``lsdr10`` (also ``lsdr9``, ``lsdr8``, ``ls``) or ``ps1``.
    features : sequence of str
        The columns the model reads (``estimator.required_columns_``: its features, then its
        colour bands that are not features).
    snr_bands : sequence of str, optional
        LSDR10 bands held to S/N >= 5 (default the method's g r z W1 W2, as training).
    dust : str
        LSDR10 dereddening (see :func:`nncz.surveys.lsdr10.ls_magnitudes`).
    ebv_column : str, optional
        PS1 E(B-V) column [mag]; default SFD at each position (as training).
    psf_kron_bands : sequence of str
        PS1 bands of the PSF - Kron >= 0.1 cut (as training).
    source : str, optional
        Name used in messages.

    Returns
    -------
    features : pandas.DataFrame, N rows
        The feature columns in the model's order; NaN where a cut failed.
    cut : pandas.Series of str, N rows (name ``nncz_cut``)
        The first cut each row failed, '' where it passed.
    """
    from nncz.surveys import lsdr10 as ls
    from nncz.surveys import ps1

    key, features = _survey_key(survey), list(features)
    _check_features(key, features)
    extra = [ebv_column] if ebv_column else []
    purpose = f"a model with features {features}"
    df, src = read_photometry(table, key, _required(key, extra), purpose, extra)
    src = source or src
    df = df.reset_index(drop=True).assign(**{ROW: np.arange(len(df))})
    funnel = _RowFunnel(len(df))
    if key == "lsdr10":
        require_i_band(df, src, _ls_bands(features), purpose)
        kept = ls.select_lsdr10(df, _ls_bands(features), funnel, src, dust=dust,
                                snr_bands=tuple(snr_bands or ls.SNR_BANDS))
    else:
        kept = ps1.select_ps1(df, funnel, src, ebv_column=ebv_column,
                              psf_kron_bands=tuple(psf_kron_bands))
    out = pd.DataFrame(np.nan, index=np.arange(len(df)), columns=features)
    rows = kept[ROW].to_numpy()
    out.iloc[rows] = kept[features].to_numpy(dtype=np.float64)
    return out, pd.Series(funnel.failed, name=CUT_COLUMN)


def model_input_chunks(inputs: Inputs, survey: str, features: Sequence[str],
                       chunk_rows: int = 200_000, keep: Sequence[str] = (), **options
                       ) -> Iterator[pd.DataFrame]:
    """Consecutive row chunks of survey file(s) as model input, for ``nncz predict --survey``.

    Each chunk holds the ``keep`` columns (any case, canonical or as in the file), the
    model's ``features`` (NaN where a cut failed) and ``nncz_cut`` (the first failed cut, '').
    Files are streamed (:func:`nncz.surveys.read.iter_survey_chunks`: only the needed
    columns, ``chunk_rows`` at a time), so memory does not grow with the file; every input
    row appears once, in input order. ``options`` go to :func:`prepare_for_model`.
    """
    from nncz.surveys.layouts import detect_layout
    from nncz.surveys.read import expand_inputs, file_columns, iter_survey_chunks

    key = _survey_key(survey)
    if isinstance(inputs, pd.DataFrame):
        table, layout, src = read_survey(inputs, key, what="input table")
        parts = (table.iloc[i:i + chunk_rows] for i in range(0, len(table), chunk_rows))
        yield from _model_chunks(parts, layout, src, key, survey, features, keep, options)
        return
    extra = [options["ebv_column"]] if options.get("ebv_column") else []
    for path in expand_inputs(inputs):
        layout = detect_layout(file_columns(path), key, str(path))
        wanted = list(dict.fromkeys([*canonical_columns(key), *keep, *extra]))
        chunks = iter_survey_chunks(path, key, chunk_rows, wanted)
        yield from _model_chunks(chunks, layout, str(path), key, survey, features, keep,
                                 options)


def _model_chunks(chunks, layout, src: str, key: str, survey: str, features: Sequence[str],
                  keep: Sequence[str], options: dict) -> Iterator[pd.DataFrame]:
    """Prepared chunks of one normalised input; columns are checked on its first chunk."""
    extra = [options["ebv_column"]] if options.get("ebv_column") else []
    cols = None
    for part in chunks:
        if cols is None:
            require_layout(part, layout, _required(key, extra), src,
                           f"a model with features {list(features)}")
            lower = {str(c).lower(): c for c in part.columns}
            missing = [k for k in keep if k not in part.columns and k.lower() not in lower]
            if missing:
                raise LayoutError(f"{src}: --keep column(s) {missing} not in this table")
            cols = [k if k in part.columns else lower[k.lower()] for k in keep]
        part = part.reset_index(drop=True)
        feats, cut = prepare_for_model(part, survey, features, source=src, **options)
        yield pd.concat([part[cols].set_axis(list(keep), axis=1), feats, cut], axis=1)


def apply_cut_flags(products: pd.DataFrame, chunk: pd.DataFrame) -> pd.DataFrame:
    """Products with ``nncz_cut`` added and every product NaN on rows that failed a cut.

    Whatever the model's bad-value policy (a 'fill' model would otherwise fill the NaN
    features of a rejected row), a row outside the training cuts gets no photo-z.
    """
    if CUT_COLUMN not in chunk.columns:
        return products
    from nncz.pdf import PRODUCT_COLUMNS

    failed = chunk[CUT_COLUMN].to_numpy() != ""
    products = products.copy()
    cols = [c for c in PRODUCT_COLUMNS if c in products.columns]
    products.loc[failed, cols] = np.nan
    products[CUT_COLUMN] = chunk[CUT_COLUMN].to_numpy()
    return products
