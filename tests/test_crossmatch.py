"""Tests of nncz.crossmatch: nearest neighbour on the sphere within a radius."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nncz.crossmatch import join_matched, match_sky, match_tables, radec_to_xyz

AS = 1.0 / 3600.0


def test_unit_vectors_have_unit_length_and_known_axes():
    xyz = radec_to_xyz([0.0, 90.0, 0.0], [0.0, 0.0, 90.0])
    np.testing.assert_allclose(np.linalg.norm(xyz, axis=1), 1.0)
    np.testing.assert_allclose(xyz, [[1, 0, 0], [0, 1, 0], [0, 0, 1]], atol=1e-12)


def test_radius_is_respected_and_separation_is_exact():
    # offsets in declination are exact angular separations
    ra2 = np.full(3, 50.0)
    dec2 = np.array([10.0 + 0.9 * AS, 20.0 + 1.1 * AS, 30.0])
    m = match_sky(ra2, [10.0, 20.0, 30.0], ra2, dec2, radius_arcsec=1.0)
    assert list(m.index) == [0, -1, 2]
    np.testing.assert_allclose(m.sep_arcsec[[0, 2]], [0.9, 0.0], atol=1e-6)
    assert np.isnan(m.sep_arcsec[1])
    assert m.n_matched == 2
    # a larger radius picks up the 1.1" one
    assert list(match_sky(ra2, [10.0, 20.0, 30.0], ra2, dec2, 1.2).index) == [0, 1, 2]


def test_ra_wraparound_and_cos_dec():
    m = match_sky([359.9999], [0.0], [0.0001], [0.0], radius_arcsec=1.0)
    assert m.index[0] == 0 and m.sep_arcsec[0] == pytest.approx(0.72, abs=1e-4)
    # at dec 60 deg, 1.6" of RA is 0.8" on the sky
    m = match_sky([100.0], [60.0], [100.0 + 1.6 * AS], [60.0], radius_arcsec=1.0)
    assert m.index[0] == 0 and m.sep_arcsec[0] == pytest.approx(0.8, abs=1e-4)


def test_nearest_of_several_candidates_is_chosen_and_counted():
    ra_r = [10.0, 10.0, 10.0]
    dec_r = [0.7 * AS, -0.3 * AS, 5 * AS]
    m = match_sky([10.0, 10.0], [0.0, 5.5 * AS], ra_r, dec_r, radius_arcsec=1.0)
    assert list(m.index) == [1, 2]
    assert list(m.n_candidates) == [2, 1]
    assert m.n_multiple == 1
    s = m.summary()
    assert s["n_left"] == 2 and s["n_matched"] == 2 and s["n_multiple"] == 1


def test_shared_counterparts_are_reported():
    m = match_sky([10.0, 10.0, 11.0], [0.0, 0.4 * AS, 0.0], [10.0, 11.0], [0.2 * AS, 0.0])
    assert list(m.index) == [0, 0, 1]
    assert m.n_shared == 2


def test_non_finite_positions_never_match():
    m = match_sky([np.nan, 10.0], [0.0, 0.0], [10.0, np.nan], [0.0, 0.0])
    assert list(m.index) == [-1, 0]
    m = match_sky([10.0], [0.0], [np.nan], [np.nan])
    assert list(m.index) == [-1]


def test_empty_inputs():
    m = match_sky([], [], [10.0], [0.0])
    assert len(m.index) == 0 and m.n_matched == 0
    m = match_sky([10.0], [0.0], [], [])
    assert list(m.index) == [-1]


def test_bad_radius_raises():
    with pytest.raises(ValueError, match="radius"):
        match_sky([0.0], [0.0], [0.0], [0.0], radius_arcsec=0.0)


def test_join_matched_keeps_left_columns_and_adds_right_ones():
    left = pd.DataFrame({"ra": [1.0, 2.0], "dec": [0.0, 0.0], "z": [0.1, 0.2]})
    right = pd.DataFrame({"ra": [2.0 + 0.5 * AS, 5.0], "dec": [0.0, 0.0], "mag": [20.0, 21.0]})
    m = match_tables(left, right)
    out = join_matched(left, right, m)
    assert list(out["z"]) == [0.2] and list(out["mag"]) == [20.0]
    assert out["ra"].iloc[0] == 2.0  # the left position wins on a name clash
    assert out["sep_arcsec"].iloc[0] == pytest.approx(0.5, abs=1e-6)


def test_matches_brute_force_on_random_sky():
    rng = np.random.default_rng(1)
    n = 2000
    ra2 = rng.uniform(0, 1, n)
    dec2 = rng.uniform(-0.5, 0.5, n)
    ra1 = ra2[:500] + rng.normal(0, 0.7 * AS, 500)
    dec1 = dec2[:500] + rng.normal(0, 0.7 * AS, 500)
    m = match_sky(ra1, dec1, ra2, dec2, 1.0)
    x1, x2 = radec_to_xyz(ra1, dec1), radec_to_xyz(ra2, dec2)
    sep = np.degrees(np.arccos(np.clip(x1 @ x2.T, -1, 1))) * 3600
    best = sep.argmin(axis=1)
    expect = np.where(sep.min(axis=1) <= 1.0, best, -1)
    np.testing.assert_array_equal(m.index, expect)
    np.testing.assert_array_equal(m.n_candidates, (sep <= 1.0).sum(axis=1))
