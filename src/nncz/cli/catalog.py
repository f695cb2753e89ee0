"""``nncz catalog``: the unified five-level catalog (streamed, or on lsdb/Dask).

The levels and models come from the catalog's own YAML (:class:`nncz.catalog.CatalogConfig`);
:class:`CatalogOptions` holds the inputs and how the run is done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nncz.cli.argtypes import positive_int
from nncz.cli.options import CommonOptions, Verb, option
from nncz.io import OutputError, UsageError, check_outputs

__all__ = ["CatalogOptions", "VERBS"]


@dataclass(frozen=True)
class CatalogOptions:
    """Options of ``nncz catalog`` (see ``nncz catalog --help``)."""

    catalog_config: Path = option(type=Path, help="YAML: levels -> model directories")
    out_dir: Path = option(type=Path, help="output directory")
    ls: Path | None = option(None, "--ls", type=Path,
                             help="ls_dr10 table (or HATS catalog with --engine lsdb)")
    ps1: Path | None = option(None, "--ps1", type=Path, help="ps1_dr2 table (or HATS catalog)")
    unwise: Path | None = option(None, "--unwise", type=Path,
                                 help="unwise table (or HATS catalog)")
    engine: str = option("stream", "--engine", choices=("stream", "lsdb"))
    chunk_rows: int = option(125_000, "--chunk-rows", type=positive_int,
                             help="input rows per stripe (stream; sets peak memory)")
    pdf_bins: int | None = option(
        None, "--pdf-bins", type=positive_int,
        help="bins of the stored PDFs (default 40; 400 = native; must divide the models' bins)")
    formats: tuple[str, ...] = option(("parquet", "fits"), "--formats", nargs="+",
                                      choices=("parquet", "fits"))
    scheduler: str | None = option(
        None, "--scheduler", help="Dask scheduler address (lsdb engine; default: local threads)")
    workers: int = option(2, "--workers", type=positive_int,
                          help="local Dask threads (lsdb engine)")
    overwrite: bool = option(
        False, "--overwrite", action="store_true",
        help="replace a run (finished or not) with other inputs, settings or models in OUT_DIR "
        "(default: refuse; the same run resumes)")
    jobs: int = option(1, "--jobs", type=positive_int, help="worker processes (stream engine)")
    keep_work: bool = option(False, "--keep-work", action="store_true",
                             help="keep OUT_DIR/work (buckets, parts) after a finished run")
    no_progress: bool = option(False, "--no-progress", action="store_true")


def run(options: CatalogOptions, common: CommonOptions) -> int:
    """Run the catalog with the chosen engine; print its files and counts."""
    from nncz.catalog.config import load_config
    from nncz.catalog.products import ModelSet
    from nncz.catalog.writer import OUTPUT_NAMES

    if not any((options.ls, options.ps1)):
        raise UsageError("give --ls and/or --ps1 (and --unwise)")
    out_dir = Path(options.out_dir)
    inputs = [options.catalog_config, options.ls, options.ps1, options.unwise]
    for path in inputs[1:]:
        if path is not None and not path.exists():
            raise FileNotFoundError(2, "no such file or directory", str(path))
    cfg = load_config(options.catalog_config)
    if options.pdf_bins:
        cfg.pdf_bins = options.pdf_bins
    models_dirs = [Path(p) for p in cfg.models.values()]
    finals = [out_dir / name for name in [*OUTPUT_NAMES.values(), "manifest.json"]]
    # existing finals are the resume logic's business (same run: rerun; other: --overwrite)
    check_outputs([*inputs, *models_dirs], finals, overwrite=True, output_dirs=[out_dir])
    models = ModelSet.load(cfg)
    if models.grid.n_bins % cfg.pdf_bins:
        raise UsageError(f"--pdf-bins / pdf_bins {cfg.pdf_bins} must divide the models' "
                         f"{models.grid.n_bins} bins")
    progress = not (options.no_progress or common.quiet)
    if options.engine == "stream":
        from nncz.catalog.stream import Inputs, run_catalog

        report = run_catalog(Inputs(options.ls, options.ps1, options.unwise), cfg, out_dir,
                             models, chunk_rows=options.chunk_rows,
                             formats=tuple(options.formats), progress=progress,
                             overwrite=options.overwrite, jobs=options.jobs,
                             keep_work=options.keep_work)
    else:
        from nncz.catalog.lsdb_path import open_hats, run_catalog_lsdb

        if (out_dir / "manifest.json").exists() and not options.overwrite:
            raise OutputError(f"{out_dir} holds a finished catalog; the lsdb engine does not "
                              "resume: pass --overwrite to replace it")
        cats = [open_hats(p) for p in (options.ls, options.ps1, options.unwise)]
        report = run_catalog_lsdb(*cats, cfg, out_dir, models, scheduler=options.scheduler,
                                  n_workers=options.workers, formats=tuple(options.formats),
                                  progress=progress)
    manifest = report["manifest"]
    print(json.dumps({"files": report["files"], "rows": manifest["n_rows"],
                      "counts": manifest["stats"], "wall_s": round(manifest["wall_s"], 2)},
                     indent=1))
    return 0


VERBS = (
    Verb("catalog", CatalogOptions, run,
         help="unified five-level photo-z catalog of LSDR10 + PS1 DR2 (+ unWISE)",
         description="Assign every source the best of five level models (config YAML), stream "
         "the inputs in declination stripes with bounded memory (a rerun resumes), or run "
         "partition-wise on HATS catalogs with lsdb/Dask (--engine lsdb)."),
)
