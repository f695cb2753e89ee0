"""Small helpers shared by the survey and spectroscopic adapters (column checks, types)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

MAG_AB_ZP_NMGY = 22.5
#: 2.5 / ln(10): magnitude error from a fractional flux error.
MAGERR_FACTOR = 2.5 / np.log(10.0)


def require(df: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    """Raise a ``ColumnError`` (a ``KeyError``) naming ``source`` and the missing columns.

    Uses :func:`nncz.io.require_columns` when available, so the error type is the package's.
    """
    columns = list(columns)
    try:
        from nncz.io import require_columns
    except ImportError:  # pragma: no cover - nncz.io is written concurrently
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise KeyError(f"{source}: missing required column(s) {missing}; "
                           f"columns present: {list(df.columns)}") from None
        return
    require_columns(df, columns, source)


def _case_map(present: Sequence[str], wanted: Sequence[str]) -> dict[str, str]:
    """{actual name: canonical name} for wanted columns present only in another letter case.

    Archives differ in case (sweep files ``FLUX_G``, Data Lab ``flux_g``; CAS ``specObjID``,
    Data Lab ``specobjid``); the canonical docs/SCHEMAS.md names are restored on read.
    """
    exact = set(present)
    lower = {}
    for name in present:
        lower.setdefault(str(name).lower(), name)
    return {lower[w.lower()]: w for w in wanted if w not in exact and w.lower() in lower}


def read_input(path: str | Path | pd.DataFrame, required: Sequence[str],
               optional: Sequence[str] = (), what: str = "table") -> tuple[pd.DataFrame, str]:
    """Read the required (and those optional columns that exist) of a table file.

    Column names match regardless of letter case and come back with the canonical spelling.

    Parameters
    ----------
    path : str, Path or DataFrame
        A file readable by :func:`nncz.io.read_table`, or an in-memory table.
    required, optional : sequence of str
        Column names; a missing required one raises ``ColumnError`` naming the file and column;
        a file that is not a table raises ``TableFormatError`` naming the file.
    what : str
        Name used in messages for in-memory tables.

    Returns
    -------
    (DataFrame, source)
        The table and a string naming where it came from (for later error messages).
    """
    wanted = [*required, *optional]
    if isinstance(path, pd.DataFrame):
        renames = _case_map(list(path.columns), wanted)
        df = path.rename(columns=renames) if renames else path
        require(df, required, what)
        return df, what
    from nncz.io import list_columns, read_table, table_format

    source = str(path)
    fmt = table_format(path)
    present = _fits_columns(path) if fmt == "fits" else None
    if present is None:
        try:
            present = list_columns(path)
        except (FileNotFoundError, KeyError):
            raise
        except Exception as err:  # noqa: BLE001 - anything else: not a readable table
            from nncz.io import TableFormatError

            raise TableFormatError(f"{path}: cannot be read as a {fmt} table ({err})") from err
    renames = _case_map(present, wanted)
    canonical = [renames.get(c, c) for c in present]
    require(pd.DataFrame(columns=canonical), required, source)
    back = {v: k for k, v in renames.items()}
    cols = [back.get(c, c) for c in dict.fromkeys(
        [*required, *[c for c in optional if c in canonical]])]
    if fmt == "parquet" and ":" not in source:
        df = pd.read_parquet(path, columns=cols)  # reads only these columns
    else:
        df = read_table(path, columns=cols)
    return (df.rename(columns=renames) if renames else df), source


def _fits_columns(path: str | Path) -> list[str] | None:
    """Column names of the first table HDU of a FITS file, from its header (None: unreadable)."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=True) as hdul:
            for hdu in hdul[1:]:
                if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
                    return list(hdu.columns.names)
    except Exception:  # noqa: BLE001 - let nncz.io produce the proper error
        return None
    return None


def as_str(series: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed (FITS pads, some readers give bytes)."""
    if series.dtype == object and len(series) and isinstance(series.iloc[0], bytes):
        series = series.str.decode("ascii", errors="replace")
    return series.astype(str).str.strip()


def as_bool(series: pd.Series) -> np.ndarray:
    """Booleans from bool, integer or 'T'/'F'/'True'/'False' columns."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.fillna(0).to_numpy() != 0
    return as_str(series).str.upper().isin(["T", "TRUE", "1", "Y"]).to_numpy()


def num(df: pd.DataFrame, column: str) -> np.ndarray:
    """Column as a float64 array (NaN for missing values)."""
    return pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)


def flux_to_mag(flux_nmgy: np.ndarray) -> np.ndarray:
    """AB magnitude 22.5 - 2.5 log10(flux) of fluxes in nanomaggies; NaN where flux <= 0."""
    flux = np.asarray(flux_nmgy, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, MAG_AB_ZP_NMGY - 2.5 * np.log10(flux), np.nan)


def snr_to_magerr(snr: np.ndarray) -> np.ndarray:
    """Magnitude error 1.0857 / (S/N); NaN where S/N <= 0."""
    snr = np.asarray(snr, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(snr > 0, MAGERR_FACTOR / snr, np.nan)
