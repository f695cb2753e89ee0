"""The one table writer of nncz: Parquet, FITS, CSV and HDF5, streamed chunk by chunk.

:class:`TableStream` appends chunks as they are made (memory does not grow with the table);
:func:`nncz.io.write_table` is a stream of one chunk. The file appears under its final name
only when :meth:`TableStream.close` succeeds (:class:`nncz.paths.AtomicPath`). FITS binary
tables are written directly: header first, rows as big-endian records, and the header
rewritten with the final ``NAXIS2`` (same length) at the end; ``.fits.gz`` is gzipped on close.

Column types (one mapping for every format; chunks after the first must match it):

=============================  =========  ======================  ==========================
pandas / numpy column          Parquet    FITS (TFORM)            HDF5
=============================  =========  ======================  ==========================
float32, float64 (NaN kept)    same       E, D                    same
float16                        same       E (as float32)          same
int16, int32, int64            same       I, J, K                 same
int8                           int8       I (int16: FITS has no   int8
                                          signed byte)
uint8                          same       B                       same
uint16, uint32, uint64         same       I, J, K with TZERO      same
                                          (FITS unsigned rule)
bool                           bool       L                       bool
str / object (missing: "")     string     ``wA``                  UTF-8 bytes ``S<w>``
bytes ``S<w>``                 binary     ``wA``                  ``S<w>``
nullable Int/Float/boolean     nullable   as numpy; with missing  as FITS
                                          values float64 + NaN
vector (N, k) (mappings only)  refused    ``kX``                  refused
=============================  =========  ======================  ==========================

CSV is pandas' text (NaN and missing strings as empty fields; ``.csv.gz`` gzipped). String
width ``w``: ``string_widths[name]``, else the longest value of the first chunk (at least
``default_string_width``); a later, longer value is an error naming the column. Metadata:
Parquet schema key ``nncz`` (JSON), FITS header cards (:func:`fits_cards`), HDF5 group
attributes (JSON each); CSV has none.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd

from nncz.paths import AtomicPath, split_group, table_format

__all__ = ["TableStream", "fits_cards", "column_array"]

_TFORM = {"i2": "I", "i4": "J", "i8": "K", "f4": "E", "f8": "D", "u1": "B"}
_UNSIGNED = {"u2": "I", "u4": "J", "u8": "K"}  # stored signed, TZERO = 2**(bits-1)

Chunk = pd.DataFrame | Mapping[str, np.ndarray]


def column_array(values) -> np.ndarray:
    """One column as the numpy array the FITS and HDF5 writers store (see the module table)."""
    if isinstance(values, pd.Series) and not isinstance(values.dtype, np.dtype):
        kind = getattr(values.dtype, "kind", "O")
        if kind in "iufb" and hasattr(values.dtype, "numpy_dtype"):
            if values.isna().any():
                return values.to_numpy(dtype=np.float64, na_value=np.nan)
            return values.to_numpy(dtype=values.dtype.numpy_dtype)
        values = values.astype(object)
    array = np.asarray(values)
    if array.dtype == object:
        missing = pd.isna(array)
        text = array.astype(str)
        return np.where(missing, "", text) if missing.any() else text
    if array.dtype.kind == "f" and array.dtype.itemsize == 2:
        return array.astype(np.float32)
    return array


def fits_cards(meta: Mapping[str, object]) -> list[tuple[str, object]]:
    """FITS header cards of nncz metadata: one card a key, plus the whole record as COMMENT.

    Keys are upper-cased (``HIERARCH`` beyond 8 characters); numbers, booleans and strings
    are kept (strings cut at 68 characters), anything else is written as JSON.
    """
    cards: list[tuple[str, object]] = []
    for key, value in meta.items():
        text = value if isinstance(value, str | int | float | bool) else json.dumps(
            value, default=str)
        key = str(key).upper().replace(" ", "_")
        cards.append((key if len(key) <= 8 else "HIERARCH " + key,
                      text[:68] if isinstance(text, str) else text))
    if meta:
        cards.append(("COMMENT", "nncz metadata: " + json.dumps(dict(meta), default=str)[:4000]))
    return cards


class TableStream:
    """Append chunks to one Parquet, FITS, CSV or HDF5 file (format from the name).

    Parameters
    ----------
    path : str or Path
        Output file; ``file.h5:group`` names the HDF5 group (default ``data``).
    meta : dict, optional
        Metadata (see the module docstring).
    string_widths : dict, optional
        Fixed widths [characters] of string columns in FITS and HDF5.
    default_string_width : int
        Least width of the other string columns (the first chunk's longest value if longer).
    fits_cards : list of tuple, optional
        Extra FITS header cards ``(keyword, value)`` or ``(keyword, (value, comment))``.
    """

    def __init__(self, path: str | Path, meta: dict | None = None,
                 string_widths: Mapping[str, int] | None = None, default_string_width: int = 16,
                 fits_cards: list[tuple[str, object]] | None = None) -> None:
        self.kind = table_format(path)
        self.path, group = split_group(path)
        self.group = group or "data"
        self.meta = dict(meta or {})
        self.widths = dict(string_widths or {})
        self.default_width = int(default_string_width)
        self.extra_cards = list(fits_cards or [])
        self._atomic = AtomicPath(self.path)
        self._temp = self._atomic.temp
        self._writer = None  # Parquet writer, or the open FITS / CSV / HDF5 handle
        self._layout: dict | None = None
        self._header = None
        self._header_pos = 0
        self.n_rows = 0
        self._empty: Chunk | None = None

    def __enter__(self) -> TableStream:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def append(self, chunk: Chunk) -> None:
        """Append the rows of ``chunk`` (same columns and types as the first chunk)."""
        if _length(chunk) == 0:  # may carry untyped columns: keep it only as a template
            self._empty = chunk
            return
        self._append(chunk)
        self.n_rows += _length(chunk)

    def _append(self, chunk: Chunk) -> None:
        if self.kind == "parquet":
            self._append_parquet(_frame(chunk))
        elif self.kind == "csv":
            self._append_csv(_frame(chunk))
        elif self.kind == "fits":
            self._append_fits(chunk)
        else:
            self._append_hdf5(chunk)

    def _append_parquet(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        if self._writer is None:
            meta = dict(table.schema.metadata or {})
            if self.meta:
                meta[b"nncz"] = json.dumps(self.meta, default=str).encode()
            self._schema = table.schema.with_metadata(meta)
            self._writer = pq.ParquetWriter(self._temp, self._schema)
        self._writer.write_table(table.cast(self._schema))

    def _append_csv(self, df: pd.DataFrame) -> None:
        first = self._writer is None
        if first:
            self._csv_columns = list(df.columns)
            self._writer = (gzip.open(self._temp, "wt", encoding="utf-8", newline="")
                            if self.path.name.lower().endswith(".gz")
                            else open(self._temp, "w", encoding="utf-8", newline=""))
        elif list(df.columns) != self._csv_columns:
            raise ValueError(f"{self.path.name}: chunk columns differ from the first chunk")
        df.to_csv(self._writer, index=False, header=first)

    def _columns(self, chunk: Chunk) -> dict[str, np.ndarray]:
        arrays = {str(name): column_array(chunk[name]) for name in _names(chunk)}
        if self._layout is None:
            self._layout = {name: self._width(name, v) for name, v in arrays.items()}
        for name, v in arrays.items():
            width = self._layout.get(name)
            if width is not None and v.dtype.itemsize // (4 if v.dtype.kind == "U" else 1) > width:
                _too_long(self.path.name, name, width)
        return arrays

    def _width(self, name: str, v: np.ndarray) -> int | None:
        if v.dtype.kind not in "US":
            return None
        if name in self.widths:
            return max(int(self.widths[name]), 1)
        longest = _encoded(v).dtype.itemsize if len(v) else 1
        return longest if v.dtype.kind == "S" else max(longest, self.default_width, 1)

    def _append_fits(self, chunk: Chunk) -> None:
        from astropy.io import fits

        rec, columns = _fits_records(self._columns(chunk), self._layout, self.path.name)
        if self._writer is None:
            self._dtype = rec.dtype
            self._header = fits.BinTableHDU.from_columns(columns, nrows=0).header
            for key, value in [*fits_cards(self.meta), *self.extra_cards]:
                if key == "COMMENT":
                    self._header.add_comment(value)
                else:
                    self._header[key] = value
            self._writer = open(self._temp, "wb")  # closed in close() / abort()
            self._writer.write(fits.PrimaryHDU().header.tostring().encode("ascii"))
            self._header_pos = self._writer.tell()
            self._writer.write(self._header.tostring().encode("ascii"))
        elif rec.dtype != self._dtype:
            raise ValueError(f"{self.path.name}: chunk dtypes differ from the first chunk")
        self._writer.write(rec.tobytes())

    def _append_hdf5(self, chunk: Chunk) -> None:
        import h5py

        arrays = self._columns(chunk)
        if self._writer is None:
            self._writer = h5py.File(self._temp, "w")
            node = self._writer.create_group(self.group)
            rows = max(1, min(65536, _length(chunk)))
            for name, v in arrays.items():
                v = _hdf5_values(name, v, self._layout[name], self.path.name)
                node.create_dataset(name, shape=(0,), maxshape=(None,), dtype=v.dtype,
                                    chunks=(rows,))
            node.attrs["nncz_columns"] = json.dumps(list(arrays))
            for key, value in self.meta.items():
                node.attrs[key] = json.dumps(value, default=str)
        node = self._writer[self.group]
        if sorted(arrays) != sorted(node.keys()):
            raise ValueError(f"{self.path.name}: chunk columns differ from the first chunk")
        for name, v in arrays.items():
            dataset = node[name]
            dataset.resize(self.n_rows + len(v), axis=0)
            dataset[self.n_rows:] = _hdf5_values(name, v, self._layout[name], self.path.name)

    def close(self) -> Path:
        """Finish the file and move it to its final name; returns the path.

        On any failure (nothing appended included) the temporary file is deleted.
        """
        try:
            if self.n_rows == 0 and self._empty is not None:
                self._append(_typed(self._empty))
            if self._writer is None:
                raise ValueError(f"{self.path.name}: nothing was written")
            if self.kind == "fits":
                self._finish_fits()
            if self.kind == "fits" and self.path.name.lower().endswith(".gz"):
                self._writer.close()
                return self._gzip()
        except BaseException:
            self.abort()
            raise
        return self._atomic.commit(self._writer.close)

    def _finish_fits(self) -> None:
        size = self.n_rows * self._dtype.itemsize
        self._writer.write(b"\0" * ((-size) % 2880))
        self._header["NAXIS2"] = self.n_rows
        self._writer.seek(self._header_pos)
        self._writer.write(self._header.tostring().encode("ascii"))

    def _gzip(self) -> Path:
        with AtomicPath(self.path) as packed, open(self._temp, "rb") as source, \
                gzip.open(packed, "wb") as target:
            shutil.copyfileobj(source, target)
        self._atomic.discard()
        return self.path

    def abort(self) -> None:
        """Drop the temporary file (the final name is never touched)."""
        self._atomic.discard(self._writer.close if self._writer is not None else None)


def _fits_records(arrays: dict[str, np.ndarray], widths: dict, file: str
                  ) -> tuple[np.ndarray, list]:
    """Big-endian FITS records of ``arrays`` and their astropy Column definitions."""
    from astropy.io import fits

    fields, columns, values = [], [], []
    for name, v in arrays.items():
        shape, count = v.shape[1:], int(np.prod(v.shape[1:], dtype=int))
        repeat = str(count) if shape else ""
        code, bzero = _fits_code(name, v, widths.get(name), file)
        if code == "L":
            fields.append((name, "S1", shape))
            v = np.where(v, b"T", b"F")
        elif code.endswith("A"):
            fields.append((name, f"S{widths[name]}", shape))
            v = _encoded(v)
            if v.dtype.kind == "S" and not _is_ascii(v):
                raise ValueError(f"{file}: string column {name!r} holds non-ASCII text, "
                                 "which FITS cannot store")
        elif bzero:  # unsigned: flip the top bit = subtract 2**(bits-1), stored signed
            v = (v ^ np.array(bzero, dtype=v.dtype)).view(f"i{v.dtype.itemsize}")
            fields.append((name, v.dtype.newbyteorder(">"), shape))
        else:
            big = np.dtype(np.int16 if v.dtype == np.int8 else v.dtype).newbyteorder(">")
            fields.append((name, big, shape))
        dim = "(" + ",".join(str(n) for n in reversed(shape)) + ")" if shape else None
        columns.append(fits.Column(name=name, format=repeat + code, bzero=bzero or None,
                                   dim=dim))
        values.append(v)
    records = np.empty(len(values[0]) if values else 0, dtype=fields)
    for (name, _, _), v in zip(fields, values, strict=True):
        records[name] = v
    return records, columns


def _fits_code(name: str, v: np.ndarray, width: int | None, file: str) -> tuple[str, int]:
    """TFORM letter (or ``wA``) of a column and its TZERO (0 for none)."""
    if v.dtype == bool:
        return "L", 0
    if width is not None:
        return f"{width}A", 0
    key = v.dtype.str[1:]
    if v.dtype == np.int8:  # FITS has no signed byte (astropy would write logical)
        return "I", 0
    if key in _UNSIGNED:
        return _UNSIGNED[key], 1 << (8 * v.dtype.itemsize - 1)
    if key not in _TFORM:
        raise ValueError(f"{file}: column {name!r} of type {v.dtype} has no FITS type; "
                         "convert it to numbers or strings")
    return _TFORM[key], 0


def _is_ascii(v: np.ndarray) -> bool:
    raw = np.frombuffer(v.tobytes(), dtype=np.uint8)
    return bool((raw < 128).all())


def _names(chunk: Chunk) -> list:
    return list(chunk.columns) if isinstance(chunk, pd.DataFrame) else list(chunk)


def _length(chunk: Chunk) -> int:
    if isinstance(chunk, pd.DataFrame):
        return len(chunk)
    return len(next(iter(chunk.values()))) if len(chunk) else 0


def _frame(chunk: Chunk) -> pd.DataFrame:
    return chunk if isinstance(chunk, pd.DataFrame) else pd.DataFrame(dict(chunk))


def _typed(chunk: Chunk) -> Chunk:
    """A zero-row template with object columns typed as strings."""
    if not isinstance(chunk, pd.DataFrame):
        return chunk
    df = chunk.copy()
    for name in df.columns:
        if df[name].dtype == object:
            df[name] = df[name].astype(str)
    return df


def _encoded(v: np.ndarray) -> np.ndarray:
    return np.char.encode(v, "utf-8") if v.dtype.kind == "U" else v


def _too_long(file: str, name: str, width: int) -> None:
    raise ValueError(f"{file}: string column {name!r} has values longer than its width {width}")


def _hdf5_values(name: str, v: np.ndarray, width: int | None, file: str) -> np.ndarray:
    if v.ndim != 1:
        raise ValueError(f"{file}: column {name!r} has shape {v.shape}; HDF5 tables take 1-D "
                         "columns")
    if width is not None:
        encoded = _encoded(v)
        if encoded.dtype.itemsize > width:  # UTF-8 may take more bytes than characters
            _too_long(file, name, width)
        return encoded.astype(f"S{width}")
    if v.dtype.kind in "mMcV":
        raise ValueError(f"{file}: column {name!r} of type {v.dtype} has no HDF5 table type")
    return v
