"""Shared workspace and helpers of the adversarial suite (no tests here).

The workspace (tiny tables in every format, one tiny trained model, its predictions and PDFs, a
3000-galaxy mock, a spectroscopic sample, two tiny catalog level models and a small sky) is
built once per test session and only read by the tests; every test writes under its own
``tmp_path``. :func:`cli` runs ``nncz`` in this process with one torch thread and captures its
output; :func:`assert_error` checks the one-line error contract; :func:`snapshot` hashes files
so a test can assert that no input and no earlier output changed.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import os
import shutil
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

FEATURES = ["mag_g", "mag_r", "mag_i", "magerr_g", "magerr_r", "magerr_i"]
FORMATS = (".parquet", ".csv", ".fits", ".h5")
TRAIN_OPTIONS = ["--max-epochs", "2", "--hidden", "16,16", "--nbins", "40", "--batch-size", "64",
                 "--zmax", "1.5"]


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli(*args, quiet: bool = True, threads: str = "1") -> Result:
    """Run ``nncz [-q] --threads 1 ARGS`` in this process; capture stdout and stderr."""
    from nncz.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = (["-q"] if quiet else []) + ["--threads", threads, *map(str, args)]
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return Result(code, out.getvalue(), err.getvalue())


def assert_error(result: Result, code: int, verb: str | None, *fragments: str) -> str:
    """Exit ``code``, exactly one ``nncz VERB: error: ...`` line holding every fragment."""
    assert result.code == code, f"exit {result.code} != {code}; stderr: {result.err}"
    assert "Traceback" not in result.err, result.err
    errors = [line for line in result.err.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.err
    prefix = f"nncz {verb}: error:" if verb else "nncz: error:"
    assert errors[0].startswith(prefix), errors[0]
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
    return errors[0]


def warnings_of(result: Result) -> list[str]:
    return [line for line in result.err.splitlines() if ": warning:" in line]


def snapshot(*paths: str | Path) -> dict[str, str]:
    """SHA-256 of every file at or under ``paths`` (missing paths are recorded as such)."""
    digests = {}
    for root in map(Path, paths):
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            digests[str(file)] = (hashlib.sha256(file.read_bytes()).hexdigest()
                                  if file.exists() else "missing")
    return digests


def leftovers(folder: str | Path) -> list[str]:
    """Temporary files an interrupted write would leave (``.NAME.*.tmp`` / ``.partial``)."""
    return [p.name for pattern in (".*.tmp", ".*.partial") for p in Path(folder).rglob(pattern)]


def tiny_catalog(n: int, seed: int = 0) -> pd.DataFrame:
    """Magnitudes whose colours follow redshift, with errors (the shape of tests/conftest)."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.2, n)
    base = rng.uniform(18.0, 22.0, n)
    table = {"z_spec": z}
    for k, band in enumerate("ugriz"):
        err = 0.02 + 0.01 * rng.random(n)
        table[f"mag_{band}"] = base + 1.5 * np.sin(2.0 * z + 0.6 * k) + 0.8 * k * z \
            + err * rng.standard_normal(n)
        table[f"magerr_{band}"] = err
    return pd.DataFrame(table)


_WORKSPACE: dict[str, Path] = {}


def workspace() -> dict[str, Path]:
    """Build the shared read-only workspace once per process (see the module docstring)."""
    if _WORKSPACE:
        return _WORKSPACE
    from nncz.io import write_table

    root = Path(tempfile.mkdtemp(prefix="nncz_adversarial_"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    ws = {"root": root}
    table = tiny_catalog(300, seed=3)
    for suffix in FORMATS:
        write_table(table, root / f"train{suffix}")
        write_table(table.iloc[:0], root / f"empty{suffix}")
        write_table(table.iloc[:1], root / f"one{suffix}")
    _bad_files(root, table)
    result = cli("train", root / "train.parquet", "--features", ",".join(FEATURES),
                 "--output", root / "model", *TRAIN_OPTIONS)
    assert result.code == 0, result.err
    result = cli("predict", root / "model", root / "train.parquet", "--output",
                 root / "pred.parquet", "--keep", "z_spec,mag_r", "--pdf-output", root / "pdf.h5")
    assert result.code == 0, result.err
    _catalog_inputs(root)
    assert cli("mock", root / "mock", "--n-galaxies", "3000", "--formats", "parquet",
               "--no-progress").code == 0
    result = cli("spec", "--input-dir", root / "mock", "-o", root / "spec.parquet")
    assert result.code == 0, result.err
    ws.update({k: root / v for k, v in {
        "model": "model", "pred": "pred.parquet", "pdf": "pdf.h5", "mock": "mock",
        "spec": "spec.parquet", "catalog_yaml": "catalog.yaml", "sky": "sky"}.items()})
    _WORKSPACE.update(ws)
    return _WORKSPACE


def _bad_files(root: Path, table: pd.DataFrame) -> None:
    from astropy.io import fits

    fits.PrimaryHDU(np.zeros((4, 4))).writeto(root / "image.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((3, 3)))]).writeto(
        root / "image_ext.fits")
    (root / "garbage.parquet").write_bytes(os.urandom(2048))
    (root / "garbage.fits").write_bytes(b"SIMPLE  = nonsense" * 40)
    (root / "garbage.h5").write_bytes(os.urandom(1024))
    (root / "zero_bytes.csv").write_bytes(b"")
    (root / "zero_bytes.parquet").write_bytes(b"")
    text = table.copy()
    text["mag_g"] = "bright"
    text.to_csv(root / "text_feature.csv", index=False)
    (root / "not_utf8.csv").write_bytes(b"mag_g,mag_r\n\xff\xfe\x00,1\n")
    ragged = "mag_g,mag_r\n1,2\n3,4,5,6\n"
    (root / "ragged.csv").write_text(ragged)
    (root / "dir.csv").mkdir()
    import h5py

    with h5py.File(root / "no_table.h5", "w") as handle:
        handle.create_dataset("image", data=np.zeros((3, 3)))


def _catalog_inputs(root: Path) -> None:
    """Two level models (1: LSDR10-like f_*, 5: PS1-like p_*) and a small prebuilt sky."""
    from test_catalog_common import random_sky

    base = tiny_catalog(400, seed=7)
    renames = {1: {"mag_g": "f_g", "mag_r": "f_r", "mag_z": "f_z"},
               5: {"mag_g": "p_g", "mag_r": "p_r", "mag_i": "p_i"}}
    for level, names in renames.items():
        base.rename(columns=names).to_parquet(root / f"level{level}.parquet")
        result = cli("train", root / f"level{level}.parquet", "--features",
                     ",".join(names.values()), "--output", root / "levels" / f"l{level}",
                     *TRAIN_OPTIONS)
        assert result.code == 0, result.err
    (root / "catalog.yaml").write_text(
        "levels:\n  1: {model: levels/l1}\n  5: {model: levels/l5}\nfeatures: prebuilt\n"
        "pdf_bins: 20\n")
    ls, ps1, wise = random_sky(n_ls=300, n_ps1_only=120, seed=4)
    dup = ps1.iloc[::6].copy()  # duplicate detections at the same position, other objIDs
    dup["objID"] += 10**8
    ps1 = pd.concat([ps1, dup]).sample(frac=1.0, random_state=5).reset_index(drop=True)
    (root / "sky").mkdir()
    ls.to_parquet(root / "sky" / "ls.parquet")
    ps1.to_parquet(root / "sky" / "ps1.parquet")
    wise.to_parquet(root / "sky" / "unwise.parquet")


def catalog_args(ws: dict[str, Path], out: Path, *extra: str) -> list:
    sky = ws["sky"]
    return ["catalog", ws["catalog_yaml"], out, "--ls", sky / "ls.parquet", "--ps1",
            sky / "ps1.parquet", "--unwise", sky / "unwise.parquet", "--formats", "parquet",
            "--no-progress", *extra]
