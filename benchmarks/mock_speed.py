"""Time the mock universe: ``python benchmarks/mock_speed.py --n-galaxies 1000000 [--fits]``.

Prints the wall and CPU time, the peak memory and the size of every written file.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from nncz.mock import make_universe


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n-galaxies", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk-size", type=int, default=200_000)
    p.add_argument("--fits", action="store_true", help="also write FITS (default Parquet only)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: temporary)")
    args = p.parse_args()
    formats = ("parquet", "fits") if args.fits else ("parquet",)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t0, c0 = time.perf_counter(), time.process_time()
        paths = make_universe(out, n_galaxies=args.n_galaxies, seed=args.seed, formats=formats,
                              chunk_size=args.chunk_size)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{args.n_galaxies} galaxies: wall {wall:.1f} s, CPU {cpu:.1f} s, "
              f"peak RSS {peak_mb:.0f} MB")
        for ps in paths.values():
            for path in ps:
                print(f"  {path.name:28s} {path.stat().st_size / 1e6:8.1f} MB")


if __name__ == "__main__":
    main()
