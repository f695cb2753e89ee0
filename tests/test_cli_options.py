"""Tests of nncz.cli.options: a dataclass per verb, filled alike from flags and --config YAML."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nncz.cli import build_parser, verbs
from nncz.cli.options import CommonOptions, build_options
from nncz.io import UsageError

CONFIG = Path("c.yaml")


def options_of(argv: list[str], config: dict | None = None):
    """The options dataclass of ``nncz ARGV`` with ``config`` as the --config file's values."""
    given = build_parser().parse_args(argv)
    return build_options(verbs()[given.verb].options, given, config or {}, CONFIG)


def test_every_verb_declares_frozen_options_with_flags():
    known = verbs()
    assert {"train", "predict", "evaluate", "demo", "mock", "spec", "dataset", "catalog",
            "reproduce", "nz", "inspect"} <= set(known)
    for verb in [*known.values()]:
        assert dataclasses.is_dataclass(verb.options) and verb.options.__dataclass_params__.frozen
        for item in dataclasses.fields(verb.options):
            assert "flag" in item.metadata, f"{verb.name}: field {item.name} has no flag"


# Each case: the same settings as flags and as --config values (positionals as flags in both).
SAME = [
    (["train", "t.csv", "--features", "a,b", "--max-epochs", "3", "--batch-size", "64",
      "--hidden", "8,8", "--restart", "--bad-values", "drop"],
     ["train", "t.csv"],
     {"features": ["a", "b"], "max_epochs": 3, "batch_size": 64, "hidden": [8, 8],
      "restart": True, "bad_values": "drop"}),
    (["predict", "m", "t.parquet", "x.parquet", "--chunk-rows", "10", "--uncalibrated"],
     ["predict", "m", "t.parquet", "x.parquet"], {"chunk_rows": "10", "uncalibrated": True}),
    (["dataset", "-o", "d", "-f", "ps1", "-f", "lsdr10", "--radius", "2"],
     ["dataset", "-o", "d"], {"feature_sets": ["ps1", "lsdr10"], "radius": 2}),
    (["reproduce", "--full", "--models", "a", "b", "--jobs", "5"],
     ["reproduce"], {"mode": "full", "models": ["a", "b"], "jobs": 5}),
    (["catalog", "c.yaml", "out", "--ls", "x.parquet", "--formats", "fits"],
     ["catalog", "c.yaml", "out"], {"ls": "x.parquet", "formats": ["fits"]}),
    (["nz", "p.parquet", "--bins", "0.2,0.5,1", "--bootstrap", "3"],
     ["nz", "p.parquet"], {"bins": [0.2, 0.5, 1], "bootstrap": 3}),
    (["mock", "out", "--formats", "parquet", "--i-max", "22.5"],
     ["mock", "out"], {"formats": ["parquet"], "i_max": 22.5}),
]


@pytest.mark.parametrize(("flags", "positionals", "config"), SAME, ids=[c[0][0] for c in SAME])
def test_flags_and_config_fill_the_same_options(flags, positionals, config):
    from_flags = options_of(flags)
    assert options_of(positionals, config) == from_flags
    defaults = options_of(positionals)
    changed = {f.name for f in dataclasses.fields(from_flags)
               if getattr(from_flags, f.name) != getattr(defaults, f.name)}
    assert changed == set(config)  # each value took effect, and only those


def test_defaults_are_the_dataclass_defaults():
    from nncz.cli.core import TrainOptions

    assert options_of(["train", "t.csv"]) == TrainOptions(table="t.csv")
    assert TrainOptions("t.csv").max_epochs == 300 and TrainOptions("t.csv").batch_size == "auto"
    with pytest.raises(TypeError):
        TrainOptions()  # a positional argument has no default


def test_a_config_scalar_fills_a_list_option():
    assert options_of(["mock", "out"], {"formats": "fits"}).formats == ("fits",)
    assert options_of(["dataset", "-o", "d"], {"feature_sets": "ps1"}).feature_sets == ["ps1"]


def test_a_config_null_keeps_the_default():
    assert options_of(["train", "t.csv"], {"max_epochs": None, "restart": None}) == \
        options_of(["train", "t.csv"])


def test_a_flag_wins_over_the_config_file():
    options = options_of(["train", "t.csv", "--max-ep", "7"], {"max_epochs": 40, "nbins": 20})
    assert (options.max_epochs, options.nbins) == (7, 20)


@pytest.mark.parametrize(("argv", "config", "fragment"), [
    (["reproduce"], {"mode": "fast"}, "mode must be one of ['quick', 'full']"),
    (["dataset", "-o", "d"], {"format": "xlsx"}, "format must be one of"),
    (["mock", "out"], {"formats": ["parquet", "csv"]}, "formats must be one of"),
    (["nz", "p.parquet"], {"bins": [0.5, 0.2]}, "bins: must be >= 2 increasing numbers"),
    (["train", "t.csv"], {"restart": "yes"}, "restart must be true or false"),
])
def test_config_values_are_checked_like_the_flags(argv, config, fragment):
    with pytest.raises(UsageError, match="--config c.yaml") as error:
        options_of(argv, config)
    assert fragment in str(error.value)


def test_common_options_come_from_flags_or_config():
    given = build_parser().parse_args(["-q", "inspect", "f.fits"])
    common = build_options(CommonOptions, given, {"threads": "2"}, CONFIG)
    assert common == CommonOptions(quiet=True, debug=False, threads=2)


def _defaults(function) -> dict:
    import inspect

    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


def test_cli_defaults_are_the_library_defaults():
    """A verb's default is the default of the library call it feeds (declared twice: checked)."""
    from nncz.catalog.stream import run_catalog
    from nncz.cli.catalog import CatalogOptions
    from nncz.cli.core import PredictOptions, TrainOptions
    from nncz.cli.dataset import DatasetOptions
    from nncz.cli.demo import DemoOptions
    from nncz.cli.mock import MockOptions
    from nncz.cli.spec import SpecOptions
    from nncz.datasets import build_dataset
    from nncz.demo import run_demo
    from nncz.estimator import NNCEstimator
    from nncz.grid import RedshiftGrid
    from nncz.mock import MockConfig, make_universe
    from nncz.spec import build_spec_sample
    from nncz.workflow import predict_table, train_model

    train, estimator = TrainOptions("t.csv"), _defaults(NNCEstimator)
    for name in ("max_epochs", "patience", "batch_size", "lr", "seed", "dropout", "bad_values",
                 "calibration", "nll_weight", "lr_patience", "cross_fit"):
        assert getattr(train, name) == estimator[name], name
    assert train.colours is None and tuple(estimator["colours"]) == ()
    assert train.ensemble == estimator["n_members"]
    assert tuple(int(h) for h in train.hidden.split(",")) == tuple(estimator["hidden"])
    assert RedshiftGrid(train.zmin, train.zmax, train.nbins) == RedshiftGrid()
    assert train.validation_fraction == estimator["validation_fraction"]
    assert train.target == _defaults(train_model)["target"]
    assert PredictOptions("m", "t").chunk_rows == _defaults(predict_table)["chunk_rows"]
    mock = MockOptions(Path("out"))
    for name in ("n_galaxies", "seed", "chunk_size", "i_max"):
        assert getattr(mock, name) == getattr(MockConfig(), name), name
    assert mock.formats == tuple(_defaults(make_universe)["formats"])
    spec, spec_lib = SpecOptions(), _defaults(build_spec_sample)
    assert (spec.deltachi2_min, spec.zerr_max, spec.dz_max, spec.radius) == (
        spec_lib["deltachi2_min"], spec_lib["zerr_max"], spec_lib["dz_max"],
        spec_lib["radius_arcsec"])
    demo, demo_lib = DemoOptions(), _defaults(run_demo)
    assert (demo.output, demo.n_galaxies, demo.seed, demo.max_epochs, demo.feature_set,
            demo.batch_size) == (demo_lib["out_dir"], demo_lib["n_galaxies"], demo_lib["seed"],
                                 demo_lib["max_epochs"], demo_lib["feature_set"],
                                 demo_lib["batch_size"])
    dataset, dataset_lib = DatasetOptions(), _defaults(build_dataset)
    assert dataset.radius == dataset_lib["radius_arcsec"]
    assert (dataset.psf_kron_bands,) == tuple(dataset_lib["psf_kron_bands"])
    catalog = CatalogOptions(Path("c.yaml"), Path("out"))
    assert catalog.chunk_rows == _defaults(run_catalog)["chunk_rows"]
    assert catalog.formats == tuple(_defaults(run_catalog)["formats"])
