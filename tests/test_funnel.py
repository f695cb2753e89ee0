"""Tests of nncz.funnel.Funnel: sequential cut bookkeeping, printing, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nncz.funnel import Funnel


def test_sequential_counts_and_survivors():
    df = pd.DataFrame({"x": np.arange(10)})
    f = Funnel("demo")
    f.start("input", len(df))
    out = f.apply(df, df["x"] >= 3, "x >= 3", "a")           # removes 0 1 2
    out = f.apply(out, out["x"] % 2 == 0, "x even", "a")     # removes 3 5 7 9 (not 1: gone)
    assert list(out["x"]) == [4, 6, 8]
    assert [(s.n_in, s.n_removed, s.n_out) for s in f.steps] == [(10, 0, 10), (10, 3, 7),
                                                                 (7, 4, 3)]
    assert f.n_final == 3
    frame = f.to_frame()
    assert list(frame.columns) == ["stage", "cut", "n_in", "n_removed", "n_out"]


def test_nan_comparisons_fail_the_cut():
    df = pd.DataFrame({"x": [1.0, np.nan, 3.0]})
    out = Funnel().apply(df, df["x"].to_numpy() > 0, "x > 0")
    assert list(out["x"]) == [1.0, 3.0]


def test_printing_and_json_round_trip(tmp_path):
    f = Funnel("demo")
    f.start("spec", 1234)
    f.record("lsdr10", "type != PSF", 1234, 1000)
    f.notes["match"] = {"n_matched": np.int64(5)}
    text = str(f)
    assert "type != PSF" in text and "1,234" in text and "-234" in text
    path = tmp_path / "f.json"
    f.to_json(path)
    back = Funnel.from_dict(json.loads(path.read_text()))
    assert back.steps == f.steps and back.notes["match"]["n_matched"] == 5
    assert str(Funnel("x")) == "Funnel 'x': (empty)"


def test_errors():
    f = Funnel()
    with pytest.raises(ValueError, match="increased"):
        f.record("s", "c", 3, 4)
    with pytest.raises(ValueError, match="shape"):
        f.apply(pd.DataFrame({"x": [1, 2]}), np.array([True]), "bad")
