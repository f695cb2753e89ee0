"""Adversarial: the catalog's guarantees (chunking, reruns, retrained models, config values)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from adv_fixtures import (
    TRAIN_OPTIONS,
    assert_error,
    catalog_args,
    cli,
    leftovers,
    snapshot,
    workspace,
)

from nncz.crossmatch import match_sky
from nncz.pdfio import read_pdfs


@pytest.fixture(scope="module")
def ws():
    return workspace()


def _read(out):
    main = pd.read_parquet(out / "catalog.parquet")
    pdfs = read_pdfs(out / "catalog_pdf.hdf5")
    return main, pdfs.pdf, pdfs.ancil


@pytest.mark.parametrize(("rows_a", "rows_b"), [(5000, 90), (250, 37)])
def test_catalog_does_not_depend_on_chunk_rows(ws, tmp_path, rows_a, rows_b):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli(*catalog_args(ws, a, "--chunk-rows", rows_a)).code == 0
    assert cli(*catalog_args(ws, b, "--chunk-rows", rows_b)).code == 0
    main_a, pdf_a, ids_a = _read(a)
    main_b, pdf_b, ids_b = _read(b)
    assert len(main_a) > 300
    pd.testing.assert_frame_equal(main_a, main_b)  # row for row, every column
    np.testing.assert_array_equal(pdf_a, pdf_b)
    for name in ids_a:
        np.testing.assert_array_equal(ids_a[name], ids_b[name])


def test_equidistant_duplicates_match_the_first_row_whatever_the_order():
    ra, dec = np.array([10.0]), np.array([5.0])
    right_ra = np.array([10.0 + 0.5 / 3600, 10.0, 10.0, 10.0 - 0.2 / 3600])
    right_dec = np.array([5.0, 5.0 + 0.3 / 3600, 5.0 + 0.3 / 3600, 5.0])
    result = match_sky(ra, dec, right_ra, right_dec, 1.0)
    assert result.index[0] == 3  # nearest
    right_ra[3] = 11.0  # now rows 1 and 2 are at the same, smallest separation
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        order = np.array(order)
        got = match_sky(ra, dec, right_ra[order], right_dec[order], 1.0).index[0]
        assert order[got] == min(1, 2, key=lambda k: np.flatnonzero(order == k)[0])


def test_finished_run_with_other_settings_is_refused(ws, tmp_path):
    out = tmp_path / "cat"
    assert cli(*catalog_args(ws, out)).code == 0
    before = snapshot(out)
    result = cli(*catalog_args(ws, out, "--pdf-bins", "10"))
    assert_error(result, 4, "catalog", "config", "--overwrite")
    assert snapshot(out) == before
    assert cli(*catalog_args(ws, out, "--pdf-bins", "10", "--overwrite")).code == 0
    assert _read(out)[1].shape[1] == 10


def test_finished_run_with_the_same_settings_reruns_to_the_same_result(ws, tmp_path):
    out = tmp_path / "cat"
    assert cli(*catalog_args(ws, out)).code == 0
    first = _read(out)[0]
    assert cli(*catalog_args(ws, out)).code == 0
    pd.testing.assert_frame_equal(first, _read(out)[0])


def _retrain(ws, model_dir, seed):
    result = cli("train", ws["root"] / "level1.parquet", "--features", "f_g,f_r,f_z",
                 "--output", model_dir, *TRAIN_OPTIONS, "--seed", seed, "--overwrite")
    assert result.code == 0, result.err


def _private_config(ws, tmp_path):
    shutil.copytree(ws["root"] / "levels", tmp_path / "levels")
    config = tmp_path / "catalog.yaml"
    shutil.copy(ws["catalog_yaml"], config)
    return dict(ws, catalog_yaml=config)


def test_model_retrained_after_a_finished_run_is_refused(ws, tmp_path):
    own = _private_config(ws, tmp_path)
    out = tmp_path / "cat"
    assert cli(*catalog_args(own, out)).code == 0
    _retrain(ws, tmp_path / "levels" / "l1", "3")
    before = snapshot(out)
    assert_error(cli(*catalog_args(own, out)), 4, "catalog", "models", "--overwrite")
    assert snapshot(out) == before


def test_model_retrained_between_kill_and_resume_is_refused(ws, tmp_path, monkeypatch):
    import nncz.catalog.stream as stream

    own = _private_config(ws, tmp_path)
    out = tmp_path / "cat"
    original = stream.process_chunk
    calls = {"n": 0}

    def process_then_interrupt(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(stream, "process_chunk", process_then_interrupt)
    assert cli(*catalog_args(own, out, "--chunk-rows", "100", "--keep-work")).code == 130
    monkeypatch.setattr(stream, "process_chunk", original)
    _retrain(ws, tmp_path / "levels" / "l1", "4")
    result = cli(*catalog_args(own, out, "--chunk-rows", "100", "--keep-work"))
    assert_error(result, 4, "catalog", "models")
    assert not (out / "catalog.parquet").exists()
    result = cli(*catalog_args(own, out, "--chunk-rows", "100", "--overwrite"))
    assert result.code == 0, result.err


def test_pdf_bins_must_divide_the_models_grid(ws, tmp_path):
    assert_error(cli(*catalog_args(ws, tmp_path / "cat", "--pdf-bins", "7")), 2, "catalog",
                 "7", "40")
    assert not (tmp_path / "cat").exists()


def test_no_survey_given(ws, tmp_path):
    result = cli("catalog", ws["catalog_yaml"], tmp_path / "cat", "--unwise",
                 ws["sky"] / "unwise.parquet")
    assert_error(result, 2, "catalog", "--ls", "--ps1")


CONFIGS = {
    "invalid_yaml": ("levels: {1: [\n", "not valid YAML"),
    "unknown_key": ("levels: {1: {model: {L1}}}\nmatch_radius: 2\n", "match_radius"),
    "unknown_level": ("levels: {9: {model: {L1}}}\n", "9"),
    "level_not_int": ("levels: {one: {model: {L1}}}\n", "one"),
    "level_entry_list": ("levels: {1: [{L1}]}\n", "level 1"),
    "no_levels": ("features: prebuilt\n", "levels"),
    "negative_radius": ("levels: {1: {model: {L1}}}\nmatch_radius_arcsec: -1\n",
                        "match_radius_arcsec"),
    "text_radius": ("levels: {1: {model: {L1}}}\nunwise_radius_arcsec: far\n",
                    "unwise_radius_arcsec"),
    "zero_pdf_bins": ("levels: {1: {model: {L1}}}\npdf_bins: 0\n", "pdf_bins"),
    "text_pdf_bins": ("levels: {1: {model: {L1}}}\npdf_bins: many\n", "pdf_bins"),
    "bad_features_mode": ("levels: {1: {model: {L1}}}\nfeatures: magic\n", "features"),
    "not_a_mapping": ("- 1\n- 2\n", "mapping"),
}


@pytest.mark.parametrize("case", list(CONFIGS))
def test_bad_catalog_config_is_one_line_naming_it(ws, tmp_path, case):
    text, fragment = CONFIGS[case]
    config = tmp_path / f"catalog_{case}.yaml"
    config.write_text(text.replace("{L1}", str(ws["root"] / "levels" / "l1")))
    args = catalog_args(ws, tmp_path / "cat")
    args[1] = config
    assert_error(cli(*args), 3, "catalog", config.name, fragment)
    assert not (tmp_path / "cat").exists()


def test_interrupted_catalog_leaves_no_final_file(ws, tmp_path, monkeypatch):
    import nncz.catalog.stream as stream

    monkeypatch.setattr(stream, "process_chunk", _interrupt)
    out = tmp_path / "cat"
    assert cli(*catalog_args(ws, out)).code == 130
    assert not (out / "catalog.parquet").exists() and not leftovers(out)


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_lsdb_engine_does_not_replace_a_finished_catalog(ws, tmp_path):
    out = tmp_path / "cat"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    result = cli(*catalog_args(ws, out, "--engine", "lsdb"))
    assert_error(result, 4, "catalog", "--overwrite")
    assert (out / "manifest.json").read_text() == "{}"


@pytest.mark.parametrize("setting", ["chunk_rows", "read_rows", "buffer_rows"])
def test_catalog_api_refuses_zero_rows_per_step(ws, tmp_path, setting):
    """--chunk-rows 0 once ran for ever; the API refuses it too, before any work."""
    from nncz.catalog import Inputs, load_config, run_catalog

    sky = ws["sky"]
    inputs = Inputs(sky / "ls.parquet", sky / "ps1.parquet", sky / "unwise.parquet")
    with pytest.raises(ValueError, match="must be >= 1"):
        run_catalog(inputs, load_config(ws["catalog_yaml"]), tmp_path / "cat",
                    progress=False, **{setting: 0})
    assert not (tmp_path / "cat").exists()


def test_an_input_named_like_a_final_file_of_out_dir_is_refused(ws, tmp_path):
    out = tmp_path / "cat"
    out.mkdir()
    shutil.copy(ws["sky"] / "ls.parquet", out / "catalog.parquet")  # an input inside OUT_DIR
    before = snapshot(out)
    args = catalog_args(ws, out)
    args[args.index("--ls") + 1] = out / "catalog.parquet"
    assert_error(cli(*args), 4, "catalog", "catalog.parquet", "input")
    assert snapshot(out) == before
