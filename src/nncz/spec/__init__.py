"""Spectroscopic training sample: SDSS DR19 + DESI DR1 selection and merge.

>>> spec, funnel = build_spec_sample(sdss_table, desi_table)   # doctest: +SKIP
>>> print(funnel)                                              # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nncz.funnel import Funnel
from nncz.spec.desi import select_desi
from nncz.spec.merge import SPEC_COLUMNS, merge_spec
from nncz.spec.sdss import select_sdss

__all__ = ["SPEC_COLUMNS", "build_spec_sample", "select_sdss", "select_desi", "merge_spec"]


def build_spec_sample(sdss: pd.DataFrame | str | Path | None = None,
                      desi: pd.DataFrame | str | Path | None = None,
                      deltachi2_min: float = 25.0, zerr_max: float = 0.001,
                      radius_arcsec: float = 1.0, dz_max: float = 0.005
                      ) -> tuple[pd.DataFrame, Funnel]:
    """Select and merge the SDSS and DESI redshifts.

    Parameters
    ----------
    sdss, desi : DataFrame or path, optional
        SDSS ``specObj`` and DESI redshift-catalogue tables (files follow docs/SCHEMAS.md). At
        least one is needed.
    deltachi2_min : float
        DESI DELTACHI2 threshold.
    zerr_max : float
        Largest redshift error kept, both surveys.
    radius_arcsec : float
        SDSS x DESI match radius [arcsec].
    dz_max : float
        SDSS-DESI pairs whose redshifts differ by more are dropped.

    Returns
    -------
    (DataFrame, Funnel)
        The merged sample (columns :data:`SPEC_COLUMNS`) and the record of every cut.
    """
    from nncz.spec.desi import DESI_COLUMNS, REQUIRED_FLUX_BANDS
    from nncz.spec.sdss import SDSS_COLUMNS
    from nncz.surveys.prepare import read_photometry

    if sdss is None and desi is None:
        raise ValueError("build_spec_sample needs an SDSS and/or a DESI table")
    funnel = Funnel("spec")
    empty = pd.DataFrame(columns=list(SPEC_COLUMNS))
    parts = {"SDSS": empty, "DESI": empty}
    if sdss is not None:
        table, source = read_photometry(sdss, "sdss", SDSS_COLUMNS, "the SDSS selection")
        parts["SDSS"] = select_sdss(table, zerr_max, funnel, source)
    if desi is not None:
        flux = [f"FLUX{i}_{b}" for b in REQUIRED_FLUX_BANDS for i in ("", "_IVAR")]
        table, source = read_photometry(desi, "desi", [*DESI_COLUMNS, *flux],
                                        "the DESI selection")
        parts["DESI"] = select_desi(table, deltachi2_min, zerr_max, funnel, source)
    if sdss is not None and desi is not None:
        spec = merge_spec(parts["SDSS"], parts["DESI"], radius_arcsec, dz_max, funnel)
    else:
        spec = pd.concat([p for p in parts.values() if len(p)] or [empty], ignore_index=True)
        spec = spec[list(SPEC_COLUMNS)]
    counts = spec["survey"].value_counts().to_dict() if len(spec) else {}
    funnel.notes["survey_counts"] = {k: int(v) for k, v in counts.items()}
    if len(spec):
        desi_cls = spec.loc[spec["desi_class"] != "", "desi_class"].value_counts().to_dict()
        funnel.notes["desi_class_counts"] = {k: int(v) for k, v in desi_cls.items()}
    return spec, funnel
