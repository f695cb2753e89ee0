import numpy as np
import pandas as pd
import pytest

from nncz.cleaning import BadValuePolicy, clean_target


def frame():
    return pd.DataFrame({"mag_u": [22.0, 99.0, np.nan, 23.0, -99.0],
                         "magerr_u": [0.1, 0.2, 0.1, 1e4, 0.3]})


def test_bad_values_detected():
    policy = BadValuePolicy()
    assert policy.report(frame(), ["mag_u", "magerr_u"]) == {"mag_u": 3, "magerr_u": 1}


def test_drop_mode_flags_rows():
    policy = BadValuePolicy("drop").fit(frame(), ["mag_u", "magerr_u"])
    x, bad = policy.transform(frame(), ["mag_u", "magerr_u"])
    assert bad.tolist() == [False, True, True, True, True]
    assert x.shape == (5, 2)


def test_fill_mode_fills_and_adds_indicators():
    policy = BadValuePolicy("fill").fit(frame(), ["mag_u", "magerr_u"])
    x, _ = policy.transform(frame(), ["mag_u", "magerr_u"])
    assert policy.feature_names(["mag_u", "magerr_u"]) == [
        "mag_u", "magerr_u", "mag_u__missing", "magerr_u__missing"]
    assert x[:, 0].tolist() == [22.0, 23.0, 23.0, 23.0, 23.0]  # faint-end fill
    assert x[:, 2].tolist() == [0, 1, 1, 0, 1]
    assert np.isfinite(x).all()


def test_valid_range_and_round_trip():
    policy = BadValuePolicy(valid_range={"mag_u": (15, 30)})
    bad = policy.bad_mask(np.array([14.0, 20.0, 33.0]), "mag_u")
    assert bad.tolist() == [True, False, True]
    again = BadValuePolicy.from_dict(policy.to_dict())
    assert again.valid_range == {"mag_u": (15.0, 30.0)}


def test_unknown_mode():
    with pytest.raises(ValueError, match="drop"):
        BadValuePolicy("ignore")


def test_clean_target_reports(caplog):
    keep = clean_target(np.array([-0.01, 0.5, np.nan, 2.5, 1.99]), 0.0, 2.0, "z_spec")
    assert keep.tolist() == [False, True, False, False, True]
    assert "1 rows with non-finite" in caplog.text and "2 outside the grid" in caplog.text
