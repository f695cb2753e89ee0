"""Streaming catalog engine: bounded memory at any catalog size, resumable.

1. **Plan**: the declination columns are read in chunks and histogrammed (1' bins); stripe
   edges are placed so that each stripe holds about ``chunk_rows`` rows of all surveys.
2. **Scatter**: each input is read in chunks and every row is appended to the bucket of its
   stripe, and to a neighbour's when it lies within the margin
   (:attr:`~nncz.catalog.config.CatalogConfig.margin_arcsec`) of the stripe edge, so that the
   matches of a stripe's own rows are exact. Buffers are flushed to Parquet when they exceed
   ``buffer_rows``.
3. **Process**: stripe by stripe, the buckets are matched (:func:`match_surveys`), the sources
   whose position lies in the stripe are kept, and :func:`process_chunk` runs; each stripe's
   outputs go to a :class:`PartStore` atomically. A rerun with the same inputs and settings
   skips the finished stripes (a killed run resumes).
4. **Finalize**: the parts are concatenated into ``catalog.parquet``, ``catalog.fits`` and
   ``catalog_pdf.hdf5``.

Peak memory is set by ``chunk_rows`` (one stripe with its margins), ``read_rows`` and
``buffer_rows``, not by the catalog size.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.catalog import nz as catalog_nz
from nncz.catalog.config import CatalogConfig, model_fingerprints
from nncz.catalog.parts import PartStore
from nncz.catalog.products import ModelSet, process_chunk
from nncz.catalog.sources import SURVEYS, canonical, empty_survey, match_surveys
from nncz.catalog.writer import OUTPUT_NAMES
from nncz.io import OutputError, atomic_write, release_free_memory, write_table
from nncz.surveys.read import iter_survey_chunks  # archive layouts (sweeps, ...) as given

__all__ = ["Inputs", "survey_columns", "plan_stripes", "run_catalog"]

DEC_BIN_DEG = 1.0 / 60.0
INPUT_ROW = "_nncz_input_row"  # row number in its input file, carried through the buckets


@dataclass
class Inputs:
    """Input tables (any format nncz.io reads); a missing survey is None."""

    ls: str | Path | None = None
    ps1: str | Path | None = None
    unwise: str | Path | None = None

    def items(self) -> list[tuple[str, Path]]:
        return [(s, Path(p)) for s, p in (("ls", self.ls), ("ps1", self.ps1),
                                          ("unwise", self.unwise)) if p is not None]

    def signature(self) -> dict:
        return {s: {"path": str(p.resolve()), "size": p.stat().st_size,
                    "mtime": p.stat().st_mtime} for s, p in self.items()}


def survey_columns(survey: str, path: Path, cfg: CatalogConfig) -> list[str] | None:
    """Columns to read from a survey file (None: all, in ``prebuilt`` mode)."""
    if cfg.features == "prebuilt":
        return None
    from nncz.surveys import lsdr10, ps1, unwise
    from nncz.surveys.read import survey_file_columns  # names as the survey layer gives them

    available = set(survey_file_columns(path, survey))
    if survey == "ls":
        wanted = lsdr10.required_columns() + lsdr10.optional_columns()
    elif survey == "ps1":
        wanted = ps1.required_columns() + ([cfg.ps1_ebv_column] if cfg.ps1_ebv_column else [])
    else:
        wanted = unwise.required_columns()
    must = set(SURVEYS[survey])
    return [c for c in dict.fromkeys(wanted) if c in available or c in must]


def plan_stripes(inputs: Inputs, chunk_rows: int, read_rows: int = 1_000_000) -> np.ndarray:
    """Declination edges [deg] of stripes holding about ``chunk_rows`` input rows each."""
    n_bins = int(round(180.0 / DEC_BIN_DEG))
    counts = np.zeros(n_bins, dtype=np.int64)
    for survey, path in inputs.items():
        dec_col = SURVEYS[survey][2]
        for chunk in iter_survey_chunks(path, survey, read_rows, columns=[dec_col]):
            dec = chunk[dec_col].to_numpy(np.float64)
            dec = dec[np.isfinite(dec)]
            index = np.clip(((dec + 90.0) / DEC_BIN_DEG).astype(np.int64), 0, n_bins - 1)
            counts += np.bincount(index, minlength=n_bins)
    stripe_of_bin = np.cumsum(counts) // max(int(chunk_rows), 1)
    cuts = np.flatnonzero(np.diff(stripe_of_bin) > 0) + 1  # first bin of a new stripe
    edges = np.concatenate([[-90.0], -90.0 + cuts * DEC_BIN_DEG, [np.nextafter(90.0, 91.0)]])
    return np.unique(edges)


def _scatter(inputs: Inputs, cfg: CatalogConfig, edges: np.ndarray, bucket_dir: Path,
             read_rows: int, buffer_rows: int, jobs: int = 1) -> dict[str, int]:
    """Append every input row to the bucket of its stripe (+ neighbours within the margin).

    With ``jobs > 1`` the surveys are scattered side by side in child processes, largest file
    first (each survey has its own buckets). The children are spawned (fresh interpreters,
    ~130 MB each): forked ones each counted this process's torch and models in the tree's
    memory (10^7 synthetic sources, --jobs 2: 1,705 MB peak RSS over the tree, against 1,114
    with one child scattering the surveys in turn). The scatter leaves ~100-150 MB of freed
    memory that the allocators keep and cannot return (fragmented); in a child it goes back to
    the system when the child exits, instead of staying in this process and in every stripe
    worker forked from it (issue 14). Returns the number of rows (finite declination) of each
    survey.
    """
    surveys = sorted(inputs.items(), key=lambda item: -_file_bytes(item[1]))
    workers = min(jobs, len(surveys))
    # the children share the buffer: together they hold what one scatter did
    tasks = [(survey, path, cfg, edges, bucket_dir, read_rows, max(1, buffer_rows // workers))
             for survey, path in surveys]
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            counts = pool.starmap(_scatter_survey, tasks, chunksize=1)
    else:
        counts = [_scatter_survey(*task) for task in tasks]
    return {survey: n for (survey, _), n in zip(surveys, counts, strict=True)}


def _file_bytes(path: Path) -> int:
    """Size of ``path`` in bytes (0 for a directory or a missing file): the scatter's order."""
    return path.stat().st_size if path.is_file() else 0


def _scatter_survey(survey: str, path: Path, cfg: CatalogConfig, edges: np.ndarray,
                    bucket_dir: Path, read_rows: int, buffer_rows: int) -> int:
    """:func:`_scatter` of one survey's table; returns its rows with a finite declination."""
    margin = cfg.margin_arcsec / 3600.0
    n_stripes = len(edges) - 1
    n_rows = 0
    buffers: dict[int, list[pd.DataFrame]] = {}
    held, flushes, offset_in = 0, 0, 0
    columns = survey_columns(survey, path, cfg)
    for chunk in iter_survey_chunks(path, survey, read_rows, columns=columns):
        chunk = chunk.assign(**{INPUT_ROW: np.arange(offset_in, offset_in + len(chunk))})
        offset_in += len(chunk)
        dec = chunk[SURVEYS[survey][2]].to_numpy(np.float64)
        lo = np.clip(np.searchsorted(edges, dec - margin, "right") - 1, 0, n_stripes - 1)
        hi = np.clip(np.searchsorted(edges, dec + margin, "right") - 1, 0, n_stripes - 1)
        n_rows += int(np.isfinite(dec).sum())
        for offset in range(int((hi - lo).max(initial=0)) + 1):
            stripe = lo + offset
            rows = np.flatnonzero(np.isfinite(dec) & (stripe <= hi))
            if not len(rows):  # an empty chunk, or no finite declination in it
                continue
            rows = rows[np.argsort(stripe[rows], kind="stable")]
            keys, starts = np.unique(stripe[rows], return_index=True)
            for k, part_rows in zip(keys, np.split(rows, starts[1:]), strict=True):
                buffers.setdefault(int(k), []).append(chunk.iloc[part_rows])
                held += len(part_rows)
        if held >= buffer_rows:
            _flush(buffers, bucket_dir / survey, flushes)
            held, flushes = 0, flushes + 1
    if buffers:
        _flush(buffers, bucket_dir / survey, flushes)
    return n_rows


def _flush(buffers: dict[int, list[pd.DataFrame]], folder: Path, flush_id: int) -> None:
    """Write each stripe's buffered rows to ``folder/<stripe>/<flush_id>.parquet`` (through the
    one table writer, so a killed run never leaves half a bucket file)."""
    for k, frames in buffers.items():
        target = folder / f"{k:05d}"
        target.mkdir(parents=True, exist_ok=True)
        write_table(pd.concat(frames, ignore_index=True), target / f"{flush_id:05d}.parquet")
    buffers.clear()


def _read_bucket(bucket_dir: Path, survey: str, k: int, columns: list[str]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    folder = bucket_dir / survey / f"{k:05d}"
    files = sorted(folder.glob("*.parquet")) if folder.exists() else []
    if not files:
        return empty_survey([*columns, INPUT_ROW])
    frame = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    # input order, whatever the stripes and flushes were: matches then break ties the same way
    return canonical(frame.sort_values(INPUT_ROW, kind="stable"))


def run_key(inputs: Inputs, cfg: CatalogConfig, chunk_rows: int, models: ModelSet) -> dict:
    """What makes two runs the same: inputs, settings, stripe size and model fingerprints."""
    return {"inputs": inputs.signature(), "config": cfg.digest(), "chunk_rows": int(chunk_rows),
            "models": model_fingerprints(models.paths)}


def _other_run(out_dir: Path, where: Path, old: dict, new: dict) -> str:
    differ = [k for k in new if old.get(k) != new[k]] or ["run key"]
    return (f"{out_dir} holds a run with other inputs or settings ({', '.join(differ)} "
            f"differ; see {where}); pass --overwrite to replace it, or use another directory")


def _check_finished(out_dir: Path, key: dict, overwrite: bool) -> None:
    """Refuse a finished catalog of another run in ``out_dir`` unless ``overwrite``."""
    manifest_path = out_dir / "manifest.json"
    if not manifest_path.exists():
        return
    old = json.loads(manifest_path.read_text()).get("key")
    if old == key:
        return
    if not overwrite:
        raise OutputError(_other_run(out_dir, manifest_path, old or {}, key))
    for name in [*OUTPUT_NAMES.values(), "manifest.json"]:  # replaced: never half old, half new
        (out_dir / name).unlink(missing_ok=True)


def _prepare(out_dir: Path, inputs: Inputs, cfg: CatalogConfig, chunk_rows: int,
             read_rows: int, buffer_rows: int, overwrite: bool,
             key: dict, jobs: int = 1) -> tuple[np.ndarray, Path, int]:
    """Plan and scatter (``jobs`` surveys at once), or reuse a previous run's plan and buckets
    when they match."""
    work = out_dir / "work"
    plan_path = work / "plan.json"
    if plan_path.exists():
        plan = json.loads(plan_path.read_text())
        if plan["key"] != key and not overwrite:
            raise OutputError(_other_run(out_dir, plan_path, plan["key"], key))
        if plan["key"] == key and plan.get("scattered"):
            return np.asarray(plan["edges"]), work, int(plan["n_input"])
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    edges = plan_stripes(inputs, chunk_rows, read_rows)
    n_rows = _scatter(inputs, cfg, edges, work / "buckets", read_rows, buffer_rows, jobs)
    n_input = n_rows.get("ls", 0) + n_rows.get("ps1", 0)
    text = json.dumps({"key": key, "edges": edges.tolist(), "scattered": True,
                       "n_rows": n_rows, "n_input": n_input}, indent=1)
    atomic_write(plan_path, lambda temp: temp.write_text(text))
    return edges, work, n_input


def run_catalog(inputs: Inputs, cfg: CatalogConfig, out_dir: str | Path,
                models: ModelSet | None = None, chunk_rows: int = 125_000,
                read_rows: int = 250_000, buffer_rows: int = 500_000,
                formats: tuple[str, ...] = ("parquet", "fits"), progress: bool = True,
                overwrite: bool = False, finalize: bool = True, jobs: int = 1,
                keep_work: bool = False) -> dict:
    """Build the catalog of ``inputs`` into ``out_dir`` with bounded memory (resumable).

    Parameters
    ----------
    inputs : Inputs
        LSDR10, PS1 DR2 and unWISE tables (schemas of docs/SCHEMAS.md).
    cfg : CatalogConfig
    out_dir : str or Path
        Output directory: final files, ``work/`` (plan, buckets, parts), ``manifest.json``.
    models : ModelSet, optional
        Default: loaded from ``cfg``.
    chunk_rows : int
        Target input rows per stripe (sets peak memory: each process holds ~1 kB per row of
        its stripe; 10^6 synthetic sources, --jobs 2: 1.36 GB peak RSS over the process tree
        with 250,000 rows, 1.24 GB with 125,000, at the same speed).
    read_rows, buffer_rows : int
        Rows per read and rows buffered before a bucket flush.
    formats : tuple of str
        Main-table formats among ``parquet``, ``fits``.
    progress : bool
        Show a tqdm bar (input rows, rate, ETA).
    overwrite : bool
        Replace a run with other inputs/settings in ``out_dir`` (default: refuse).
    finalize : bool
        Concatenate the parts into the final files at the end.
    jobs : int
        Worker processes for the stripes (1: this process; torch then uses its own threads).
        With ``jobs > 1`` the surveys are scattered by spawned processes, which import the
        calling script: a script (not a notebook) must call this under
        ``if __name__ == "__main__":``, as for any spawned multiprocessing pool.
    keep_work : bool
        Keep ``work/`` (buckets and parts, as large as the inputs) after a finalized run;
        by default it is removed once the final files are written.

    Returns
    -------
    dict
        ``manifest``: counts, timings, chunks run and skipped; ``files``: written paths.
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    if int(chunk_rows) < 1 or int(read_rows) < 1 or int(buffer_rows) < 1:
        raise ValueError(f"chunk_rows, read_rows and buffer_rows must be >= 1, got "
                         f"{chunk_rows}, {read_rows}, {buffer_rows}")
    models = models or ModelSet.load(cfg)
    t0 = time.perf_counter()
    key = run_key(inputs, cfg, chunk_rows, models)  # hashes the model files: once per run
    _check_finished(out_dir, key, overwrite)
    edges, work, n_input_total = _prepare(out_dir, inputs, cfg, chunk_rows, read_rows,
                                          buffer_rows, overwrite, key, jobs)
    t_prepare = time.perf_counter() - t0
    store = PartStore(work / "parts")
    n_stripes = len(edges) - 1
    skipped = [k for k in range(n_stripes) if store.is_done(k)]
    total = sum(store.marker(k)["n_input"] for k in skipped)
    bar = tqdm(total=n_input_total, initial=total, unit="row", unit_scale=True,
               desc="nncz catalog", disable=not progress)
    todo = [k for k in range(n_stripes) if k not in skipped]
    args = (work, edges, models, cfg, store)
    if jobs > 1 and len(todo) > 1:
        _run_parallel(todo, args, jobs, bar)
    else:
        for k in todo:
            bar.update(_process_stripe(k, *args))
    bar.close()
    chunks = list(range(n_stripes))
    manifest = {**store.summary(chunks), "key": key,
                "chunks_skipped": skipped,
                "chunks_run": [k for k in chunks if k not in skipped],
                "prepare_s": t_prepare, "edges": edges.tolist()}
    files = {}
    if finalize:
        t_fin = time.perf_counter()
        files = store.finalize(out_dir, chunks, models.grid.coarsen(cfg.pdf_bins),
                               models.provenance(cfg), formats)
        if cfg.nz:
            files.update(catalog_nz.finalize(store.directory, chunks,
                                             models.grid.coarsen(cfg.pdf_bins), cfg.nz, out_dir))
        manifest["finalize_s"] = time.perf_counter() - t_fin
        if not keep_work:
            shutil.rmtree(work)
    manifest["wall_s"] = time.perf_counter() - t0
    text = json.dumps(manifest, indent=1, default=str)
    atomic_write(out_dir / "manifest.json", lambda temp: temp.write_text(text))
    return {"manifest": manifest, "files": {k: str(v) for k, v in files.items()}}


def _process_stripe(k: int, work: Path, edges: np.ndarray, models: ModelSet,
                    cfg: CatalogConfig, store: PartStore) -> int:
    """Match, process and write stripe ``k``; returns its number of input rows."""
    columns = {s: list(SURVEYS[s]) for s in SURVEYS}
    start = time.perf_counter()
    frames = {s: _read_bucket(work / "buckets", s, k, columns[s]) for s in SURVEYS}
    timings = {"read": time.perf_counter() - start}
    sky = match_surveys(frames["ls"], frames["ps1"], frames["unwise"],
                        cfg.match_radius_arcsec, cfg.unwise_radius_arcsec)
    core = _core_in_order(sky, edges[k], edges[k + 1])
    timings["match"] = time.perf_counter() - start - timings["read"]
    result = process_chunk(sky.subset(core), models, cfg, timings)
    if cfg.nz:  # this stripe's n(z) sums, saved before its done-marker (resume-safe)
        catalog_nz.add_stripe(store.directory, k, result.main, result.pdf_u16, cfg.nz)
    n_input = _n_core(frames, edges[k], edges[k + 1])
    store.write(k, result, {"n_input": n_input, "timings": timings,
                            "dec_range": [edges[k], edges[k + 1]]})
    return n_input


_WORKER_ARGS: tuple = ()


def _worker_init(args: tuple) -> None:
    global _WORKER_ARGS
    import torch

    torch.set_num_threads(1)  # one process per core
    _WORKER_ARGS = args


def _worker_run(k: int) -> int:
    return _run_stripe(k, _WORKER_ARGS)


def _run_parallel(todo: list[int], args: tuple, jobs: int, bar) -> None:
    """Stripes in this process and ``jobs - 1`` forked workers; each writes its own parts.

    This process works too, rather than waiting on ``jobs`` workers: every forked worker
    starts with this process's resident pages (torch, the models: ~450 MB), so one process
    fewer is ~450 MB less resident memory summed over the processes (issue 14). Each worker
    has two stripes queued, so that it never waits for this process to hand out the next.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    import torch

    context = multiprocessing.get_context("fork")
    release_free_memory()  # forked workers start with (and count) this process's pages
    pending = list(todo)
    threads = torch.get_num_threads()
    with ProcessPoolExecutor(jobs - 1, mp_context=context, initializer=_worker_init,
                             initargs=(args,)) as pool:
        running = {pool.submit(_worker_run, pending.pop(0))}  # forks the workers
        torch.set_num_threads(1)  # one process per core, this one included
        try:
            while running or pending:
                while pending and len(running) < 2 * (jobs - 1):
                    running.add(pool.submit(_worker_run, pending.pop(0)))
                if pending:  # this process takes from the end, the workers from the front
                    bar.update(_run_stripe(pending.pop(), args))
                done, running = wait(running, timeout=0 if pending else None,
                                     return_when=FIRST_COMPLETED)
                for future in done:
                    bar.update(future.result())
        finally:
            torch.set_num_threads(threads)


def _run_stripe(k: int, args: tuple) -> int:
    n_input = _process_stripe(k, *args)
    release_free_memory()
    return n_input


def _core_in_order(sky, lo: float, hi: float) -> np.ndarray:
    """Sources with ``lo <= dec < hi``, ordered by (dec, ra, LSDR10 first, input row).

    Stripes are declination ranges, so the catalog comes out sorted by declination whatever
    ``chunk_rows`` was: two chunkings give the same catalog row for row.
    """
    core = np.flatnonzero((sky.dec >= lo) & (sky.dec < hi))
    ls_row, ps1_row = sky.ls[INPUT_ROW].to_numpy(), sky.ps1[INPUT_ROW].to_numpy()
    is_ls = sky.i_ls[core] >= 0
    row = np.where(is_ls, ls_row[np.maximum(sky.i_ls[core], 0)] if len(ls_row) else -1,
                   ps1_row[np.maximum(sky.i_ps1[core], 0)] if len(ps1_row) else -1)
    return core[np.lexsort((row, ~is_ls, sky.ra[core], sky.dec[core]))]


def _n_core(frames: dict[str, pd.DataFrame], lo: float, hi: float) -> int:
    """Input rows (LSDR10 + PS1) whose own declination lies in [lo, hi)."""
    n = 0
    for survey in ("ls", "ps1"):
        dec = frames[survey][SURVEYS[survey][2]].to_numpy(np.float64)
        n += int(((dec >= lo) & (dec < hi)).sum())
    return n

