"""Prediction throughput against this machine's own fp32 GEMM roofline, measured side by side.

    python benchmarks/inference.py [--rows 200000] [--threads 1,2] [--accuracy MODEL] [--readme]
    python benchmarks/inference.py --memory [--readme] | --all

Prints galaxies/s for (a) a plain eval of the unfused torch MLP, (b) the network nncz runs
(batch norm folded, skips fused), (c) the whole prediction nncz does (``estimator.predict``:
network, calibration and every PDF product; with a PIT map, the default calibration, and with a
temperature), (d) the same in bf16 and int8 (opt-in
``precision=``), and for each the roofline ratio: model FLOPs per galaxy x galaxies/s over the
FLOP/s of a large fp32 matrix multiply. The GEMM is timed right before and after every path,
interleaved, and each figure is the best of several repeats, so that a machine shared with other
jobs biases numerator and denominator alike. ``--memory`` measures only the peak RSS of
`nncz predict` at 10, 1e5, 1e6 and 1e7 rows in subprocesses (100,000-row row groups; default
chunk and 200,000-row chunks; with ``--pdf-output`` up to 1e6; one thread, then plain and with
PDFs on every core; ``--readme`` writes its table into benchmarks/README.md); ``--all`` runs
everything and rewrites the tables in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nncz.calibrate import PIT_KNOTS, Calibration, fit_pit_map
from nncz.cleaning import BadValuePolicy
from nncz.estimator import NNCEstimator
from nncz.grid import RedshiftGrid
from nncz.infer import BATCH_ROWS
from nncz.model import FoldedMLP, ResidualMLP, flops_per_sample

N_FEATURES = 12
HERE = Path(__file__).resolve().parent


def best_seconds(function, repeats: int = 5) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def gemm_flops(size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a ``size``^3 fp32 matrix multiply (best of ``repeats``)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / best_seconds(lambda: torch.mm(a, b), repeats)


def interleaved(function, repeats: int = 5) -> tuple[float, float]:
    """(best seconds of ``function``, best GEMM FLOP/s) with the GEMM timed around each run."""
    function()  # warm-up
    path, gemm = [], [gemm_flops(repeats=2)]
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        path.append(time.perf_counter() - start)
        gemm.append(gemm_flops(repeats=2))
    return min(path), max(gemm)


def table(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows of 12 float32 features named f0..f11 (standard normal)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, N_FEATURES)).astype(np.float32),
                        columns=[f"f{i}" for i in range(N_FEATURES)])


def pit_calibration(seed: int = 0) -> Calibration:
    """A PIT map as the default calibration fits one: the map of a humped PIT histogram (PDFs
    too wide, as an ensemble's average is), from 5,000 Beta(1.5, 1.5) draws."""
    x, y = fit_pit_map(np.random.default_rng(seed).beta(1.5, 1.5, size=5000), PIT_KNOTS)
    return Calibration("pit", pit_x=x.tolist(), pit_y=y.tolist())


def bench_estimator(n_members: int = 1, calibration: Calibration | None = None,
                    hidden: tuple[int, ...] = (512, 256, 128, 64)) -> NNCEstimator:
    """A fitted-looking estimator: the method's architecture with fixed random weights.

    Built through the public attributes ``fit`` sets (``members_``, ``calibration_``,
    ``policy_``, ``scaler_*``) so that it saves and loads like a trained model. The head gets
    random weights (a trained head is not zero) so that the PDFs are peaked, not uniform.
    ``calibration`` defaults to a PIT map, the estimator's default calibration.
    """
    torch.manual_seed(0)
    estimator = NNCEstimator(grid=RedshiftGrid(), hidden=hidden, verbose=False)
    estimator.features_ = [f"f{i}" for i in range(N_FEATURES)]
    estimator.target_ = "z_spec"
    estimator.policy_ = BadValuePolicy(mode="fill").fit(table(10), estimator.features_)
    estimator.scaler_mean_ = np.zeros(N_FEATURES, np.float32)
    estimator.scaler_scale_ = np.ones(N_FEATURES, np.float32)
    estimator.batch_size_ = 4096
    estimator.members_ = []
    for _ in range(n_members):
        model = ResidualMLP(N_FEATURES, estimator.grid.n_bins, hidden)
        torch.nn.init.normal_(model.head.weight, std=0.3)
        estimator.members_.append(model.eval())
    estimator.calibration_ = calibration or pit_calibration()
    estimator.metrics_, estimator.history_ = {}, []
    estimator._folded = None
    return estimator


def throughput(rows: int, threads: int) -> list[dict]:
    """Galaxies/s and roofline ratio of every inference path, GEMM interleaved."""
    estimator = bench_estimator()
    tempered = bench_estimator(calibration=Calibration("crps", temperature=1.3))
    model = estimator.members_[0]
    folded = FoldedMLP(model)
    flops = flops_per_sample(model)
    frame = table(rows)
    x = torch.from_numpy(frame.to_numpy())

    def network(net, batch: int = 65536):
        def run():
            with torch.inference_mode():
                for i in range(0, len(x), batch):
                    net(x[i : i + batch])
        return run

    paths = [("plain eval, unfused torch MLP", network(model)),
             ("nncz network (BN folded, skips fused)", network(folded)),
             (f"nncz network, {BATCH_ROWS:,}-row batches (as predict)",
              network(folded, BATCH_ROWS)),
             ("estimator.predict fp32, temperature (network + calibration + 9 products)",
              lambda: tempered.predict(frame)),
             ("estimator.predict fp32, PIT map (the default calibration)",
              lambda: estimator.predict(frame))]
    for precision in ("bf16", "int8"):
        paths.append((f"estimator.predict {precision}, PIT map",
                      lambda p=precision: estimator.predict(frame, precision=p)))
    results = []
    for name, function in paths:
        seconds, peak = interleaved(function)
        rate = rows / seconds
        results.append({"path": name, "threads": threads, "rate": rate,
                        "gflops": rate * flops / 1e9, "ratio": rate * flops / peak,
                        "peak": peak / 1e9})
    return results


def print_throughput(results: list[dict], rows: int) -> None:
    print(f"torch {torch.__version__}, {rows} galaxies, "
          f"{flops_per_sample(bench_estimator().members_[0]) / 1e6:.3f} MFLOP per galaxy "
          "(12 features -> 400 bins)")
    print(f"{'path':<76}{'threads':>8}{'galaxies/s':>12}{'GFLOP/s':>9}{'GEMM':>8}{'ratio':>7}")
    for r in results:
        print(f"{r['path']:<76}{r['threads']:>8}{r['rate']:>12,.0f}{r['gflops']:>9.1f}"
              f"{r['peak']:>8.1f}{r['ratio']:>7.2f}")


BOSS = HERE.parents[1] / "shared/data/sdss_boss_dr10/sdss_boss_dr10.csv"
DEFAULT_MODEL = HERE.parent / "runs/boss_bench"
TRAIN_HINT = (f"nncz --threads 1 train {BOSS} --where \"split=='train'\" --features "
              "mag_u,magerr_u,mag_g,magerr_g,mag_r,magerr_r,mag_i,magerr_i,mag_z,magerr_z "
              f"--max-epochs 60 --output {DEFAULT_MODEL}")


def accuracy(model_dir: Path, data: Path = BOSS) -> list[dict]:
    """sigma_NMAD, PIT KS, CRPS and galaxies/s of each precision on the test split of ``data``
    (every test row; a model trained on its train split, e.g. by ``nncz train --where``)."""
    from nncz.metrics import evaluate

    estimator = NNCEstimator.load(model_dir)
    test = pd.read_csv(data).query("split == 'test'")
    results = []
    for precision in ("fp32", "bf16", "int8"):
        estimator.predict(test.head(4096), precision=precision)  # warm-up
        start = time.perf_counter()
        products, pdf = estimator.predict(test, return_pdf=True, precision=precision)
        seconds = time.perf_counter() - start
        metrics = evaluate(products.z_phot_mean, test.z_spec, pdf, estimator.grid)
        results.append({"precision": precision, "rate": len(test) / seconds, **metrics})
    return results


def print_accuracy(results: list[dict], model_dir: Path) -> None:
    print(f"accuracy on the BOSS test split ({model_dir}):")
    fp32 = results[0]
    print(f"{'precision':<10}{'sigma_NMAD':>11}{'change':>8}{'PIT KS':>9}{'change':>8}"
          f"{'CRPS':>9}{'eta %':>7}")
    for r in results:
        print(f"{r['precision']:<10}{r['sigma_nmad']:>11.5f}"
              f"{r['sigma_nmad'] / fp32['sigma_nmad'] - 1:>+8.2%}{r['pit_ks']:>9.4f}"
              f"{r['pit_ks'] / fp32['pit_ks'] - 1:>+8.2%}{r['crps']:>9.5f}{r['eta']:>7.2f}")


def peak_rss_of_predict(rows: int, model_dir: Path, work: Path, extra: list[str],
                        env: dict | None = None, threads: int = 1) -> float:
    """Peak RSS (MB) of a `nncz predict` subprocess on a generated table of ``rows`` rows."""
    table_path = work / f"in_{rows}.parquet"
    if not table_path.exists():
        write_parquet_rows(table_path, rows)
    # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts at its parent's RSS at fork
    command = [sys.executable, "-c",
               "import sys; from nncz.cli import main; "
               f"code = main(['-q','--threads','{threads}','predict','{model_dir}','{table_path}',"
               f"'--output','{work}/out_{rows}.parquet','--overwrite'] + {extra!r}); "
               "print([l.split()[1] for l in open('/proc/self/status') if "
               "l.startswith('VmHWM')][0]); sys.exit(code)"]
    output = subprocess.run(command, capture_output=True, text=True, check=True,
                            env={**os.environ, **(env or {})}).stdout
    return int(output.strip().splitlines()[-1]) / 1024


def write_parquet_rows(path: Path, rows: int, block: int = 100_000) -> None:
    """A Parquet table of ``rows`` generated rows in row groups of ``block`` rows (the same at
    every size from 10^5 rows up: a reader holds one row group, so its size, not the row count,
    sets memory; with 200,000-row groups the 10^5-row file was one half-size group, and 10^6
    rows peaked ~10 MB higher than with 100,000-row groups, side by side)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, rows, block):
        part = pa.Table.from_pandas(table(min(block, rows - start), seed=start),
                                    preserve_index=False)
        writer = writer or pq.ParquetWriter(path, part.schema)
        writer.write_table(part)
    writer.close()


def memory(sizes: list[int], with_pdf: bool, chunk_rows: int | None = None,
           threads: int = 1) -> list[dict]:
    """Peak RSS of `nncz predict` at each size, in subprocesses; ``chunk_rows``: its
    ``--chunk-rows`` (None: the CLI's default); ``threads``: its ``--threads``."""
    results = []
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        bench_estimator().save(work / "model")
        for rows in sizes:
            extra = ["--pdf-output", f"{work}/pdf_{rows}.h5"] if with_pdf else []
            extra += ["--chunk-rows", str(chunk_rows)] if chunk_rows else []
            start = time.perf_counter()
            peak = peak_rss_of_predict(rows, work / "model", work, extra, threads=threads)
            results.append({"rows": rows, "peak_mb": peak, "pdf": with_pdf, "threads": threads,
                            "chunk_rows": chunk_rows, "seconds": time.perf_counter() - start})
            for name in (f"out_{rows}.parquet", f"pdf_{rows}.h5", f"in_{rows}.parquet"):
                (work / name).unlink(missing_ok=True)
    return results


def memory_report(sizes: list[int]) -> list[dict]:
    """Every memory variant of the table: default chunk, 200,000-row chunks (the default
    before issue 14), PDFs written; on one thread, then the plain and PDF runs again on every
    core (``nncz predict``'s default on an idle machine: worker threads hold batches too)."""
    small = [n for n in sizes if n <= 1_000_000]
    results = (memory(sizes, False) + memory(sizes, False, chunk_rows=200_000)
               + memory(small, True))
    cores = len(os.sched_getaffinity(0))
    if cores > 1:
        results += memory(sizes, False, threads=cores) + memory(small, True, threads=cores)
    return results


def print_memory(results: list[dict]) -> None:
    for r in results:
        print(f"nncz predict peak RSS at {r['rows']:>11,} rows, {_variant(r):<52}: "
              f"{r['peak_mb']:>6,.0f} MB ({r['seconds']:.0f} s)")


def _variant(r: dict) -> str:
    threads = r.get("threads", 1)
    return ("with --pdf-output" if r["pdf"] else "products only") + (
        f", --chunk-rows {r['chunk_rows']:,}" if r.get("chunk_rows") else ", default chunk") + (
        f", --threads {threads}" if threads != 1 else "")


def _vs_1e5(r: dict, results: list[dict]) -> str:
    """Peak of ``r`` over the 10^5-row peak of the same variant ('' when not measured)."""
    base = [b["peak_mb"] for b in results if b["rows"] == 100_000 and _variant(b) == _variant(r)]
    return f"{r['peak_mb'] / base[0]:.2f}" if base else ""


def machine() -> str:
    """CPU model, cores and load average: the machine each figure ran on."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (f"{model}, {len(os.sched_getaffinity(0))} cores, load average "
            f"{' '.join(load)} (shared with other jobs when above the core count)")


def readme_table(report: dict) -> str:
    """The Markdown of one ``--all`` run: every figure with its ratio and the machine."""
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {report['machine']};"
             f" torch {torch.__version__}, {report['rows']:,} galaxies, 12 features -> 400 "
             "bins; the GEMM on as many threads as the path.", "",
             "| inference path | threads | galaxies/s | GFLOP/s | GEMM GFLOP/s (same run) | "
             "of roofline |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['path']} | {r['threads']} | {r['rate']:,.0f} | {r['gflops']:.1f} | "
              f"{r['peak']:.1f} | {r['ratio']:.2f} |" for r in report["throughput"]]
    if "accuracy" in report:
        fp32 = report["accuracy"][0]
        lines += ["", "| precision (BOSS test split) | sigma_NMAD | vs fp32 | PIT KS | vs fp32 | "
                  "CRPS | galaxies/s |", "|---|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['precision']} | {r['sigma_nmad']:.5f} | "
                  f"{r['sigma_nmad'] / fp32['sigma_nmad'] - 1:+.2%} | {r['pit_ks']:.4f} | "
                  f"{r['pit_ks'] / fp32['pit_ks'] - 1:+.2%} | {r['crps']:.5f} | "
                  f"{r['rate']:,.0f} |" for r in report["accuracy"]]
    if "training" in report:
        lines += ["", "| training step, busy competitor | OMP_WAIT_POLICY | samples/s | "
                  "GEMM GFLOP/s | of roofline |", "|---|---|---:|---:|---:|"]
        lines += [f"| {r['threads']} thread(s) | {r['wait_policy']} | {r['rate']:,.0f} | "
                  f"{r['peak']:.1f} | {r['ratio']:.2f} |" for r in report["training"]]
    return "\n".join(lines)


def memory_table(results: list[dict]) -> str:
    """The Markdown of one memory run, with the machine it ran on."""
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()};"
             f" torch {torch.__version__}; one thread unless the line says otherwise.", "",
             "| `nncz predict` | rows | peak RSS MB | vs 1e5 rows |", "|---|---:|---:|---:|"]
    lines += [f"| {_variant(r)} | {r['rows']:,} | {r['peak_mb']:,.0f} | {_vs_1e5(r, results)} |"
              for r in results]
    return "\n".join(lines)


def write_block(name: str, text: str, path: Path = HERE / "README.md") -> None:
    """Replace the block ``name`` of ``path`` (between ``<!-- name:start -->`` and
    ``<!-- name:end -->``) with ``text``, atomically."""
    from nncz.paths import atomic_write

    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    old = path.read_text()
    if start not in old or end not in old:
        raise ValueError(f"{path}: markers {start} / {end} not found")
    head, rest = old.split(start, 1)
    new = f"{head}{start}\n{text}\n{end}{rest.split(end, 1)[1]}"
    atomic_write(path, lambda temp: temp.write_text(new))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--threads", default=None,
                        help="comma-separated thread counts of the throughput table (default: "
                        "1 and every core)")
    parser.add_argument("--memory", action="store_true",
                        help="only the peak RSS of nncz predict at --sizes")
    parser.add_argument("--sizes", default="10,100000,1000000,10000000",
                        help="row counts of --memory (10 rows: what importing and loading cost)")
    parser.add_argument("--accuracy", metavar="MODEL", help="model trained on the BOSS train "
                        "split: accuracy per precision (with --all: default runs/boss_bench)")
    parser.add_argument("--readme", action="store_true",
                        help="write this run's table (throughput and --accuracy, or --memory) "
                        "into benchmarks/README.md")
    parser.add_argument("--all", action="store_true",
                        help="everything, and rewrite the table in benchmarks/README.md")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    thread_counts = ([int(t) for t in args.threads.split(",")] if args.threads
                     else sorted({1, cores}))
    torch.set_num_threads(1)
    report = {"machine": machine(), "rows": args.rows}
    print(report["machine"])
    if args.memory and not args.all:  # memory alone: no throughput
        results = memory_report([int(s) for s in args.sizes.split(",")])
        print_memory(results)
        if args.readme:
            write_block("memory", memory_table(results))
        return
    report["throughput"] = []
    for threads in thread_counts:
        torch.set_num_threads(threads)
        report["throughput"] += throughput(args.rows, threads)
    torch.set_num_threads(1)
    print_throughput(report["throughput"], args.rows)
    model = args.accuracy or (str(DEFAULT_MODEL) if args.all else None)
    if model:
        if not Path(model).is_dir():
            raise SystemExit(f"{model}: no model; train one with: {TRAIN_HINT}")
        report["accuracy"] = accuracy(Path(model))
        print_accuracy(report["accuracy"], Path(model))
    if args.all:
        memory_results = memory_report([int(s) for s in args.sizes.split(",")])
        print_memory(memory_results)
        write_block("memory", memory_table(memory_results))
    if args.readme and not args.all:
        write_block("bench", readme_table(report))
    if args.all:
        from training import compare_wait, print_rates

        report["training"] = compare_wait(16384, 4096, 2)
        print_rates(report["training"])
        write_block("bench", readme_table(report))
    print(f"(this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          " MB)")


if __name__ == "__main__":
    main()
