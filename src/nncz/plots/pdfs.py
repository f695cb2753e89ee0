"""Individual photo-z PDFs: choosing and drawing representative examples (method Figure 4)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from nncz.plots._common import OUTLIER_DZ, Z_LABEL, as_1d, finite_pairs, new_figure, styled


def pick_example_pdfs(z_spec, z_phot, n_good: int = 3, n_out: int = 3, seed: int = 0,
                      good_dz: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Indices of representative well-predicted and outlier objects.

    Parameters
    ----------
    z_spec, z_phot : array_like, shape (N,)
        True and photometric (e.g. PDF mean) redshifts. Non-finite rows are never picked.
    n_good, n_out : int
        How many good objects and how many outliers to return.
    seed : int
        Seed of the random choice (the same seed gives the same picks).
    good_dz : float
        Good objects have |dz| <= good_dz, with dz = (z_phot - z_spec) / (1 + z_spec);
        outliers have |dz| > 0.15, the method's outlier definition.

    Returns
    -------
    good, outliers : int ndarray
        Indices into the input arrays, each sorted by z_spec. Good objects are drawn one from
        each of ``n_good`` equal-count z_spec slices of the good candidates, so they span the
        redshift range. Fewer are returned when fewer candidates exist.
    """
    zs = as_1d(z_spec, "z_spec")
    zp = as_1d(z_phot, "z_phot")
    finite_pairs(zs, zp, ("z_spec", "z_phot"))  # length check
    rng = np.random.default_rng(seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        adz = np.abs((zp - zs) / (1.0 + zs))
    ok = np.isfinite(adz)
    good_idx = np.flatnonzero(ok & (adz <= good_dz))
    out_idx = np.flatnonzero(ok & (adz > OUTLIER_DZ))
    good_idx = good_idx[np.argsort(zs[good_idx], kind="stable")]
    n_parts = min(n_good, good_idx.size)
    good = [rng.choice(part) for part in np.array_split(good_idx, n_parts)] if n_parts else []
    outliers = rng.choice(out_idx, size=min(n_out, out_idx.size), replace=False)
    good = np.asarray(good, dtype=int)
    outliers = np.asarray(outliers, dtype=int)
    return good[np.argsort(zs[good], kind="stable")], outliers[np.argsort(zs[outliers],
                                                                          kind="stable")]


@styled
def plot_example_pdfs(z_centres, pdfs, z_spec, z_mean, l68, u68, z_conf,
                      titles: Sequence[str] | None = None, ncols: int = 3,
                      zoom: bool = True) -> Figure:
    """Photo-z PDFs of a few objects with their true redshift, mean and 68% interval.

    Parameters
    ----------
    z_centres : array_like, shape (n_bins,)
        Centres of the (uniform) redshift grid.
    pdfs : array_like, shape (K, n_bins)
        Bin probabilities of K objects (each row sums to 1); drawn as a density p / dz.
    z_spec, z_mean, l68, u68, z_conf : array_like, shape (K,)
        True redshift, PDF mean, 68% interval bounds and z_conf of each object.
    titles : sequence of str, optional
        Panel titles (e.g. "good" / "outlier" and an object id).
    ncols : int
        Panels per row (six objects give the method's 2 x 3 grid).
    zoom : bool
        Limit each panel's x axis to where its PDF (0.1% to 99.9% of the probability),
        z_spec and z_mean lie, with a margin; the whole grid otherwise.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per object: the PDF as a step curve, the 68% interval shaded under it, a
        solid vertical line at z_spec and a dashed one at z_mean, and a text giving z_spec,
        z_mean and z_conf. One legend, above the panels, names the three.
    """
    centres = as_1d(z_centres, "z_centres")
    pdfs = np.atleast_2d(np.asarray(pdfs, dtype=float))
    k = pdfs.shape[0]
    if pdfs.shape[1] != centres.size:
        raise ValueError(f"pdfs have {pdfs.shape[1]} bins, z_centres has {centres.size}")
    per_obj = {n: as_1d(v, n) for n, v in dict(z_spec=z_spec, z_mean=z_mean, l68=l68, u68=u68,
                                                  z_conf=z_conf).items()}
    for name, arr in per_obj.items():
        if arr.size != k:
            raise ValueError(f"{name} has {arr.size} values for {k} PDFs")
    if titles is not None and len(titles) != k:
        raise ValueError(f"{len(titles)} titles for {k} PDFs")
    width = float(np.mean(np.diff(centres)))
    edges = np.append(centres - width / 2, centres[-1] + width / 2)
    nrows = math.ceil(k / ncols)
    fig, axes = new_figure(nrows, min(ncols, k), panel_size=(3.6, 2.9))
    for i, ax in enumerate(axes.flat):
        if i >= k:
            ax.set_visible(False)
            continue
        values = {n: float(v[i]) for n, v in per_obj.items()}
        ax.set_xlim(*(_zoom_limits(edges, pdfs[i], values) if zoom else (edges[0], edges[-1])))
        _draw_pdf(ax, edges, pdfs[i] / width, values)
        if titles is not None:
            ax.set_title(titles[i])
    for ax in axes[-1, :]:
        ax.set_xlabel(Z_LABEL)
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$p(z)$")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False)
    return fig


def _zoom_limits(edges: np.ndarray, prob: np.ndarray, v: dict[str, float]) -> tuple[float, float]:
    """x range holding 99.8% of the probability, z_spec and z_mean, plus a margin."""
    cum = np.cumsum(prob) / max(float(np.sum(prob)), 1e-300)
    lo = min(edges[np.searchsorted(cum, 0.001)], v["z_spec"], v["z_mean"])
    hi = max(edges[min(np.searchsorted(cum, 0.999) + 1, edges.size - 1)], v["z_spec"],
             v["z_mean"])
    pad = max(0.05, 0.15 * (hi - lo))
    return max(edges[0], lo - pad), min(edges[-1], hi + pad)


def _draw_pdf(ax, edges: np.ndarray, density: np.ndarray, v: dict[str, float]) -> None:
    ax.stairs(density, edges, color="tab:blue", lw=1.2, gid="pdf")
    inside = (edges[:-1] < v["u68"]) & (edges[1:] > v["l68"])
    lo = np.clip(edges[:-1], v["l68"], v["u68"])
    hi = np.clip(edges[1:], v["l68"], v["u68"])
    xs = np.column_stack([lo[inside], hi[inside]]).ravel()
    ys = np.repeat(density[inside], 2)
    ax.fill_between(xs, ys, color=to_rgba("tab:blue", 0.3), lw=0, label="68% interval",
                    gid="interval68")
    ax.axvline(v["z_spec"], color="k", lw=1.3, label=r"$z_{\rm spec}$", gid="z_spec")
    ax.axvline(v["z_mean"], color="tab:red", ls="--", lw=1.3, label=r"$z_{\rm mean}$",
               gid="z_mean")
    ax.set_ylim(bottom=0.0, top=1.4 * max(float(density.max()), 1e-12))
    text = (rf"$z_{{\rm spec}}$ = {v['z_spec']:.3f}" + "\n"
            + rf"$z_{{\rm mean}}$ = {v['z_mean']:.3f}" + "\n"
            + rf"$z_{{\rm conf}}$ = {v['z_conf']:.2f}")
    lo, hi = ax.get_xlim()
    right = (v["z_spec"] - lo) / max(hi - lo, 1e-12) < 0.6  # the box goes where z_spec is not
    ax.text(0.97 if right else 0.03, 0.95, text, transform=ax.transAxes,
            ha="right" if right else "left", va="top", fontsize=8, gid="pdf_text",
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.8, edgecolor="none"))
