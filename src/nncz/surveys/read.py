"""Read survey files as the archives serve them: one file, several, a directory or a glob.

>>> table, layout, source = read_survey("sweep/", "lsdr10")   # doctest: +SKIP

Each file is recognised (:func:`nncz.surveys.layouts.detect_layout`), only the columns nncz
uses are read (FITS vector columns such as ``DCHISQ`` are split by :mod:`nncz.io` and never
break a read), renamed to the canonical names and completed
(:func:`nncz.surveys.normalise.normalise`), then the files are stacked in the order given
(a directory or glob: sorted names). unWISE single-band files are paired W1 + W2 and joined
on position.
"""

from __future__ import annotations

import glob as globmod
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.surveys.layouts import Layout, LayoutError, canonical_names, detect_layout
from nncz.surveys.normalise import canonical_columns, normalise

__all__ = ["Inputs", "expand_inputs", "file_columns", "read_survey_file", "read_survey",
           "survey_file_columns", "iter_survey_chunks", "UNWISE_BAND_RADIUS_ARCSEC"]

Inputs = pd.DataFrame | str | Path | Sequence[str | Path]
TABLE_SUFFIXES = (".fits", ".fit", ".fits.gz", ".fit.gz", ".parquet", ".pq", ".csv",
                  ".csv.gz", ".h5", ".hdf5")
#: W1-W2 pairing radius of unWISE single-band files [arcsec] (about a third of a W1 pixel)
UNWISE_BAND_RADIUS_ARCSEC = 1.0


def expand_inputs(inputs: str | Path | Sequence[str | Path]) -> list[Path]:
    """Files of a path, a list of paths, a directory (its table files) or a glob pattern."""
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    out: list[Path] = []
    for item in items:
        text = str(item)
        if any(ch in text for ch in "*?["):
            matches = sorted(globmod.glob(text))
            if not matches:
                raise FileNotFoundError(f"{text}: no file matches this pattern")
            out += [Path(m) for m in matches]
        elif Path(text).is_dir():
            files = sorted(p for p in Path(text).iterdir()
                           if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES))
            if not files:
                raise FileNotFoundError(f"{text}: directory holds no table file "
                                        f"({', '.join(TABLE_SUFFIXES)})")
            out += files
        else:
            if not Path(text).exists():
                raise FileNotFoundError(f"{text}: no such file")
            out.append(Path(text))
    return out


def file_columns(path: str | Path) -> list[str]:
    """Column names as :func:`nncz.io.read_table` returns them (FITS vectors as name_k).

    A file that is not a readable table raises ``TableFormatError`` naming it.
    """
    from nncz.io import TableFormatError, table_format

    fmt = table_format(path)
    try:
        return _file_columns(path, fmt)
    except (FileNotFoundError, KeyError, TableFormatError):
        raise
    except Exception as err:  # noqa: BLE001 - any reader failure: not a table
        raise TableFormatError(f"{path}: cannot be read as a {fmt} table ({err})") from err


def _file_columns(path: str | Path, fmt: str) -> list[str]:
    from nncz.io import list_columns

    if fmt != "fits":
        return list_columns(path)
    from astropy.io import fits

    with fits.open(path, memmap=True) as hdul:
        hdu = next((h for h in hdul[1:] if isinstance(h, fits.BinTableHDU | fits.TableHDU)),
                   None)
        if hdu is None:
            from nncz.io import TableFormatError

            raise TableFormatError(f"{path}: FITS file without a table HDU")
        names = []
        for col in hdu.columns:
            fmt = str(col.format)
            n = 1 if "A" in fmt else max(int(getattr(col.format, "repeat", 1) or 1), 1)
            names += [col.name] if n == 1 else [f"{col.name}_{k}" for k in range(n)]
        return names


def read_survey_file(path: str | Path, survey: str | None = None,
                     columns: Sequence[str] | None = None) -> tuple[pd.DataFrame, Layout]:
    """One file in any known layout of ``survey``, renamed and completed.

    Parameters
    ----------
    path : str or Path
    survey : str, optional
        Survey key (None: detect).
    columns : sequence of str, optional
        Canonical columns wanted (those the file has are read); None: every column nncz
        knows for the survey, plus nothing else.
    """
    from nncz.io import read_table, table_format

    present = file_columns(path)
    layout = detect_layout(present, survey, str(path))
    wanted = list(columns) if columns is not None else canonical_columns(layout.survey)
    renames = canonical_names(present, layout, wanted)
    keep_exact = [c for c in present if c in wanted]
    to_read = list(dict.fromkeys([*keep_exact, *renames]))
    if layout.key == "unwise_band":
        to_read = list(dict.fromkeys([*to_read, *(c for c in present if c.lower() in (
            "unwise_detid", "ra", "dec", "flux", "dflux", "flags_unwise", "flags_info",
            "primary"))]))
    if table_format(path) == "fits":
        df = _read_fits_columns(path, to_read)
    else:
        df = read_table(path, columns=to_read)
    return normalise(df, layout.survey, str(path), layout)


def _read_fits_columns(path: str | Path, names: Sequence[str]) -> pd.DataFrame:
    """Only ``names`` of the first FITS table (memory-mapped: a sweep's other ~100 columns
    are never loaded); vector columns asked for as ``NAME_k`` are read and split."""
    return next(_iter_fits_columns(path, names, None))


def _iter_fits_columns(path: str | Path, names: Sequence[str], chunk_rows: int | None):
    """Consecutive row chunks (all rows when ``chunk_rows`` is None) of ``names``."""
    from astropy.io import fits
    from astropy.table import Table

    from nncz.io import _astropy_to_pandas

    with fits.open(path, memmap=True) as hdul:
        hdu = next(h for h in hdul[1:] if isinstance(h, fits.BinTableHDU | fits.TableHDU))
        base_names = set(hdu.columns.names)
        bases = list(dict.fromkeys(n if n in base_names else n.rsplit("_", 1)[0]
                                   for n in names))
        if hdu.data is None or not len(hdu.data):  # a zero-row file: typed empty columns
            yield _astropy_to_pandas(Table.read(hdu))[list(names)]
            return
        step = chunk_rows or len(hdu.data)
        for start in range(0, len(hdu.data), step):
            rows = slice(start, start + step)
            table = Table({b: np.array(hdu.data[b][rows]) for b in bases})
            yield _astropy_to_pandas(table)[list(names)]


def _unwise_band(path: Path) -> str:
    name = path.name.lower()
    m = re.search(r"\.([12])\.cat\.", name) or re.search(r"w([12])", name)
    if not m:
        raise LayoutError(f"{path}: unWISE single-band catalogue whose band is not in its name "
                          "(expected <coadd_id>.1.cat.fits for W1 or .2.cat.fits for W2)")
    return f"w{m.group(1)}"


def _join_unwise_bands(parts: dict[str, list[pd.DataFrame]], source: str,
                       radius_arcsec: float) -> pd.DataFrame:
    """W1 and W2 single-band detections paired on position (nearest within the radius)."""
    from nncz.crossmatch import match_sky

    bands = {}
    for band in ("w1", "w2"):
        if not parts.get(band):
            raise LayoutError(f"{source}: unWISE single-band catalogues need both a W1 "
                              f"(.1.cat) and a W2 (.2.cat) file; no {band.upper()} file given")
        t = pd.concat(parts[band], ignore_index=True)
        low = {c.lower(): c for c in t.columns}
        if "primary" in low:  # tile overlaps: keep each detection once
            t = t.loc[pd.to_numeric(t[low["primary"]], errors="coerce").to_numpy() == 1]
        bands[band] = t.reset_index(drop=True).rename(columns={v: k for k, v in low.items()})
    w1, w2 = bands["w1"], bands["w2"]
    m = match_sky(w1["ra"].to_numpy(float), w1["dec"].to_numpy(float), w2["ra"].to_numpy(float),
                  w2["dec"].to_numpy(float), radius_arcsec)
    w1, j = w1.loc[m.matched].reset_index(drop=True), m.index[m.matched]
    out = {"unwise_objid": w1["unwise_detid"].astype(str).to_numpy(), "ra": w1["ra"].to_numpy(),
           "dec": w1["dec"].to_numpy()}
    for band, t, rows in (("w1", w1, slice(None)), ("w2", w2, j)):
        for p in ("flux", "dflux", "flags_unwise", "flags_info"):
            out[f"{p}_{band}"] = t[p].to_numpy()[rows]
    return pd.DataFrame(out)


def read_survey(inputs: Inputs, survey: str | None = None,
                columns: Sequence[str] | None = None, what: str = "table",
                unwise_radius_arcsec: float = UNWISE_BAND_RADIUS_ARCSEC
                ) -> tuple[pd.DataFrame, Layout, str]:
    """Read one or more files (or take a DataFrame) of one survey in any known layout.

    Parameters
    ----------
    inputs : DataFrame, path, list of paths, directory or glob
    survey : str, optional
        ``lsdr10``, ``ps1``, ``unwise``, ``desi`` or ``sdss``; None: detect.
    columns : sequence of str, optional
        Canonical columns to read where present (None: all nncz knows).
    what : str
        Name of an in-memory table in messages.
    unwise_radius_arcsec : float
        Pairing radius of unWISE single-band W1/W2 files [arcsec].

    Returns
    -------
    (DataFrame, Layout, source)
        Rows of every file in order, the layout of the first file, and a source string
        naming the file(s) for later messages.
    """
    if isinstance(inputs, pd.DataFrame):
        df, layout = normalise(inputs, survey, what)
        return df, layout, what
    paths = expand_inputs(inputs)
    source = str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} files)"
    frames, layouts, bands = [], [], {}
    for path in paths:
        df, layout = read_survey_file(path, survey, columns)
        if survey is None:
            survey = layout.survey
        layouts.append(layout)
        if layout.key == "unwise_band":
            bands.setdefault(_unwise_band(path), []).append(df)
        else:
            frames.append(df)
    if bands:
        if frames:
            raise LayoutError(f"{source}: mixes unWISE single-band and band-merged files")
        return _join_unwise_bands(bands, source, unwise_radius_arcsec), layouts[0], source
    if len(frames) == 1:
        return frames[0], layouts[0], source
    return pd.concat(frames, ignore_index=True), layouts[0], source


#: canonical columns derived from others on normalisation (what to read to build them)
_DERIVED = {"lsdr10": {"ls_id": ("release", "brickid", "objid"), "photsys": ("release",)}}
#: catalog survey keys (nncz.catalog.sources.SURVEYS) -> survey adapters
CATALOG_SURVEYS = {"ls": "lsdr10", "ps1": "ps1", "unwise": "unwise"}


def survey_file_columns(inputs: str | Path | Sequence[str | Path], survey: str) -> list[str]:
    """Canonical columns a survey file provides once normalised (the first file of several).

    ``survey`` is a survey key or a catalog key (``ls``, ``ps1``, ``unwise``).
    """
    key = CATALOG_SURVEYS.get(survey, survey)
    path = expand_inputs(inputs)[0]
    present = file_columns(path)
    try:
        layout = detect_layout(present, key, str(path))
    except LayoutError:
        return present
    if layout.key == "unwise_band":
        return canonical_columns(key)
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in present})
    return list(normalise(empty, key, str(path), layout)[0].columns)


def iter_survey_chunks(inputs: str | Path | Sequence[str | Path], survey: str,
                       chunk_rows: int = 200_000, columns: Sequence[str] | None = None):
    """Row chunks of survey file(s) in any known layout, with canonical names.

    The streaming counterpart of :func:`read_survey` (used by the catalog): each file is read
    by :func:`nncz.io.iter_table_chunks` and every chunk normalised. ``columns``: canonical
    names wanted (None: every column, canonical ones renamed). A file in no known layout
    (e.g. a table of prebuilt features) is passed through unchanged; unWISE single-band
    files, which must be paired, are read whole and then cut.
    """
    from nncz.io import iter_table_chunks, table_format

    key = CATALOG_SURVEYS.get(survey, survey)
    for path in expand_inputs(inputs):
        present = file_columns(path)
        try:
            layout = detect_layout(present, key, str(path))
        except LayoutError:
            yield from iter_table_chunks(path, chunk_rows, columns=columns)
            continue
        if layout.key == "unwise_band":
            table = read_survey(expand_inputs(inputs), key)[0]
            for start in range(0, len(table), chunk_rows):
                part = table.iloc[start:start + chunk_rows].reset_index(drop=True)
                yield part[list(columns)] if columns is not None else part
            return
        need = list(columns) if columns is not None else list(present)
        for name, sources in _DERIVED.get(key, {}).items():
            if name in need:
                need += list(sources)
        renames = canonical_names(present, layout, need)
        to_read = list(dict.fromkeys([*(c for c in present if c in need), *renames]))
        chunks = (_iter_fits_columns(path, to_read, chunk_rows) if table_format(path) == "fits"
                  else iter_table_chunks(path, chunk_rows, columns=to_read))
        for chunk in chunks:
            df = normalise(chunk, key, str(path), layout)[0]
            yield df if columns is None else df[list(dict.fromkeys(
                c for c in columns if c in df.columns))]
