"""Adversarial: bad input files, missing columns, zero-row and one-row tables (every verb)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from adv_fixtures import (
    FEATURES,
    FORMATS,
    TRAIN_OPTIONS,
    assert_error,
    catalog_args,
    cli,
    snapshot,
    workspace,
)

from nncz.io import read_table


@pytest.fixture(scope="module")
def ws():
    return workspace()


BAD_FILES = {
    "missing": ("nope.parquet", "no such file"),
    "image_fits": ("image.fits", "no table HDU"),
    "image_extension_fits": ("image_ext.fits", "no table HDU"),
    "garbage_parquet": ("garbage.parquet", "cannot be read"),
    "garbage_fits": ("garbage.fits", "cannot be read"),
    "garbage_h5": ("garbage.h5", "cannot be read"),
    "zero_byte_csv": ("zero_bytes.csv", "cannot be read"),
    "zero_byte_parquet": ("zero_bytes.parquet", "cannot be read"),
    "h5_without_table": ("no_table.h5", "no group of 1-D datasets"),
    "not_utf8_csv": ("not_utf8.csv", ""),
    "ragged_csv": ("ragged.csv", ""),
    "directory": ("dir.csv", "directory"),
    "unknown_extension": ("table.xyz", "unknown table format"),
}


def _verb_args(verb, ws, path, tmp):
    return {"train": ["train", path, "--features", ",".join(FEATURES), "--output", tmp / "m",
                      *TRAIN_OPTIONS],
            "predict": ["predict", ws["model"], path, "--output", tmp / "p.parquet"],
            "evaluate": ["evaluate", path, "--output", tmp / "r"]}[verb]


@pytest.mark.parametrize("verb", ["train", "predict", "evaluate"])
@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_input_file_is_one_line_naming_it(ws, tmp_path, verb, kind):
    name, fragment = BAD_FILES[kind]
    path = ws["root"] / name
    before = snapshot(ws["root"])
    result = cli(*_verb_args(verb, ws, path, tmp_path))
    assert_error(result, 3, verb, name, fragment)
    assert snapshot(ws["root"]) == before
    assert not any(tmp_path.rglob("*.parquet")) and not (tmp_path / "m" / "nncz_model.json"
                                                          ).exists()


@pytest.mark.parametrize("verb", ["train", "predict"])
def test_text_feature_column_is_named(ws, tmp_path, verb):
    result = cli(*_verb_args(verb, ws, ws["root"] / "text_feature.csv", tmp_path))
    assert_error(result, 3, verb, "mag_g", "text_feature.csv", "numeric")


# -------------------------------------------------------------------- missing pieces
def test_train_missing_feature_column(ws, tmp_path):
    result = cli("train", ws["root"] / "train.parquet", "--features", "mag_g,mag_q",
                 "--output", tmp_path / "m", *TRAIN_OPTIONS)
    assert_error(result, 3, "train", "mag_q", "train.parquet")


def test_train_missing_target_column(ws, tmp_path):
    result = cli("train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                 "--target", "zspec", "--output", tmp_path / "m", *TRAIN_OPTIONS)
    assert_error(result, 3, "train", "zspec")


def test_train_bad_where_query(ws, tmp_path):
    result = cli("train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                 "--where", "split ==", "--output", tmp_path / "m", *TRAIN_OPTIONS)
    assert_error(result, 3, "train", "--where")


def test_train_missing_validation_file(ws, tmp_path):
    result = cli("train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                 "--validation", tmp_path / "val.parquet", "--output", tmp_path / "m",
                 *TRAIN_OPTIONS)
    assert_error(result, 3, "train", "val.parquet")


def test_predict_table_without_a_model_feature(ws, tmp_path):
    table = read_table(ws["root"] / "train.parquet").drop(columns=["magerr_i"])
    table.to_parquet(tmp_path / "t.parquet")
    result = cli("predict", ws["model"], tmp_path / "t.parquet", "--output",
                 tmp_path / "p.parquet")
    assert_error(result, 3, "predict", "magerr_i", "t.parquet")
    assert not (tmp_path / "p.parquet").exists()


def test_predict_missing_keep_column(ws, tmp_path):
    result = cli("predict", ws["model"], ws["root"] / "train.parquet", "--output",
                 tmp_path / "p.parquet", "--keep", "z_specc")
    assert_error(result, 3, "predict", "z_specc")
    assert not (tmp_path / "p.parquet").exists()


@pytest.mark.parametrize("model", ["missing", "a_file", "empty_dir"])
def test_predict_with_no_model(ws, tmp_path, model):
    path = tmp_path / "model"
    if model == "a_file":
        path.write_text("x")
    elif model == "empty_dir":
        path.mkdir()
    result = cli("predict", path, ws["root"] / "train.parquet", "--output",
                 tmp_path / "p.parquet")
    assert_error(result, 3, "predict", "model")
    assert not (tmp_path / "p.parquet").exists()


@pytest.mark.parametrize(("flag", "value"), [("--truth", "z_true"), ("--point", "z_best"),
                                             ("--by", "mag_q")])
def test_evaluate_missing_column(ws, tmp_path, flag, value):
    result = cli("evaluate", ws["pred"], flag, value, "--output", tmp_path / "r")
    assert_error(result, 3, "evaluate", value, "pred.parquet")
    assert not (tmp_path / "r" / "metrics.json").exists()


def test_evaluate_missing_pdf_file(ws, tmp_path):
    result = cli("evaluate", ws["pred"], "--pdf", tmp_path / "none.h5", "--output",
                 tmp_path / "r")
    assert_error(result, 3, "evaluate", "none.h5")


def test_evaluate_pdfs_of_another_length(ws, tmp_path):
    table = read_table(ws["pred"]).iloc[:100]
    table.to_parquet(tmp_path / "short.parquet")
    result = cli("evaluate", tmp_path / "short.parquet", "--pdf", ws["pdf"], "--output",
                 tmp_path / "r")
    assert_error(result, 3, "evaluate", "pdf.h5", "100")


def test_evaluate_non_numeric_truth(ws, tmp_path):
    table = read_table(ws["pred"]).assign(z_spec="high")
    table.to_parquet(tmp_path / "t.parquet")
    result = cli("evaluate", tmp_path / "t.parquet", "--output", tmp_path / "r")
    assert_error(result, 3, "evaluate", "--truth", "numeric")


def test_evaluate_all_nan_truth(ws, tmp_path):
    table = read_table(ws["pred"]).assign(z_spec=np.nan)
    table.to_parquet(tmp_path / "t.parquet")
    result = cli("evaluate", tmp_path / "t.parquet", "--output", tmp_path / "r")
    assert_error(result, 3, "evaluate", "nothing to evaluate")


def test_spec_missing_input(tmp_path):
    result = cli("spec", "--sdss", tmp_path / "sdss.parquet", "-o", tmp_path / "s.parquet")
    assert_error(result, 3, "spec", "sdss.parquet")


def test_spec_without_any_input(tmp_path):
    assert_error(cli("spec", "-o", tmp_path / "s.parquet"), 2, "spec", "--sdss")


def test_dataset_missing_spec(ws, tmp_path):
    result = cli("dataset", "--input-dir", ws["mock"], "--spec", tmp_path / "none.parquet",
                 "-f", "ps1", "-o", tmp_path / "ds")
    assert_error(result, 3, "dataset", "none.parquet")


def test_dataset_unknown_feature_set(ws, tmp_path):
    result = cli("dataset", "--input-dir", ws["mock"], "--spec", ws["spec"], "-f", "sdss9",
                 "-o", tmp_path / "ds")
    assert_error(result, 3, "dataset", "sdss9")


@pytest.mark.parametrize("which", ["--ls", "--ps1", "--unwise"])
def test_catalog_missing_survey_file(ws, tmp_path, which):
    args = catalog_args(ws, tmp_path / "cat")
    args[args.index(which) + 1] = tmp_path / "nope.parquet"
    assert_error(cli(*args), 3, "catalog", "nope.parquet")
    assert not (tmp_path / "cat").exists()


def test_catalog_missing_model(ws, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"levels:\n  1: {{model: {tmp_path / 'none'}}}\nfeatures: prebuilt\n")
    args = catalog_args(ws, tmp_path / "cat")
    args[1] = config
    assert_error(cli(*args), 3, "catalog", "none")


# ----------------------------------------------------------------- zero and one rows
@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("rows", ["empty", "one"])
def test_predict_zero_and_one_row_inputs(ws, tmp_path, suffix, rows):
    out = tmp_path / f"p{suffix}"
    result = cli("predict", ws["model"], ws["root"] / f"{rows}{suffix}", "--output", out,
                 "--keep", "z_spec", "--pdf-output", tmp_path / "pdfs.h5", "--pdf-bins", "20")
    assert result.code == 0, result.err
    table = read_table(out)
    assert len(table) == (0 if rows == "empty" else 1)
    assert {"z_spec", "z_phot_mean", "nncz_flag"} <= set(table.columns)
    from nncz.pdfio import read_pdfs

    pdfs = read_pdfs(tmp_path / "pdfs.h5")
    assert pdfs.pdf.shape == (len(table), 20)
    if rows == "one":
        assert np.isfinite(table["z_phot_mean"]).all()


def test_train_zero_rows(ws, tmp_path):
    result = cli("train", ws["root"] / "empty.parquet", "--features", ",".join(FEATURES),
                 "--output", tmp_path / "m", *TRAIN_OPTIONS)
    assert_error(result, 3, "train", "empty.parquet")
    assert not (tmp_path / "m" / "nncz_model.json").exists()


def test_train_one_row(ws, tmp_path):
    result = cli("train", ws["root"] / "one.parquet", "--features", ",".join(FEATURES),
                 "--output", tmp_path / "m", *TRAIN_OPTIONS)
    assert_error(result, 3, "train", "one.parquet")


def test_evaluate_zero_rows(ws, tmp_path):
    read_table(ws["pred"]).iloc[:0].to_parquet(tmp_path / "t.parquet")
    result = cli("evaluate", tmp_path / "t.parquet", "--output", tmp_path / "r")
    assert_error(result, 3, "evaluate", "t.parquet", "nothing to evaluate")


def test_evaluate_one_row(ws, tmp_path):
    read_table(ws["pred"]).iloc[:1].to_parquet(tmp_path / "t.parquet")
    result = cli("evaluate", tmp_path / "t.parquet", "--output", tmp_path / "r")
    assert result.code == 0, result.err
    assert (tmp_path / "r" / "metrics.json").exists()


def test_catalog_zero_row_inputs(ws, tmp_path):
    sky = tmp_path / "sky"
    sky.mkdir()
    for name in ("ls", "ps1", "unwise"):
        pd.read_parquet(ws["sky"] / f"{name}.parquet").iloc[:0].to_parquet(sky / f"{name}.parquet")
    work = dict(ws, sky=sky)
    result = cli(*catalog_args(work, tmp_path / "cat"))
    assert result.code == 0, result.err
    assert len(pd.read_parquet(tmp_path / "cat" / "catalog.parquet")) == 0


def test_catalog_one_row_input(ws, tmp_path):
    sky = tmp_path / "sky"
    shutil.copytree(ws["sky"], sky)
    pd.read_parquet(ws["sky"] / "ls.parquet").iloc[:1].to_parquet(sky / "ls.parquet")
    pd.read_parquet(ws["sky"] / "ps1.parquet").iloc[:0].to_parquet(sky / "ps1.parquet")
    result = cli(*catalog_args(dict(ws, sky=sky), tmp_path / "cat"))
    assert result.code == 0, result.err
    assert len(pd.read_parquet(tmp_path / "cat" / "catalog.parquet")) <= 1


def test_mock_of_one_galaxy(tmp_path):
    result = cli("mock", tmp_path / "m", "--n-galaxies", "1", "--formats", "parquet",
                 "--no-progress")
    assert result.code == 0, result.err
    assert (tmp_path / "m" / "truth.parquet").exists()


@pytest.mark.parametrize("rows", [0, 1])
def test_spec_zero_and_one_row_inputs(ws, tmp_path, rows):
    sdss = tmp_path / "sdss.parquet"
    pd.read_parquet(ws["mock"] / "sdss_specobj.parquet").iloc[:rows].to_parquet(sdss)
    result = cli("spec", "--sdss", sdss, "-o", tmp_path / "s.parquet")
    assert result.code == 0, result.err
    assert len(read_table(tmp_path / "s.parquet")) <= rows


def test_dataset_zero_row_spec(ws, tmp_path):
    spec = tmp_path / "spec.parquet"
    read_table(ws["spec"]).iloc[:0].to_parquet(spec)
    result = cli("dataset", "--input-dir", ws["mock"], "--spec", spec, "-f", "ps1", "-o",
                 tmp_path / "ds")
    assert result.code == 0, result.err
    assert len(read_table(tmp_path / "ds" / "ps1.parquet")) == 0


@pytest.mark.parametrize("name", ["nope.parquet", "garbage.parquet", "image.fits"])
def test_inspect_bad_file(ws, name):
    result = cli("inspect", ws["root"] / name)
    if result.code == 2 and "invalid choice" in result.err:
        pytest.skip("no `nncz inspect` in this tree")
    assert_error(result, 3, "inspect", name)


def test_nz_output_is_the_predictions_file(ws, tmp_path):
    pred = tmp_path / "pred.parquet"
    shutil.copy(ws["pred"], pred)
    before = snapshot(pred)
    result = cli("nz", pred, "--pdf", ws["pdf"], "--bins", "0.2,0.6,1.0", "--output", pred)
    if result.code == 2 and "invalid choice" in result.err:
        pytest.skip("no `nncz nz` in this tree")
    assert_error(result, 4, "nz", "pred.parquet")
    assert snapshot(pred) == before


def test_nz_missing_pdf_file(ws, tmp_path):
    result = cli("nz", ws["pred"], "--pdf", tmp_path / "none.h5", "--bins", "0.2,0.6,1.0",
                 "--output", tmp_path / "nz")
    if result.code == 2 and "invalid choice" in result.err:
        pytest.skip("no `nncz nz` in this tree")
    assert_error(result, 3, "nz", "none.h5")


@pytest.mark.parametrize("rows", ["empty", "one"])
def test_train_validation_table_too_small(ws, tmp_path, rows):
    result = cli("train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                 "--validation", ws["root"] / f"{rows}.parquet", "--output", tmp_path / "m",
                 *TRAIN_OPTIONS)
    assert_error(result, 3, "train", "--validation", f"{rows}.parquet")


def test_train_where_selects_nothing(ws, tmp_path):
    result = cli("train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                 "--where", "z_spec > 5", "--output", tmp_path / "m", *TRAIN_OPTIONS)
    assert_error(result, 3, "train", "--where", "train.parquet")


def test_predict_keep_column_twice_is_kept_once(ws, tmp_path):
    result = cli("predict", ws["model"], ws["root"] / "train.parquet", "--output",
                 tmp_path / "p.parquet", "--keep", "z_spec,z_spec")
    assert result.code == 0, result.err
    assert list(read_table(tmp_path / "p.parquet").columns).count("z_spec") == 1


def test_demo_unknown_feature_set_fails_before_any_work(tmp_path):
    result = cli("demo", "--output", tmp_path / "d", "--feature-set", "bogus")
    assert_error(result, 3, "demo", "bogus")
    assert not (tmp_path / "d").exists()


def test_dataset_unknown_psf_kron_band(ws, tmp_path):
    result = cli("dataset", "--input-dir", ws["mock"], "--spec", ws["spec"], "-f", "ps1",
                 "--psf-kron-bands", "q", "-o", tmp_path / "ds")
    assert_error(result, 2, "dataset", "--psf-kron-bands", "'q'")


@pytest.mark.parametrize("verb", ["spec", "dataset"])
def test_missing_input_dir_is_named(tmp_path, verb):
    args = {"spec": ["spec", "-o", tmp_path / "s.parquet"],
            "dataset": ["dataset", "-f", "ps1", "-o", tmp_path / "ds"]}[verb]
    result = cli(*args, "--input-dir", tmp_path / "nowhere")
    assert_error(result, 3, verb, "nowhere", "--input-dir")


def test_dataset_feature_config_not_yaml(ws, tmp_path):
    (tmp_path / "bad.yaml").write_text("sets: [\n")
    result = cli("dataset", "--input-dir", ws["mock"], "--spec", ws["spec"], "-f", "ps1",
                 "--feature-config", tmp_path / "bad.yaml", "-o", tmp_path / "ds")
    assert_error(result, 3, "dataset", "bad.yaml", "YAML")


def test_fits_table_after_an_image_extension_is_found(ws, tmp_path):
    from astropy.io import fits
    from astropy.table import Table

    table = Table.from_pandas(read_table(ws["root"] / "train.parquet"))
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((2, 2))),
                  fits.BinTableHDU(table)]).writeto(tmp_path / "mixed.fits")
    result = cli("predict", ws["model"], tmp_path / "mixed.fits", "--output",
                 tmp_path / "p.parquet", "--chunk-rows", "128")
    assert result.code == 0, result.err
    assert len(read_table(tmp_path / "p.parquet")) == 300


def test_demo_with_too_small_a_mock_says_so(tmp_path):
    result = cli("demo", "--output", tmp_path / "d", "--n-galaxies", "300", "--max-epochs",
                 "1")
    assert_error(result, 3, "demo", "300 galaxies", "--n-galaxies")
    assert not (tmp_path / "d" / "summary.json").exists()
