"""``nncz catalog``: the unified five-level catalog (streamed, or on lsdb/Dask)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nncz.argtypes import positive_int
from nncz.io import OutputError, UsageError, check_outputs

__all__ = ["add_cli"]


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register ``nncz catalog CONFIG OUT_DIR --ls F --ps1 F --unwise F [...]``."""
    p = subparsers.add_parser(
        "catalog", help="unified five-level photo-z catalog of LSDR10 + PS1 DR2 (+ unWISE)",
        description="Assign every source the best of five level models (config YAML), stream "
        "the inputs in declination stripes with bounded memory (a rerun resumes), or run "
        "partition-wise on HATS catalogs with lsdb/Dask (--engine lsdb).")
    p.add_argument("catalog_config", type=Path, help="YAML: levels -> model directories")
    p.add_argument("out_dir", type=Path, help="output directory")
    p.add_argument("--ls", type=Path, help="ls_dr10 table (or HATS catalog with --engine lsdb)")
    p.add_argument("--ps1", type=Path, help="ps1_dr2 table (or HATS catalog)")
    p.add_argument("--unwise", type=Path, help="unwise table (or HATS catalog)")
    p.add_argument("--engine", choices=["stream", "lsdb"], default="stream")
    p.add_argument("--chunk-rows", type=positive_int, default=250_000,
                   help="input rows per stripe (stream; sets peak memory)")
    p.add_argument("--pdf-bins", type=positive_int, help="bins of the stored PDFs (default 40; "
                   "400 = native; must divide the models' bins)")
    p.add_argument("--formats", nargs="+", default=["parquet", "fits"],
                   choices=["parquet", "fits"])
    p.add_argument("--scheduler", help="Dask scheduler address (lsdb engine; default: local "
                   "threads)")
    p.add_argument("--workers", type=positive_int, default=2,
                   help="local Dask threads (lsdb engine)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a run (finished or not) with other inputs, settings or "
                   "models in OUT_DIR (default: refuse; the same run resumes)")
    p.add_argument("--jobs", type=positive_int, default=1, help="worker processes (stream engine)")
    p.add_argument("--keep-work", action="store_true",
                   help="keep OUT_DIR/work (buckets, parts) after a finished run")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from nncz.catalog.config import load_config
    from nncz.catalog.products import ModelSet

    if not any((args.ls, args.ps1)):
        raise UsageError("give --ls and/or --ps1 (and --unwise)")
    inputs = [args.catalog_config, args.ls, args.ps1, args.unwise]
    for path in inputs[1:]:
        if path is not None and not path.exists():
            raise FileNotFoundError(2, "no such file or directory", str(path))
    cfg = load_config(args.catalog_config)
    if args.pdf_bins:
        cfg.pdf_bins = args.pdf_bins
    models_dirs = [Path(p) for p in cfg.models.values()]
    from nncz.catalog.writer import OUTPUT_NAMES

    finals = [args.out_dir / name for name in [*OUTPUT_NAMES.values(), "manifest.json"]]
    # existing finals are the resume logic's business (same run: rerun; other: --overwrite)
    check_outputs([*inputs, *models_dirs], finals, overwrite=True, output_dirs=[args.out_dir])
    models = ModelSet.load(cfg)
    if models.grid.n_bins % cfg.pdf_bins:
        raise UsageError(f"--pdf-bins / pdf_bins {cfg.pdf_bins} must divide the models' "
                         f"{models.grid.n_bins} bins")
    progress = not (args.no_progress or getattr(args, "quiet", False))
    if args.engine == "stream":
        from nncz.catalog.stream import Inputs, run_catalog

        report = run_catalog(Inputs(args.ls, args.ps1, args.unwise), cfg, args.out_dir, models,
                             chunk_rows=args.chunk_rows, formats=tuple(args.formats),
                             progress=progress, overwrite=args.overwrite, jobs=args.jobs,
                             keep_work=args.keep_work)
    else:
        from nncz.catalog.lsdb_path import open_hats, run_catalog_lsdb

        if (args.out_dir / "manifest.json").exists() and not args.overwrite:
            raise OutputError(f"{args.out_dir} holds a finished catalog; the lsdb engine does "
                              "not resume: pass --overwrite to replace it")
        cats = [open_hats(p) for p in (args.ls, args.ps1, args.unwise)]
        report = run_catalog_lsdb(*cats, cfg, args.out_dir, models, scheduler=args.scheduler,
                                  n_workers=args.workers, formats=tuple(args.formats),
                                  progress=progress)
    manifest = report["manifest"]
    print(json.dumps({"files": report["files"], "rows": manifest["n_rows"],
                      "counts": manifest["stats"], "wall_s": round(manifest["wall_s"], 2)},
                     indent=1))
    return 0
