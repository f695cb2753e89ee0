"""``nncz spec``: select and merge the SDSS DR19 and DESI DR1 redshifts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nncz.cli.argtypes import nonnegative_float, positive_float
from nncz.cli.options import CommonOptions, Verb, option

__all__ = ["SpecOptions", "VERBS"]


@dataclass(frozen=True)
class SpecOptions:
    """Options of ``nncz spec``; the cuts are the keywords of
    :func:`nncz.spec.build_spec_sample`."""

    output: str = option(None, "-o", "--output", required=True,
                         help="output table (.parquet/.fits/...)")
    sdss: str | None = option(None, "--sdss",
                              help="SDSS specObj table (specObj-dr19.fits or a CAS query)")
    desi: str | None = option(None, "--desi",
                              help="DESI DR1 redshift catalogue (zall-pix or zpix file)")
    input_dir: str | None = option(
        None, "--input-dir", help="directory holding sdss_specobj.* and desi_dr1_zcat.* (e.g. "
        "the output of `nncz mock`)")
    deltachi2_min: float = option(25.0, "--deltachi2-min", type=nonnegative_float,
                                  help="DESI DELTACHI2 > this")
    zerr_max: float = option(0.001, "--zerr-max", type=positive_float,
                             help="redshift error < this")
    dz_max: float = option(0.005, "--dz-max", type=positive_float,
                           help="drop SDSS-DESI pairs whose redshifts differ by more")
    radius: float = option(1.0, "--radius", type=positive_float,
                           help="SDSS x DESI radius [arcsec]")
    funnel: str | None = option(None, "--funnel",
                                help="funnel JSON path (default: OUTPUT + .funnel.json)")
    overwrite: bool = option(False, "--overwrite", action="store_true",
                             help="replace existing OUTPUT / funnel files (default: refuse)")


def run(options: SpecOptions, common: CommonOptions) -> int:
    """Build the spectroscopic sample; write it and its funnel; print the funnel."""
    from nncz.datasets import find_input
    from nncz.io import UsageError, check_outputs, write_table
    from nncz.spec import build_spec_sample

    if options.input_dir and not Path(options.input_dir).is_dir():
        raise FileNotFoundError(2, "no such directory (--input-dir)", str(options.input_dir))
    sdss = options.sdss or find_input(options.input_dir, "sdss")
    desi = options.desi or find_input(options.input_dir, "desi")
    if sdss is None and desi is None:
        raise UsageError("give --sdss and/or --desi, or an --input-dir holding "
                         "sdss_specobj.* / desi_dr1_zcat.*")
    funnel_out = options.funnel or str(options.output) + ".funnel.json"
    check_outputs([sdss, desi], [options.output, funnel_out], options.overwrite)
    spec, funnel = build_spec_sample(sdss, desi, deltachi2_min=options.deltachi2_min,
                                     zerr_max=options.zerr_max, radius_arcsec=options.radius,
                                     dz_max=options.dz_max)
    out = write_table(spec, options.output, meta={"stage": "nncz spec", "sdss": str(sdss),
                                                  "desi": str(desi)})
    funnel_path = Path(options.funnel) if options.funnel else Path(str(out) + ".funnel.json")
    funnel.to_json(funnel_path)
    print(funnel)
    print(f"wrote {len(spec):,} rows to {out}; funnel to {funnel_path}")
    return 0


VERBS = (
    Verb("spec", SpecOptions, run,
         help="select and merge SDSS DR19 + DESI DR1 spectroscopic redshifts",
         description="Reliable galaxy redshifts from SDSS specObj (Noqso outputs for "
         "BOSS/eBOSS) and DESI DR1 (BGS/LRG/ELG), merged within 1 arcsec; prints the funnel of "
         "every cut."),
)
