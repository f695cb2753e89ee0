"""Calibration of binned PDFs: temperature scaling and the PIT map, as objects a model owns.

Everything here works on *log-probabilities or logits* alike: ``softmax(logits / T)`` equals
``softmax(log p / T)`` with ``p = softmax(logits)``, so one temperature fit serves a single
network (its logits) and an ensemble (the log of its member-averaged PDF).

:class:`Calibration` is what :class:`nncz.estimator.NNCEstimator` fits on its validation rows,
saves in its model bundle and applies in every prediction path.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
import torch

log = logging.getLogger("nncz.calibrate")

METHODS = ("crps", "nll", "pit", "none")
TEMPERATURE_BOUNDS = (0.05, 20.0)
PIT_KNOTS = 10
MIN_PIT_ROWS = 100  # below this the map's own noise exceeds what it corrects
PIT_TABLE_STEPS = 16384  # G tabulated on u = k / 16384: linear steps within 1e-7 of the PCHIP


def fit_temperature(
    logits: np.ndarray | torch.Tensor,
    bin_index: np.ndarray | torch.Tensor,
    bounds: tuple[float, float] = (0.05, 20.0),
    floor: float = 0.0,
) -> float:
    """Temperature minimising the NLL of the true bin on held-out (validation) data.

    The NLL is a smooth, convex-in-practice function of ``log T``; it is minimised by a bounded
    scalar search over ``log T``, which is exact to ~1e-6 and needs no learning rate.

    With ``floor > 0`` the likelihood is that of the contaminated PDF
    ``(1 - floor) softmax(logits / T) + floor / n_bins``: an outlier whose true bin has
    essentially no probability then costs at most ``-log(floor / n_bins)`` instead of an
    unbounded amount, so a few catastrophic outliers cannot drive ``T`` up and flatten every
    PDF (which is what the plain NLL does to CRPS-trained networks; see the estimator notes).

    Parameters
    ----------
    logits : array (N, n_bins)
        Uncalibrated network outputs on the validation set.
    bin_index : array (N,)
        Index of the bin holding each true redshift.
    bounds : (float, float)
        Search range for T.
    """
    logits_t = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    target = torch.as_tensor(np.asarray(bin_index), dtype=torch.int64)
    if logits_t.ndim != 2 or len(logits_t) != len(target) or len(target) == 0:
        raise ValueError("fit_temperature needs logits (N, n_bins) and N bin indices, N > 0")

    if not 0.0 <= floor < 1.0:
        raise ValueError(f"floor must be in [0, 1), got {floor}")
    rows = torch.arange(len(target))
    n_bins = logits_t.shape[1]

    def nll(log_t: float) -> float:
        log_p = torch.log_softmax(logits_t / np.exp(log_t), dim=1)[rows, target]
        if floor > 0:
            log_p = torch.logaddexp(log_p + np.log1p(-floor),
                                    torch.full_like(log_p, np.log(floor / n_bins)))
        return float(-log_p.mean())

    from scipy.optimize import minimize_scalar  # fit only: ~50 MB that prediction never needs

    result = minimize_scalar(
        nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature`` along the last axis (float32, rows sum to 1)."""
    logits_t = torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32))
    return tempered(logits_t, temperature).numpy()


def tempered(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """:func:`apply_temperature` on a float32 tensor (what :meth:`Calibration.apply_tensor`
    applies to ``log p``)."""
    return torch.softmax(logits / temperature, dim=-1)


def fit_temperature_crps(
    logits: np.ndarray, z_true: np.ndarray, upper_edges: np.ndarray, width: float,
    bounds: tuple[float, float] = (0.05, 20.0),
) -> float:
    """Temperature minimising the mean CRPS of ``softmax(logits / T)`` (an alternative to NLL).

    ``upper_edges`` are the grid's ``edges[1:]`` (see :func:`nncz.losses.crps_binned`).
    """
    from nncz.losses import crps_binned

    logits_t = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    z_t = torch.as_tensor(np.asarray(z_true, dtype=np.float64))
    edges_t = torch.as_tensor(np.asarray(upper_edges), dtype=torch.float64)

    def loss(log_t: float) -> float:
        return float(crps_binned(logits_t / np.exp(log_t), z_t, edges_t, width))

    from scipy.optimize import minimize_scalar  # fit only: ~50 MB that prediction never needs

    result = minimize_scalar(loss, bounds=(np.log(bounds[0]), np.log(bounds[1])),
                             method="bounded", options={"xatol": 1e-5})
    return float(np.exp(result.x))


def fit_pit_map(pit_values: np.ndarray, n_knots: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Monotone map of [0, 1] onto itself that makes held-out PIT values uniform.

    The PIT recalibration of Bordoloi, Lilly & Amara (2010, MNRAS 406, 881): with ``G`` the
    distribution function of the validation PITs, every CDF ``F`` becomes ``G(F)``, whose PITs
    are then uniform on those rows. Unlike a temperature it also corrects a PIT histogram that
    is humped (PDFs too wide) and skewed at once. ``G`` is the monotone cubic (PCHIP)
    interpolant through the PIT quantiles at ``k / n_knots`` (few knots: smooth, and stable on
    ~10^3 rows; straight lines between the knots leave a visible PIT step in every piece).

    Parameters
    ----------
    pit_values : array (N,)
        PITs of the uncorrected PDFs on held-out rows, in [0, 1].
    n_knots : int
        Number of equal-probability pieces of ``G``.

    Returns
    -------
    (x, y) : arrays (n_knots + 1,)
        Knots of ``G``: ``x`` increasing from 0 to 1 (PIT quantiles), ``y = k / n_knots``.
    """
    values = np.asarray(pit_values, dtype=np.float64)
    if values.ndim != 1 or len(values) < n_knots or n_knots < 1:
        raise ValueError(f"fit_pit_map needs >= n_knots ({n_knots}) PIT values, got {values.shape}")
    if np.any((values < 0) | (values > 1)) or not np.all(np.isfinite(values)):
        raise ValueError("PIT values must be finite and in [0, 1]")
    levels = np.arange(n_knots + 1) / n_knots
    x = np.quantile(values, levels)
    x[0], x[-1] = 0.0, 1.0
    x = np.maximum.accumulate(x)  # quantiles are already sorted; keep it exact at ties
    return x, levels


def pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Knot derivatives of the monotone piecewise-cubic Hermite interpolant (PCHIP) through
    ``(x, y)``, ``x`` strictly increasing: the weighted harmonic mean of the neighbouring
    secants inside (Fritsch & Butland 1984), zero at a local extremum, and the shape-preserving
    three-point formula at both ends; the same derivatives as ``scipy.interpolate
    .PchipInterpolator``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    h, secant = np.diff(x), np.diff(y) / np.diff(x)
    if len(x) == 2:
        return np.full(2, secant[0])
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    monotone = (np.sign(secant[1:]) == np.sign(secant[:-1])) & (secant[1:] != 0) \
        & (secant[:-1] != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / secant[:-1] + w2 / secant[1:])
    slopes = np.empty_like(y)
    slopes[1:-1] = np.where(monotone, harmonic, 0.0)
    slopes[0] = _end_slope(h[0], h[1], secant[0], secant[1])
    slopes[-1] = _end_slope(h[-1], h[-2], secant[-1], secant[-2])
    return slopes


def _end_slope(h0: float, h1: float, m0: float, m1: float) -> float:
    """PCHIP end derivative from the two end intervals' widths and secants."""
    slope = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(slope) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(slope) > 3 * abs(m0):
        return 3 * m0
    return float(slope)


def pchip_values(x: np.ndarray, y: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The PCHIP through ``(x, y)`` (see :func:`pchip_slopes`) at ``u`` in ``[x[0], x[-1]]``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    slopes = pchip_slopes(x, y)
    piece = np.clip(np.searchsorted(x, u, side="right") - 1, 0, len(x) - 2)
    width = x[piece + 1] - x[piece]
    t = (np.asarray(u, dtype=np.float64) - x[piece]) / width
    return (y[piece] * (1 + 2 * t) * (1 - t) ** 2 + width * slopes[piece] * t * (1 - t) ** 2
            + y[piece + 1] * t * t * (3 - 2 * t) + width * slopes[piece + 1] * t * t * (t - 1))


def pit_map_table(knots: tuple[np.ndarray, np.ndarray],
                  n_steps: int = PIT_TABLE_STEPS) -> torch.Tensor:
    """The PIT map ``G`` tabulated for :func:`apply_pit_map`: (n_steps + 1,) int64, entry ``k``
    holding two float32, ``G(k / n_steps)`` and the step ``G((k + 1) / n_steps) - G(k /
    n_steps)`` (0 for the last entry), so that one gather reads both (two gathers from two
    float32 tables took ~25% longer); ``table.view(torch.float32).view(-1, 2)`` unpacks them.
    ``G`` is the PCHIP through the knots; tied knots (many equal PITs) collapse to their first
    level, except that ``G(1) = 1`` always."""
    x, y = (np.asarray(a, dtype=np.float64) for a in knots)
    x, first = np.unique(x, return_index=True)
    y = y[first]
    y[-1] = 1.0
    at = np.clip(pchip_values(x, y, np.linspace(0.0, 1.0, n_steps + 1)), 0.0, 1.0)
    at = np.maximum.accumulate(at)
    at[0], at[-1] = 0.0, 1.0
    pairs = np.stack([at, np.append(np.diff(at), 0.0)], axis=1).astype(np.float32)
    return torch.from_numpy(pairs).view(torch.int64).view(-1)


def apply_pit_map(pdf: torch.Tensor, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bin probabilities (N, n_bins) float32 of the corrected CDF ``G(F)``, rows summing to 1,
    and that CDF at the upper bin edges (N, n_bins), which the products then need not sum again.

    ``F`` is the float32 running sum of each row of ``pdf`` (N, n_bins), normalised to end at 1,
    taken at the bin edges; ``G`` is read from ``table`` (:func:`pit_map_table`) by linear
    interpolation between its 16,384 steps, within 1e-7 of the exact PCHIP (the precision of a
    float32 CDF; a scipy ``PchipInterpolator`` in float64 cost 10 us a galaxy at 400 bins, 2x
    the network, and ~50 MB of imports, issue 14). A row that is not finite or has no
    probability gives rows of NaN.
    """
    n_steps = len(table) - 1
    position = torch.cumsum(pdf, 1)
    total = position[:, -1:].clone()
    usable = torch.isfinite(total) & (total > 0)
    all_usable = bool(usable.all())
    if all_usable:
        position.mul_(n_steps / total)
    else:  # NaN and inf would make no table index
        position = torch.where(usable, position * (n_steps / total), 0.0)
    position.clamp_(0, n_steps)
    floor = position.floor()
    entries = torch.gather(table.expand(len(position), len(table)), 1, floor.to(torch.int64))
    value, step = entries.view(torch.float32).view(*position.shape, 2).unbind(2)
    cdf = torch.addcmul(value, position.sub_(floor), step)
    cdf[:, -1] = 1.0
    out = torch.empty_like(cdf)
    out[:, 0] = cdf[:, 0]
    torch.sub(cdf[:, 1:], cdf[:, :-1], out=out[:, 1:])
    out.clamp_(min=0.0)
    if not all_usable:
        out.masked_fill_(~usable, float("nan"))
        cdf.masked_fill_(~usable, float("nan"))
    return out, cdf


@functools.lru_cache(maxsize=64)
def _cached_table(x: tuple[float, ...], y: tuple[float, ...]) -> torch.Tensor:
    """:func:`pit_map_table` of the knots ``(x, y)``, made once per map (not per batch)."""
    return pit_map_table((np.asarray(x), np.asarray(y)))


def log_probabilities(pdf: np.ndarray) -> np.ndarray:
    """``log p`` as float32 logits (``-inf`` where ``p = 0``), for the temperature functions."""
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(pdf, dtype=np.float32))


@dataclass
class Calibration:
    """How raw PDFs become calibrated ones: a temperature, then (method ``pit``) a PIT map.

    Parameters
    ----------
    method : str
        ``"pit"`` (the estimator's default): T = 1, then the PIT map of Bordoloi et al. (2010)
        fitted on the validation PITs (corrects a humped or skewed PIT histogram that no
        temperature can, e.g. an ensemble's linear pool; below :data:`MIN_PIT_ROWS` rows a CRPS
        temperature is fitted instead and ``method`` becomes ``"crps"``); ``"crps"``: one
        temperature minimising the validation CRPS; ``"nll"``: one temperature minimising the
        NLL of the true bin (the method's choice); ``"none"``: PDFs as the network gives them.
    temperature : float
        Fitted temperature (1 for ``pit`` and ``none``).
    pit_x, pit_y : list of float, optional
        Knots of the PIT map (``pit`` only).
    """

    method: str = "pit"
    temperature: float = 1.0
    pit_x: list[float] | None = None
    pit_y: list[float] | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"calibration must be one of {METHODS}, got {self.method!r}")

    def fit(self, pdf_raw: np.ndarray, z_true: np.ndarray, grid) -> Calibration:
        """Fit on held-out rows: raw PDFs (N, n_bins) and their true redshifts (N,)."""
        from nncz.metrics import pit

        if len(z_true) < 2:
            raise ValueError(f"calibration needs at least 2 validation rows, got {len(z_true)}")
        if self.method == "pit" and len(z_true) < MIN_PIT_ROWS:
            log.warning("only %d validation rows: too few for a PIT map (%d needed); fitting a "
                        "CRPS temperature instead", len(z_true), MIN_PIT_ROWS)
            self.method = "crps"
        log_p = log_probabilities(pdf_raw)
        if self.method == "crps":
            self.temperature = fit_temperature_crps(log_p, z_true, grid.edges[1:], grid.width,
                                                    TEMPERATURE_BOUNDS)
        elif self.method == "nll":  # floored: one empty true bin would make every T cost inf
            self.temperature = fit_temperature(np.maximum(log_p, np.float32(-69.0)),
                                               grid.bin_index(z_true), TEMPERATURE_BOUNDS)
        elif self.method == "pit":
            x, y = fit_pit_map(pit(pdf_raw, grid, z_true), PIT_KNOTS)
            self.pit_x, self.pit_y = x.tolist(), y.tolist()
        low, high = TEMPERATURE_BOUNDS
        if self.method in ("crps", "nll") and not low * 1.01 < self.temperature < high / 1.01:
            log.warning("the fitted temperature T = %.3g lies on its search bound [%g, %g]: the "
                        "PDFs are far from calibrated; check the validation set", self.temperature,
                        low, high)
        return self

    def apply(self, pdf_raw: np.ndarray) -> np.ndarray:
        """Calibrated PDFs (N, n_bins) float32 of raw PDFs (N, n_bins); rows of NaN stay NaN."""
        pdf = torch.from_numpy(np.ascontiguousarray(pdf_raw, dtype=np.float32))
        return self.apply_tensor(pdf).numpy()

    def apply_tensor(self, pdf: torch.Tensor) -> torch.Tensor:
        """:meth:`apply` on a float32 tensor (N, n_bins)."""
        return self.apply_with_cdf(pdf)[0]

    def apply_with_cdf(self, pdf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`apply_tensor`, and the calibrated CDF at the upper bin edges where the PIT map
        made it (None otherwise), as the prediction loop calls it."""
        if self.temperature != 1.0:
            pdf = tempered(torch.log(pdf), self.temperature)
        if self.pit_x is None:
            return pdf, None
        return apply_pit_map(pdf, _cached_table(tuple(self.pit_x), tuple(self.pit_y)))

    def to_dict(self) -> dict:
        return {"method": self.method, "temperature": float(self.temperature),
                "pit_x": self.pit_x, "pit_y": self.pit_y}

    @classmethod
    def from_dict(cls, values: dict, source: str = "calibration") -> Calibration:
        """Rebuild and check a saved calibration; a bad value raises naming ``source``."""
        calibration = cls(method=str(values.get("method", "crps")),
                          temperature=float(values.get("temperature", 1.0)),
                          pit_x=values.get("pit_x"), pit_y=values.get("pit_y"))
        if not (np.isfinite(calibration.temperature) and calibration.temperature > 0):
            raise ValueError(f"{source}: temperature must be finite and > 0, "
                             f"got {calibration.temperature}")
        if (calibration.pit_x is None) != (calibration.pit_y is None):
            raise ValueError(f"{source}: pit_x and pit_y must both be given or both absent")
        if calibration.pit_x is not None:
            x, y = np.asarray(calibration.pit_x, float), np.asarray(calibration.pit_y, float)
            ok = (x.shape == y.shape and x.size >= 2 and np.all(np.isfinite(x))
                  and np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= 0)
                  and x[0] == 0 and x[-1] == 1 and y[0] == 0 and y[-1] == 1)
            if not ok:
                raise ValueError(f"{source}: the PIT map knots must rise from 0 to 1")
        return calibration
