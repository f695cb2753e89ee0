"""Priority rules of the unified catalog on a hand-made sky (prebuilt features, fake models)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_catalog_common import (
    LS_FEATURES,
    PS1_FEATURES,
    WISE_FEATURES,
    FakeModel,
    fake_models,
    prebuilt_config,
)

from nncz.catalog import ModelSet, build_catalog, load_config
from nncz.catalog.config import CatalogConfig

ARCSEC = 1.0 / 3600.0

# name: (LS: photsys or None, LS NaN features, PS1 offset ["] or None, PS1 NaN features,
#        unWISE offset ["] or None, unWISE NaN features)
CASES = {
    "a_south_native_i": ("S", [], None, [], None, []),
    "b_south_no_i_with_ps1": ("S", ["f_i"], 0.3, [], None, []),
    "c_north_ps1_i": ("N", ["f_i"], 0.5, [], None, []),
    "d_north_ps1_without_i": ("N", ["f_i"], 0.5, ["p_i"], None, []),
    "e_north_no_ps1": ("N", ["f_i"], None, [], None, []),
    "f_ps1_unwise": (None, [], 0.0, [], 0.4, []),
    "g_ps1_no_unwise": (None, [], 0.0, [], None, []),
    "h_ps1_bad_unwise": (None, [], 0.0, [], 0.4, ["u_w2"]),
    "i_ls_missing_w1_falls_to_ps1": ("S", ["f_w1"], 0.2, [], 0.3, []),
    "j_ls_missing_g_alone": ("S", ["f_g"], None, [], None, []),
    "k_ps1_beyond_1arcsec": ("S", [], 1.5, [], None, []),
    "l_both_surveys": ("S", [], 0.5, [], None, []),
    "m_ps1_missing_g": (None, [], 0.0, ["p_g"], None, []),
}


def hand_made_sky():
    ls_rows, ps_rows, wise_rows = [], [], []
    for i, (name, (photsys, ls_nan, ps_off, ps_nan, w_off, w_nan)) in enumerate(CASES.items()):
        ra, dec = 150.0 + 0.01 * i, 2.0  # 36" apart: cases never interact
        if photsys is not None:
            row = {"ls_id": 100 + i, "ra": ra, "dec": dec, "photsys": photsys, "case": name}
            row.update({f: (np.nan if f in ls_nan else 20.0 + 0.1 * i) for f in LS_FEATURES})
            ls_rows.append(row)
        if ps_off is not None:
            row = {"objID": 900 + i, "raMean": ra, "decMean": dec + ps_off * ARCSEC}
            row.update({f: (np.nan if f in ps_nan else 21.0) for f in PS1_FEATURES})
            ps_rows.append(row)
        if w_off is not None:
            row = {"unwise_objid": f"w{i}", "ra": ra + w_off * ARCSEC / np.cos(np.radians(dec)),
                   "dec": dec}
            row.update({f: (np.nan if f in w_nan else 17.0) for f in WISE_FEATURES})
            wise_rows.append(row)
    return pd.DataFrame(ls_rows), pd.DataFrame(ps_rows), pd.DataFrame(wise_rows)


def case_index(name: str) -> int:
    return list(CASES).index(name)


def run(levels=(1, 2, 3, 4, 5), **kw):
    ls, ps1, wise = hand_made_sky()
    result = build_catalog(ls, ps1, wise, prebuilt_config(levels, **kw), fake_models(levels))
    return result


def row_of(main: pd.DataFrame, name: str, survey: str = "ls") -> pd.Series:
    i = case_index(name)
    key, value = ("ls_id", 100 + i) if survey == "ls" else ("ps1_objid", 900 + i)
    rows = main[main[key] == value]
    assert len(rows) == 1, f"{name}: expected one row with {key}={value}, got {len(rows)}"
    return rows.iloc[0]


EXPECTED = {  # case -> (priority, in_lsdr10, in_ps1dr2, which id identifies the row)
    "a_south_native_i": (1, True, False, "ls"),
    "b_south_no_i_with_ps1": (3, True, True, "ls"),  # level 2 is the north's
    "c_north_ps1_i": (2, True, True, "ls"),
    "d_north_ps1_without_i": (3, True, True, "ls"),
    "e_north_no_ps1": (3, True, False, "ls"),
    "f_ps1_unwise": (4, False, True, "ps1"),
    "g_ps1_no_unwise": (5, False, True, "ps1"),
    "h_ps1_bad_unwise": (5, False, True, "ps1"),
    "i_ls_missing_w1_falls_to_ps1": (4, True, True, "ls"),
    "k_ps1_beyond_1arcsec": (1, True, False, "ls"),
    "l_both_surveys": (1, True, True, "ls"),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_case_gets_its_level(name):
    main = run().main
    priority, in_ls, in_ps1, survey = EXPECTED[name]
    row = row_of(main, name, survey)
    assert (row.priority, row.in_lsdr10, row.in_ps1dr2) == (priority, in_ls, in_ps1)
    # the fake model of level L peaks at 0.2 L: the right model produced the PDF
    assert abs(row.z_phot_mode - 0.2 * priority) < 0.03


def test_overlaps_give_one_row_with_both_ids_and_unmatched_pairs_two_rows():
    main = run().main
    both = row_of(main, "l_both_surveys")
    assert both.ps1_objid == 900 + case_index("l_both_surveys")
    assert (main.ps1_objid == both.ps1_objid).sum() == 1
    far = case_index("k_ps1_beyond_1arcsec")
    ps1_row = row_of(main, "k_ps1_beyond_1arcsec", "ps1")
    assert ps1_row.ls_id == -1 and ps1_row.priority == 5
    assert row_of(main, "k_ps1_beyond_1arcsec").ps1_objid == -1
    assert (main.ls_id == 100 + far).sum() == 1
    # unWISE id recorded for the level-4 rows
    assert row_of(main, "f_ps1_unwise", "ps1").unwise_objid == f"w{case_index('f_ps1_unwise')}"


def test_sources_without_usable_photometry_are_counted_not_written():
    result = run()
    main = result.main
    assert 100 + case_index("j_ls_missing_g_alone") not in set(main.ls_id)
    assert 900 + case_index("m_ps1_missing_g") not in set(main.ps1_objid)
    assert result.stats["n_unassigned"] == 2
    assert len(main) == len(EXPECTED) + 1  # k gives two rows
    counts = main.priority.value_counts().to_dict()
    assert {lv: result.stats[f"n_level{lv}"] for lv in range(1, 6)} == {
        lv: counts.get(lv, 0) for lv in range(1, 6)}
    assert result.pdf_u16.shape == (len(main), 40)
    assert (result.pdf_u16.sum(axis=1, dtype=np.int64) == 65535).all()


def test_a_level_left_out_of_the_config_falls_through():
    main = run(levels=(1, 3, 4, 5)).main
    assert row_of(main, "c_north_ps1_i").priority == 3
    main = run(levels=(1, 2, 3, 4, 5), level2_photsys=None).main
    assert row_of(main, "b_south_no_i_with_ps1").priority == 2
    main = run(levels=(3, 5)).main  # no level 4: falls to PS1 optical
    assert row_of(main, "f_ps1_unwise", "ps1").priority == 5
    assert row_of(main, "i_ls_missing_w1_falls_to_ps1").priority == 5


def test_missing_feature_column_names_level_and_columns():
    ls, ps1, wise = hand_made_sky()
    with pytest.raises(KeyError, match="level 1.*f_i"):
        build_catalog(ls.drop(columns=["f_i"]), ps1, wise, prebuilt_config(), fake_models())


def test_one_survey_alone():
    ls, ps1, wise = hand_made_sky()
    result = build_catalog(None, ps1, None, prebuilt_config(), fake_models())
    assert set(result.main.priority) == {5}
    assert not result.main.in_lsdr10.any()


def test_config_yaml(tmp_path):
    (tmp_path / "cat.yaml").write_text(
        "levels:\n  1: {model: m1}\n  4: m4\n  5: {model: /abs/m5, feature_set: ps1}\n"
        "pdf_bins: 80\nfeatures: prebuilt\n")
    cfg = load_config(tmp_path / "cat.yaml")
    assert cfg.models == {1: str(tmp_path / "m1"), 4: str(tmp_path / "m4"), 5: "/abs/m5"}
    assert cfg.feature_sets == {1: "lsdr10", 4: "ps1_unwise", 5: "ps1"}
    assert cfg.pdf_bins == 80
    (tmp_path / "bad.yaml").write_text("levels:\n  6: {model: m}\n")
    with pytest.raises(ValueError, match="unknown level"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="features must be"):
        CatalogConfig(models={1: "m"}, features="magic")


def test_a_sentinel_in_a_level_feature_sends_the_source_to_the_next_level():
    """The catalog asks each level model's own bad-value policy (issue 11): a W1 of 99 is not
    NaN, yet the level-1 model would reject it, so the source falls to PS1 + unWISE."""
    from nncz.catalog import ModelSet
    from nncz.cleaning import BadValuePolicy

    policy = BadValuePolicy(mode="fill")
    models = fake_models()
    for model in models.models.values():
        model.bad_value_mask = lambda table, m=model: np.column_stack(
            [policy.bad_mask(table[c].to_numpy(float), c) for c in m.features_])
    models = ModelSet(models.models, models.paths)
    ls, ps1, wise = hand_made_sky()
    name = "l_both_surveys"
    ls.loc[ls.case == name, "f_w1"] = 99.0
    wise = pd.concat([wise, pd.DataFrame([{
        "unwise_objid": "w_extra", "ra": float(ls.loc[ls.case == name, "ra"].iloc[0]),
        "dec": 2.0, **{f: 17.0 for f in WISE_FEATURES}}])], ignore_index=True)
    main = build_catalog(ls, ps1, wise, prebuilt_config(), models).main
    row = row_of(main, name)
    assert row.priority == 4 and abs(row.z_phot_mode - 0.8) < 0.03
    # without the model's policy the sentinel looks finite and wins level 1
    plain = build_catalog(ls, ps1, wise, prebuilt_config(), fake_models()).main
    assert row_of(plain, name).priority == 1


COLOUR_BANDS = ["f_g", "f_r", "f_i", "f_z"]


@pytest.fixture(scope="module")
def colour_model():
    """A real NNCEstimator with ``features=["f_i"]`` and the colours of g r i z: three of its
    bands are not features (one epoch, tiny network: only the columns matter here)."""
    from conftest import synthetic_catalog

    from nncz.estimator import NNCEstimator

    table = synthetic_catalog(400, seed=2).rename(columns={f"mag_{b}": f"f_{b}" for b in "griz"})
    model = NNCEstimator(hidden=(8,), max_epochs=1, batch_size=64, colours=COLOUR_BANDS,
                         calibration="none", verbose=False)
    return model.fit(table, ["f_i"], target="z_spec")


def test_a_level_model_reads_its_colour_bands_and_their_bad_values_move_the_source(
        colour_model):
    """The catalog hands a level model its features and colour bands (``required_columns_``);
    a 99 or NaN in a colour band that is not a feature makes the model's colours bad, so the
    source falls to the next level, as a bad feature would."""
    assert colour_model.required_columns_ == ["f_i", "f_g", "f_r", "f_z"]
    models = ModelSet({1: colour_model, 5: FakeModel(5)}, {1: "colours", 5: "fake5"})
    ls, ps1, wise = hand_made_sky()
    ls.loc[ls.case == "l_both_surveys", "f_g"] = 99.0  # has PS1: falls to level 5
    ls.loc[ls.case == "a_south_native_i", "f_z"] = np.nan  # LS only: no level left
    cfg = prebuilt_config((1, 5))
    result = build_catalog(ls, ps1, wise, cfg, models)
    main = result.main
    assert row_of(main, "l_both_surveys").priority == 5
    assert 100 + case_index("a_south_native_i") not in set(main.ls_id)
    row = row_of(main, "k_ps1_beyond_1arcsec")  # untouched bands: level 1, the real model
    assert row.priority == 1
    expected = colour_model.predict(ls[ls.case == "k_ps1_beyond_1arcsec"])
    np.testing.assert_allclose(row.z_phot_mean, expected.z_phot_mean.iloc[0], rtol=1e-5)
    level1 = models.provenance(cfg)["levels"]["1"]
    assert level1["features"] == ["f_i"] and level1["colours"] == COLOUR_BANDS
