"""Tomographic n(z) of a catalog run, accumulated stripe by stripe (no second pass).

With an ``nz`` entry in the catalog config::

    nz:
      edges: [0.1, 0.3, 0.5, 0.7, 0.9, 1.2]   # tomographic edges in `point` (required)
      point: z_phot_mean                     # main-table column the sources are binned by
      weights: null                          # main-table column of weights (null: 1)
      bootstrap: 100                         # replicates
      seed: 0

each stripe adds its sources' stored PDFs (the catalog's coarse grid) into per-bin sums, and
the same sums for every bootstrap replicate, saved next to its parts; the run sums them at the
end and writes ``OUT/nz/`` as ``nncz nz`` does (SACC, qp, table, summary, figure).

The bootstrap here is a Poisson bootstrap: each source gets a Poisson(1) count per replicate,
drawn from a hash of its identifiers (``ls_id``, ``ps1_objid``) and the seed, so the result
does not depend on the stripes, on ``--jobs`` or on a resume. Equal-count edges would need the
whole catalog first, so the catalog takes explicit edges only.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.grid import RedshiftGrid
from nncz.nz import assign_bins, check_edges, nz_from_stacks
from nncz.nz_stack import stack_by_bin

NZ_DEFAULTS = {"edges": None, "point": "z_phot_mean", "weights": None, "bootstrap": 100,
               "seed": 0}
_POISSON_CDF = np.cumsum([math.exp(-1.0) / math.factorial(k) for k in range(20)])


def check_nz_config(value) -> dict | None:
    """The ``nz`` config entry with defaults filled in (ValueError naming the bad key)."""
    if value is None:
        return None
    where = "catalog config: nz"
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a mapping (edges: [...], point: ...), got {value!r}")
    unknown = sorted(set(value) - set(NZ_DEFAULTS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; keys are {sorted(NZ_DEFAULTS)}")
    cfg = {**NZ_DEFAULTS, **value}
    if cfg["edges"] is None:
        raise ValueError(f"{where} needs edges: [z_0, z_1, ...] (equal-count bins would need "
                         "a second pass over the catalog)")
    try:
        cfg["edges"] = check_edges(cfg["edges"]).tolist()
    except (TypeError, ValueError):
        raise ValueError(f"{where}: edges must be >= 2 increasing numbers, "
                         f"got {cfg['edges']!r}") from None
    for key, least in (("bootstrap", 2), ("seed", 0)):
        if isinstance(cfg[key], bool) or not isinstance(cfg[key], int) or cfg[key] < least:
            raise ValueError(f"{where}: {key} must be an integer >= {least}, got {cfg[key]!r}")
    return cfg


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (uint64 -> well-mixed uint64)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def poisson_counts(ls_id: np.ndarray, ps1_objid: np.ndarray, n_rep: int, seed: int) -> np.ndarray:
    """Poisson(1) counts (n_rep, N) of each source, a function of its ids, ``seed`` and r only."""
    with np.errstate(over="ignore"):
        key = _mix(_mix(np.asarray(ls_id, np.int64).view(np.uint64) ^ np.uint64(seed))
                   ^ np.asarray(ps1_objid, np.int64).view(np.uint64))
        reps = np.arange(n_rep, dtype=np.uint64)[:, None] * np.uint64(0xD1B54A32D192ED03)
        uniform = (_mix(key[None, :] ^ reps) >> np.uint64(11)) * (1.0 / 2.0**53)
    return np.searchsorted(_POISSON_CDF, uniform, side="right").astype(np.uint16)


def stripe_sums(main: pd.DataFrame, pdf: np.ndarray, cfg: dict) -> dict[str, np.ndarray]:
    """Per-bin sums of one stripe: nominal ``stack`` (k, n_z), ``boot`` (R, k, n_z), counts."""
    for column in (cfg["point"], cfg["weights"]):
        if column is not None and column not in main:
            raise KeyError(f"nz: column {column!r} is not in the catalog's main table")
    edges = np.asarray(cfg["edges"])
    n_tomo = edges.size - 1
    labels = assign_bins(main[cfg["point"]].to_numpy(np.float64), edges)
    weights = (np.ones(len(main)) if cfg["weights"] is None
               else main[cfg["weights"]].to_numpy(np.float64))
    bad = ~np.isfinite(weights) | (weights < 0)
    labels[bad] = -1
    weights = np.where(bad, 0.0, weights)
    stack, _ = stack_by_bin(pdf, labels, n_tomo, weights)
    counts = poisson_counts(main["ls_id"].to_numpy(), main["ps1_objid"].to_numpy(),
                            cfg["bootstrap"], cfg["seed"])
    boot, _ = stack_by_bin(pdf, labels, n_tomo, weights, counts)
    used = labels >= 0
    return {"stack": stack[0], "boot": boot,
            "n": np.bincount(labels[used & (weights > 0)], minlength=n_tomo),
            "weight_sum": np.bincount(labels[used], weights[used], minlength=n_tomo)}


def save_stripe_sums(path: str | Path, sums: dict[str, np.ndarray]) -> None:
    """Write a stripe's sums atomically (``.npz``)."""
    from nncz.io import atomic_write

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            np.savez(handle, **sums)

    atomic_write(path, write)


def write_catalog_nz(paths: list[Path], grid: RedshiftGrid, cfg: dict,
                     out_dir: str | Path) -> dict[str, Path]:
    """Sum the stripes' sums and write the n(z) files and figure into ``out_dir``."""
    from nncz.nzio import write_nz_outputs

    total: dict[str, np.ndarray] = {}
    for path in paths:
        with np.load(path) as part:
            for key in part.files:
                total[key] = total[key] + part[key] if key in total else part[key].copy()
    result = nz_from_stacks(total["stack"], total["boot"], grid, np.asarray(cfg["edges"]),
                            total["n"], total["weight_sum"], cfg["point"])
    return write_nz_outputs(result, out_dir, {"source": "nncz catalog",
                                              "weights": cfg["weights"],
                                              "bootstrap": "poisson, hashed source ids",
                                              "seed": cfg["seed"]})


def _sums_path(parts_dir: Path, k: int) -> Path:
    return Path(parts_dir) / f"chunk_{k:05d}.nz.npz"


def add_stripe(parts_dir: str | Path, k: int, main: pd.DataFrame, pdf_u16: np.ndarray,
               cfg: dict) -> None:
    """Save stripe ``k``'s sums next to its parts (call before its done-marker is written)."""
    from nncz.pdfio import dequantise

    save_stripe_sums(_sums_path(Path(parts_dir), k), stripe_sums(main, dequantise(pdf_u16), cfg))


def finalize(parts_dir: str | Path, chunks: list[int], grid: RedshiftGrid, cfg: dict,
             out_dir: str | Path) -> dict[str, Path]:
    """Write ``out_dir/nz/`` from the sums of ``chunks``; paths keyed ``nz_sacc``, ``nz_qp``..."""
    paths = [_sums_path(Path(parts_dir), k) for k in chunks]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"n(z) sums of {len(missing)} stripe(s) are missing (first: "
                                f"{missing[0]}); rerun with --overwrite")
    written = write_catalog_nz(paths, grid, cfg, Path(out_dir) / "nz")
    return {f"nz_{name}": path for name, path in written.items()}
