"""Feature sets by name: which catalogues, which columns, which redshift range.

The built-in sets live in ``featuresets.yaml`` next to this module (``lsdr10``, ``lsdr10_ps1i``,
``lsdr10_noi``, ``ps1``, ``ps1_unwise``); a user YAML file with the same structure adds more.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from nncz.surveys.lsdr10 import LS_BANDS
from nncz.surveys.lsdr10 import SNR_BANDS as LS_SNR_BANDS
from nncz.surveys.ps1 import PS1_BANDS, PS1_KINDS, feature_name
from nncz.surveys.unwise import WISE_BANDS

__all__ = ["FeatureSet", "PRIMARY_CATALOGS", "EXTRA_CATALOGS", "available_columns",
           "builtin_feature_sets", "load_feature_sets", "get_feature_set"]

PRIMARY_CATALOGS: tuple[str, ...] = ("lsdr10", "ps1")
EXTRA_CATALOGS: tuple[str, ...] = ("ps1_i", "unwise")


def available_columns(catalog: str) -> list[str]:
    """Feature columns a catalogue adapter produces (see ``featuresets.yaml``)."""
    if catalog == "lsdr10":
        return [f"{p}_{b}" for b in LS_BANDS for p in ("mag", "magerr")]
    if catalog == "ps1":
        return [feature_name(b, k, e) for b in PS1_BANDS for k in PS1_KINDS for e in (False, True)]
    if catalog == "ps1_i":
        return ["i_kron", "i_kron_err"]
    if catalog == "unwise":
        return [c for b in WISE_BANDS for c in (b, f"{b}_err")]
    raise KeyError(f"unknown catalog {catalog!r}; known: {[*PRIMARY_CATALOGS, *EXTRA_CATALOGS]}")


@dataclass(frozen=True)
class FeatureSet:
    """A named set of model inputs.

    Attributes
    ----------
    name : str
    primary : str
        Catalogue matched to the spectra: ``lsdr10`` or ``ps1``.
    extra : tuple of str
        Catalogues matched to the primary within 1": ``ps1_i``, ``unwise``.
    features : tuple of str
        Model input columns, in order.
    z_range : tuple of float
        Open interval of spectroscopic redshifts kept.
    description : str
    snr_bands : tuple of str
        LSDR10 bands that must reach S/N >= 5 (the method: g r z W1 W2; a user set may relax
        it, e.g. to g r z for an optical-only set).
    """

    name: str
    primary: str
    extra: tuple[str, ...]
    features: tuple[str, ...]
    z_range: tuple[float, float]
    description: str = ""
    snr_bands: tuple[str, ...] = LS_SNR_BANDS

    def __post_init__(self) -> None:
        where = f"feature set {self.name!r}"
        if self.primary not in PRIMARY_CATALOGS:
            raise ValueError(f"{where}: primary {self.primary!r} not in {PRIMARY_CATALOGS}")
        bad = [e for e in self.extra if e not in EXTRA_CATALOGS]
        if bad:
            raise ValueError(f"{where}: extra catalog(s) {bad} not in {EXTRA_CATALOGS}")
        if not self.features:
            raise ValueError(f"{where}: no features")
        known = set(available_columns(self.primary))
        for e in self.extra:
            known.update(available_columns(e))
        unknown = [f for f in self.features if f not in known]
        if unknown:
            raise ValueError(f"{where}: unknown feature column(s) {unknown}; available from "
                             f"{[self.primary, *self.extra]}: {sorted(known)}")
        lo, hi = self.z_range
        if not lo < hi:
            raise ValueError(f"{where}: empty z_range {self.z_range}")
        bad = [b for b in self.snr_bands if b not in LS_BANDS]
        if bad:
            raise ValueError(f"{where}: snr_bands {bad} not among the LSDR10 bands {LS_BANDS}")

    @property
    def ls_bands(self) -> tuple[str, ...]:
        """LSDR10 bands whose magnitudes are features (they must be valid)."""
        return tuple(b for b in LS_BANDS if f"mag_{b}" in self.features
                     or f"magerr_{b}" in self.features)

    @classmethod
    def from_dict(cls, name: str, d: dict) -> FeatureSet:
        """Build from one YAML entry (keys primary, extra, features, z_range, description)."""
        try:
            return cls(name=name, primary=str(d["primary"]),
                       extra=tuple(d.get("extra") or ()), features=tuple(d["features"]),
                       z_range=(float(d["z_range"][0]), float(d["z_range"][1])),
                       description=str(d.get("description", "")),
                       snr_bands=tuple(d.get("snr_bands", LS_SNR_BANDS)))
        except (KeyError, TypeError, IndexError) as err:
            raise ValueError(f"feature set {name!r}: malformed entry ({err!r}); needs primary, "
                             "features, z_range [lo, hi]") from err

    def to_dict(self) -> dict:
        """YAML/JSON-friendly dict (inverse of :meth:`from_dict`)."""
        return {"primary": self.primary, "extra": list(self.extra),
                "features": list(self.features), "z_range": list(self.z_range),
                "description": self.description, "snr_bands": list(self.snr_bands)}


def load_feature_sets(path: str | Path) -> dict[str, FeatureSet]:
    """Feature sets of a YAML file (a mapping name -> entry, as ``featuresets.yaml``)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of feature-set names to entries")
    return {str(k): FeatureSet.from_dict(str(k), v) for k, v in raw.items()}


def builtin_feature_sets() -> dict[str, FeatureSet]:
    """The five built-in feature sets."""
    ref = resources.files("nncz.surveys").joinpath("featuresets.yaml")
    with resources.as_file(ref) as path:
        return load_feature_sets(path)


def get_feature_set(name: str | FeatureSet, config: str | Path | None = None) -> FeatureSet:
    """A feature set by name, from ``config`` (a user YAML) first, then the built-ins."""
    if isinstance(name, FeatureSet):
        return name
    sets = builtin_feature_sets()
    if config is not None:
        sets.update(load_feature_sets(config))
    if name not in sets:
        raise KeyError(f"unknown feature set {name!r}; known: {sorted(sets)}")
    return sets[name]
