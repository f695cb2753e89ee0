"""``nncz spec``: select and merge the SDSS DR19 and DESI DR1 redshifts."""

from __future__ import annotations

import argparse
from pathlib import Path

from nncz.argtypes import nonnegative_float, positive_float

__all__ = ["add_cli", "find_input", "run_spec"]

#: file stems of docs/SCHEMAS.md, looked up by ``--input-dir``
STEMS: dict[str, str] = {"sdss": "sdss_specobj", "desi": "desi_dr1_zcat", "lsdr10": "ls_dr10",
                         "ps1": "ps1_dr2", "unwise": "unwise", "truth": "truth"}
SUFFIXES: tuple[str, ...] = (".parquet", ".fits", ".fits.gz", ".h5", ".csv")


def find_input(directory: str | Path | None, key: str) -> Path | None:
    """``<directory>/<stem><suffix>`` for the SCHEMAS.md stem of ``key`` (Parquet first)."""
    if directory is None:
        return None
    for suffix in SUFFIXES:
        path = Path(directory) / f"{STEMS[key]}{suffix}"
        if path.exists():
            return path
    return None


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``spec`` verb."""
    p = subparsers.add_parser(
        "spec", help="select and merge SDSS DR19 + DESI DR1 spectroscopic redshifts",
        description="Reliable galaxy redshifts from SDSS specObj (Noqso outputs for BOSS/eBOSS) "
        "and DESI DR1 (BGS/LRG/ELG), merged within 1 arcsec; prints the funnel of every cut.")
    p.add_argument("-o", "--output", required=True, help="output table (.parquet/.fits/...)")
    p.add_argument("--sdss", help="SDSS specObj table (specObj-dr19.fits or a CAS query)")
    p.add_argument("--desi", help="DESI DR1 redshift catalogue (zall-pix or zpix file)")
    p.add_argument("--input-dir", help="directory holding sdss_specobj.* and desi_dr1_zcat.* "
                   "(e.g. the output of `nncz mock`)")
    p.add_argument("--deltachi2-min", type=nonnegative_float, default=25.0,
                   help="DESI DELTACHI2 > this")
    p.add_argument("--zerr-max", type=positive_float, default=0.001,
                   help="redshift error < this")
    p.add_argument("--dz-max", type=positive_float, default=0.005,
                   help="drop SDSS-DESI pairs whose redshifts differ by more")
    p.add_argument("--radius", type=positive_float, default=1.0,
                   help="SDSS x DESI radius [arcsec]")
    p.add_argument("--funnel", help="funnel JSON path (default: OUTPUT + .funnel.json)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing OUTPUT / funnel files (default: refuse)")
    p.set_defaults(func=run_spec)


def run_spec(args: argparse.Namespace) -> int:
    """Run the ``spec`` verb from parsed arguments."""
    from nncz.io import UsageError, check_outputs, write_table
    from nncz.spec import build_spec_sample

    if args.input_dir and not Path(args.input_dir).is_dir():
        raise FileNotFoundError(2, "no such directory (--input-dir)", str(args.input_dir))
    sdss = args.sdss or find_input(args.input_dir, "sdss")
    desi = args.desi or find_input(args.input_dir, "desi")
    if sdss is None and desi is None:
        raise UsageError("give --sdss and/or --desi, or an --input-dir holding "
                         "sdss_specobj.* / desi_dr1_zcat.*")
    funnel_out = args.funnel or str(args.output) + ".funnel.json"
    check_outputs([sdss, desi], [args.output, funnel_out], getattr(args, "overwrite", False))
    spec, funnel = build_spec_sample(sdss, desi, deltachi2_min=args.deltachi2_min,
                                     zerr_max=args.zerr_max, radius_arcsec=args.radius,
                                     dz_max=args.dz_max)
    out = write_table(spec, args.output, meta={"stage": "nncz spec", "sdss": str(sdss),
                                               "desi": str(desi)})
    funnel_path = Path(args.funnel) if args.funnel else Path(str(out) + ".funnel.json")
    funnel.to_json(funnel_path)
    print(funnel)
    print(f"wrote {len(spec):,} rows to {out}; funnel to {funnel_path}")
    return 0
