"""Shared fixtures: small synthetic photometric catalogs with a known colour-redshift relation."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def synthetic_catalog(n: int, seed: int = 0) -> pd.DataFrame:
    """Five magnitudes whose colours are smooth functions of redshift, plus noise and errors."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.2, n)
    base = rng.uniform(18.0, 22.0, n)
    table = {"z_spec": z}
    for k, band in enumerate("ugriz"):
        true_mag = base + 1.5 * np.sin(2.0 * z + 0.6 * k) + 0.8 * k * z
        err = 0.02 + 0.01 * rng.random(n)
        table[f"mag_{band}"] = true_mag + err * rng.standard_normal(n)
        table[f"magerr_{band}"] = err
    return pd.DataFrame(table)


@pytest.fixture
def catalog() -> pd.DataFrame:
    return synthetic_catalog(3000)


FEATURES = [f"mag_{b}" for b in "ugriz"] + [f"magerr_{b}" for b in "ugriz"]
