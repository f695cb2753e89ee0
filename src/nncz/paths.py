"""Paths at the edges of nncz: table formats from file names, ``file.h5:group``, output checks,
atomic output paths.

:func:`check_outputs` is the one place that decides whether a run may write where it was told:
never over one of its inputs, never twice into one file, never over an earlier result without
``--overwrite`` (docs/ROBUSTNESS.md). The error classes here carry the CLI's exit statuses
(:data:`nncz.cli.EXIT_CODES`); :mod:`nncz.io` re-exports all of them.

:class:`AtomicPath` and :func:`atomic_write` are the one place where nncz writes an output: a
temporary file in the destination folder (``.NAME.XXXX.tmp``), given the usual permissions
(``0o666`` less the umask) and moved under its final name with :func:`os.replace` only when
complete, or deleted on failure; a crash never leaves a half-written output under its name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["FITS_SUFFIXES", "PARQUET_SUFFIXES", "CSV_SUFFIXES", "HDF5_SUFFIXES",
           "TableFormatError", "ColumnError", "OutputError", "UsageError", "ModelFileError",
           "table_format", "split_group", "check_outputs", "AtomicPath", "atomic_write"]

FITS_SUFFIXES = (".fits", ".fit", ".fits.gz", ".fit.gz", ".fts")
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")


class TableFormatError(ValueError):
    """The file is not a table nncz can read."""


class ColumnError(KeyError):
    """A required column is missing; the message names the file and lists what exists."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class OutputError(ValueError):
    """An output path is refused (it is an input, another output, or exists; exit status 4)."""


class UsageError(ValueError):
    """Options that do not fit together, or a bad config file (exit status 2)."""


class ModelFileError(ValueError):
    """A model bundle or checkpoint that fails verification (exit status 5)."""


def table_format(path: str | Path) -> str:
    """'fits', 'parquet', 'csv' or 'hdf5' from the file name's extension."""
    name = str(path).lower().split(":")[0] if _has_group(path) else str(path).lower()
    for fmt, suffixes in (
        ("fits", FITS_SUFFIXES),
        ("parquet", PARQUET_SUFFIXES),
        ("csv", CSV_SUFFIXES),
        ("hdf5", HDF5_SUFFIXES),
    ):
        if name.endswith(suffixes):
            return fmt
    raise TableFormatError(
        f"{path}: unknown table format; use one of .parquet, .fits, .csv, .h5 (or .hdf5)"
    )


def _has_group(path: str | Path) -> bool:
    text = str(path)
    return ":" in text and any(f"{s}:" in text.lower() for s in HDF5_SUFFIXES)


def split_group(path: str | Path) -> tuple[Path, str | None]:
    if _has_group(path):
        file_part, group = str(path).rsplit(":", 1)
        return Path(file_part), group
    return Path(path), None


def _file_key(path: str | Path) -> tuple[Path, tuple[int, int] | None]:
    """Resolved file part of ``path`` (``file.h5:group`` -> ``file.h5``) and its inode."""
    file_path = split_group(path)[0].expanduser().resolve()
    try:
        stat = file_path.stat()
        return file_path, (stat.st_dev, stat.st_ino)
    except OSError:
        return file_path, None


def _same(a: tuple[Path, tuple | None], b: tuple[Path, tuple | None]) -> bool:
    return a[0] == b[0] or (a[1] is not None and a[1] == b[1])


def check_outputs(inputs: Sequence[str | Path | None], outputs: Sequence[str | Path | None],
                  overwrite: bool = False, output_dirs: Sequence[str | Path | None] = ()
                  ) -> None:
    """Refuse outputs that would destroy an input, each other, or an earlier result.

    Parameters
    ----------
    inputs : sequence of path or None
        Files (or directories) the run reads; ``None`` entries are skipped.
    outputs : sequence of path or None
        Files the run will write (``file.h5:group`` counts as ``file.h5``).
    overwrite : bool
        Allow replacing an existing output file (``--overwrite``).
    output_dirs : sequence of path or None
        Directories the run writes into: they must not be an input or an existing file.

    Raises
    ------
    OutputError
        One line naming the output and why (an input, given twice, a directory, exists).
    """
    ins = [(_file_key(p), str(p)) for p in inputs if p is not None]
    seen: list[tuple[tuple, str]] = []
    for path in [p for p in outputs if p is not None]:
        key = _file_key(path)
        for other, name in ins:
            if _same(key, other):
                raise OutputError(f"output {path} is the input {name}; write to another file "
                                  "(an input is never overwritten)")
        for other, name in seen:
            if _same(key, other):
                raise OutputError(f"output {path} is also given as output {name}; give each "
                                  "output its own file")
        seen.append((key, str(path)))
        _check_writable_parent(key[0], str(path))
        if key[0].is_dir():
            raise OutputError(f"output {path} is a directory; give a file name")
        if key[0].exists() and not overwrite:
            raise OutputError(f"output {path} exists; pass --overwrite to replace it")
    for directory in [d for d in output_dirs if d is not None]:
        key = _file_key(directory)
        for other, name in ins:
            if _same(key, other):
                raise OutputError(f"output directory {directory} is the input {name}")
        if key[0].exists() and not key[0].is_dir():
            raise OutputError(f"output directory {directory} is a file, not a directory")
        _check_writable_parent(key[0], str(directory))


def _check_writable_parent(path: Path, name: str) -> None:
    """The nearest existing ancestor of ``path`` must be a directory."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"output {name}: {parent} is a file, not a directory")
            return


class AtomicPath:
    """A temporary path next to ``path`` that becomes ``path`` on :meth:`commit`.

    Use it as a context manager (commit on success, discard on any exception, Ctrl-C
    included) or, for streaming writers that outlive one block, call :meth:`commit` /
    :meth:`discard` yourself.

    Parameters
    ----------
    path : str or Path
        Final file name; its folder is created.
    prefix, suffix : str, optional
        Name parts of the temporary file (default ``.NAME.`` and ``.tmp``), for writers that
        choose the format from the name.
    create : bool
        Leave an empty temporary file (default); False removes it so that a library that
        insists on creating its file itself can.

    Examples
    --------
    >>> with AtomicPath("out/table.csv") as temp:  # doctest: +SKIP
    ...     temp.write_text("a,b\\n1,2\\n")
    """

    def __init__(self, path: str | Path, prefix: str | None = None, suffix: str = ".tmp",
                 create: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=prefix if prefix is not None
                                        else f".{self.path.name}.", suffix=suffix,
                                        dir=self.path.parent)
        os.close(handle)
        self.temp = Path(name)
        if not create:
            self.temp.unlink()

    def commit(self, close: Callable[[], object] | None = None) -> Path:
        """Call ``close()`` (a writer's, if given), give the temporary file the usual mode and
        move it under the final name; on any failure the temporary file is deleted."""
        try:
            if close is not None:
                close()
            os.chmod(self.temp, 0o666 & ~_umask())  # mkstemp makes 0600 files
            os.replace(self.temp, self.path)
        except BaseException:
            self.temp.unlink(missing_ok=True)
            raise
        return self.path

    def discard(self, close: Callable[[], object] | None = None) -> None:
        """Call ``close()`` if given, then delete the temporary file (never the final name)."""
        try:
            if close is not None:
                close()
        finally:
            self.temp.unlink(missing_ok=True)

    def __enter__(self) -> Path:
        return self.temp

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temp_path)``, then move the temporary file to ``path``; returns ``path``.

    On any exception the temporary file is deleted and the exception raised again.
    """
    with AtomicPath(path) as temp:
        write(temp)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
