"""`nncz nz`: the tomographic n(z) of a predicted catalog, with bootstrap errors and validation.

The stacking and bootstrap are :func:`nncz.nz.tomographic_nz`, the files and the figure
:func:`nncz.nzio.write_nz_outputs`.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nncz.cli.argtypes import nonnegative_int, positive_int
from nncz.cli.options import CommonOptions, Verb, option
from nncz.io import UsageError, check_outputs, read_table

if TYPE_CHECKING:
    from nncz.pdfio import PDFSet

__all__ = ["NzOptions", "VERBS", "format_summary"]

OUTPUT_NAMES = ("nz.sacc.fits", "nz_qp.hdf5", "nz_table.csv", "summary.json", "nz.png")


def _replicates(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2, got {text!r}")
    return value


def _edges(text: str) -> list[float]:
    try:
        edges = [float(p) for p in str(text).split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers, got {text!r}"
                                         ) from None
    if len(edges) < 2 or not all(math.isfinite(e) for e in edges) or any(
            b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise argparse.ArgumentTypeError(f"must be >= 2 increasing numbers, got {text!r}")
    return edges


@dataclass(frozen=True)
class NzOptions:
    """Options of ``nncz nz`` (see ``nncz nz --help``)."""

    predictions: str = option(help="table written by `nncz predict` (row i = PDF i)")
    pdf: str | None = option(None, "--pdf", help="PDF file written by `nncz predict "
                             "--pdf-output` (calibrated PDFs)")
    bins: list[float] | None = option(None, "--bins", type=_edges, group="binning",
                                      help="tomographic edges, e.g. 0.2,0.5,0.8,1.2")
    equal_count: int | None = option(None, "--equal-count", type=positive_int, metavar="N",
                                     group="binning",
                                     help="N bins with equal numbers of galaxies")
    output: str | None = option(None, "--output", help="output directory")
    point: str = option("z_phot_mean", "--point",
                        help="column the galaxies are binned by (default z_phot_mean)")
    weights: str | None = option(None, "--weights",
                                 help="column of per-galaxy weights (e.g. lensing weights)")
    truth: str | None = option(None, "--truth",
                               help="true-redshift column: validate the stacks against it")
    nz_bins: int | None = option(
        None, "--nz-bins", type=positive_int, metavar="N",
        help="write n(z) on a coarser grid of N bins (a divisor of the PDF grid's)")
    bootstrap: int = option(100, "--bootstrap", type=_replicates, metavar="N",
                            help="bootstrap replicates, >= 2 (default 100)")
    seed: int = option(0, "--seed", type=nonnegative_int, help="bootstrap seed (default 0)")
    overwrite: bool = option(False, "--overwrite", action="store_true",
                             help="replace n(z) files already in OUTPUT (default: refuse)")


def _inputs(options: NzOptions) -> tuple[pd.DataFrame, PDFSet]:
    from nncz.pdfio import read_pdfs

    if not options.pdf:
        raise UsageError("nz needs --pdf PDFS (written by `nncz predict --pdf-output`)")
    if not options.output:
        raise UsageError("nz needs --output DIRECTORY")
    if options.bins is None and options.equal_count is None:
        raise UsageError("nz needs --bins EDGES or --equal-count N")
    out = Path(options.output)
    check_outputs([options.predictions, options.pdf], [out / name for name in OUTPUT_NAMES],
                  options.overwrite, output_dirs=[out])
    columns = [c for c in dict.fromkeys([options.point, options.weights, options.truth]) if c]
    table = read_table(options.predictions, columns=columns)
    pdfs = read_pdfs(options.pdf)
    if len(pdfs.pdf) != len(table):
        raise ValueError(f"{options.pdf} has {len(pdfs.pdf)} PDFs but {options.predictions} has "
                         f"{len(table)} rows")
    return table, pdfs


def run(options: NzOptions, common: CommonOptions) -> int:
    """Stack, bootstrap and write the tomographic n(z); print the per-bin table."""
    from nncz.nz import tomographic_nz
    from nncz.nzio import write_nz_outputs

    table, pdfs = _inputs(options)

    def column(name):
        return None if name is None else table[name].to_numpy(np.float64)

    result = tomographic_nz(pdfs.pdf, pdfs.grid, column(options.point), edges=options.bins,
                            n_bins=options.equal_count or 5, weights=column(options.weights),
                            z_true=column(options.truth), nz_bins=options.nz_bins,
                            n_boot=options.bootstrap, seed=options.seed, point=options.point)
    extra = {"predictions": str(options.predictions), "pdf": str(options.pdf),
             "weights": options.weights, "truth": options.truth, "seed": options.seed,
             "pdf_grid": pdfs.grid.to_dict(), "n_rows": len(table)}
    paths = write_nz_outputs(result, options.output, extra)
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


VERBS = (
    Verb("nz", NzOptions, run,
         help="tomographic n(z): stack PDFs per bin, bootstrap errors, SACC/qp/table",
         description="Assign galaxies to tomographic bins by a point estimate, stack their "
         "calibrated PDFs into each bin's n(z), bootstrap the galaxies for errors on each bin's "
         "mean, median and width and, with a true-redshift column, measure each bin's shift "
         "in units of (1+z) against LSST DESC's 0.002 (Y1) / 0.001 (Y10). Writes OUT/"
         "nz.sacc.fits, nz_qp.hdf5, nz_table.csv, summary.json and nz.png."),
)
