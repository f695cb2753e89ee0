"""`nncz nz`: the tomographic n(z) of a predicted catalog, with bootstrap errors and validation."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.argtypes import nonnegative_int, positive_int
from nncz.io import UsageError, check_outputs, read_table

OUTPUT_NAMES = ("nz.sacc.fits", "nz_qp.hdf5", "nz_table.csv", "summary.json", "nz.png")


def _replicates(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2, got {text!r}")
    return value


def _edges(text) -> list[float]:
    parts = text if isinstance(text, list) else str(text).split(",")
    try:
        edges = [float(p) for p in parts if str(p).strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers, got {text!r}"
                                         ) from None
    if len(edges) < 2 or not all(math.isfinite(e) for e in edges) or any(
            b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise argparse.ArgumentTypeError(f"must be >= 2 increasing numbers, got {text!r}")
    return edges


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "nz", help="tomographic n(z): stack PDFs per bin, bootstrap errors, SACC/qp/table",
        description="Assign galaxies to tomographic bins by a point estimate, stack their "
        "calibrated PDFs into each bin's n(z), bootstrap the galaxies for errors on each bin's "
        "mean, median and width and, with a true-redshift column, measure each bin's shift "
        "in units of (1+z) against LSST DESC's 0.002 (Y1) / 0.001 (Y10). Writes OUT/"
        "nz.sacc.fits, nz_qp.hdf5, nz_table.csv, summary.json and nz.png.")
    p.add_argument("predictions", help="table written by `nncz predict` (row i = PDF i)")
    p.add_argument("--pdf", required=False, help="PDF file written by `nncz predict "
                   "--pdf-output` (calibrated PDFs)")
    binning = p.add_mutually_exclusive_group()
    binning.add_argument("--bins", type=_edges, help="tomographic edges, e.g. 0.2,0.5,0.8,1.2")
    binning.add_argument("--equal-count", type=positive_int, metavar="N",
                         help="N bins with equal numbers of galaxies")
    p.add_argument("--output", required=False, help="output directory")
    p.add_argument("--point", default="z_phot_mean",
                   help="column the galaxies are binned by (default z_phot_mean)")
    p.add_argument("--weights", help="column of per-galaxy weights (e.g. lensing weights)")
    p.add_argument("--truth", help="true-redshift column: validate the stacks against it")
    p.add_argument("--nz-bins", type=positive_int, metavar="N",
                   help="write n(z) on a coarser grid of N bins (a divisor of the PDF grid's)")
    p.add_argument("--bootstrap", type=_replicates, default=100, metavar="N",
                   help="bootstrap replicates, >= 2 (default 100)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace n(z) files already in OUTPUT (default: refuse)")
    p.set_defaults(func=run_nz)


def _inputs(args) -> tuple[pd.DataFrame, object]:
    from nncz.pdfio import read_pdfs

    if not args.pdf:
        raise UsageError("nz needs --pdf PDFS (written by `nncz predict --pdf-output`)")
    if not args.output:
        raise UsageError("nz needs --output DIRECTORY")
    if args.bins is None and args.equal_count is None:
        raise UsageError("nz needs --bins EDGES or --equal-count N")
    out = Path(args.output)
    check_outputs([args.predictions, args.pdf], [out / name for name in OUTPUT_NAMES],
                  getattr(args, "overwrite", False), output_dirs=[out])
    columns = [c for c in dict.fromkeys([args.point, args.weights, args.truth]) if c]
    table = read_table(args.predictions, columns=columns)
    pdfs = read_pdfs(args.pdf)
    if len(pdfs.pdf) != len(table):
        raise ValueError(f"{args.pdf} has {len(pdfs.pdf)} PDFs but {args.predictions} has "
                         f"{len(table)} rows")
    return table, pdfs


def run_nz(args: argparse.Namespace) -> int:
    from nncz.nz import tomographic_nz
    from nncz.nzio import write_nz_outputs
    from nncz.plots._common import save_figure
    from nncz.plots.nz import plot_tomographic_nz

    table, pdfs = _inputs(args)

    def column(name):
        return None if name is None else table[name].to_numpy(np.float64)

    result = tomographic_nz(pdfs.pdf, pdfs.grid, column(args.point), edges=args.bins,
                            n_bins=args.equal_count or 5, weights=column(args.weights),
                            z_true=column(args.truth), nz_bins=args.nz_bins,
                            n_boot=args.bootstrap, seed=args.seed, point=args.point)
    extra = {"predictions": str(args.predictions), "pdf": str(args.pdf),
             "weights": args.weights, "truth": args.truth, "seed": args.seed,
             "pdf_grid": pdfs.grid.to_dict(), "n_rows": len(table)}
    paths = write_nz_outputs(result, args.output, extra)
    width = result.grid.width
    fig = plot_tomographic_nz(result.grid.edges, result.density, result.summary,
                              None if result.nz_true is None else result.nz_true / width,
                              result.nz_err / width)
    paths["figure"] = save_figure(fig, Path(args.output) / "nz.png")[0]
    print(format_summary(result.summary))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def format_summary(summary: pd.DataFrame) -> str:
    """The per-bin table printed by `nncz nz` (means, widths and, with truth, the shifts)."""
    lines = []
    truth = "shift_mean" in summary
    head = f"{'bin':>3} {'range':>15} {'n':>8} {'mean':>16} {'width':>16}"
    if truth:
        head += f" {'mean_true':>9} {'shift/(1+z)':>20} {'Y1':>3} {'Y10':>3}"
    lines.append(head)
    for _, row in summary.iterrows():
        line = (f"{int(row['bin']):>3} [{row['bin_low']:5.3f},{row['bin_high']:6.3f}) "
                f"{int(row['n']):>8} {row['mean']:7.4f} +- {row['mean_err']:.4f}"
                f" {row['width']:7.4f} +- {row['width_err']:.4f}")
        if truth:
            line += (f" {row['mean_true']:9.4f} {row['shift_mean']:+8.5f} +- "
                     f"{row['shift_mean_err']:.5f} {_yes(row['meets_y1']):>3}"
                     f" {_yes(row['meets_y10']):>3}")
        lines.append(line)
    return "\n".join(lines)


def _yes(flag) -> str:
    return "yes" if bool(flag) else "no"
