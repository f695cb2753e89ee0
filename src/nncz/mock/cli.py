"""``nncz mock`` verb (registered by :mod:`nncz.cli` through :func:`add_cli`).

Options are validated where they enter (:mod:`nncz.argtypes`); an existing universe in OUT_DIR
is replaced only with ``--overwrite``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nncz.argtypes import finite_float, nonnegative_int, positive_int

__all__ = ["add_cli"]


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register ``nncz mock OUT_DIR --n-galaxies N --seed S [--report] [--overwrite]``."""
    p = subparsers.add_parser("mock", help="generate a mock universe (LSDR10, PS1, unWISE, "
                              "DESI DR1, SDSS) with the archives' schemas")
    p.add_argument("out_dir", type=Path, help="output folder")
    p.add_argument("--n-galaxies", type=positive_int, default=100_000,
                   help="galaxies (plus stars and QSOs; default 100000)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="master seed (default 0)")
    p.add_argument("--formats", nargs="+", default=["parquet", "fits"],
                   choices=["parquet", "fits"])
    p.add_argument("--chunk-size", type=positive_int, default=200_000,
                   help="galaxies generated per chunk (default 200000)")
    p.add_argument("--i-max", type=finite_float, default=24.0,
                   help="galaxy limit, DECam i [AB]")
    p.add_argument("--report", action="store_true", help="also write realism figures (PNG)")
    p.add_argument("--sweep", action="store_true",
                   help="also write the LS rows as Legacy Surveys sweep files: OUT_DIR/sweep/"
                   "north (DR9 layout, no i) and OUT_DIR/sweep/south (DR10 layout)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the tables of a universe already in OUT_DIR (default: refuse)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    from nncz.io import check_outputs
    from nncz.mock.universe import TABLES, make_universe

    formats = list(dict.fromkeys(args.formats))
    outputs = [args.out_dir / f"{name}.{fmt}" for name in TABLES for fmt in formats]
    check_outputs([], outputs, args.overwrite, output_dirs=[args.out_dir])
    quiet = args.no_progress or getattr(args, "quiet", False)
    paths = make_universe(args.out_dir, n_galaxies=args.n_galaxies, seed=args.seed,
                          formats=formats, progress=not quiet,
                          chunk_size=args.chunk_size, i_max=args.i_max)
    for name, ps in paths.items():
        print(f"{name}: " + ", ".join(str(p) for p in ps))
    if getattr(args, "sweep", False):
        from nncz.io import read_table
        from nncz.mock.sweep import write_sweeps

        sweeps = write_sweeps(read_table(paths["ls_dr10"][0]), args.out_dir / "sweep",
                              overwrite=args.overwrite)
        print(f"sweep: {len(sweeps)} files in {args.out_dir / 'sweep'}")
    if args.report:
        from nncz.mock.report import write_report

        for p in write_report(args.out_dir):
            print(f"report: {p}")
    return 0
