"""``nncz demo``: the whole chain on a mock universe (:func:`nncz.demo.run_demo`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nncz.cli.argtypes import nonnegative_int, positive_int
from nncz.cli.options import CommonOptions, Verb, option

__all__ = ["DemoOptions", "VERBS"]


@dataclass(frozen=True)
class DemoOptions:
    """Options of ``nncz demo`` (see ``nncz demo --help``)."""

    output: str = option("nncz_demo", "--output", help="output directory (nncz_demo)")
    n_galaxies: int = option(1_000_000, "--n-galaxies", type=positive_int,
                             help="galaxies in the mock universe (1000000)")
    max_epochs: int = option(100, "--max-epochs", type=positive_int, help="epoch limit (100)")
    batch_size: int = option(512, "--batch-size", type=positive_int, help="batch size (512)")
    feature_set: str = option("lsdr10", "--feature-set", help="feature set (lsdr10)")
    seed: int = option(0, "--seed", type=nonnegative_int,
                       help="seed of the mock and the training (0)")
    overwrite: bool = option(
        False, "--overwrite", action="store_true",
        help="replace the results of a finished demo in --output (default: refuse; an "
        "existing mock/ is reused)")


def run(options: DemoOptions, common: CommonOptions) -> int:
    """Run the demo; print the test metrics and where the results are."""
    from nncz.demo import run_demo
    from nncz.io import check_outputs
    from nncz.surveys.featuresets import get_feature_set

    get_feature_set(options.feature_set)  # an unknown set fails before the mock is generated
    out = Path(options.output)
    check_outputs([], [out / "summary.json", out / "predictions.parquet", out / "pdfs.h5"],
                  options.overwrite, output_dirs=[out])
    summary = run_demo(options.output, options.n_galaxies, options.seed, options.max_epochs,
                       options.feature_set, options.batch_size, verbose=not common.quiet)
    metrics = summary["metrics_test"]
    print(f"test split ({summary['n_test']} galaxies): sigma_NMAD {metrics['sigma_nmad']:.4f}, "
          f"eta {metrics['eta']:.2f}%, bias {metrics['bias']:.2e}, CRPS {metrics['crps']:.4f}, "
          f"PIT KS {metrics['pit_ks']:.3f} (validation, uncalibrated "
          f"{summary['pit_ks_validation_uncalibrated']:.3f}), "
          f"calibration {summary['calibration']} (T = {summary['temperature']:.3f})")
    print(f"demo finished in {summary['seconds'] / 60:.1f} min; results in "
          f"{out.resolve()} (summary.json, report/)")
    return 0


VERBS = (
    Verb("demo", DemoOptions, run,
         help="run the whole chain on a mock universe (offline, a few minutes)",
         description="Generate a mock universe, select the spectroscopic sample, build the "
         "LSDR10 12-feature dataset, train and calibrate NNC, predict the test split and "
         "evaluate it. Everything is written under --output, printed at the end."),
)
