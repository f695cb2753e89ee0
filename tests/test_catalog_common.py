"""Shared fixtures of the catalog tests: fake level models and synthetic skies (no tests here).

The fake model of level L puts its PDF peak at z = 0.2 L (+ a small feature-dependent shift),
so the level whose model produced a row can be read back from ``z_phot_mode``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.catalog import CatalogConfig, ModelSet
from nncz.grid import RedshiftGrid
from nncz.pdf import pdf_products

LEVEL_FEATURES = {
    1: ["f_g", "f_r", "f_i", "f_z", "f_w1", "f_w2"],
    2: ["f_g", "f_r", "p_i", "f_z", "f_w1", "f_w2"],
    3: ["f_g", "f_r", "f_z", "f_w1", "f_w2"],
    4: ["p_g", "p_r", "p_i", "p_z", "p_y", "u_w1", "u_w2"],
    5: ["p_g", "p_r", "p_i", "p_z", "p_y"],
}
LS_FEATURES = ["f_g", "f_r", "f_i", "f_z", "f_w1", "f_w2"]
PS1_FEATURES = ["p_g", "p_r", "p_i", "p_z", "p_y"]
WISE_FEATURES = ["u_w1", "u_w2"]


class FakeModel:
    """Deterministic, row-wise stand-in for NNCEstimator (Gaussian PDF at 0.2 level)."""

    def __init__(self, level: int, grid: RedshiftGrid | None = None) -> None:
        self.level = level
        self.grid = grid or RedshiftGrid()
        self.features_ = list(LEVEL_FEATURES[level])
        self.colours: tuple[str, ...] = ()
        self.temperature_ = 1.0 + 0.1 * level

    @property
    def required_columns_(self) -> list[str]:
        return list(self.features_)  # no colour bands

    def predict_pdf(self, table: pd.DataFrame) -> np.ndarray:
        x = table[self.features_].to_numpy(np.float64)
        if not np.isfinite(x).all():
            raise ValueError("fake model got non-finite features")
        centre = 0.2 * self.level + 0.02 * np.tanh(x.sum(axis=1) / 10.0)
        width = 0.03 + 0.01 * np.abs(np.sin(x[:, 0]))
        z = self.grid.centres[None, :]
        pdf = np.exp(-0.5 * ((z - centre[:, None]) / width[:, None]) ** 2)
        return (pdf / pdf.sum(axis=1, keepdims=True)).astype(np.float32)

    def iter_predict(self, table: pd.DataFrame, return_pdf: bool = False,
                     chunk_rows: int = 65536):
        """(products, PDFs) per ``chunk_rows`` rows, as ``NNCEstimator.iter_predict``."""
        for start in range(0, max(len(table), 1), chunk_rows):
            pdf = self.predict_pdf(table.iloc[start : start + chunk_rows])
            yield pdf_products(pdf, self.grid), pdf


def fake_models(levels=(1, 2, 3, 4, 5)) -> ModelSet:
    return ModelSet({lv: FakeModel(lv) for lv in levels}, {lv: f"fake{lv}" for lv in levels})


def prebuilt_config(levels=(1, 2, 3, 4, 5), **kw) -> CatalogConfig:
    return CatalogConfig(models={lv: f"fake{lv}" for lv in levels}, features="prebuilt", **kw)


def random_sky(n_ls: int = 1500, n_ps1_only: int = 400, seed: int = 0, ra_span: float = 1.0,
               dec_span: tuple[float, float] = (-1.0, 1.0)):
    """LSDR10 / PS1 / unWISE tables with prebuilt features, overlaps, blends and NaNs."""
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, ra_span, n_ls)
    dec = rng.uniform(*dec_span, n_ls)
    ls = pd.DataFrame({"ls_id": np.arange(n_ls, dtype=np.int64) + 10**9, "ra": ra, "dec": dec,
                       "photsys": np.where(rng.random(n_ls) < 0.5, "N", "S")})
    for f in LS_FEATURES:
        ls[f] = rng.normal(20, 1, n_ls).astype(np.float32)
    ls.loc[ls.photsys == "N", "f_i"] = np.nan
    ls.loc[rng.random(n_ls) < 0.05, "f_w1"] = np.nan
    matched = rng.random(n_ls) < 0.6
    off = rng.uniform(0, 1.4, n_ls) / 3600.0  # some beyond 1": unmatched pairs
    angle = rng.uniform(0, 2 * np.pi, n_ls)
    ps_ra = np.concatenate([ra[matched] + (off * np.cos(angle))[matched] / np.cos(np.radians(
        dec[matched])), rng.uniform(0, ra_span, n_ps1_only)])
    ps_dec = np.concatenate([dec[matched] + (off * np.sin(angle))[matched],
                             rng.uniform(*dec_span, n_ps1_only)])
    n_ps = len(ps_ra)
    ps1 = pd.DataFrame({"objID": np.arange(n_ps, dtype=np.int64) + 5 * 10**9,
                        "raMean": ps_ra, "decMean": ps_dec})
    for f in PS1_FEATURES:
        ps1[f] = rng.normal(21, 1, n_ps).astype(np.float32)
    ps1.loc[rng.random(n_ps) < 0.1, "p_i"] = np.nan
    has_w = rng.random(n_ps) < 0.5
    w_off = rng.uniform(0, 1.2, n_ps) / 3600.0
    wise = pd.DataFrame({"unwise_objid": [f"u{i:07d}" for i in range(int(has_w.sum()))],
                         "ra": ps_ra[has_w], "dec": ps_dec[has_w] + w_off[has_w]})
    for f in WISE_FEATURES:
        wise[f] = rng.normal(17, 1, len(wise)).astype(np.float32)
    return ls, ps1, wise


def sort_result(main: pd.DataFrame, pdf: np.ndarray):
    order = np.lexsort((main["ps1_objid"].to_numpy(), main["ls_id"].to_numpy()))
    return main.iloc[order].reset_index(drop=True), pdf[order]
