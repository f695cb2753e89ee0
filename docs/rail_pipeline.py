"""A RAIL pipeline with nncz: inform -> estimate -> evaluate, written as YAML for ``ceci``.

Copy this file, then (in a Python environment with ``pip install 'nncz[rail]'``)::

    python rail_pipeline.py TRAIN.hdf5 TEST.hdf5 nncz_pipeline.yml   # writes the YAML pair
    ceci nncz_pipeline.yml                                          # runs the three stages

With no arguments it uses RAIL's DC2 example files (shipped in pz-rail-base). ``ceci`` starts
each stage as ``python3 -m ceci rail.estimation.algos.nncz.NNCInformer ...``: run it with the
environment activated so that ``python3`` is the environment's. See docs/rail.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rail.core.stage import RailPipeline
from rail.evaluation.single_evaluator import SingleEvaluator
from rail.utils.path_utils import RAILDIR

from rail.estimation.algos.nncz import NNCEstimator, NNCInformer

DC2 = Path(RAILDIR) / "rail" / "examples_data" / "testdata"


class NNCZPipeline(RailPipeline):
    """nncz's informer and estimator, scored by RAIL's SingleEvaluator."""

    default_input_dict = dict(input_train="dummy.in", input_test="dummy.in")

    def __init__(self, **informer_config) -> None:
        RailPipeline.__init__(self)
        self.inform_nncz = NNCInformer.build(
            aliases=dict(input="input_train"),
            hdf5_groupname="photometry",
            **informer_config,
        )
        self.estimate_nncz = NNCEstimator.build(
            aliases=dict(input="input_test"),
            connections=dict(model=self.inform_nncz.io.model),
            hdf5_groupname="photometry",
            chunk_size=10_000,
        )
        self.evaluate_nncz = SingleEvaluator.build(
            aliases=dict(truth="input_test"),
            connections=dict(input=self.estimate_nncz.io.output),
            point_estimates=["zmode"],
            truth_point_estimates=["redshift"],
            metrics=["all"],
            exclude_metrics=["rmse", "ks", "kld", "cvm", "ad", "rbpe", "outlier"],
            metric_config=dict(brier=dict(limits=[0.0, 3.0])),  # the PDFs' range
            hdf5_groupname="photometry",
            force_exact=True,  # one pass; the chunked path needs the pytdigest package
        )


def write_pipeline(train: str | Path, test: str | Path, yaml_path: str | Path,
                   output_dir: str | Path = ".", **informer_config) -> Path:
    """Write ``yaml_path`` and its ``*_config.yml`` for ``ceci``; returns ``yaml_path``."""
    pipe = NNCZPipeline(**informer_config)
    pipe.initialize(
        dict(input_train=str(train), input_test=str(test)),
        dict(output_dir=str(output_dir), log_dir=str(output_dir), resume=False),
        None,
    )
    pipe.save(str(yaml_path))
    return Path(yaml_path)


if __name__ == "__main__":
    args = sys.argv[1:] or [str(DC2 / "test_dc2_training_9816.hdf5"),
                            str(DC2 / "test_dc2_validation_9816.hdf5"), "nncz_pipeline.yml"]
    # Settings for the example: an ensemble of 5 networks with the PIT-map calibration (the
    # peers benchmark's choice) and one torch thread per stage.
    write_pipeline(*args, n_members=5, calibration="pit", threads=1)
    print(f"wrote {args[2]}; run it with: ceci {args[2]}")
