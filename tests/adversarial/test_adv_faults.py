"""Adversarial: faults while running (permission, disk full, Ctrl-C, bugs) are one line, and
nothing half-written is left under a final name."""

from __future__ import annotations

import errno
import shutil
import tempfile

import pandas as pd
import pytest
from adv_fixtures import (
    FEATURES,
    TRAIN_OPTIONS,
    assert_error,
    catalog_args,
    cli,
    leftovers,
    snapshot,
    workspace,
)


@pytest.fixture(scope="module")
def ws():
    return workspace()


def _deny(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied", kwargs.get("dir", "?"))


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "out")


def _verb(verb, ws, tmp):
    return {"predict_parquet": ["predict", ws["model"], ws["root"] / "train.parquet",
                                "--output", tmp / "p.parquet", "--chunk-rows", "50"],
            "predict_csv": ["predict", ws["model"], ws["root"] / "train.parquet", "--output",
                            tmp / "p.csv"],
            "predict_pdf": ["predict", ws["model"], ws["root"] / "train.parquet", "--output",
                            tmp / "p.parquet", "--pdf-output", tmp / "pdf.h5"],
            "train": ["train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                      "--output", tmp / "m", *TRAIN_OPTIONS],
            "evaluate": ["evaluate", ws["pred"], "--pdf", ws["pdf"], "--output", tmp / "r"],
            "spec": ["spec", "--input-dir", ws["mock"], "-o", tmp / "s.parquet"],
            }[verb]


VERBS = ["predict_parquet", "predict_csv", "predict_pdf", "train", "evaluate", "spec"]


@pytest.mark.parametrize("verb", VERBS)
def test_permission_denied_on_output(ws, tmp_path, monkeypatch, verb):
    monkeypatch.setattr(tempfile, "mkstemp", _deny)
    before = snapshot(ws["root"])
    result = cli(*_verb(verb, ws, tmp_path))
    assert_error(result, 4, verb.split("_")[0], "Permission denied")
    assert snapshot(ws["root"]) == before
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("verb", ["predict_parquet", "predict_csv", "train", "evaluate"])
def test_disk_full_while_writing(ws, tmp_path, monkeypatch, verb):
    import nncz.paths
    import nncz.tablestream

    monkeypatch.setattr(nncz.tablestream.TableStream, "_append_parquet", _disk_full)
    monkeypatch.setattr(nncz.paths.os, "replace", _disk_full)
    before = snapshot(ws["root"])
    result = cli(*_verb(verb, ws, tmp_path))
    assert_error(result, 4, verb.split("_")[0], "No space left on device", "disk full")
    assert snapshot(ws["root"]) == before
    assert not leftovers(tmp_path)
    assert not (tmp_path / "p.parquet").exists() and not (tmp_path / "p.csv").exists()


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("verb", ["predict_parquet", "predict_pdf"])
def test_ctrl_c_during_predict_leaves_no_output(ws, tmp_path, monkeypatch, verb):
    from nncz.estimator import NNCEstimator

    calls = {"n": 0}
    original = NNCEstimator._predict_chunk  # called once per chunk by every prediction path

    def predict_then_interrupt(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NNCEstimator, "_predict_chunk", predict_then_interrupt)
    result = cli(*_verb(verb, ws, tmp_path), "--chunk-rows", "50")
    assert result.code == 130 and "interrupted" in result.err and "Traceback" not in result.err
    assert calls["n"] == 3  # really interrupted mid-stream
    assert not list(tmp_path.iterdir())  # no output, no temporary file


def test_ctrl_c_during_train_leaves_no_model(ws, tmp_path, monkeypatch):
    from nncz.estimator import NNCEstimator

    monkeypatch.setattr(NNCEstimator, "fit", _interrupt)
    result = cli(*_verb("train", ws, tmp_path))
    assert result.code == 130 and "nncz train: interrupted" in result.err
    assert not (tmp_path / "m" / "nncz_model.json").exists()


def test_ctrl_c_during_evaluate(ws, tmp_path, monkeypatch):
    import nncz.report

    monkeypatch.setattr(nncz.report, "evaluation_report", _interrupt)
    result = cli(*_verb("evaluate", ws, tmp_path))
    assert result.code == 130 and "Traceback" not in result.err
    assert not (tmp_path / "r" / "metrics.json").exists()


def test_ctrl_c_during_catalog_then_resume_gives_the_clean_result(ws, tmp_path, monkeypatch):
    import nncz.catalog.stream as stream

    clean = tmp_path / "clean"
    assert cli(*catalog_args(ws, clean, "--chunk-rows", "150")).code == 0
    calls = {"n": 0}
    original = stream.process_chunk

    def process_then_interrupt(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(stream, "process_chunk", process_then_interrupt)
    out = tmp_path / "killed"
    result = cli(*catalog_args(ws, out, "--chunk-rows", "150"))
    assert result.code == 130 and not (out / "catalog.parquet").exists()
    monkeypatch.setattr(stream, "process_chunk", original)
    assert cli(*catalog_args(ws, out, "--chunk-rows", "150")).code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "catalog.parquet"),
                                  pd.read_parquet(clean / "catalog.parquet"))


def _bug(*args, **kwargs):
    raise RuntimeError("something nobody expected")


def test_internal_error_is_one_line_pointing_at_debug(ws, tmp_path, monkeypatch):
    import nncz.report

    monkeypatch.setattr(nncz.report, "evaluation_report", _bug)
    result = cli(*_verb("evaluate", ws, tmp_path))
    assert_error(result, 1, "evaluate", "RuntimeError", "something nobody expected", "--debug")


def test_debug_shows_the_traceback(ws, tmp_path, monkeypatch):
    import nncz.report

    monkeypatch.setattr(nncz.report, "evaluation_report", _bug)
    result = cli("--debug", *_verb("evaluate", ws, tmp_path))
    assert result.code == 1
    assert "Traceback" in result.err and "nncz evaluate: error:" in result.err


def test_debug_traceback_for_an_expected_error(ws, tmp_path):
    result = cli("--debug", "predict", ws["model"], tmp_path / "nope.parquet", "--output",
                 tmp_path / "p.parquet")
    assert result.code == 3 and "Traceback" in result.err and "nope.parquet" in result.err


def test_out_of_memory_is_one_line(ws, tmp_path, monkeypatch):
    import nncz.report

    def oom(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(nncz.report, "evaluation_report", oom)
    result = cli(*_verb("evaluate", ws, tmp_path))
    assert_error(result, 1, "evaluate", "out of memory")


def test_a_failed_overwrite_keeps_the_earlier_output(ws, tmp_path, monkeypatch):
    out = tmp_path / "p.csv"
    assert cli(*_verb("predict_csv", ws, tmp_path)).code == 0
    before = snapshot(out)
    import nncz.paths

    monkeypatch.setattr(nncz.paths.os, "replace", _disk_full)
    result = cli(*_verb("predict_csv", ws, tmp_path), "--overwrite")
    assert_error(result, 4, "predict", "disk full")
    assert snapshot(out) == before and not leftovers(tmp_path)


def test_output_directory_vanishes_mid_run(ws, tmp_path, monkeypatch):
    """The output folder removed while predicting: the atomic write recreates it."""
    from nncz.estimator import NNCEstimator

    original = NNCEstimator.predict
    target = tmp_path / "gone"
    target.mkdir()

    def predict_and_remove(self, *args, **kwargs):
        shutil.rmtree(target, ignore_errors=True)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NNCEstimator, "predict", predict_and_remove)
    result = cli("predict", ws["model"], ws["root"] / "train.parquet", "--output",
                 target / "p.csv")
    assert result.code == 0, result.err
    assert len(pd.read_csv(target / "p.csv")) == 300 and not leftovers(tmp_path)


def test_sigterm_during_predict_is_like_ctrl_c(ws, tmp_path, monkeypatch):
    import os
    import signal

    from nncz.estimator import NNCEstimator

    original = NNCEstimator._predict_chunk  # called once per chunk by every prediction path
    calls = {"n": 0}

    def predict_then_terminate(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NNCEstimator, "_predict_chunk", predict_then_terminate)
    result = cli(*_verb("predict_pdf", ws, tmp_path), "--chunk-rows", "50")
    assert result.code == 143 and "terminated" in result.err and "Traceback" not in result.err
    assert not list(tmp_path.iterdir())
    assert signal.getsignal(signal.SIGTERM) is not None  # the previous handler is back


def test_broken_pipe_exits_quietly(ws, tmp_path, monkeypatch):
    import nncz.report

    def reader_gone(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(nncz.report, "evaluation_report", reader_gone)
    result = cli(*_verb("evaluate", ws, tmp_path))
    assert result.code == 141 and result.err == ""
