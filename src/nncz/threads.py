"""How many CPU threads torch uses, how its OpenMP threads wait, and where threads allocate.

Torch's OpenMP threads spin while they wait for each other. On cores that other jobs keep busy,
a spinning thread takes CPU from the thread it waits for, and training with 2 threads on 2 busy
cores ran 3-10x slower than with 1 (benchmarks/training.py). Two rules avoid that:

- the passive wait policy (threads sleep while they wait), set before torch is imported;
- without an explicit thread count, as many threads as the cores left idle by other jobs at
  start (the 1-minute load average), at least one.

The ``nncz`` command also makes all threads allocate from one C-library heap
(:func:`one_malloc_arena`).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import sys

log = logging.getLogger("nncz")

WAIT_POLICY = "PASSIVE"
M_ARENA_MAX = -8  # glibc's mallopt parameter number


def prefer_passive_wait() -> None:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the user set a policy; must run before torch is
    imported (OpenMP reads it once, when torch's runtime starts)."""
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)


def one_malloc_arena() -> None:
    """Make every thread allocate from the C library's one main heap (glibc: ``M_ARENA_MAX``
    of 1; elsewhere nothing). Must run before other threads start (numpy's BLAS starts its own
    when it is imported).

    glibc gives threads their own heaps ("arenas"), each keeping what its thread freed. With
    the prediction's worker threads (:func:`nncz.infer.predict_arrays`) that memory is held
    per worker: ``nncz predict --threads 2 --pdf-output`` of 10^6 rows peaked at 529 MB,
    470-475 MB with one arena, in the same time (issue 14, benchmarks/README.md). The threads
    allocate a few large blocks per batch, so they do not queue for the one heap.
    """
    libc = c_library()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(M_ARENA_MAX, 1)


@functools.cache
def c_library():
    """The C library's functions (ctypes), or None: the symbols the process has loaded, which
    include the C library's (``ctypes.util.find_library`` would run ``ldconfig``, ~20 ms)."""
    import ctypes

    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def idle_cores(cores: int | None = None, load: float | None = None) -> int:
    """Cores not used by other jobs: ``cores - load``, rounded to nearest, within [1, cores].

    Parameters
    ----------
    cores : int, optional
        Cores this process may run on (default: its CPU affinity).
    load : float, optional
        Runnable processes, averaged (default: the 1-minute load average of ``os.getloadavg``).
    """
    cores = len(os.sched_getaffinity(0)) if cores is None else int(cores)
    load = os.getloadavg()[0] if load is None else float(load)
    return max(1, min(cores, math.floor(cores - load + 0.5)))


def set_torch_threads(requested: int | None = None) -> int:
    """Set torch's intra-op threads and return the number set.

    ``requested`` (``--threads``) wins; else ``OMP_NUM_THREADS`` if the user set it (torch
    already reads it); else :func:`idle_cores`. Without ``requested``, torch is not imported for
    this: when it is not loaded yet, ``OMP_NUM_THREADS`` is set, which torch reads when it loads,
    so a verb that never needs torch (``nncz inspect``, ``nncz nz``) does not pay its import
    (~1.3 s, ~236 MB).
    """
    if requested is not None:
        threads = int(requested)
    elif os.environ.get("OMP_NUM_THREADS", "").strip().isdigit():
        threads = max(1, int(os.environ["OMP_NUM_THREADS"]))
    else:
        threads = idle_cores()
        # Matrix products sum in another order on another thread count, so a training run's
        # last bits (and, through training, its model) depend on it: say so, once.
        log.info("torch threads: %d (the idle cores at start; --threads N fixes the count, "
                 "and with it the exact results of a rerun)", threads)
    if requested is None and "torch" not in sys.modules:
        os.environ["OMP_NUM_THREADS"] = str(threads)  # at most the cores: torch takes it as is
        return threads
    import torch  # --threads N is set exactly, even above the core count

    torch.set_num_threads(threads)
    return threads
