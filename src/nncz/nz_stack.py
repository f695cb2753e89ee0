"""Per-bin sums of PDFs for the tomographic n(z), and their bootstrap over galaxies and members.

A bootstrap replicate resamples the N galaxies with replacement, which gives each galaxy an
integer count; the replicate's per-bin stacks are count-weighted sums of the PDFs, computed by
matrix products on row chunks, so no PDF is ever copied per replicate. The counts of a block of
replicates are held at 2 bytes per galaxy and replicate (``block_bytes`` bounds the block).
"""

from __future__ import annotations

import numpy as np


def stack_by_bin(
    pdf: np.ndarray,
    labels: np.ndarray,
    n_tomo: int,
    weights: np.ndarray,
    counts: np.ndarray | None = None,
    extra: np.ndarray | None = None,
    chunk_rows: int = 32768,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Weighted per-bin sums of PDFs (and of per-galaxy scalars) for one or more replicates.

    Parameters
    ----------
    pdf : array (N, n_z)
    labels : int array (N,)
        Tomographic bin of each galaxy, -1 for galaxies left out.
    n_tomo : int
    weights : array (N,)
    counts : array (R, N), optional
        Bootstrap count of each galaxy in each replicate (one replicate of ones if omitted).
    extra : array (N, q), optional
        Per-galaxy scalars summed with the same weights (e.g. ``1, z_true, z_true**2``).
    chunk_rows : int
        Rows handled at once; each chunk's rows are copied once, sorted by bin.

    Returns
    -------
    stacks : array (R, n_tomo, n_z), float64
    extra_sums : array (R, n_tomo, q) or None
    """
    n_rep = 1 if counts is None else counts.shape[0]
    stacks = np.zeros((n_rep, n_tomo, pdf.shape[-1]))
    sums = None if extra is None else np.zeros((n_rep, n_tomo, extra.shape[1]))
    for start in range(0, labels.size, chunk_rows):
        part = slice(start, start + chunk_rows)
        order = np.argsort(labels[part], kind="stable")
        sorted_labels = labels[part][order]
        bounds = np.searchsorted(sorted_labels, np.arange(n_tomo + 1))
        order = order[bounds[0]:]
        bounds = bounds - bounds[0]
        rows = np.asarray(pdf[part])[order]
        row_w = np.asarray(weights[part], np.float32)[order][None, :]
        if counts is not None:
            row_w = counts[:, part][:, order].astype(np.float32) * row_w
        extra_rows = None if extra is None else extra[part][order]
        for j in range(n_tomo):
            seg = slice(bounds[j], bounds[j + 1])
            if seg.start == seg.stop:
                continue
            stacks[:, j] += row_w[:, seg] @ rows[seg]
            if sums is not None:
                sums[:, j] += row_w[:, seg].astype(np.float64) @ extra_rows[seg]
    return stacks, sums


def bootstrap_counts(rng: np.random.Generator, n_rows: int, n_rep: int) -> np.ndarray:
    """Counts (n_rep, n_rows) of each row in ``n_rep`` resamplings with replacement."""
    counts = np.empty((n_rep, n_rows), dtype=np.uint16)
    for r in range(n_rep):
        counts[r] = np.bincount(rng.integers(0, n_rows, n_rows), minlength=n_rows)
    return counts


def bootstrap_stacks(
    pdf: np.ndarray,
    labels: np.ndarray,
    n_tomo: int,
    weights: np.ndarray,
    extra: np.ndarray | None,
    members: np.ndarray | None,
    n_boot: int,
    seed: int,
    block_bytes: int = 2**27,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Bootstrap replicates of :func:`stack_by_bin` over galaxies (and ensemble members).

    Parameters
    ----------
    pdf, labels, n_tomo, weights, extra
        As :func:`stack_by_bin`.
    members : array (M, N, n_z), optional
        Per-member PDFs; each replicate also draws M members with replacement and averages
        their stacks (``pdf`` is then unused).
    n_boot, seed : int
        Replicates and seed (galaxy and member draws use independent child streams).
    block_bytes : int
        Memory for the counts of a block of replicates.

    Returns
    -------
    stacks : array (n_boot, n_tomo, n_z)
    extra_sums : array (n_boot, n_tomo, q) or None
    """
    galaxy_seed, member_seed = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(galaxy_seed)
    n_rows = labels.size
    stacks = np.empty((n_boot, n_tomo, pdf.shape[-1]))
    sums = None if extra is None else np.empty((n_boot, n_tomo, extra.shape[1]))
    if members is not None:
        n_members = members.shape[0]
        picks = np.random.default_rng(member_seed).multinomial(
            n_members, np.full(n_members, 1.0 / n_members), size=n_boot) / n_members
    block = int(max(1, min(n_boot, block_bytes // (2 * max(n_rows, 1)))))
    for r0 in range(0, n_boot, block):
        reps = slice(r0, min(n_boot, r0 + block))
        counts = bootstrap_counts(rng, n_rows, reps.stop - reps.start)
        if members is None:
            stacks[reps], part_sums = stack_by_bin(pdf, labels, n_tomo, weights, counts, extra)
        else:
            stacks[reps] = 0.0
            for m in range(members.shape[0]):
                member_stack, part_sums = stack_by_bin(members[m], labels, n_tomo, weights,
                                                       counts, extra if m == 0 else None)
                stacks[reps] += picks[reps, m, None, None] * member_stack
        if sums is not None:
            sums[reps] = part_sums
    return stacks, sums
