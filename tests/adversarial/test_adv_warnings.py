"""Adversarial: suspect data is named in a warning line (or refused when nothing can work)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from adv_fixtures import (
    FEATURES,
    TRAIN_OPTIONS,
    assert_error,
    cli,
    tiny_catalog,
    warnings_of,
    workspace,
)

from nncz.io import read_table
from nncz.validate import feature_warnings


@pytest.fixture(scope="module")
def ws():
    return workspace()


def _train(path, out, features=FEATURES, *extra):
    return cli("train", path, "--features", ",".join(features), "--output", out,
               *TRAIN_OPTIONS, *extra)


def _table(tmp_path, edit) -> str:
    table = tiny_catalog(300, seed=3)
    edit(table)
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    return path


def test_target_among_the_features_is_refused(tmp_path):
    path = _table(tmp_path, lambda t: None)
    result = _train(path, tmp_path / "m", [*FEATURES, "z_spec"])
    assert_error(result, 3, "train", "'z_spec'", "t.parquet", "target")
    assert not warnings_of(result)


def test_constant_feature_warns(tmp_path):
    path = _table(tmp_path, lambda t: t.__setitem__("magerr_g", 0.05))
    result = _train(path, tmp_path / "m")
    assert result.code == 0, result.err
    assert any("'magerr_g'" in w and "constant" in w for w in warnings_of(result))


def test_negative_errors_warn(tmp_path):
    def edit(table):
        table.loc[:9, "magerr_r"] = -0.02
    result = _train(_table(tmp_path, edit), tmp_path / "m")
    assert result.code == 0, result.err
    assert any("10 row(s)" in w and "'magerr_r'" in w for w in warnings_of(result))


def test_feature_given_twice_warns(tmp_path):
    result = _train(_table(tmp_path, lambda t: None), tmp_path / "m", [*FEATURES, "mag_g"])
    assert any("more than once" in w and "mag_g" in w for w in warnings_of(result))


@pytest.mark.parametrize("policy", ["drop", "fill"])
@pytest.mark.parametrize("bad", [np.nan, 99.0, -99.0, np.inf])
def test_all_bad_feature_is_refused_in_training(tmp_path, policy, bad):
    path = _table(tmp_path, lambda t: t.__setitem__("mag_i", bad))
    result = _train(path, tmp_path / "m", FEATURES, "--bad-values", policy)
    assert_error(result, 3, "train", "'mag_i'", "t.parquet", "no usable value")
    assert not (tmp_path / "m" / "nncz_model.json").exists()


def test_all_bad_feature_in_prediction_warns_and_flags(ws, tmp_path):
    table = read_table(ws["root"] / "train.parquet").assign(mag_r=np.nan)
    table.to_parquet(tmp_path / "t.parquet")
    result = cli("predict", ws["model"], tmp_path / "t.parquet", "--output",
                 tmp_path / "p.parquet")
    assert result.code == 0, result.err
    assert any("'mag_r'" in w and "no usable value" in w for w in warnings_of(result))
    assert (pd.read_parquet(tmp_path / "p.parquet")["nncz_flag"] != 0).all()


def test_negative_errors_in_prediction_warn(ws, tmp_path):
    table = read_table(ws["root"] / "train.parquet")
    table.loc[:4, "magerr_i"] = -1.0
    table.to_parquet(tmp_path / "t.parquet")
    result = cli("predict", ws["model"], tmp_path / "t.parquet", "--output",
                 tmp_path / "p.parquet")
    assert result.code == 0, result.err
    assert any("5 row(s)" in w and "'magerr_i'" in w for w in warnings_of(result))


def test_warnings_show_with_quiet_and_go_to_stderr(ws, tmp_path):
    table = read_table(ws["root"] / "train.parquet")
    table.loc[:4, "magerr_i"] = -1.0
    table.to_parquet(tmp_path / "t.parquet")
    result = cli("predict", ws["model"], tmp_path / "t.parquet", "--output",
                 tmp_path / "p.parquet", quiet=True)
    assert warnings_of(result) and "warning:" not in result.out


def test_clean_table_gives_no_warning():
    table = tiny_catalog(200, seed=1)
    assert feature_warnings(table, FEATURES, "clean.parquet", "z_spec") == []


def test_one_row_table_is_not_called_constant():
    assert feature_warnings(tiny_catalog(1), FEATURES, "one.parquet") == []
