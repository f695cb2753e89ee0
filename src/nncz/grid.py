"""Redshift grid: the ordered bins over which nncz predicts a probability distribution."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class RedshiftGrid:
    """Equal-width redshift bins over ``[z_min, z_max]``.

    Parameters
    ----------
    z_min, z_max : float
        Range of the grid (dimensionless redshift). Default 0 to 2, as the method.
    n_bins : int
        Number of bins (default 400, i.e. a width of 0.005).
    """

    z_min: float = 0.0
    z_max: float = 2.0
    n_bins: int = 400

    def __post_init__(self) -> None:
        if not (np.isfinite(self.z_min) and np.isfinite(self.z_max)) or self.z_max <= self.z_min:
            raise ValueError(f"grid needs z_min < z_max, got [{self.z_min}, {self.z_max}]")
        if int(self.n_bins) != self.n_bins or self.n_bins < 2:
            raise ValueError(f"grid needs an integer n_bins >= 2, got {self.n_bins}")

    @cached_property
    def edges(self) -> np.ndarray:
        """Bin edges, shape (n_bins + 1,)."""
        return np.linspace(self.z_min, self.z_max, self.n_bins + 1)

    @cached_property
    def centres(self) -> np.ndarray:
        """Bin centres, shape (n_bins,)."""
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @property
    def width(self) -> float:
        """Width of every bin."""
        return (self.z_max - self.z_min) / self.n_bins

    def contains(self, z: np.ndarray) -> np.ndarray:
        """True where ``z`` lies inside ``[z_min, z_max)`` (finite values only)."""
        z = np.asarray(z, dtype=float)
        return np.isfinite(z) & (z >= self.z_min) & (z < self.z_max)

    def bin_index(self, z: np.ndarray) -> np.ndarray:
        """Index of the bin holding each redshift, clipped to ``[0, n_bins - 1]``."""
        z = np.asarray(z, dtype=float)
        index = np.floor((z - self.z_min) / self.width).astype(np.int64)
        return np.clip(index, 0, self.n_bins - 1)

    def coarsen(self, n_bins: int) -> RedshiftGrid:
        """The grid with ``n_bins`` bins over the same range (must divide ``self.n_bins``)."""
        if n_bins <= 0 or self.n_bins % n_bins:
            raise ValueError(
                f"cannot rebin {self.n_bins} bins exactly into {n_bins}: "
                f"choose a divisor of {self.n_bins}"
            )
        return RedshiftGrid(self.z_min, self.z_max, n_bins)

    def rebin(self, pdf: np.ndarray, n_bins: int) -> tuple[np.ndarray, RedshiftGrid]:
        """Sum the probabilities of a PDF onto a coarser grid, exactly.

        Parameters
        ----------
        pdf : array (N, self.n_bins)
            Probability per bin (sums to 1 along the last axis).
        n_bins : int
            Bins of the coarser grid; must divide ``self.n_bins``.

        Returns
        -------
        pdf_coarse : array (N, n_bins)
        grid_coarse : RedshiftGrid
        """
        coarse = self.coarsen(n_bins)
        pdf = np.asarray(pdf)
        if pdf.shape[-1] != self.n_bins:
            raise ValueError(f"pdf has {pdf.shape[-1]} bins, the grid {self.n_bins}")
        factor = self.n_bins // n_bins
        summed = pdf.reshape(*pdf.shape[:-1], n_bins, factor).sum(axis=-1)
        return summed, coarse

    def to_dict(self) -> dict[str, float | int]:
        return {"z_min": float(self.z_min), "z_max": float(self.z_max), "n_bins": int(self.n_bins)}

    @classmethod
    def from_dict(cls, values: dict) -> RedshiftGrid:
        return cls(float(values["z_min"]), float(values["z_max"]), int(values["n_bins"]))
