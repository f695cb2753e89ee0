"""qp interoperability: nncz PDFs as a qp ``hist`` ensemble, and any qp ensemble on a grid.

An nncz PDF is the probability of each bin of a :class:`~nncz.grid.RedshiftGrid` with a uniform
density inside each bin, which is exactly what qp's ``hist`` parameterization describes
(``bins`` = the grid edges, ``pdfs`` = probability / bin width). :func:`to_qp` and
:func:`from_qp` convert between the two ensembles in memory without loss. Files are written by
:mod:`nncz.pdfio` alone (its files are qp ``hist`` files that ``qp.read`` reads unchanged);
:func:`read_qp` reads a file of any parameterization, e.g. another code's output.

:func:`bin_probabilities` goes the other way for *any* qp ensemble (RAIL's ``interp``,
``mixmod``, ``normal``, ...): the probability of each grid bin is the difference of the
ensemble's own CDF at the bin edges, so a ``hist`` ensemble on a coarser grid whose edges are
fine-grid edges is reproduced exactly, and nncz's metric code can score every method's PDFs
on one common fine grid.

qp is an optional dependency (``pip install qp-prob``); it is imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nncz.grid import RedshiftGrid
from nncz.pdf import pdf_products
from nncz.pdfio import grid_of_edges

if TYPE_CHECKING:  # pragma: no cover
    import qp

ANCIL_POINT_COLUMNS = ("z_phot_mean", "z_phot_mode")


def normalise64(pdf: np.ndarray) -> np.ndarray:
    """Rows of ``pdf`` divided by their sum, in float64 (rows summing to 0 stay 0).

    qp stores float64; normalising in float64 keeps the conversion exact for float32 input.
    """
    pdf = np.asarray(pdf, dtype=np.float64)
    total = pdf.sum(axis=-1, keepdims=True)
    return np.divide(pdf, total, out=np.zeros_like(pdf), where=total > 0)


def _import_qp():
    try:
        import qp
    except ImportError as error:  # pragma: no cover - exercised only without qp
        raise ImportError(
            "nncz.qpio needs the qp library: pip install qp-prob (or nncz[qp])"
        ) from error
    return qp


def to_qp(
    pdf: np.ndarray,
    grid: RedshiftGrid,
    ancil: dict[str, np.ndarray] | None = None,
    all_products: bool = False,
) -> qp.Ensemble:
    """Wrap binned PDFs as a qp ``hist`` ensemble on the grid edges.

    Parameters
    ----------
    pdf : array (N, grid.n_bins)
        Probability of each redshift bin (rows are normalised here, in float64).
    grid : RedshiftGrid
        The grid the probabilities refer to; its edges become the ``hist`` bins.
    ancil : dict of arrays (N,), optional
        Extra per-object columns (e.g. an object id) for the ensemble's ancillary table.
    all_products : bool
        If True, every column of :func:`nncz.pdf.pdf_products` goes to the ancillary table;
        otherwise only ``z_phot_mean`` and ``z_phot_mode``.

    Returns
    -------
    qp.Ensemble
        ``hist`` ensemble whose ``pdfs`` are densities (probability / bin width, per unit
        redshift) and whose ancillary table holds ``z_phot_mean`` and ``z_phot_mode``.
    """
    qp = _import_qp()
    pdf = np.asarray(pdf)
    if pdf.ndim != 2 or pdf.shape[1] != grid.n_bins:
        raise ValueError(f"pdf must have shape (N, {grid.n_bins}) for {grid}, got {pdf.shape}")
    probabilities = normalise64(pdf)
    if not np.all(probabilities.sum(axis=1) > 0):
        bad = np.flatnonzero(probabilities.sum(axis=1) <= 0)[:5]
        raise ValueError(f"pdf rows {bad.tolist()} have no probability (all zero or NaN)")
    products = pdf_products(probabilities, grid)
    columns = list(products.columns) if all_products else list(ANCIL_POINT_COLUMNS)
    table = {name: products[name].to_numpy(np.float64) for name in columns}
    for name, values in (ancil or {}).items():
        values = np.asarray(values)
        if values.shape[0] != pdf.shape[0]:
            raise ValueError(
                f"ancil column {name!r} has {values.shape[0]} rows, pdf has {pdf.shape[0]}"
            )
        table[name] = values
    data = {"bins": grid.edges, "pdfs": probabilities / grid.width, "norm": False}
    return qp.Ensemble(qp.hist, data=data, ancil=table)


def read_qp(path: str | Path) -> qp.Ensemble:
    """Read a qp ensemble file (any parameterization qp knows)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"qp file {path} does not exist")
    qp = _import_qp()
    try:
        return qp.read(str(path))
    except Exception as error:
        raise ValueError(f"{path} is not a qp ensemble file readable by qp: {error}") from error


def is_hist_on(ensemble: qp.Ensemble, grid: RedshiftGrid) -> bool:
    """True if ``ensemble`` is a ``hist`` ensemble whose bins are the edges of ``grid``."""
    if ensemble.gen_class.name != "hist":
        return False
    bins = np.asarray(ensemble.metadata["bins"]).ravel()
    return bins.size == grid.n_bins + 1 and np.allclose(bins, grid.edges, rtol=0, atol=1e-9)


def grid_of_hist(ensemble: qp.Ensemble) -> RedshiftGrid:
    """The RedshiftGrid of a ``hist`` ensemble with equal-width bins (ValueError otherwise)."""
    if ensemble.gen_class.name != "hist":
        raise ValueError(f"ensemble is {ensemble.gen_class.name!r}, not 'hist'")
    try:
        return grid_of_edges(ensemble.metadata["bins"])
    except ValueError as error:
        raise ValueError(f"hist ensemble: {error}; pass a grid to from_qp") from None


def from_qp(
    ensemble: qp.Ensemble, grid: RedshiftGrid | None = None
) -> tuple[np.ndarray, RedshiftGrid]:
    """Binned probabilities of a qp ensemble on an nncz grid.

    Parameters
    ----------
    ensemble : qp.Ensemble
    grid : RedshiftGrid, optional
        Target grid. If omitted, the ensemble must be an equal-width ``hist`` and its own grid
        is used, which inverts :func:`to_qp` exactly.

    Returns
    -------
    pdf : array (N, grid.n_bins), float64, rows summing to 1
    grid : RedshiftGrid
    """
    if grid is None:
        grid = grid_of_hist(ensemble)
    if is_hist_on(ensemble, grid):
        widths = np.diff(np.asarray(ensemble.metadata["bins"], dtype=np.float64).ravel())
        return normalise64(np.asarray(ensemble.objdata["pdfs"]) * widths), grid
    return bin_probabilities(ensemble, grid)[0], grid


def bin_probabilities(
    ensemble: qp.Ensemble, grid: RedshiftGrid, chunk_rows: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Probability of each grid bin from the ensemble's CDF at the bin edges.

    Mass outside ``[grid.z_min, grid.z_max]`` is dropped and each row renormalised to the
    grid (a truncated PDF, as when RAIL evaluates an ensemble on its grid); the fraction kept
    is returned so a caller can report it.

    Parameters
    ----------
    ensemble : qp.Ensemble, N distributions
    grid : RedshiftGrid
    chunk_rows : int
        Distributions evaluated at once (bounds memory to chunk_rows x (n_bins + 1)).

    Returns
    -------
    pdf : array (N, grid.n_bins), float64, rows summing to 1 (uniform where no mass is kept)
    mass_in_grid : array (N,), the ensemble's probability inside the grid range
    """
    n_rows = ensemble.npdf
    pdf = np.empty((n_rows, grid.n_bins), dtype=np.float64)
    kept = np.empty(n_rows, dtype=np.float64)
    for start in range(0, n_rows, chunk_rows):
        stop = min(start + chunk_rows, n_rows)
        # qp cannot slice a one-distribution ensemble, so evaluate small ones whole.
        part = ensemble if n_rows <= chunk_rows else ensemble[start:stop]
        cdf = np.asarray(part.cdf(grid.edges), dtype=np.float64).reshape(stop - start, -1)
        cdf = np.maximum.accumulate(np.nan_to_num(cdf, nan=0.0), axis=1)  # monotone
        probabilities = np.clip(np.diff(cdf, axis=1), 0.0, None)
        kept[start:stop] = probabilities.sum(axis=1)
        pdf[start:stop] = probabilities
    empty = kept <= 0
    pdf[empty] = 1.0 / grid.n_bins
    pdf[~empty] /= kept[~empty, None]
    return pdf, kept


def plateau_mode(pdf: np.ndarray, grid: RedshiftGrid, rtol: float = 1e-6) -> np.ndarray:
    """Mode of each binned PDF, taking the middle of a flat top rather than its first bin.

    A coarse ``hist`` PDF evaluated on a finer grid has several equal bins at its peak; the
    plain arg-max would pick one of them (set by rounding) and shift the mode by up to half a
    coarse bin. Here the mode is the centre of the run of contiguous bins around the arg-max
    whose probability is within ``rtol`` (relative) of the maximum.

    Parameters
    ----------
    pdf : array (N, grid.n_bins)
    grid : RedshiftGrid

    Returns
    -------
    z_mode : array (N,)
    """
    pdf = np.asarray(pdf, dtype=np.float64)
    peak = np.argmax(pdf, axis=1)
    top = pdf >= (pdf.max(axis=1, keepdims=True) * (1.0 - rtol))
    index = np.arange(grid.n_bins)[None, :]
    # The flat top is the run of `top` bins around the arg-max (rounding may put the exact
    # maximum anywhere inside it).
    before = ~top & (index < peak[:, None])
    last_before = grid.n_bins - 1 - np.argmax(before[:, ::-1], axis=1)
    start = np.where(before.any(axis=1), last_before + 1, 0)
    after = ~top & (index > peak[:, None])
    end = np.where(after.any(axis=1), np.argmax(after, axis=1), grid.n_bins)
    return 0.5 * (grid.edges[start] + grid.edges[end])


def point_estimates(pdf: np.ndarray, grid: RedshiftGrid) -> dict[str, np.ndarray]:
    """``z_phot_mean`` (sum of p_i z_i over centres) and ``z_phot_mode`` (:func:`plateau_mode`)."""
    probabilities = normalise64(pdf)
    return {
        "z_phot_mean": probabilities @ grid.centres,
        "z_phot_mode": plateau_mode(probabilities, grid),
    }


__all__ = [
    "bin_probabilities",
    "from_qp",
    "grid_of_hist",
    "is_hist_on",
    "plateau_mode",
    "point_estimates",
    "read_qp",
    "to_qp",
]
