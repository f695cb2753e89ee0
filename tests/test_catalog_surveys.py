"""The catalog in ``surveys`` mode on a small mock universe (archive schemas, real cuts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_catalog_common import FakeModel

from nncz.catalog import CatalogConfig, ModelSet, build_catalog

mock = pytest.importorskip("nncz.mock.universe")

SETS = {1: "lsdr10", 2: "lsdr10_ps1i", 3: "lsdr10_noi", 4: "ps1_unwise", 5: "ps1"}


class SurveyFake(FakeModel):
    def __init__(self, level: int) -> None:
        from nncz.surveys import get_feature_set

        super().__init__(level)
        self.features_ = list(get_feature_set(SETS[level]).features)


@pytest.fixture(scope="module")
def universe(tmp_path_factory):
    out = tmp_path_factory.mktemp("mock")
    mock.make_universe(out, n_galaxies=4000, seed=7, formats=("parquet",), progress=False)
    tables = {n: pd.read_parquet(out / f"{n}.parquet")
              for n in ("ls_dr10", "ps1_dr2", "unwise", "truth")}
    cfg = CatalogConfig(models=SETS, ps1_ebv_column=None, ps1_psf_kron_bands=())
    models = ModelSet({lv: SurveyFake(lv) for lv in SETS})
    result = build_catalog(tables["ls_dr10"], tables["ps1_dr2"], tables["unwise"], cfg, models)
    return tables, result


def test_levels_follow_survey_cuts(universe):
    from nncz.surveys import select_lsdr10

    tables, result = universe
    main, ls = result.main, tables["ls_dr10"].set_index("ls_id")
    assert len(main) > 0
    photsys = ls.loc[main.ls_id[main.in_lsdr10], "photsys"].str.strip()
    by_level = main.priority[main.in_lsdr10].to_numpy()
    assert set(photsys[by_level == 1]) <= {"S"}  # native i only in the south
    assert set(photsys[by_level == 2]) <= {"N"}
    # every LSDR10 source that passes the g r z W1 W2 cuts is in levels 1-3 (or better)
    good = select_lsdr10(tables["ls_dr10"], ("g", "r", "z", "w1", "w2"))
    got = main[main.in_lsdr10].set_index("ls_id").priority
    assert got.reindex(good.ls_id).between(1, 3).all()
    # and level-1 rows are exactly those that also have a valid native i
    with_i = select_lsdr10(good, ("g", "r", "i", "z", "w1", "w2"))
    assert set(main.ls_id[main.priority == 1]) == set(with_i.ls_id)


def test_pairs_are_the_same_object_in_the_truth(universe):
    tables, result = universe
    main, truth = result.main, tables["truth"]
    pairs = main[main.in_lsdr10 & main.in_ps1dr2]
    assert len(pairs) > 20
    obj_of_ls = truth.set_index("ls_id").truth_id[lambda s: s.index >= 0]
    obj_of_ps1 = truth.set_index("objID").truth_id[lambda s: s.index >= 0]
    same = (obj_of_ls.reindex(pairs.ls_id).to_numpy()
            == obj_of_ps1.reindex(pairs.ps1_objid).to_numpy())
    assert same.mean() > 0.95
    assert (result.pdf_u16.sum(axis=1, dtype=np.int64) == 65535).all()


def test_survey_cuts_run_once_give_the_same_levels_as_per_level(universe):
    from nncz.catalog.levels import assign_levels
    from nncz.catalog.sources import canonical, match_surveys

    tables, result = universe
    sky = match_surveys(canonical(tables["ls_dr10"]), canonical(tables["ps1_dr2"]),
                        canonical(tables["unwise"]))
    cfg = CatalogConfig(models=SETS, ps1_psf_kron_bands=())
    features = {lv: SurveyFake(lv).required_columns_ for lv in SETS}
    cached, _ = assign_levels(sky, features, cfg, use_cache=True)
    direct, _ = assign_levels(sky, features, cfg, use_cache=False)
    np.testing.assert_array_equal(cached, direct)
    assert (direct == 5).sum() > 0 and (direct == 4).sum() > 0  # both PS1 levels exercised
