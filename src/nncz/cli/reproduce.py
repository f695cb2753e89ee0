"""``nncz reproduce``: Table 1 and Figures 2-8 of the method on a mock universe.

``--quick`` / ``--full`` pick a :class:`nncz.reproduce.configs.ReproduceSettings` of
:data:`~nncz.reproduce.configs.MODES`; :class:`ReproduceOptions` overrides its mock size and
epoch limit and says where and how the run goes.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from nncz.cli.argtypes import nonnegative_int, positive_int
from nncz.cli.options import CommonOptions, Verb, option

__all__ = ["ReproduceOptions", "VERBS"]


@dataclass(frozen=True)
class ReproduceOptions:
    """Options of ``nncz reproduce`` (see ``nncz reproduce --help``)."""

    mode: str = option("quick", consts=(
        ("--quick", "quick", "small mock, capped epochs, small baseline grids (~20 min on 2 "
         "cores; the default)"),
        ("--full", "full", "larger mock and the method's training settings (hours)")))
    output: str = option("nncz_reproduce", "--output", help="output directory")
    mock: str | None = option(None, "--mock", help="use this existing mock universe directory")
    n_galaxies: int | None = option(None, "--n-galaxies", type=positive_int,
                                    help="override the mode's mock size (galaxies)")
    max_epochs: int | None = option(None, "--max-epochs", type=positive_int,
                                    help="override the mode's epoch limit of the networks")
    seed: int = option(0, "--seed", type=nonnegative_int,
                       help="seed of the mock and the models (0)")
    models: tuple[str, ...] | None = option(
        None, "--models", nargs="+", metavar="KEY",
        help="train only these configurations (e.g. nnc_lsdr10 rf_lsdr10; default all)")
    jobs: int = option(
        min(4, os.cpu_count() or 1), "--jobs", type=positive_int,
        help="train this many configurations side by side, one process and one torch thread "
        "each (default: one per core, at most 4)")
    pdf: bool = option(False, "--pdf", action="store_true",
                       help="also write the figures as PDF")
    overwrite: bool = option(
        False, "--overwrite", action="store_true",
        help="replace a run with other settings in --output (its mock, datasets, models and "
        "figures are deleted; default: refuse, the same run resumes)")


def run(options: ReproduceOptions, common: CommonOptions) -> int:
    """Run the reproduction (resuming a run of the same settings); print where it is."""
    from nncz.reproduce.configs import MODES
    from nncz.reproduce.pipeline import claim_output, run_reproduce

    settings = MODES[options.mode]
    if options.n_galaxies is not None:
        settings = dataclasses.replace(settings, n_galaxies=options.n_galaxies)
    if options.max_epochs is not None:
        settings = dataclasses.replace(settings, nnc={**settings.nnc,
                                                      "max_epochs": options.max_epochs})
    formats = ("png", "pdf") if options.pdf else ("png",)
    claim_output(options.output, options.mode, options.seed, options.mock, settings,
                 options.overwrite)
    result = run_reproduce(options.output, mode=options.mode, seed=options.seed,
                           mock_dir=options.mock, settings=settings, formats=formats,
                           models=None if options.models is None else list(options.models),
                           jobs=options.jobs, verbose=not common.quiet)
    out = Path(options.output).resolve()
    print(result["orderings"][["claim", "agree"]].to_string(index=False))
    print(f"Table 1: {out / 'table1.md'}; figures: {out / 'figures'}; report: "
          f"{out / 'report.md'}; stage seconds: {result['timings_s']}")
    return 0


VERBS = (
    Verb("reproduce", ReproduceOptions, run,
         help="reproduce the method's Table 1 and Figures 2-8 on a mock universe",
         description="Generate a mock universe, build the LSDR10 and PS1 datasets, train every "
         "configuration of the method's Table 1 (NNC, RF, XGBoost, ANN regression), evaluate "
         "them on the test split and write table1.{md,csv,tex}, figures/*.png and report.md. "
         "A rerun skips the configurations whose results exist."),
)
