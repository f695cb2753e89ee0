"""The embedded default: `nncz demo` runs the whole chain offline on a mock universe it makes.

mock universe -> spectroscopic sample -> LSDR10 dataset (12 features, 8:1:1 split) -> train NNC ->
calibration -> predict the test split -> evaluate (metrics + figures), all written under
one output directory whose path is printed at the end.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from nncz.io import atomic_write, write_table

log = logging.getLogger("nncz")


def run_demo(out_dir: str | Path = "nncz_demo", n_galaxies: int = 1_000_000, seed: int = 0,
             max_epochs: int = 100, feature_set: str = "lsdr10", batch_size: int = 512,
             verbose: bool = True) -> dict:
    """Run the full chain and return the test-set metrics.

    Parameters
    ----------
    out_dir : path
        Everything is written here: ``mock/`` (the universe), ``dataset.parquet``,
        ``model/``, ``predictions.parquet``, ``pdfs.h5``, ``report/`` (metrics and figures).
    n_galaxies : int
        Size of the mock universe (its spectroscopic sample is a subset).
    max_epochs : int
        Epoch limit (the method's 300 with early stopping is the default of `nncz train`;
        the demo stops earlier to finish in minutes on 2 cores).
    batch_size : int
        The method's 4096 is meant for millions of galaxies; the demo's training set has a few
        thousand, so a smaller batch gives the optimiser enough steps per epoch.
    """
    from nncz.datasets import build_dataset
    from nncz.estimator import NNCEstimator
    from nncz.mock import make_universe
    from nncz.pdfio import PDFSet, write_pdfs
    from nncz.report import evaluation_report
    from nncz.spec import build_spec_sample
    from nncz.surveys.featuresets import get_feature_set

    out = Path(out_dir)
    started = time.perf_counter()
    mock_dir = out / "mock"
    if not (mock_dir / "truth.parquet").exists():
        log.info("[1/5] generating a mock universe of %d galaxies in %s", n_galaxies, mock_dir)
        make_universe(mock_dir, n_galaxies=n_galaxies, seed=seed, formats=("parquet",),
                      progress=verbose)
    log.info("[2/5] spectroscopic sample and %s dataset", feature_set)
    spec, spec_funnel = build_spec_sample(mock_dir / "sdss_specobj.parquet",
                                          mock_dir / "desi_dr1_zcat.parquet")
    dataset, funnel = build_dataset(spec, lsdr10=mock_dir / "ls_dr10.parquet",
                                    ps1_table=mock_dir / "ps1_dr2.parquet",
                                    unwise=mock_dir / "unwise.parquet",
                                    feature_set=feature_set, truth=mock_dir / "truth.parquet")
    write_table(dataset, out / "dataset.parquet")
    features = get_feature_set(feature_set).features
    train = dataset[dataset.split == "train"]
    validation = dataset[dataset.split == "val"]
    test = dataset[dataset.split == "test"]
    if min(len(train), len(validation), len(test)) < 2:
        raise ValueError(f"a mock of {n_galaxies} galaxies gives {len(train)} training, "
                         f"{len(validation)} validation and {len(test)} test galaxies for "
                         f"{feature_set}; use a larger --n-galaxies (e.g. 20000)")

    log.info("[3/5] training NNC on %d galaxies (validation %d)", len(train), len(validation))
    estimator = NNCEstimator(max_epochs=max_epochs, batch_size=batch_size, seed=seed,
                             verbose=verbose)
    estimator.fit(train, features, target="z_spec", validation=validation,
                  checkpoint_dir=out / "model" / "checkpoint", source="demo dataset")
    estimator.save(out / "model")
    (out / "model" / "checkpoint" / "checkpoint.pt").unlink(missing_ok=True)

    log.info("[4/5] predicting the %d test galaxies", len(test))
    products, pdf = estimator.predict(test, return_pdf=True, source="demo test split")
    keep = ["spec_id", "ra", "dec", "z_spec", "survey", "desi_class", "mag_z", "log_mstar"]
    predictions = test[[c for c in keep if c in test.columns]].reset_index(drop=True)
    predictions = predictions.join(products.reset_index(drop=True))
    write_table(predictions, out / "predictions.parquet",
                meta={"grid": estimator.grid.to_dict(), "temperature": estimator.temperature_})
    pdfs = PDFSet(pdf, estimator.grid, calibration=estimator.calibration_.to_dict())
    write_pdfs(out / "pdfs.h5", pdfs)

    log.info("[5/5] evaluating")
    report = evaluation_report(predictions, "z_spec", "z_phot_mean", pdfs,
                               ["survey", "desi_class", "mag_z"], out / "report")
    summary = {"metrics_test": report["overall"], "n_train": len(train),
               "n_validation": len(validation), "n_test": len(test),
               "epochs": len(estimator.history_), "temperature": estimator.temperature_,
               "calibration": estimator.calibration_.method,
               "pit_ks_validation_uncalibrated": estimator.metrics_["pit_ks_uncalibrated"],
               "spec_funnel": spec_funnel.to_dict(), "dataset_funnel": funnel.to_dict(),
               "seconds": time.perf_counter() - started}
    text = json.dumps(summary, indent=2, default=str)
    atomic_write(out / "summary.json", lambda temp: temp.write_text(text))
    return summary
