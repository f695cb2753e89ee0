"""Data sets of the peers benchmark: one train/test split each, the same for every method.

Every data set is brought to RAIL's column convention (``mag_<b>``, ``mag_err_<b>``,
``redshift``; magnitude 99 = non-detection), written as an HDF5 group ``photometry`` of 1-D
datasets that both RAIL (via tables_io) and nncz (via nncz.io) read.

Sources (see /work/shared/data/README.md):

- ``dc2``: LSST DESC cosmoDC2 test sample shipped in pz-rail-base (MIT),
  ``test_dc2_training_9816.hdf5`` (train) / ``test_dc2_validation_9816.hdf5`` (test).
- ``boss``: SDSS-III BOSS DR10 sample distributed with ANNz2 (Sadeh, Abdalla & Lahav 2016,
  PASP 128, 104502); split as shipped.
- ``mgs``: SDSS Main Galaxy Sample test data of MLZ/TPZ (Carrasco Kind & Brunner 2013, MNRAS
  432, 1483); split as shipped.
- ``des``: DES Y1 Stripe 82 galaxies (as used by Garcia-Fernandez et al. 2025,
  arXiv:2501.06532); no split and no magnitude errors are shipped: a seeded 80/20 split is made
  here and RAIL gets a constant 0.05 mag error column (nncz uses magnitudes only).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from nncz.grid import RedshiftGrid
from nncz.io import read_table

HERE = Path(__file__).resolve().parent
SHARED_DATA = Path("/work/shared/data")
DC2_FILES = ("test_dc2_training_9816.hdf5", "test_dc2_validation_9816.hdf5")
NONDETECT = 99.0
DES_CONSTANT_ERR = 0.05


@dataclass
class PeerDataset:
    """One benchmark data set: tables in RAIL's convention plus grid and band settings."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    bands: list[str]
    grid: RedshiftGrid  # nncz training grid
    fine_grid: RedshiftGrid  # common grid every method's PDFs are scored on
    has_errors: bool = True
    rail_skip: list[str] = field(default_factory=list)  # RAIL estimators that cannot run here
    notes: list[str] = field(default_factory=list)

    @property
    def mag_cols(self) -> list[str]:
        return [f"mag_{b}" for b in self.bands]

    @property
    def err_cols(self) -> list[str]:
        return [f"mag_err_{b}" for b in self.bands]

    def rail_common(self) -> dict:
        """Shared RAIL config: bands, errors, limits, reference band and the RAIL grid."""
        mags = self.mag_cols
        detected = self.train[mags].where(self.train[mags] < NONDETECT)
        # Limiting magnitude per band for RAIL's non-detection replacement: the faintest
        # detection in training (DC2 uses RAIL's own LSST defaults instead).
        limits = {c: float(np.nanmax(detected[c])) for c in mags}
        ref = "mag_i" if "mag_i" in mags else mags[-1]
        common = {
            "zmin": self.grid.z_min,
            "zmax": self.grid.z_max,
            "nzbins": int(round((self.grid.z_max - self.grid.z_min) / 0.01)) + 1,
            "bands": mags,
            "err_bands": self.err_cols,
            "ref_band": ref,
            "mag_limits": limits,
            "nondetect_val": NONDETECT,
            "redshift_col": "redshift",
            "column_names": mags,  # PZFlow's flow columns; it appends redshift_col itself
            "replace_error_vals": [0.1] * len(mags),  # GPz: one per band (RAIL's LSST value)
            "err_names_dict": {e: f"{m}_err" for m, e in zip(mags, self.err_cols, strict=True)},
            "err_dict": {**dict(zip(mags, self.err_cols, strict=True)), "redshift": None},
        }
        if self.name == "dc2":  # RAIL's defaults are written for exactly this data
            for key in (
                "bands",
                "err_bands",
                "ref_band",
                "mag_limits",
                "column_names",
                "err_names_dict",
                "err_dict",
                "replace_error_vals",
            ):
                common.pop(key)
        return common


def write_photometry(table: pd.DataFrame, path: Path) -> Path:
    """HDF5 group ``photometry`` with one 1-D dataset per column (RAIL's test-data layout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.stem}-tmp.hdf5")
    with h5py.File(temp, "w") as handle:
        group = handle.create_group("photometry")
        for column in table.columns:
            group.create_dataset(column, data=table[column].to_numpy())
    temp.replace(path)
    return path


def find_dc2_dir(rail_venv: Path) -> Path:
    """The pz-rail-base test-data folder inside the RAIL venv (or an unpacked wheel)."""
    patterns = [
        str(
            rail_venv / "lib" / "python3*" / "site-packages" / "rail" / "examples_data" / "testdata"
        ),
        str(HERE / ".cache" / "pz_rail_base" / "rail" / "examples_data" / "testdata"),
    ]
    for pattern in patterns:
        for folder in sorted(glob.glob(pattern)):
            if all((Path(folder) / name).exists() for name in DC2_FILES):
                return Path(folder)
    raise FileNotFoundError(
        f"DC2 test data of pz-rail-base not found under {rail_venv}; run "
        "benchmarks/peers/setup_rail.sh (or `pip download --no-deps pz-rail-base` and unzip "
        "it into benchmarks/peers/.cache/pz_rail_base)"
    )


def load_dc2(rail_venv: Path) -> PeerDataset:
    folder = find_dc2_dir(rail_venv)
    tables = [read_table(f"{folder / name}:photometry") for name in DC2_FILES]
    rename = {c: c.removesuffix("_lsst") for c in tables[0]}
    train, test = (t.rename(columns=rename) for t in tables)
    n_nondetected = int((test[[f"mag_{b}" for b in "ugrizy"]] >= NONDETECT).any(axis=1).sum())
    return PeerDataset(
        "dc2",
        train,
        test,
        list("ugrizy"),
        RedshiftGrid(0.0, 3.0, 600),
        RedshiftGrid(0.0, 3.0, 1200),
        notes=[
            f"dc2: pz-rail-base test data ({folder}); {n_nondetected} of {len(test)} test "
            "objects have a non-detection (mag 99)"
        ],
    )


def _sdss_like(name: str, folder: str, grid: RedshiftGrid, fine: RedshiftGrid) -> PeerDataset:
    raw = pd.read_csv(SHARED_DATA / folder / f"{folder}.csv")
    bands = list("ugriz")
    columns = {"z_spec": "redshift"}
    columns.update({f"mag_{b}": f"mag_{b}" for b in bands})
    columns.update({f"magerr_{b}": f"mag_err_{b}" for b in bands})
    table = raw.rename(columns=columns)
    keep = ["redshift", *[f"mag_{b}" for b in bands], *[f"mag_err_{b}" for b in bands]]
    train = table.loc[raw["split"] == "train", keep].reset_index(drop=True)
    test = table.loc[raw["split"] == "test", keep].reset_index(drop=True)
    return PeerDataset(
        name,
        train,
        test,
        bands,
        grid,
        fine,
        rail_skip=["BPZ"],
        notes=[f"{folder}: split as shipped; BPZ skipped (no SDSS filter curves in desc-bpz)"],
    )


def load_des(seed: int = 0) -> PeerDataset:
    raw = pd.read_csv(SHARED_DATA / "des_y1_stripe82" / "des_y1_stripe82.csv")
    bands = list("griz")
    table = raw.rename(
        columns={"z_spec": "redshift", **{f"mag_auto_{b}": f"mag_{b}" for b in bands}}
    )
    for b in bands:
        table[f"mag_err_{b}"] = DES_CONSTANT_ERR
    is_test = np.random.default_rng(seed).random(len(table)) < 0.2
    return PeerDataset(
        "des",
        table[~is_test].reset_index(drop=True),
        table[is_test].reset_index(drop=True),
        bands,
        RedshiftGrid(0.0, 1.0, 200),
        RedshiftGrid(0.0, 1.0, 1000),
        has_errors=False,
        rail_skip=["BPZ"],
        notes=[
            "des: seeded 80/20 split (seed 0); no errors shipped, RAIL gets a constant "
            f"{DES_CONSTANT_ERR} mag error; BPZ skipped"
        ],
    )


def load_dataset(name: str, rail_venv: Path) -> PeerDataset:
    """Load one benchmark data set by name: dc2, boss, mgs or des."""
    if name == "dc2":
        return load_dc2(rail_venv)
    if name == "boss":
        return _sdss_like(
            "boss", "sdss_boss_dr10", RedshiftGrid(0.0, 1.2, 240), RedshiftGrid(0.0, 1.2, 1200)
        )
    if name == "mgs":
        return _sdss_like(
            "mgs", "sdss_mgs", RedshiftGrid(0.0, 0.4, 160), RedshiftGrid(0.0, 0.4, 800)
        )
    if name == "des":
        return load_des()
    raise ValueError(f"unknown data set {name!r}; choose from dc2, boss, mgs, des")


def nncz_columns(bands: list[str], feature_set: str) -> tuple[list[str], list[str]]:
    """``(features, colour bands)`` of a '+'-joined ``feature_set`` of mags, colours, errs.

    The features (magnitudes and/or errors) are the network's direct inputs; the colour bands
    are passed as ``NNCEstimator(colours=...)``, which derives the colours of adjacent bands
    itself: a colour is a bad value (the ``fill`` policy fills it and raises its ``__missing``
    indicator) where either magnitude is bad, e.g. a non-detection of 99.
    """
    parts = set(feature_set.split("+"))
    unknown = parts - {"mags", "colours", "errs"}
    if unknown:
        raise ValueError(f"unknown feature part(s) {sorted(unknown)} in {feature_set!r}")
    features = [f"mag_{b}" for b in bands] if "mags" in parts else []
    if "errs" in parts:
        features += [f"mag_err_{b}" for b in bands]
    colours = [f"mag_{b}" for b in bands] if "colours" in parts else []
    return features, colours
