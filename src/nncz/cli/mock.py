"""``nncz mock``: a mock universe with the archives' schemas (:func:`nncz.mock.make_universe`).

An existing universe in OUT_DIR is replaced only with ``--overwrite``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nncz.cli.argtypes import finite_float, nonnegative_int, positive_int
from nncz.cli.options import CommonOptions, Verb, option

__all__ = ["MockOptions", "VERBS"]


@dataclass(frozen=True)
class MockOptions:
    """Options of ``nncz mock``; ``n_galaxies``, ``seed``, ``chunk_size`` and ``i_max`` are
    the :class:`nncz.mock.MockConfig` fields of the same names."""

    out_dir: Path = option(type=Path, help="output folder")
    n_galaxies: int = option(100_000, "--n-galaxies", type=positive_int,
                             help="galaxies (plus stars and QSOs; default 100000)")
    seed: int = option(0, "--seed", type=nonnegative_int, help="master seed (default 0)")
    formats: tuple[str, ...] = option(("parquet", "fits"), "--formats", nargs="+",
                                      choices=("parquet", "fits"))
    chunk_size: int = option(200_000, "--chunk-size", type=positive_int,
                             help="galaxies generated per chunk (default 200000)")
    i_max: float = option(24.0, "--i-max", type=finite_float, help="galaxy limit, DECam i [AB]")
    report: bool = option(False, "--report", action="store_true",
                          help="also write realism figures (PNG)")
    sweep: bool = option(
        False, "--sweep", action="store_true",
        help="also write the LS rows as Legacy Surveys sweep files: OUT_DIR/sweep/north (DR9 "
        "layout, no i) and OUT_DIR/sweep/south (DR10 layout)")
    overwrite: bool = option(
        False, "--overwrite", action="store_true",
        help="replace the tables of a universe already in OUT_DIR (default: refuse)")
    no_progress: bool = option(False, "--no-progress", action="store_true")


def run(options: MockOptions, common: CommonOptions) -> int:
    """Write the universe (and its sweep files and figures); print the paths."""
    from nncz.io import check_outputs
    from nncz.mock.universe import TABLES, make_universe

    out_dir = Path(options.out_dir)
    formats = list(dict.fromkeys(options.formats))
    outputs = [out_dir / f"{name}.{fmt}" for name in TABLES for fmt in formats]
    check_outputs([], outputs, options.overwrite, output_dirs=[out_dir])
    quiet = options.no_progress or common.quiet
    paths = make_universe(out_dir, n_galaxies=options.n_galaxies, seed=options.seed,
                          formats=formats, progress=not quiet, chunk_size=options.chunk_size,
                          i_max=options.i_max)
    for name, ps in paths.items():
        print(f"{name}: " + ", ".join(str(p) for p in ps))
    if options.sweep:
        from nncz.io import read_table
        from nncz.mock.sweep import write_sweeps

        sweeps = write_sweeps(read_table(paths["ls_dr10"][0]), out_dir / "sweep",
                              overwrite=options.overwrite)
        print(f"sweep: {len(sweeps)} files in {out_dir / 'sweep'}")
    if options.report:
        from nncz.mock.report import write_report

        for p in write_report(out_dir):
            print(f"report: {p}")
    return 0


VERBS = (
    Verb("mock", MockOptions, run,
         help="generate a mock universe (LSDR10, PS1, unWISE, DESI DR1, SDSS) with the "
         "archives' schemas"),
)
