"""Peers benchmark: nncz against RAIL's estimators, same data, same split, one table.

Run from the repository root with nncz's venv::

    bash benchmarks/peers/setup_rail.sh          # once: RAIL into benchmarks/peers/.venv-rail
    python benchmarks/peers/run.py --datasets dc2 boss mgs des

RAIL runs in its own venv as a subprocess (rail_side.py) that writes each estimator's PDFs as a
qp file; nncz's PDFs are written as a qp ``hist`` file by :mod:`nncz.pdfio`; every file is then
scored here by nncz's metric code on one fine grid per data set (peer_eval.py). The two
environments never mix: they exchange HDF5 tables, qp files and JSON only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from peer_data import (
    DC2_FILES,
    HERE,
    PeerDataset,
    find_dc2_dir,
    load_dataset,
    write_photometry,
)
from peer_eval import TABLE_COLUMNS, format_table, score_qp_file, to_markdown
from peer_nncz import CALIBRATIONS, run_nncz

from nncz.grid import RedshiftGrid

RAIL_VENV = HERE / ".venv-rail"
RAIL_ESTIMATORS = [
    "TrainZ",
    "KNN",
    "FlexZBoost",
    "GPz",
    "DNF",
    "CMNN",
    "SklNeurNet",
    "PZFlow",
    "BPZ",
]
# Per-estimator RAIL config used unless --rail-config says otherwise (stated in the table).
# PZFlow: RAIL chunks only input read from a file (rail_side.estimate_from_file); in one piece
# its posterior for the 20k DC2 test rows needed ~19 GB.
RAIL_EXTRA = {"PZFlow": {"chunk_size": 2000}}
RAIL_PACKAGE = {
    "TrainZ": "pz-rail-base",
    "KNN": "pz-rail-sklearn",
    "SklNeurNet": "pz-rail-sklearn",
    "FlexZBoost": "pz-rail-flexzboost",
    "GPz": "pz-rail-gpz-v1",
    "DNF": "pz-rail-dnf",
    "CMNN": "pz-rail-cmnn",
    "PZFlow": "pz-rail-pzflow",
    "BPZ": "pz-rail-bpz",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["dc2"], choices=["dc2", "boss", "mgs", "des"]
    )
    parser.add_argument(
        "--rail",
        nargs="*",
        default=RAIL_ESTIMATORS,
        help="RAIL estimators to run (none: nncz only)",
    )
    parser.add_argument(
        "--max-train",
        nargs="*",
        default=[],
        metavar="NAME=N",
        help="subsample the training set of a slow RAIL estimator",
    )
    parser.add_argument(
        "--rail-config",
        nargs="*",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="RAIL stage config for one estimator, VALUE as JSON (e.g. FlexZBoost.nbump=5)",
    )
    parser.add_argument(
        "--reuse-rail",
        action="store_true",
        help="reuse RAIL qp files of an earlier run in --out (no retraining)",
    )
    parser.add_argument("--no-nncz", action="store_true")
    parser.add_argument(
        "--reuse-nncz",
        action="store_true",
        help="score the nncz qp files of an earlier run in --out (no training)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/peers"))
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for every method")
    parser.add_argument(
        "--features",
        default="mags+colours+errs",
        help="nncz features: '+'-joined parts of mags, colours, errs",
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 256, 128, 64])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--max-epochs", type=int, default=300)
    parser.add_argument("--patience", type=int, default=25)
    parser.add_argument("--lr-patience", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ensemble", type=int, default=5, help="average of N nncz networks (5, as chosen)"
    )
    parser.add_argument(
        "--calibration",
        choices=CALIBRATIONS,
        default="pit",
        help="calibration of the main nncz row (default pit, as chosen; see peer_nncz.py)",
    )
    parser.add_argument(
        "--also",
        nargs="*",
        choices=CALIBRATIONS,
        default=["none", "crps"],
        help="extra nncz rows with these calibrations (same networks; default none crps)",
    )
    return parser.parse_args(argv)


def thread_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for key in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_MAX_THREADS",
    ):
        env[key] = str(threads)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=1"
    return env


def rail_extra(items: list[str]) -> dict[str, dict]:
    """RAIL_EXTRA updated by ``NAME.KEY=VALUE`` items (VALUE parsed as JSON, else a string)."""
    extra = {name: dict(config) for name, config in RAIL_EXTRA.items()}
    for item in items:
        target, sep, raw = item.partition("=")
        name, dot, key = target.partition(".")
        if not (sep and dot and key) or name not in RAIL_PACKAGE:
            raise SystemExit(
                f"--rail-config {item!r}: expected NAME.KEY=VALUE, NAME in {sorted(RAIL_PACKAGE)}"
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        extra.setdefault(name, {})[key] = value
    return extra


def installed_rail_packages() -> dict[str, str]:
    """``{package: 'ok' | 'failed: ...'}`` as written by setup_rail.sh."""
    status_file = RAIL_VENV / "install_status.txt"
    if not status_file.exists():
        return {}
    status = {}
    for line in status_file.read_text().splitlines():
        package, _, state = line.partition(" ")
        status[package] = state.strip()
    return status


def run_rail(ds: PeerDataset, args: argparse.Namespace, outdir: Path) -> dict[str, dict]:
    """Run the RAIL estimators in their venv; return rail_results.json (name -> status dict)."""
    results_path = outdir / "rail_results.json"
    if args.reuse_rail:
        found = sorted(outdir.glob("rail_results*.json"))  # parallel RAIL jobs write their own
        if found:
            merged = {}
            for path in found:
                merged.update(json.loads(path.read_text()))
            missing = {"status": "missing", "error": "no RAIL result (not run or not finished)"}
            return {name: merged.get(name, missing) for name in args.rail}
        return {
            name: {"status": "failed", "error": f"--reuse-rail: no {results_path}"}
            for name in args.rail
        }
    python = RAIL_VENV / "bin" / "python"
    if not python.exists():
        return {
            name: {
                "status": "failed",
                "error": f"no RAIL venv at {RAIL_VENV}; run benchmarks/peers/setup_rail.sh",
            }
            for name in args.rail
        }
    install = installed_rail_packages()
    results, names = {}, []
    for name in args.rail:
        package_state = install.get(RAIL_PACKAGE[name], "ok")
        if name in ds.rail_skip:
            results[name] = {"status": "skipped", "error": "not applicable to this data set"}
        elif package_state != "ok":
            results[name] = {"status": "failed", "error": f"{RAIL_PACKAGE[name]} {package_state}"}
        else:
            names.append(name)
    results_path.unlink(missing_ok=True)
    if names:
        if ds.name == "dc2":  # RAIL's own files, untouched
            folder = find_dc2_dir(RAIL_VENV)
            train_path, test_path = (folder / name for name in DC2_FILES)
        else:
            train_path = write_photometry(ds.train, outdir / "train.hdf5")
            test_path = write_photometry(ds.test, outdir / "test.hdf5")
        max_train = dict(item.split("=") for item in args.max_train)
        extra = rail_extra(args.rail_config)
        job = {
            "train": str(train_path.resolve()),  # rail_side.py works in another directory
            "test": str(test_path.resolve()),
            "outdir": str(outdir.resolve()),
            "estimators": names,
            "common": ds.rail_common(),
            "max_train": {k: int(v) for k, v in max_train.items()},
            "extra": {name: extra[name] for name in names if name in extra},
        }
        job_path = outdir / "rail_job.json"
        job_path.write_text(json.dumps(job, indent=1))
        print(f"[{ds.name}] RAIL: {', '.join(names)} (log: {outdir / 'rail.log'})", flush=True)
        with open(outdir / "rail.log", "w") as log:
            subprocess.run(
                [str(python), str(HERE / "rail_side.py"), str(job_path.resolve())],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=thread_env(args.threads),
                check=False,
            )
        if results_path.exists():
            results.update(json.loads(results_path.read_text()))
    for name in names:
        results.setdefault(name, {"status": "failed", "error": "RAIL subprocess died; see log"})
    results_path.write_text(json.dumps(results, indent=1))
    return results


def test_file(ds: PeerDataset, outdir: Path) -> Path:
    """The test set as RAIL reads it (RAIL's own file for DC2)."""
    if ds.name == "dc2":
        return find_dc2_dir(RAIL_VENV) / DC2_FILES[1]
    path = outdir / "test.hdf5"
    return path if path.exists() else write_photometry(ds.test, path)


def rail_reads_nncz(ds: PeerDataset, qp_file: str, outdir: Path) -> dict:
    """Score nncz's qp file with qp.metrics inside the RAIL venv (interoperability check)."""
    python = RAIL_VENV / "bin" / "python"
    if not python.exists():
        return {"error": "no RAIL venv"}
    command = [
        str(python),
        str(HERE / "rail_side.py"),
        "--check-qp",
        str(qp_file),
        str(test_file(ds, outdir)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("QPCHECK "):
            return json.loads(line.removeprefix("QPCHECK "))
    return {"error": (done.stderr or done.stdout)[-300:]}


def rows_for(ds: PeerDataset, name: str, result: dict, fine: RedshiftGrid) -> list[dict]:
    base = {
        "dataset": ds.name,
        "method": name,
        "n_test": len(ds.test),
        "train_s": result.get("train_s", np.nan),
        "predict_s": result.get("predict_s", np.nan),
        "n_train": result.get("n_train", np.nan),
    }
    if result.get("status") != "ok":
        return [
            {
                **base,
                "point": "-",
                "note": f"{result.get('status')}: {result.get('error', '')}"[:90],
            }
        ]
    rows = score_qp_file(result["qp_file"], fine, ds.test["redshift"].to_numpy())
    note = result.get("note", "")
    if result.get("config"):
        note = f"{note} config {json.dumps(result['config'], separators=(',', ':'))}".strip()
    if result["n_train"] < len(ds.train):
        note = f"subsampled train to {result['n_train']} {note}"
    return [{**base, **row, "note": note} for row in rows]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.nice(5)  # a shared machine: stay behind interactive work
    all_rows, notes = [], []
    for name in args.datasets:
        ds = load_dataset(name, RAIL_VENV)
        notes.extend(ds.notes)
        outdir = args.out / ds.name
        outdir.mkdir(parents=True, exist_ok=True)
        results = run_rail(ds, args, outdir) if args.rail and not args.reuse_rail else {}
        if args.reuse_nncz and (outdir / "nncz_result.json").exists():
            results = {**json.loads((outdir / "nncz_result.json").read_text()), **results}
        elif not args.no_nncz:
            print(f"[{ds.name}] nncz: training on {len(ds.train)} rows", flush=True)
            nncz_results = run_nncz(ds, args, outdir)
            (outdir / "nncz_result.json").write_text(
                json.dumps(nncz_results, indent=1, default=float)
            )
            results = {**nncz_results, **results}
        nncz_files = [r["qp_file"] for m, r in results.items() if m.startswith("nncz")]
        if nncz_files:
            check = rail_reads_nncz(ds, nncz_files[0], outdir)
            notes.append(
                f"{ds.name}: nncz's qp file read in the RAIL venv by qp.read; qp.metrics "
                f"PIT KS = {check.get('pit_ks', float('nan')):.4f}, CvM = "
                f"{check.get('pit_cvm', float('nan')):.3f} (from the "
                f"{check.get('parameterization')} ensemble itself; ancil {check.get('ancil')}) "
                f"{check.get('error', '')}"
            )
        if args.rail and args.reuse_rail:  # read after nncz: RAIL may still be writing
            results.update(run_rail(ds, args, outdir))
        for method, result in results.items():
            all_rows.extend(rows_for(ds, method, result, ds.fine_grid))
        print(f"[{ds.name}] scored on {ds.fine_grid}", flush=True)
    table = pd.DataFrame(all_rows).reindex(columns=TABLE_COLUMNS)
    table.to_csv(args.out / "peers_table.csv", index=False)
    (args.out / "peers_table.md").write_text(to_markdown(table) + "\n")
    print()
    print(format_table(table))
    print()
    print("Notes: metrics by nncz.metrics on each data set's fine grid from every method's PDF;")
    print("  eta in percent; point = PDF mean or PDF mode; mass_out = PDF mass outside the grid")
    print("  (dropped, rows renormalised); times are wall seconds on", args.threads, "threads.")
    for note in notes:
        print("  -", note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
