"""Realism report of a mock universe: four figures, each a function returning a Figure.

>>> paths = write_report("mock_dir")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nncz.mock.footprints import in_ls
from nncz.mock.population import galaxy_density_per_deg2

_CLASS_STYLE = {"passive": "tab:red", "star-forming": "tab:blue", "ELG-like": "tab:green",
                "QSO": "tab:purple", "star": "0.4"}


def source_classes(truth: pd.DataFrame) -> np.ndarray:
    """Plot class per truth row: passive (Ell/S0 templates), star-forming, ELG-like, QSO, star."""
    sed = truth["sed_type"].astype(str)
    cls = np.where(sed.str.startswith(("Ell", "S0")), "passive", "star-forming")
    cls = np.where(truth["is_elg_like"].to_numpy(bool), "ELG-like", cls)
    oc = truth["obj_class"].astype(str).to_numpy()
    return np.where(oc == "QSO", "QSO", np.where(oc == "STAR", "star", cls))


def _ls_truth(ls: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    t = truth[truth["ls_id"] >= 0]
    return ls.merge(t.assign(plot_class=source_classes(t)), on="ls_id", suffixes=("", "_t"))


def colour_redshift_figure(ls: pd.DataFrame, truth: pd.DataFrame, max_points: int = 20000,
                           snr_min: float = 10.0):
    """g-r, r-z and z-W1 (dereddened LS colours) against true redshift, by class.

    Only rows with S/N > ``snr_min`` in g r z W1 are drawn (up to ``max_points``).
    """
    import matplotlib.pyplot as plt

    d = _ls_truth(ls, truth)
    good = np.ones(len(d), bool)
    for b in ("g", "r", "z", "w1"):
        good &= d[f"snr_{b}"].to_numpy() > snr_min
    d = d[good]
    if len(d) > max_points:
        d = d.sample(max_points, random_state=0)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharex=True)
    pairs = (("g", "r"), ("r", "z"), ("z", "w1"))
    for ax, (a, b) in zip(axes, pairs, strict=True):
        for cls, colour in _CLASS_STYLE.items():
            s = d[d["plot_class"] == cls]
            ax.scatter(s["z_true"], s[f"dered_mag_{a}"] - s[f"dered_mag_{b}"], s=2, alpha=0.4,
                       color=colour, label=f"{cls} ({len(s)})", rasterized=True)
        ax.set_xlabel("true redshift")
        ax.set_ylabel(f"{a} - {b} [AB, dereddened]")
        ax.set_xlim(0, 2.0)
    axes[0].legend(markerscale=5, fontsize=8)
    fig.suptitle(f"Mock LSDR10 colour-redshift loci (S/N > {snr_min:g} in g r z W1)")
    fig.tight_layout()
    return fig


def number_counts_figure(ls: pd.DataFrame, truth: pd.DataFrame, i_max: float = 24.0):
    """Differential counts [deg^-2 mag^-1] of LS g r z (dereddened), galaxies and all sources.

    The mock's sky density is arbitrary (set by ``n_galaxies``); counts are rescaled so that the
    galaxy density inside the LS footprint equals the luminosity-function model's density.
    """
    import matplotlib.pyplot as plt

    gal = truth["obj_class"].astype(str).to_numpy() == "GALAXY"
    in_fp = in_ls(truth["ra"].to_numpy(), truth["dec"].to_numpy())
    n_gal_fp = max(int((gal & in_fp).sum()), 1)
    scale = galaxy_density_per_deg2(i_max) / n_gal_fp
    d = _ls_truth(ls[ls["brick_primary"].to_numpy(bool)], truth)
    edges = np.arange(14.0, 26.01, 0.25)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for b, colour in (("g", "tab:green"), ("r", "tab:red"), ("z", "tab:purple")):
        mag = d[f"dered_mag_{b}"].to_numpy()
        is_gal = d["obj_class"].astype(str).to_numpy() == "GALAXY"
        n_all, _ = np.histogram(mag[np.isfinite(mag)], edges)
        n_gal, _ = np.histogram(mag[np.isfinite(mag) & is_gal], edges)
        ax.semilogy(centres, n_all * scale / 0.25, color=colour, label=f"{b} all")
        ax.semilogy(centres, n_gal * scale / 0.25, color=colour, ls="--", label=f"{b} galaxies")
    ax.set_xlabel("dereddened magnitude [AB]")
    ax.set_ylabel("N [deg$^{-2}$ mag$^{-1}$]")
    ax.set_title("Mock LSDR10 number counts (brick_primary)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def magnitude_error_figure(ls: pd.DataFrame, ps1: pd.DataFrame | None = None,
                           max_points: int = 20000):
    """Magnitude error against magnitude: LS g r i z W1 W2 (1.0857 / S/N) and PS1 Kron g-y."""
    import matplotlib.pyplot as plt

    n = 2 if ps1 is not None else 1
    fig, axes = plt.subplots(1, n, figsize=(6.5 * n, 5), squeeze=False)
    d = ls.sample(min(max_points, len(ls)), random_state=0)
    ax = axes[0, 0]
    for b in ("g", "r", "i", "z", "w1", "w2"):
        snr = d[f"snr_{b}"].to_numpy()
        ok = snr > 0
        ax.scatter(d[f"mag_{b}"].to_numpy()[ok], 1.0857 / snr[ok], s=1, label=b, rasterized=True)
    ax.set(yscale="log", xlabel="magnitude [AB]", ylabel="magnitude error",
           title="Mock LSDR10", ylim=(1e-3, 2), xlim=(14, 27))
    ax.legend(markerscale=8)
    if ps1 is not None:
        p = ps1.sample(min(max_points, len(ps1)), random_state=0)
        ax = axes[0, 1]
        for b in "grizy":
            m, e = p[f"{b}KronMag"].to_numpy(), p[f"{b}KronMagErr"].to_numpy()
            ok = (m > 0) & (e > 0)
            ax.scatter(m[ok], e[ok], s=1, label=f"{b} Kron", rasterized=True)
        ax.set(yscale="log", xlabel="Kron magnitude [AB]", ylabel="error",
               title="Mock PS1 DR2", ylim=(1e-3, 2), xlim=(14, 26))
        ax.legend(markerscale=8)
    fig.tight_layout()
    return fig


def spec_nz_figure(desi: pd.DataFrame, sdss: pd.DataFrame):
    """Redshift distributions of the spectroscopic samples (good redshifts only).

    DESI: ZWARN == 0 per target class (BGS / LRG / ELG / QSO bits); SDSS: zWarning == 0 per
    ``survey`` (sdss = legacy MGS, boss, eboss).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharex=True)
    edges = np.arange(0.0, 3.01, 0.04)
    good = desi[desi["ZWARN"].to_numpy() == 0]
    bits = good["DESI_TARGET"].to_numpy().astype(np.int64)
    for name, mask in (("BGS", (bits >> 60) & 1 == 1), ("LRG", bits & 1 == 1),
                       ("ELG", bits & 2 == 2), ("QSO", bits & 4 == 4)):
        axes[0].hist(good["Z"].to_numpy()[mask], edges, histtype="step", lw=1.5,
                     label=f"DESI {name} ({int(mask.sum())})")
    sg = sdss[sdss["zWarning"].to_numpy() == 0]
    for name in ("sdss", "boss", "eboss"):
        z = sg.loc[sg["survey"].astype(str) == name, "z"].to_numpy()
        axes[1].hist(z, edges, histtype="step", lw=1.5, label=f"SDSS {name} ({len(z)})")
    for ax, title in zip(axes, ("DESI DR1 mock", "SDSS DR19 mock"), strict=True):
        ax.set(xlabel="spectroscopic redshift", ylabel="N per 0.04", title=title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _read(out_dir: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    from nncz.io import read_table

    for ext in ("parquet", "fits"):
        p = out_dir / f"{name}.{ext}"
        if p.exists():
            return read_table(p, columns=columns)
    raise FileNotFoundError(f"{out_dir}: no {name}.parquet or {name}.fits (run `nncz mock`)")


def write_report(out_dir: str | Path, report_dir: str | Path | None = None,
                 i_max: float = 24.0) -> list[Path]:
    """Draw the four realism figures of the mock in ``out_dir`` as PNG files.

    Returns
    -------
    Paths of ``colour_redshift.png``, ``number_counts.png``, ``magnitude_errors.png``,
    ``spec_nz.png`` in ``report_dir`` (default ``out_dir/report``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    report_dir = Path(report_dir) if report_dir is not None else out_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    bands = ("g", "r", "i", "z", "w1", "w2")
    ls_cols = ["ls_id", "brick_primary"] + [f"{p}_{b}" for b in bands
                                            for p in ("mag", "snr", "dered_mag")]
    ls = _read(out_dir, "ls_dr10", ls_cols)
    truth = _read(out_dir, "truth", ["ls_id", "ra", "dec", "z_true", "obj_class", "sed_type",
                                     "is_elg_like"])
    ps1 = _read(out_dir, "ps1_dr2", [f"{b}Kron{s}" for b in "grizy" for s in ("Mag", "MagErr")])
    figs = {
        "colour_redshift": colour_redshift_figure(ls, truth),
        "number_counts": number_counts_figure(ls, truth, i_max),
        "magnitude_errors": magnitude_error_figure(ls, ps1),
        "spec_nz": spec_nz_figure(_read(out_dir, "desi_dr1_zcat"),
                                  _read(out_dir, "sdss_specobj")),
    }
    paths = []
    for name, fig in figs.items():
        path = report_dir / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
