"""Per-chunk outputs with a manifest: written atomically, skipped when a run resumes.

A chunk ``k`` is done when its marker ``chunk_{k:05d}.json`` exists: the marker is written
(atomically) only after the chunk's main-table part (Parquet) and PDF part (``.npy``) have been
renamed into place, so a run killed at any moment leaves either a finished chunk or nothing
that counts. :meth:`PartStore.finalize` concatenates the parts in chunk order into the final
files (see :mod:`nncz.catalog.writer`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.catalog.products import ChunkResult, empty_main, merge_stats
from nncz.catalog.writer import OUTPUT_NAMES, write_main_fits, write_main_parquet, write_pdf_file
from nncz.grid import RedshiftGrid
from nncz.io import atomic_write, write_table

__all__ = ["PartStore"]


class PartStore:
    """Directory of chunk parts and their done-markers.

    Parameters
    ----------
    directory : str or Path
        Where parts live (created).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, k: int, kind: str) -> Path:
        suffix = {"main": "main.parquet", "pdf": "pdf.npy", "done": "json"}[kind]
        return self.directory / f"chunk_{k:05d}.{suffix}"

    def is_done(self, k: int) -> bool:
        """True when chunk ``k`` finished (marker and both parts present)."""
        return all(self._path(k, kind).exists() for kind in ("done", "main", "pdf"))

    def write(self, k: int, result: ChunkResult, info: dict | None = None) -> None:
        """Write chunk ``k``'s parts, then its marker (stats + ``info``; ``write_part`` [s] is
        added to ``info["timings"]`` when present)."""
        start = time.perf_counter()
        write_table(result.main, self._path(k, "main"))

        def save_npy(temp: Path) -> None:
            with open(temp, "wb") as handle:
                np.save(handle, result.pdf_u16)

        atomic_write(self._path(k, "pdf"), save_npy)
        if info is not None and "timings" in info:
            info["timings"]["write_part"] = time.perf_counter() - start
        marker = {"chunk": k, "n_rows": len(result.main), "stats": result.stats, **(info or {})}
        text = json.dumps(marker, default=float)
        atomic_write(self._path(k, "done"), lambda temp: temp.write_text(text))

    def marker(self, k: int) -> dict:
        return json.loads(self._path(k, "done").read_text())

    def iter_parts(self, chunks: list[int]) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """(main part, uint16 PDFs) of each chunk in order."""
        for k in chunks:
            yield pd.read_parquet(self._path(k, "main")), np.load(self._path(k, "pdf"))

    def summary(self, chunks: list[int]) -> dict:
        """Summed counts and timings of ``chunks``."""
        markers = [self.marker(k) for k in chunks]
        stats = merge_stats([m["stats"] for m in markers])
        timings: dict[str, float] = {}
        for m in markers:
            for key, value in m.get("timings", {}).items():
                timings[key] = timings.get(key, 0.0) + float(value)
        return {"n_chunks": len(chunks), "n_rows": sum(m["n_rows"] for m in markers),
                "stats": stats, "timings": timings}

    def finalize(self, out_dir: str | Path, chunks: list[int], grid: RedshiftGrid,
                 provenance: dict, formats: tuple[str, ...] = ("parquet", "fits")) -> dict:
        """Concatenate the parts of ``chunks`` into the final files in ``out_dir``.

        Returns a dict of the written paths (keys ``parquet``, ``fits``, ``pdf``).
        """
        out_dir = Path(out_dir)
        summary = self.summary(chunks)
        provenance = {**provenance, "counts": summary["stats"]}
        chunks = [k for k in chunks if self.marker(k)["n_rows"] > 0] or chunks[:1]

        def mains():
            if not chunks:
                yield empty_main()
            for main, _ in self.iter_parts(chunks):
                yield main

        written = {}
        if "parquet" in formats:
            written["parquet"] = write_main_parquet(out_dir / OUTPUT_NAMES["parquet"], mains,
                                                    provenance)
        if "fits" in formats:
            width = max([1] + [int(pd.read_parquet(self._path(k, "main"), columns=[
                "unwise_objid"])["unwise_objid"].astype(str).str.len().max() or 1)
                for k in chunks])
            written["fits"] = write_main_fits(out_dir / OUTPUT_NAMES["fits"], mains,
                                              summary["n_rows"], width, provenance)
        pdf_parts = ((counts, main) for main, counts in self.iter_parts(chunks))
        written["pdf"] = write_pdf_file(out_dir / OUTPUT_NAMES["pdf"], pdf_parts, grid,
                                        provenance)
        return written
