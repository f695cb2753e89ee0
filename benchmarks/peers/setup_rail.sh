#!/usr/bin/env bash
# Install LSST DESC RAIL into its own virtual environment, benchmarks/peers/.venv-rail, from PyPI.
# RAIL pulls jax/xgboost builds of its own: they live only in that venv, never in nncz's.
# Each package is installed on its own; a failure is recorded in .venv-rail/install_status.txt
# ("<package> ok" or "<package> failed: <reason>") and the others go on. run.py reads that file.
#
# Usage: bash benchmarks/peers/setup_rail.sh [python3.11]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-rail"
python="${1:-python3.11}"
packages=(pz-rail-base pz-rail-flexzboost pz-rail-gpz-v1 pz-rail-dnf pz-rail-cmnn
          pz-rail-sklearn pz-rail-pzflow pz-rail-bpz)

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || { echo "cannot create $venv with $python" >&2; exit 1; }
    "$venv/bin/python" -m pip install -q --upgrade pip wheel
fi
status="$venv/install_status.txt"
: > "$status"
for package in "${packages[@]}"; do
    echo "== $package"
    if log=$(nice -n 10 "$venv/bin/python" -m pip install -q "$package" 2>&1); then
        echo "$package ok" >> "$status"
    else
        reason=$(echo "$log" | grep -E "ERROR" | tail -1 | tr -s ' ' | cut -c1-150)
        echo "$package failed: ${reason:-pip exit code non-zero}" >> "$status"
        echo "$log" | tail -5 >&2
    fi
done
# An import check: a package can install and still not import (missing compiled extension).
"$venv/bin/python" - "$status" <<'EOF'
import importlib, sys
checks = {"pz-rail-base": "rail.estimation.algos.train_z",
          "pz-rail-flexzboost": "rail.estimation.algos.flexzboost",
          "pz-rail-gpz-v1": "rail.estimation.algos.gpz", "pz-rail-dnf": "rail.estimation.algos.dnf",
          "pz-rail-cmnn": "rail.estimation.algos.cmnn",
          "pz-rail-sklearn": "rail.estimation.algos.k_nearneigh",
          "pz-rail-pzflow": "rail.estimation.algos.pzflow_nf",
          "pz-rail-bpz": "rail.estimation.algos.bpz_lite"}
path = sys.argv[1]
lines = []
for line in open(path).read().splitlines():
    package, _, state = line.partition(" ")
    if state == "ok":
        try:
            importlib.import_module(checks[package])
        except Exception as error:  # noqa: BLE001
            state = f"failed: import {checks[package]}: {type(error).__name__}: {error}"[:200]
    lines.append(f"{package} {state}")
open(path, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
