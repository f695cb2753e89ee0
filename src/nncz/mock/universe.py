"""Generate a whole mock universe in chunks and write it with the archives' schemas."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.mock import footprints as fp
from nncz.mock import population as pop
from nncz.mock.desi import TARGETID0, desi_zcat
from nncz.mock.observe import observe_ls
from nncz.mock.ps1wise import observe_ps1, observe_unwise
from nncz.mock.sdss import SPECOBJID0, sdss_specobj
from nncz.surveys.dust import sfd_ebv
from nncz.tablestream import TableStream

#: FITS widths [characters] of the mock's string columns (longer values are an error)
STRING_WIDTHS = {"type": 3, "photsys": 1, "unwise_objid": 17, "SPECTYPE": 6, "MORPHTYPE": 3,
                 "class": 6, "classNoqso": 6, "survey": 5, "programname": 8,
                 "obj_class": 6, "sed_type": 12}
TABLES = ("ls_dr10", "ps1_dr2", "unwise", "desi_dr1_zcat", "sdss_specobj", "truth")
TRUTH_COLUMNS = ("truth_id", "ra", "dec", "z_true", "obj_class", "sed_type", "log_mstar",
                 "is_elg_like", "ls_id", "objID", "unwise_objid", "TARGETID", "specObjID",
                 "mag_i_true", "r_half_arcsec", "ebv_int", "ew_oii", "ebv_sfd")


@dataclass
class MockConfig:
    """Mock-universe parameters.

    Attributes
    ----------
    n_galaxies : galaxies brighter than ``i_max`` (DECam i, true, no extinction), whole sky
    seed : master seed (results depend on ``seed`` and ``chunk_size``)
    i_max : faint limit of the galaxy population [AB]
    star_fraction, qso_fraction : stars / QSOs per galaxy
    chunk_size : galaxies per chunk (memory ~ 1.5 kB per source)
    desi_completeness : fraction of DESI targets in the DR1 footprint that get a spectrum
    spec_sky_boost : fraction of all sources placed inside the DESI DR1 + SDSS footprints (the
        rest uniformly over the sky); 0 gives a uniform sky. The default 0.8 makes the
        spectroscopic samples ~2.5x denser relative to the photometry than on a uniform sky.
    """

    n_galaxies: int = 100_000
    seed: int = 0
    i_max: float = 24.0
    star_fraction: float = 0.15
    qso_fraction: float = 0.004
    chunk_size: int = 200_000
    desi_completeness: float = 1.0
    spec_sky_boost: float = 0.8


def _in_spec(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    return fp.in_desi_dr1(ra, dec) | fp.in_sdss(ra, dec)


def _place(rng: np.random.Generator, n: int, sampler, boost: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Positions: a fraction ``boost`` inside the spectroscopic footprints, the rest anywhere."""
    n_in = rng.binomial(n, boost) if n else 0
    ra, dec = sampler(rng, n - n_in)
    ras, decs, got = [ra], [dec], 0
    while got < n_in:
        r, d = sampler(rng, 4 * (n_in - got) + 16)
        keep = np.flatnonzero(_in_spec(r, d))[: n_in - got]
        ras.append(r[keep])
        decs.append(d[keep])
        got += len(keep)
    ra, dec = np.concatenate(ras), np.concatenate(decs)
    order = rng.permutation(n)
    return ra[order], dec[order]


def _sources(rng: np.random.Generator, cfg: MockConfig, n_gal: int) -> pop.Sources:
    gal = pop.make_galaxies(rng, n_gal, i_max=cfg.i_max)
    boost = cfg.spec_sky_boost
    gal.table["ra"], gal.table["dec"] = _place(rng, n_gal, fp.uniform_sky, boost)
    n_star = int(round(cfg.star_fraction * n_gal))
    star = pop.make_stars(rng, n_star)
    star.table["ra"], star.table["dec"] = _place(rng, n_star, fp.star_sky, boost)
    n_qso = int(round(cfg.qso_fraction * n_gal))
    qso = pop.make_qsos(rng, n_qso)
    qso.table["ra"], qso.table["dec"] = _place(rng, n_qso, fp.uniform_sky, boost)
    parts = [s for s in (gal, star, qso) if len(s)]
    table = pd.concat([p.table for p in parts], ignore_index=True)
    table["is_red"] = table["is_red"].astype("boolean").fillna(False).astype(bool)
    table["is_elg_like"] = table["is_elg_like"].astype("boolean").fillna(False).astype(bool)
    return pop.Sources(table, np.concatenate([p.maggies for p in parts]))


def make_chunk(rng: np.random.Generator, cfg: MockConfig, n_gal: int,
               counters: dict[str, int]) -> dict[str, pd.DataFrame]:
    """Generate one chunk of sources and all the catalogues observed from it.

    ``counters`` holds the running row counts per table (for unique ids); it is updated.
    """
    src = _sources(rng, cfg, n_gal)
    t, mg = src.table, src.maggies
    n = len(t)
    ra, dec = t["ra"].to_numpy(), t["dec"].to_numpy()
    ebv = np.nan_to_num(sfd_ebv(ra, dec), nan=0.0)
    t["truth_id"] = counters["truth"] + np.arange(n, dtype=np.int64)
    ls, ls_rows = observe_ls(rng, t, mg, ebv, counters["ls_dr10"])
    ps1, ps1_rows = observe_ps1(rng, t, mg, ebv, counters["ps1_dr2"])
    wise, wise_rows = observe_unwise(rng, t, mg, ebv, counters["unwise"])
    zcat, take = desi_zcat(rng, ls, t.iloc[ls_rows].reset_index(drop=True),
                           cfg.desi_completeness)
    zcat["TARGETID"] = TARGETID0 + counters["desi_dr1_zcat"] + np.arange(len(zcat))
    spec, spec_rows = sdss_specobj(rng, t, mg)
    spec["specObjID"] = SPECOBJID0 + counters["sdss_specobj"] + np.arange(len(spec))
    truth = _truth(t, mg, ebv, ls, ls_rows, ps1, ps1_rows, wise, wise_rows, zcat,
                   ls_rows[take], spec, spec_rows)
    out = {"ls_dr10": ls, "ps1_dr2": ps1, "unwise": wise, "desi_dr1_zcat": zcat,
           "sdss_specobj": spec, "truth": truth}
    for name, df in out.items():
        counters[name] += len(df)
    return out


def _link(n: int, rows: np.ndarray, values: np.ndarray, keep: np.ndarray | None,
          fill) -> np.ndarray:
    out = np.full(n, fill, dtype=object if isinstance(fill, str) else np.int64)
    sel = np.ones(len(rows), bool) if keep is None else keep
    out[rows[sel]] = values[sel]
    return out


def _truth(t, mg, ebv, ls, ls_rows, ps1, ps1_rows, wise, wise_rows, zcat, desi_rows, spec,
           spec_rows) -> pd.DataFrame:
    from nncz.mock.photometry import BAND_INDEX

    n = len(t)
    truth = pd.DataFrame({
        "truth_id": t["truth_id"].to_numpy(), "ra": t["ra"].to_numpy(),
        "dec": t["dec"].to_numpy(), "z_true": t["z_true"].to_numpy(),
        "obj_class": t["obj_class"].to_numpy(), "sed_type": t["sed_type"].to_numpy(),
        "log_mstar": t["log_mstar"].to_numpy(np.float32, na_value=np.nan),
        "is_elg_like": t["is_elg_like"].to_numpy(bool),
        "ls_id": _link(n, ls_rows, ls["ls_id"].to_numpy(), ls["brick_primary"].to_numpy(), -1),
        "objID": _link(n, ps1_rows, ps1["objID"].to_numpy(),
                       ps1["primaryDetection"].to_numpy() == 1, -1),
        "unwise_objid": _link(n, wise_rows, wise["unwise_objid"].to_numpy(), None, ""),
        "TARGETID": _link(n, desi_rows, zcat["TARGETID"].to_numpy(), None, -1),
        "specObjID": _link(n, spec_rows, spec["specObjID"].to_numpy(), None, -1),
        "mag_i_true": (-2.5 * np.log10(mg[:, BAND_INDEX["i_S"]])).astype(np.float32),
        "r_half_arcsec": t["r_half_arcsec"].to_numpy(np.float32),
        "ebv_int": t["ebv_int"].to_numpy(np.float32, na_value=np.nan),
        "ew_oii": t["ew_oii"].to_numpy(np.float32, na_value=np.nan),
        "ebv_sfd": ebv.astype(np.float32),
    })
    return truth


def make_universe(out_dir: str | Path, n_galaxies: int = 100_000, seed: int = 0,
                  formats: Sequence[str] = ("parquet", "fits"), progress: bool = True,
                  **options) -> dict[str, list[Path]]:
    """Generate a mock universe and write its catalogues to ``out_dir``.

    Parameters
    ----------
    out_dir : output folder (created)
    n_galaxies : number of galaxies (plus stars and QSOs, see :class:`MockConfig`)
    seed : master seed; the output is deterministic for a given seed and chunk size
    formats : any of "parquet", "fits"
    progress : show a tqdm bar
    **options : other :class:`MockConfig` fields

    Returns
    -------
    dict table name -> written paths (``ls_dr10``, ``ps1_dr2``, ``unwise``, ``desi_dr1_zcat``,
    ``sdss_specobj``, ``truth``; schemas in docs/SCHEMAS.md).
    """
    from tqdm.auto import tqdm

    cfg = MockConfig(n_galaxies=n_galaxies, seed=seed, **options)
    bad = set(formats) - {"parquet", "fits"}
    if bad or not formats:
        raise ValueError(f"formats must be among ('parquet', 'fits'), got {tuple(formats)}")
    out_dir = Path(out_dir)
    meta = {"generator": "nncz.mock", **asdict(cfg)}
    streams = {(name, f): TableStream(out_dir / f"{name}.{f}", meta, STRING_WIDTHS)
               for name in TABLES for f in formats}
    counters = dict.fromkeys((*TABLES, "truth"), 0)
    sizes = [min(cfg.chunk_size, n_galaxies - s) for s in range(0, n_galaxies, cfg.chunk_size)]
    t0 = time.perf_counter()
    try:
        for k, n_gal in enumerate(tqdm(sizes, desc="mock chunks", disable=not progress)):
            rng = np.random.default_rng([cfg.seed, k])
            for name, df in make_chunk(rng, cfg, n_gal, counters).items():
                for f in formats:
                    streams[(name, f)].append(df)
        paths: dict[str, list[Path]] = {name: [] for name in TABLES}
        for (name, _), s in streams.items():
            paths[name].append(s.close())
    except BaseException:
        for s in streams.values():
            s.abort()
        raise
    if progress:
        print(f"nncz mock: {n_galaxies} galaxies in {time.perf_counter() - t0:.1f} s; rows: "
              + ", ".join(f"{k} {v}" for k, v in counters.items() if k != "truth"))
    return paths
