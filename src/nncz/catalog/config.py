"""Catalog configuration: the five priority levels and the trained model of each.

A YAML file names one model directory (saved by :meth:`nncz.estimator.NNCEstimator.save`) per
level; levels left out are skipped, so their sources fall through to the next level::

    levels:
      1: {model: models/lsdr10}        # feature set defaults to the level's (lsdr10)
      2: {model: models/lsdr10_ps1i}
      3: {model: models/lsdr10_noi}
      4: {model: models/ps1_unwise}
      5: {model: models/ps1}
    features: surveys        # build features with nncz.surveys (or "prebuilt": columns exist)
    match_radius_arcsec: 1.0 # LSDR10 x PS1 nearest neighbour
    unwise_radius_arcsec: 1.0
    pdf_bins: 40             # bins of the stored PDFs (400 = native)
    level2_photsys: N        # level 2 only for LSDR10 rows of this photsys (null: any)
    ps1_ebv_column: null     # PS1 E(B-V) column; null: SFD map at the PS1 position
    ps1_psf_kron_bands: [i]  # PS1 star/galaxy cut bands (as the training sets)
    nz: {edges: [0.1, 0.4, 0.7, 1.0]}  # optional: tomographic n(z) in the same run

Relative model paths are relative to the YAML file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

__all__ = ["LEVELS", "LevelDef", "CatalogConfig", "load_config", "model_fingerprints"]


@dataclass(frozen=True)
class LevelDef:
    """One priority level: its number, default feature set and the surveys it needs."""

    level: int
    feature_set: str
    needs: tuple[str, ...]
    description: str


#: The method's five levels, highest priority first.
LEVELS: dict[int, LevelDef] = {
    1: LevelDef(1, "lsdr10", ("ls",), "LSDR10 g r i z W1 W2 (native i)"),
    2: LevelDef(2, "lsdr10_ps1i", ("ls", "ps1"), "LSDR10 g r z W1 W2 + PS1 i (north)"),
    3: LevelDef(3, "lsdr10_noi", ("ls",), "LSDR10 g r z W1 W2"),
    4: LevelDef(4, "ps1_unwise", ("ps1", "unwise"), "PS1 + unWISE W1 W2 (outside LSDR10)"),
    5: LevelDef(5, "ps1", ("ps1",), "PS1 g r i z y optical only"),
}
FEATURE_MODES = ("surveys", "prebuilt")


@dataclass
class CatalogConfig:
    """Settings of a catalog run.

    Attributes
    ----------
    models : dict[int, str]
        Model directory of each configured level (1-5).
    feature_sets : dict[int, str]
        Feature-set name of each configured level (defaults from :data:`LEVELS`).
    features : {"surveys", "prebuilt"}
        ``surveys``: quality cuts and magnitudes from :mod:`nncz.surveys`; ``prebuilt``: the
        input tables already hold each model's columns (features and colour bands).
    match_radius_arcsec, unwise_radius_arcsec : float
        Nearest-neighbour radii [arcsec] of LSDR10 x PS1 and source x unWISE.
    pdf_bins : int
        Bins of the stored PDFs; must divide the models' grid (400).
    level2_photsys : str or None
        Level 2 applies only to LSDR10 rows with this ``photsys`` (``N``); None: any.
    ps1_ebv_column : str or None
        PS1 column holding E(B-V) [mag]; None: SFD at the PS1 position (as the training sets).
    ps1_psf_kron_bands : tuple of str
        PS1 bands where ``PSFMag - KronMag >= 0.1`` is required (star/galaxy separation; must
        match the training sets, ``nncz dataset --psf-kron-bands``).
    nz : dict or None
        Tomographic n(z) written with the catalog (:mod:`nncz.catalog.nz`): ``edges``,
        ``point``, ``weights``, ``bootstrap``, ``seed``; None: none.
    """

    models: dict[int, str] = field(default_factory=dict)
    feature_sets: dict[int, str] = field(default_factory=dict)
    features: str = "surveys"
    match_radius_arcsec: float = 1.0
    unwise_radius_arcsec: float = 1.0
    pdf_bins: int = 40
    level2_photsys: str | None = "N"
    ps1_ebv_column: str | None = None
    ps1_psf_kron_bands: tuple[str, ...] = ("i",)
    nz: dict | None = None

    def __post_init__(self) -> None:
        self.models = {int(k): str(v) for k, v in self.models.items()}
        self.ps1_psf_kron_bands = tuple(self.ps1_psf_kron_bands or ())
        from nncz.catalog.nz import check_nz_config

        self.nz = check_nz_config(self.nz)
        unknown = sorted(set(self.models) - set(LEVELS))
        if unknown:
            raise ValueError(f"catalog config: unknown level(s) {unknown}; levels are 1-5")
        if not self.models:
            raise ValueError("catalog config: no level has a model")
        self.feature_sets = {lv: str(self.feature_sets.get(lv, LEVELS[lv].feature_set))
                             for lv in self.models}
        if self.features not in FEATURE_MODES:
            raise ValueError(f"catalog config: features must be one of {FEATURE_MODES}, "
                             f"got {self.features!r}")
        for name in ("match_radius_arcsec", "unwise_radius_arcsec"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    np.isfinite(value) and value > 0):
                raise ValueError(f"catalog config: {name} must be a number > 0, got {value!r}")
        if isinstance(self.pdf_bins, bool) or not isinstance(self.pdf_bins, int) \
                or self.pdf_bins < 1:
            raise ValueError(f"catalog config: pdf_bins must be an integer >= 1, "
                             f"got {self.pdf_bins!r}")

    @property
    def margin_arcsec(self) -> float:
        """Overlap a spatial chunk needs so that matches of its own rows are exact [arcsec].

        A row's PS1 match lies within r; whether a PS1 row is claimed depends on LSDR10 rows
        within r whose own nearest PS1 lies within 2r; unWISE adds its radius. 3r + r_u + 1".
        """
        return 3.0 * self.match_radius_arcsec + self.unwise_radius_arcsec + 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def digest(self) -> str:
        """Short hash of the settings (resume refuses a run whose settings changed)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def model_fingerprints(models: dict[int, str]) -> dict[str, str]:
    """SHA-256 of each level's model bundle (its files, checkpoints left out).

    A model retrained at the same path changes its fingerprint, so a catalog run killed before
    the retraining is not resumed with the new model (the two would mix). A path that is not
    a directory (a stand-in model in tests) is fingerprinted by its name.
    """
    prints = {}
    for level, directory in sorted(models.items()):
        digest = hashlib.sha256()
        folder = Path(directory)
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        for file in files:
            digest.update(file.name.encode() + b"\0")
            with open(file, "rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
        if not files:
            digest.update(str(directory).encode())
        prints[str(level)] = digest.hexdigest()[:16]
    return prints


def load_config(path: str | Path) -> CatalogConfig:
    """Read a catalog YAML file (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such catalog config")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: must hold a mapping (levels: ..., match_radius_arcsec: ...)")
    levels = raw.pop("levels", None)
    if not isinstance(levels, dict):
        raise ValueError(f"{path}: needs a 'levels' mapping, e.g. levels: {{1: {{model: dir}}}}")
    models, sets = {}, {}
    for key, entry in levels.items():
        if not isinstance(key, int) or not (isinstance(entry, str | dict) and entry):
            raise ValueError(f"{path}: level {key!r}: give an integer level 1-5 and "
                             "{model: DIR} or a model directory")
        entry = {"model": entry} if isinstance(entry, str) else dict(entry)
        if "model" not in entry:
            raise ValueError(f"{path}: level {key} has no 'model'")
        model = Path(str(entry["model"]))
        models[key] = str(model if model.is_absolute() else path.parent / model)
        if "feature_set" in entry:
            sets[key] = entry["feature_set"]
    unknown = sorted(set(raw) - set(CatalogConfig.__dataclass_fields__))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}")
    try:
        return CatalogConfig(models=models, feature_sets=sets, **raw)
    except (TypeError, ValueError) as error:
        message = str(error).removeprefix("catalog config: ")
        raise ValueError(f"{path}: {message}") from None
