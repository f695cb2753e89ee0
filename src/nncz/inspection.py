"""Which survey and layout a table file is, and what it can feed (``nncz inspect FILE ...``).

For each file (or directory / glob of files): the survey and archive layout recognised (with the
data-model page it follows), the number of rows, the built-in feature sets and catalog levels
the file can feed (alone or with which other survey), and for the others what is missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["inspect_file", "format_report"]


def _n_rows(path: Path) -> int:
    from nncz.io import read_table, table_format

    fmt = table_format(path)
    if fmt == "fits":
        from astropy.io import fits

        with fits.open(path, memmap=True) as hdul:
            hdu = next(h for h in hdul[1:] if isinstance(h, fits.BinTableHDU | fits.TableHDU))
            return int(hdu.header["NAXIS2"])
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    return len(read_table(path))


def _i_observed(path: Path, present: list[str]) -> bool | None:
    """Whether any row has flux_ivar_i > 0 (None: the file has no i-band column)."""
    name = next((c for c in present if c.lower() == "flux_ivar_i"), None)
    if name is None:
        return None
    from nncz.io import read_table

    values = pd.to_numeric(read_table(path, columns=[name])[name], errors="coerce")
    return bool(np.nan_to_num(values.to_numpy(dtype=float)).max(initial=0.0) > 0)


def _required(survey: str) -> list[str]:
    from nncz.spec.desi import DESI_COLUMNS, REQUIRED_FLUX_BANDS
    from nncz.spec.sdss import SDSS_COLUMNS
    from nncz.surveys import lsdr10, ps1, unwise

    if survey == "lsdr10":
        return lsdr10.required_columns()
    if survey == "ps1":
        return ps1.required_columns()
    if survey == "unwise":
        return unwise.required_columns()
    if survey == "desi":
        return [*DESI_COLUMNS, *(f"FLUX{i}_{b}" for b in REQUIRED_FLUX_BANDS
                                 for i in ("", "_IVAR"))]
    return list(SDSS_COLUMNS)


def _dust_missing(columns: set[str]) -> list[str]:
    trans = [f"mw_transmission_{b}" for b in ("g", "r", "i", "z", "w1", "w2")]
    return [] if "ebv" in columns or all(t in columns for t in trans) else ["ebv", *trans]


def _uses(survey: str, missing: list[str], i_obs: bool | None) -> list[dict]:
    """Feature sets and catalog levels: fed alone / with other surveys / blocked (why)."""
    from nncz.catalog.config import LEVELS
    from nncz.surveys import builtin_feature_sets

    key = {"lsdr10": "ls", "ps1": "ps1", "unwise": "unwise"}.get(survey)
    rows = []
    for name, fs in builtin_feature_sets().items():
        cats = [fs.primary, *fs.extra]
        cats = ["ps1" if c == "ps1_i" else c for c in cats]
        if survey not in cats:
            continue
        why = list(missing)
        if survey == "lsdr10" and "i" in fs.ls_bands and not i_obs:
            why.append("an observed i band (DR8/DR9 files and the north have none)")
        others = sorted(set(cats) - {survey})
        rows.append({"use": f"feature set {name}", "ok": not why, "with": others,
                     "missing": why})
    for level, ldef in LEVELS.items():
        if key not in ldef.needs:
            continue
        why = list(missing)
        if survey == "lsdr10" and level == 1 and not i_obs:
            why.append("an observed i band (DR8/DR9 files and the north have none)")
        others = sorted({"ls": "lsdr10"}.get(s, s) for s in ldef.needs if s != key)
        rows.append({"use": f"catalog level {level} ({ldef.description})", "ok": not why,
                     "with": others, "missing": why})
    if survey in ("desi", "sdss"):
        rows.append({"use": f"nncz spec --{survey}", "ok": not missing, "with": [],
                     "missing": list(missing)})
    return rows


def inspect_file(path: str | Path) -> dict:
    """Survey, layout, rows and uses of one table file (see the module docstring)."""
    from nncz.surveys.layouts import LayoutError, detect_layout
    from nncz.surveys.normalise import normalise
    from nncz.surveys.read import file_columns

    path = Path(path)
    present = file_columns(path)
    report: dict = {"file": str(path), "n_columns": len(present)}
    try:
        layout = detect_layout(present, None, str(path))
    except LayoutError as err:
        report.update(survey=None, layout=None, error=str(err))
        return report
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in present})
    canonical, _ = normalise(empty, layout.survey, str(path), layout)
    columns = set(canonical.columns)
    missing = [c for c in _required(layout.survey) if c not in columns]
    if layout.key == "unwise_band":  # one band per file: W1 and W2 files are paired on read
        missing = []
        report["note"] = "single-band file: give the W1 (.1.cat) and W2 (.2.cat) files together"
    if layout.survey == "lsdr10":
        missing += _dust_missing(columns)
    i_obs = _i_observed(path, present) if layout.survey == "lsdr10" else None
    report.update(survey=layout.survey, layout=layout.name, layout_key=layout.key,
                  data_model=layout.doc, n_rows=_n_rows(path), i_band_observed=i_obs,
                  missing=missing, uses=_uses(layout.survey, missing, i_obs))
    return report


def format_report(report: dict) -> str:
    """Human-readable text of :func:`inspect_file`'s report."""
    from nncz.surveys.layouts import SURVEY_NAMES

    if report.get("survey") is None:
        return f"{report['file']}: {report.get('error', 'not recognised')}"
    lines = [f"{report['file']}: {SURVEY_NAMES[report['survey']]} ({report['survey']}), "
             f"{report['n_rows']:,} rows, {report['n_columns']} columns",
             f"  layout: {report['layout']}", f"  data model: {report['data_model']}"]
    if report["i_band_observed"] is not None or report["survey"] == "lsdr10":
        i_obs = report["i_band_observed"]
        lines.append("  i band: " + ("observed in some rows" if i_obs else
                                     "columns present, never observed" if i_obs is False
                                     else "no i-band columns (the DR8/DR9 layout)"))
    if report["missing"]:
        lines.append(f"  missing for its stage: {report['missing']}")
    if report.get("note"):
        lines.append(f"  note: {report['note']}")
    for use in report["uses"]:
        with_ = f" (with a {' + '.join(use['with'])} file)" if use["with"] else ""
        state = "yes" + with_ if use["ok"] else "no: needs " + "; ".join(map(str, use["missing"]))
        lines.append(f"  {use['use']}: {state}")
    return "\n".join(lines)
