"""Table I/O at the edges of nncz: FITS, Parquet, CSV and HDF5, chunked reads, atomic writes.

Every reader returns a :class:`pandas.DataFrame`. :func:`write_table` is a one-chunk
:class:`nncz.tablestream.TableStream` (the one table writer: its docstring documents how each
column type is stored in each format); :func:`atomic_write` and :class:`AtomicPath` (from
:mod:`nncz.paths`) write any other output through a temporary file in the destination folder,
so a crash never leaves a half-written output under the final name.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.paths import (  # noqa: F401 - re-exported: nncz.io is the public home
    CSV_SUFFIXES,
    FITS_SUFFIXES,
    HDF5_SUFFIXES,
    PARQUET_SUFFIXES,
    AtomicPath,
    ColumnError,
    ModelFileError,
    OutputError,
    TableFormatError,
    UsageError,
    atomic_write,
    check_outputs,
    split_group,
    table_format,
)
from nncz.threads import c_library


def require_columns(df: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    """Raise :class:`ColumnError` naming ``source`` if any of ``columns`` is missing."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ColumnError(
            f"column(s) {missing} missing from {source}; it has {list(map(str, df.columns))}"
        )


def list_columns(path: str | Path) -> list[str]:
    """Column names of a table file without reading its rows (where the format allows)."""
    fmt = table_format(path)
    file_path, _ = split_group(path)
    _check_exists(file_path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(file_path).schema_arrow.names)
    if fmt == "csv":
        return list(pd.read_csv(file_path, nrows=0, sep=None if str(path).endswith(".tsv")
                                else ",").columns)
    return list(read_table(path).columns)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(2, "no such file or directory", str(path))
    if path.is_dir() and table_format(path) != "parquet":  # a Parquet dataset may be a folder
        raise TableFormatError(f"{path}: is a directory, not a table file")


def read_table(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a whole table file into a DataFrame, optionally only ``columns``.

    HDF5 files may be a pandas (PyTables) store or a group of equal-length 1-D datasets;
    ``file.h5:group`` selects the group.
    """
    fmt = table_format(path)
    file_path, group = split_group(path)
    _check_exists(file_path)
    try:
        if fmt == "parquet" and columns is not None:
            available = list_columns(file_path)
            require_columns(pd.DataFrame(columns=available), columns, str(path))
            return pd.read_parquet(file_path, columns=list(columns))
        df = _READERS[fmt](file_path, group)
    except (ColumnError, FileNotFoundError, TableFormatError):
        raise
    except Exception as error:  # noqa: BLE001 - every reader failure means "not a table"
        raise TableFormatError(f"{path}: cannot be read as a {fmt} table ({error})") from error
    if columns is not None:
        require_columns(df, columns, str(path))
        df = df[list(columns)]
    return df


def _read_parquet(path: Path, group: str | None) -> pd.DataFrame:
    return pd.read_parquet(path)


def _read_csv(path: Path, group: str | None) -> pd.DataFrame:
    sep = "\t" if path.name.endswith(".tsv") else ","
    return pd.read_csv(path, sep=sep, comment="#")


def _read_fits(path: Path, group: str | None) -> pd.DataFrame:
    from astropy.io import fits
    from astropy.table import Table

    if group is None:
        with fits.open(path, memmap=True) as hdus:
            group = _fits_table_index(hdus, path)
    table = Table.read(path, format="fits", hdu=group)
    return _astropy_to_pandas(table)


def _fits_table_index(hdus, path: Path) -> int:
    """Index of the first table HDU; an image-only file is refused naming the file."""
    from astropy.io import fits

    for index, hdu in enumerate(hdus):
        if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
            return index
    kinds = ", ".join(type(h).__name__ for h in hdus)
    raise TableFormatError(f"{path}: no table HDU in this FITS file (it holds {kinds}); "
                           "nncz reads binary tables")


def _astropy_to_pandas(table) -> pd.DataFrame:
    columns = {}
    for name in table.colnames:
        values = np.asarray(table[name])
        if values.ndim > 1:  # FITS vectors (e.g. sweep DCHISQ[5]): one native-order column each
            if values.dtype.byteorder not in ("=", "|"):
                values = values.astype(values.dtype.newbyteorder("="))
            values = values.reshape(len(values), int(np.prod(values.shape[1:])))
            for k in range(values.shape[1]):
                columns[f"{name}_{k}"] = values[:, k]
            continue
        if values.dtype.kind == "S":
            values = np.char.strip(np.char.decode(values, "ascii"))
        elif values.dtype.kind == "U":
            values = np.char.strip(values)
        if values.dtype.byteorder not in ("=", "|"):
            values = values.astype(values.dtype.newbyteorder("="))
        columns[name] = values
    return pd.DataFrame(columns)


def _read_hdf5(path: Path, group: str | None) -> pd.DataFrame:
    import h5py

    with h5py.File(path, "r") as handle:
        if "pandas_type" in handle.attrs or any(
            "pandas_type" in handle[k].attrs for k in handle.keys()
        ):
            return pd.read_hdf(path, key=group) if group else pd.read_hdf(path)
        node = handle[group] if group else handle
        if isinstance(node, h5py.Dataset) and node.dtype.names:
            return pd.DataFrame(node[()])
        datasets = _one_dimensional_datasets(node)
        if not datasets:
            groups = [k for k in node.keys() if isinstance(node[k], h5py.Group)]
            if len(groups) == 1:
                node = node[groups[0]]
                datasets = _one_dimensional_datasets(node)
        if not datasets:
            raise TableFormatError(f"{path}: no group of 1-D datasets found (try file.h5:GROUP)")
        if "nncz_columns" in node.attrs:  # keep the written column order
            order = json.loads(node.attrs["nncz_columns"])
            datasets = {name: datasets[name] for name in order if name in datasets}
        return pd.DataFrame(datasets)


def _one_dimensional_datasets(node) -> dict[str, np.ndarray]:
    import h5py

    datasets = {}
    for name in node.keys():
        if isinstance(node[name], h5py.Dataset) and node[name].ndim == 1:
            values = node[name][()]
            if values.dtype.kind == "S":  # strings were written as bytes
                values = np.char.decode(values, "utf-8")
            datasets[name] = values
    return datasets


_READERS = {"parquet": _read_parquet, "csv": _read_csv, "fits": _read_fits, "hdf5": _read_hdf5}


def iter_table_chunks(
    path: str | Path, chunk_rows: int = 200_000, columns: Sequence[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Yield consecutive row chunks of a table with bounded memory.

    Parquet is read by row groups (a chunk may then hold fewer than ``chunk_rows`` rows; see
    :func:`_iter_parquet`) and CSV by pandas chunks, so memory stays bounded whatever the file
    size; FITS is memory-mapped; HDF5 datasets are sliced.
    """
    try:
        yield from _iter_chunks(path, chunk_rows, columns)
    except (ColumnError, FileNotFoundError, TableFormatError):
        raise
    except (ValueError, OSError, IndexError, TypeError, UnicodeDecodeError) as error:
        if isinstance(error, OSError) and error.errno is not None:
            raise  # permission, disk: not a format problem
        reason = " ".join(str(error).split())
        raise TableFormatError(f"{path}: cannot be read as a {table_format(path)} table "
                               f"({reason})") from error


def _iter_chunks(path: str | Path, chunk_rows: int, columns: Sequence[str] | None
                 ) -> Iterator[pd.DataFrame]:
    if int(chunk_rows) < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    fmt = table_format(path)
    file_path, group = split_group(path)
    _check_exists(file_path)
    if columns is not None:
        require_columns(pd.DataFrame(columns=list_columns(path)), columns, str(path))
    if fmt == "parquet":
        yield from _iter_parquet(file_path, chunk_rows, columns)
    elif fmt == "csv":
        sep = "\t" if file_path.name.endswith(".tsv") else ","
        yield from pd.read_csv(
            file_path, sep=sep, comment="#", usecols=columns, chunksize=chunk_rows
        )
    elif fmt == "fits":
        yield from _iter_fits(file_path, chunk_rows, columns)
    else:
        table = read_table(path, columns)
        for start in range(0, len(table), chunk_rows):
            yield table.iloc[start : start + chunk_rows].reset_index(drop=True)


GROUP_ROWS_WHOLE = 262_144  # Parquet row groups up to this many rows are read whole


def _iter_parquet(path: Path, chunk_rows: int, columns: Sequence[str] | None
                  ) -> Iterator[pd.DataFrame]:
    """Chunks of at most ``chunk_rows`` rows, read by whole row groups where they are small.

    Consecutive row groups are read together while they fit in ``chunk_rows``; a larger group
    of up to :data:`GROUP_ROWS_WHOLE` rows is read whole and sliced; a still larger one is
    streamed by batches. Whole row groups hold about a third of what ``iter_batches`` holds
    (pyarrow pool peak 20 against 60 MB for 200,000-row groups of 12 float32 columns; issue
    14): its column readers keep the decoded pages of a column chunk. ``pre_buffer=False``:
    with pyarrow's default read-ahead, a reader kept every row group it had read.
    """
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path, pre_buffer=False)
    columns = list(columns) if columns is not None else None
    group_rows = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
    pending: list[int] = []
    for index, rows in enumerate(group_rows):
        if rows == 0:
            continue  # a file without rows gives no chunk, as iter_batches did
        if pending and sum(group_rows[i] for i in pending) + rows > chunk_rows:
            yield parquet.read_row_groups(pending, columns=columns).to_pandas()
            pending = []
        if rows <= chunk_rows:
            pending.append(index)
        elif rows <= GROUP_ROWS_WHOLE:
            group = parquet.read_row_group(index, columns=columns)
            for start in range(0, rows, chunk_rows):
                yield group.slice(start, chunk_rows).to_pandas()
        else:
            for batch in parquet.iter_batches(batch_size=chunk_rows, row_groups=[index],
                                              columns=columns):
                yield batch.to_pandas()
    if pending:
        yield parquet.read_row_groups(pending, columns=columns).to_pandas()


def _iter_fits(path: Path, chunk_rows: int, columns: Sequence[str] | None):
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path, memmap=True) as hdus:
        data = hdus[_fits_table_index(hdus, path)].data
        names = list(columns) if columns is not None else list(data.columns.names)
        for start in range(0, len(data), chunk_rows):
            rows = data[start : start + chunk_rows]
            yield _astropy_to_pandas(Table({n: rows[n] for n in names}))


@contextlib.contextmanager
def arrow_system_pool() -> Iterator[None]:
    """Within the block, pyarrow allocates from the C library's heap, not from its mimalloc pool.

    :func:`release_free_memory` then returns what a chunk freed, while mimalloc kept it: the
    peak RSS of ``nncz predict`` was ~20 MB lower at 10^5 and 10^6 rows (32,768-row chunks;
    issue 14). Buffers made in the block keep the pool they came from.
    """
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def release_free_memory() -> None:
    """Return freed heap memory to the system (glibc's ``malloc_trim``, pyarrow's pool).

    Both allocators keep freed memory for reuse; after a chunk of ``nncz predict`` or a
    stripe of ``nncz catalog`` (and before its workers are forked) that is resident memory no
    one uses (issue 14): 100-250 MB after a catalog stripe of 10^6 synthetic sources, ~8 MB
    of ``nncz predict``'s peak at 32,768-row chunks.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = c_library()
    if libc is not None and hasattr(libc, "malloc_trim"):  # glibc only
        libc.malloc_trim(0)


def write_table(df: pd.DataFrame, path: str | Path, meta: dict | None = None) -> Path:
    """Write ``df`` to ``path`` (format from the extension) atomically, with metadata.

    Column types are stored as :mod:`nncz.tablestream` documents (int8 as FITS int16, bool
    as FITS logical, strings at the width of their longest value); ``meta`` goes to the
    Parquet key ``nncz``, FITS header cards or HDF5 attributes. Returns the file's path.
    """
    from nncz.tablestream import TableStream

    with TableStream(path, meta, default_string_width=1) as stream:
        stream.append(df)
    return stream.path


def read_metadata(path: str | Path) -> dict:
    """The nncz metadata written with :func:`write_table` (Parquet and HDF5)."""
    fmt = table_format(path)
    file_path, group = split_group(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        raw = (pq.read_schema(file_path).metadata or {}).get(b"nncz")
        return json.loads(raw) if raw else {}
    if fmt == "hdf5":
        import h5py

        with h5py.File(file_path, "r") as handle:
            attrs = handle[group or "data"].attrs
            return {k: json.loads(v) for k, v in attrs.items() if k != "nncz_columns"}
    if fmt == "fits":
        from astropy.io import fits

        header = fits.getheader(file_path, 1)
        return {k: header[k] for k in header if k not in ("COMMENT", "HISTORY", "")}
    return {}
