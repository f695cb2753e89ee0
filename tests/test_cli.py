import json

import numpy as np
import pandas as pd
import pytest
from conftest import FEATURES, synthetic_catalog

from nncz.cli import main
from nncz.io import read_metadata, read_table


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    table = synthetic_catalog(2000, seed=5)
    table.loc[table.index[3], "mag_g"] = 99.0  # a sentinel: filled (default policy) and flagged
    table.loc[table.index[5], FEATURES] = np.nan  # nothing usable: no prediction
    table.to_csv(work / "train.csv", index=False)
    code = main(["-q", "train", str(work / "train.csv"), "--features", ",".join(FEATURES),
                 "--target", "z_spec", "--output", str(work / "model"), "--max-epochs", "4",
                 "--seed", "1", "--zmax", "1.5", "--nbins", "150", "--batch-size", "256",
                 "--hidden", "64,32"])
    assert code == 0
    return work, table


def test_train_writes_a_model_directory(trained):
    work, _ = trained
    config = json.loads((work / "model" / "nncz_model.json").read_text())
    assert config["grid"] == {"z_min": 0.0, "z_max": 1.5, "n_bins": 150}
    assert len(config["history"]) == 4
    assert not (work / "model" / "checkpoint" / "checkpoint.pt").exists()


@pytest.mark.parametrize("suffix", [".parquet", ".fits", ".csv", ".h5"])
def test_predict_keeps_row_order_and_columns(trained, suffix):
    work, table = trained
    out = work / f"pred{suffix}"
    assert main(["-q", "predict", str(work / "model"), str(work / "train.csv"), "--output",
                 str(out), "--keep", "z_spec", "--chunk-rows", "700"]) == 0
    predictions = read_table(out)
    assert len(predictions) == len(table)
    np.testing.assert_allclose(predictions.z_spec, table.z_spec)
    assert {"z_phot_mean", "z_phot_mode", "z_phot_median", "z_phot_std", "z_phot_l68",
            "z_phot_u68", "z_phot_l95", "z_phot_u95", "z_conf"} <= set(predictions.columns)
    assert predictions.nncz_flag.iloc[3] == 2 and np.isfinite(predictions.z_phot_mean.iloc[3])
    assert predictions.nncz_flag.iloc[5] == 1 and np.isnan(predictions.z_phot_mean.iloc[5])


def test_predict_evaluate_chain_with_pdfs(trained, capsys):
    work, table = trained
    assert main(["-q", "predict", str(work / "model"), str(work / "train.csv"), "--output",
                 str(work / "p.parquet"), "--keep", "z_spec,mag_r", "--pdf-output",
                 str(work / "pdf.h5")]) == 0
    assert main(["-q", "evaluate", str(work / "p.parquet"), "--truth", "z_spec", "--pdf",
                 str(work / "pdf.h5"), "--by", "mag_r", "--output", str(work / "report")]) == 0
    metrics = json.loads((work / "report" / "metrics.json").read_text())
    assert metrics["n"] == len(table) - 1 and metrics["n_excluded"] == 1
    assert {"sigma_nmad", "eta", "bias", "sigma", "crps", "pit_ks", "calibration",
            "nz_shift_max_abs"} <= set(metrics)
    tomo = pd.read_csv(work / "report" / "tomographic_nz.csv")
    assert len(tomo) == 5 and tomo["n"].sum() == len(table) - 1
    figures = {p.name for p in (work / "report").glob("*.png")}
    assert figures == {"zphot_vs_zspec.png", "sigma_nmad_vs_z.png", "pit.png", "nz.png"}
    assert (work / "report" / "metrics_by_mag_r.csv").exists()
    assert "sigma_nmad" in capsys.readouterr().out


def test_rebinned_pdfs_evaluate_like_native_ones(trained):
    from nncz.pdfio import read_pdfs

    work, table = trained
    metrics = {}
    for bins in ("150", "30"):
        assert main(["-q", "predict", str(work / "model"), str(work / "train.csv"), "--output",
                     str(work / f"p{bins}.parquet"), "--pdf-output", str(work / f"pdf{bins}.h5"),
                     "--pdf-bins", bins, "--keep", "z_spec"]) == 0
        assert main(["-q", "evaluate", str(work / f"p{bins}.parquet"), "--pdf",
                     str(work / f"pdf{bins}.h5"), "--output", str(work / f"r{bins}")]) == 0
        metrics[bins] = json.loads((work / f"r{bins}" / "metrics.json").read_text())
    pdfs = read_pdfs(work / "pdf30.h5")
    assert pdfs.pdf.shape == (len(table), 30) and pdfs.native_n_bins == 150
    # the file holds calibrated PDFs: the PIT does not depend on the rebinning (issue 11)
    assert abs(metrics["30"]["pit_ks"] - metrics["150"]["pit_ks"]) <= 0.005
    assert "30-bin grid" in metrics["30"]["crps_note"] and "crps_note" not in metrics["150"]


def test_wrong_column_error_names_file_and_column(trained, capsys):
    work, _ = trained
    code = main(["-q", "train", str(work / "train.csv"), "--features", "mag_g,mag_rr",
                 "--output", str(work / "m2")])
    err = capsys.readouterr().err
    assert code == 3 and "mag_rr" in err and "train.csv" in err and "mag_r" in err


def test_config_file_supplies_options(trained, tmp_path):
    work, _ = trained
    config = tmp_path / "train.yaml"
    config.write_text("features: [mag_u, mag_g, mag_r]\nmax_epochs: 1\nzmax: 1.5\nnbins: 30\n"
                      "hidden: '16'\n")
    assert main(["-q", "--config", str(config), "train", str(work / "train.csv"),
                 "--output", str(tmp_path / "m")]) == 0
    saved = json.loads((tmp_path / "m" / "nncz_model.json").read_text())
    assert saved["features"] == ["mag_u", "mag_g", "mag_r"] and saved["grid"]["n_bins"] == 30


def test_help_explains_every_option(capsys):
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--features", "--target", "--output", "--validation", "--max-epochs",
                   "--seed", "--zmax", "--nbins", "--bad-values"):
        assert option in text


def test_evaluate_without_pdfs(tmp_path):
    frame = pd.DataFrame({"z_spec": [0.1, 0.5, 0.9, 1.2], "z_phot_mean": [0.11, 0.5, 0.7, 1.25]})
    frame.to_csv(tmp_path / "p.csv", index=False)
    assert main(["-q", "evaluate", str(tmp_path / "p.csv"), "--output", str(tmp_path / "r")]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["eta"] == pytest.approx(0.0) and "crps" not in metrics


def test_threads_option_sets_torch_threads(tmp_path):
    import torch

    frame = pd.DataFrame({"z_spec": [0.1, 0.5], "z_phot_mean": [0.11, 0.5]})
    frame.to_csv(tmp_path / "p.csv", index=False)
    before = torch.get_num_threads()
    try:
        assert main(["-q", "--threads", "1", "evaluate", str(tmp_path / "p.csv"),
                     "--output", str(tmp_path / "r")]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert main(["--threads", "0", "evaluate", str(tmp_path / "p.csv")]) == 2


def test_train_cross_fit_and_colours_reach_the_model(trained, capsys):
    """--cross-fit, --colours and --lr-patience build the estimator the README's DC2 recipe uses."""
    work, table = trained
    colours = ",".join(f"mag_{b}" for b in "ugriz")
    code = main(["-q", "train", str(work / "train.csv"), "--features", ",".join(FEATURES),
                 "--output", str(work / "model_cf"), "--max-epochs", "2", "--zmax", "1.5",
                 "--nbins", "150", "--hidden", "32", "--ensemble", "2", "--cross-fit",
                 "--colours", colours, "--lr-patience", "3"])
    assert code == 0
    config = json.loads((work / "model_cf" / "nncz_model.json").read_text())
    text = json.dumps(config)
    assert "mag_u-mag_g" in text and '"cross_fit": true' in text and '"lr_patience": 3' in text
    code = main(["-q", "predict", str(work / "model_cf"), str(work / "train.csv"),
                 "--output", str(work / "pred_cf.parquet")])
    assert code == 0
    assert np.isfinite(read_table(work / "pred_cf.parquet")["z_phot_mean"]).mean() > 0.99


def test_train_on_colours_of_bands_that_are_no_features(trained, capsys):
    """--features mag_i --colours ugriz: predict reads only those columns, and names the file
    and a missing band."""
    work, table = trained
    bands = [f"mag_{b}" for b in "ugriz"]
    code = main(["-q", "train", str(work / "train.csv"), "--features", "mag_i",
                 "--colours", ",".join(bands), "--output", str(work / "model_ref"),
                 "--max-epochs", "2", "--zmax", "1.5", "--nbins", "150", "--hidden", "32"])
    assert code == 0
    table[bands].to_csv(work / "bands.csv", index=False)  # no errors, no redshift
    assert main(["-q", "predict", str(work / "model_ref"), str(work / "bands.csv"),
                 "--output", str(work / "pred_ref.parquet")]) == 0
    flags = read_table(work / "pred_ref.parquet")["nncz_flag"].to_numpy()
    assert flags[3] == 2 and flags[5] == 1 and (np.delete(flags, [3, 5]) == 0).all()
    meta = read_metadata(work / "pred_ref.parquet")  # provenance names the colour bands too
    assert meta["features"] == ["mag_i"] and meta["colours"] == bands
    table[["mag_u", "mag_r", "mag_i", "mag_z"]].to_csv(work / "no_g.csv", index=False)
    capsys.readouterr()
    assert main(["-q", "predict", str(work / "model_ref"), str(work / "no_g.csv"),
                 "--output", str(work / "pred_no_g.parquet")]) != 0
    err = capsys.readouterr().err
    assert "['mag_g'] missing from" in err and "no_g.csv" in err
    assert main(["-q", "train", str(work / "train.csv"), "--colours", ",".join(bands),
                 "--output", str(work / "model_colours"), "--max-epochs", "1", "--zmax", "1.5",
                 "--nbins", "150", "--hidden", "16"]) == 0  # colours alone, no --features


def test_cross_fit_needs_an_ensemble(trained, capsys):
    work, _ = trained
    code = main(["train", str(work / "train.csv"), "--features", ",".join(FEATURES),
                 "--output", str(work / "model_bad"), "--cross-fit"])
    assert code == 2
    assert "--cross-fit needs --ensemble" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".fits", ".h5", ".csv", ".parquet"])
def test_predict_string_keep_column_longer_in_a_later_chunk(trained, suffix):
    """Strings longer in later chunks than in the first survive every output format (FITS and
    HDF5 outputs with strings are gathered; the others stream)."""
    work, table = trained
    named = table.assign(name=[("g" * (1 + i // 500)) + str(i) for i in range(len(table))])
    named.to_csv(work / "named.csv", index=False)
    out = work / f"named_pred{suffix}"
    assert main(["-q", "predict", str(work / "model"), str(work / "named.csv"), "--output",
                 str(out), "--keep", "name", "--chunk-rows", "300", "--overwrite"]) == 0
    got = read_table(out)
    assert [str(v).strip() for v in got["name"]] == list(named["name"])
