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
