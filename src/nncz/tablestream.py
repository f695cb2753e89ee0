"""Streaming table writers (Parquet and FITS) with bounded memory and atomic renames.

Chunks are appended as they are generated; the file appears under its final name only when
:meth:`TableStream.close` succeeds (temporary file in the same folder, then ``os.replace``).
FITS binary tables are written directly: header first with a placeholder ``NAXIS2``, rows as
big-endian records, and the header rewritten with the final row count (same length) at the end.
FITS has no signed byte type, so int8 columns (PS1 ``primaryDetection``) are written as int16.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

#: Fixed FITS widths of string columns (characters); longer values are an error.
_TFORM = {"i2": "I", "i4": "J", "i8": "K", "f4": "E", "f8": "D", "u1": "B"}
STRING_WIDTHS = {"type": 3, "photsys": 1, "unwise_objid": 17, "SPECTYPE": 6, "MORPHTYPE": 3,
                 "class": 6, "classNoqso": 6, "survey": 5, "programname": 8,
                 "obj_class": 6, "sed_type": 12}


class TableStream:
    """Append pandas chunks to one Parquet or FITS file.

    Parameters
    ----------
    path : output file (``.parquet`` or ``.fits``)
    meta : metadata (Parquet key ``nncz``; FITS header keywords)
    """

    def __init__(self, path: str | Path, meta: dict | None = None) -> None:
        self.path = Path(path)
        self.meta = meta or {}
        self.kind = "fits" if self.path.suffix.lower() in (".fits", ".fit") else "parquet"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                        dir=self.path.parent)
        os.close(handle)
        self._temp = Path(name)
        self._writer = None
        self._dtype: np.dtype | None = None
        self._fh = None
        self._header_pos = 0
        self._header = None
        self.n_rows = 0
        self._empty: pd.DataFrame | None = None

    def append(self, df: pd.DataFrame) -> None:
        """Append the rows of ``df`` (same columns and dtypes as the first chunk)."""
        if len(df) == 0:  # an empty chunk may carry untyped columns: keep it only as a template
            self._empty = df
            return
        if self.kind == "parquet":
            self._append_parquet(df)
        else:
            self._append_fits(df)
        self.n_rows += len(df)

    def _append_parquet(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        if self._writer is None:
            meta = {**(table.schema.metadata or {}),
                    b"nncz": json.dumps(self.meta, default=str).encode()}
            self._schema = table.schema.with_metadata(meta)
            self._writer = pq.ParquetWriter(self._temp, self._schema)
        self._writer.write_table(table.cast(self._schema))

    def _records(self, df: pd.DataFrame) -> tuple[np.ndarray, list]:
        """Big-endian FITS records of ``df`` and the matching astropy Column definitions."""
        from astropy.io import fits

        fields, cols = [], []
        for name in df.columns:
            v = df[name].to_numpy()
            if v.dtype == bool:
                fields.append((name, "S1"))
                cols.append(fits.Column(name=name, format="L"))
            elif v.dtype == object or v.dtype.kind in "US":
                width = STRING_WIDTHS.get(name, 16)
                fields.append((name, f"S{width}"))
                cols.append(fits.Column(name=name, format=f"{width}A"))
            elif v.dtype == np.int8:  # FITS has no signed byte (astropy reads TZERO'd bytes
                fields.append((name, ">i2"))  # as float, writes int8 as logical): use int16
                cols.append(fits.Column(name=name, format="I"))
            else:
                fields.append((name, v.dtype.newbyteorder(">")))
                cols.append(fits.Column(name=name, format=_TFORM[v.dtype.str[1:]]))
        rec = np.empty(len(df), dtype=fields)
        for (name, kind), col in zip(fields, cols, strict=True):
            v = df[name].to_numpy()
            if col.format == "L":
                rec[name] = np.where(v, b"T", b"F")
            elif str(kind).startswith("S"):
                s = v.astype(str)
                width = int(str(kind)[1:])
                if len(s) and np.char.str_len(s).max() > width:
                    raise ValueError(f"{self.path.name}: string column {name!r} has values "
                                     f"longer than its FITS width {width}")
                rec[name] = np.char.encode(s, "ascii")
            else:
                rec[name] = v
        return rec, cols

    def _append_fits(self, df: pd.DataFrame) -> None:
        from astropy.io import fits

        rec, cols = self._records(df)
        if self._fh is None:
            self._dtype = rec.dtype
            hdu = fits.BinTableHDU.from_columns(cols, nrows=0)
            for key, value in self.meta.items():
                text = value if isinstance(value, int | float | bool) else str(value)[:60]
                hdu.header[("HIERARCH " + key.upper()) if len(key) > 8 else key.upper()] = text
            self._header = hdu.header
            self._fh = open(self._temp, "wb")  # closed in close()
            self._fh.write(fits.PrimaryHDU().header.tostring().encode("ascii"))
            self._header_pos = self._fh.tell()
            self._fh.write(self._header.tostring().encode("ascii"))
        elif rec.dtype != self._dtype:
            raise ValueError(f"{self.path.name}: chunk dtypes differ from the first chunk")
        self._fh.write(rec.tobytes())

    def close(self) -> Path:
        """Finish the file and move it to its final name; returns the path."""
        if self.n_rows == 0 and self._empty is not None:
            self._append_empty(self._empty)
        if self.kind == "parquet":
            if self._writer is None:
                raise ValueError(f"{self.path.name}: nothing was written")
            self._writer.close()
        else:
            if self._fh is None:
                raise ValueError(f"{self.path.name}: nothing was written")
            size = self.n_rows * self._dtype.itemsize
            self._fh.write(b"\0" * ((-size) % 2880))
            self._header["NAXIS2"] = self.n_rows
            self._fh.seek(self._header_pos)
            self._fh.write(self._header.tostring().encode("ascii"))
            self._fh.close()
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(self._temp, 0o666 & ~mask)  # mkstemp creates 0600; give the usual permissions
        os.replace(self._temp, self.path)
        return self.path

    def _append_empty(self, df: pd.DataFrame) -> None:
        df = df.copy()
        for name in df.columns:
            if df[name].dtype == object:
                df[name] = df[name].astype(str)
        if self.kind == "parquet":
            self._append_parquet(df)
        else:
            self._append_fits(df)

    def abort(self) -> None:
        """Drop the temporary file."""
        if self._fh is not None:
            self._fh.close()
        if self._writer is not None:
            self._writer.close()
        self._temp.unlink(missing_ok=True)
