"""``nncz reproduce``: Table 1 and Figures 2-8 of the method on a mock universe."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from nncz.argtypes import nonnegative_int, positive_int
from nncz.io import OutputError


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``reproduce`` verb."""
    p = subparsers.add_parser(
        "reproduce", help="reproduce the method's Table 1 and Figures 2-8 on a mock universe",
        description="Generate a mock universe, build the LSDR10 and PS1 datasets, train every "
        "configuration of the method's Table 1 (NNC, RF, XGBoost, ANN regression), evaluate "
        "them on the test split and write table1.{md,csv,tex}, figures/*.png and report.md. "
        "A rerun skips the configurations whose results exist.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="small mock, capped epochs, small baseline grids (~20 min on 2 "
                      "cores; the default)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="larger mock and the method's training settings (hours)")
    p.set_defaults(mode="quick")
    p.add_argument("--output", default="nncz_reproduce", help="output directory")
    p.add_argument("--mock", default=None, help="use this existing mock universe directory")
    p.add_argument("--n-galaxies", type=positive_int, default=None,
                   help="override the mode's mock size (galaxies)")
    p.add_argument("--max-epochs", type=positive_int, default=None,
                   help="override the mode's epoch limit of the networks")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seed of the mock and the models (0)")
    p.add_argument("--models", nargs="+", default=None, metavar="KEY",
                   help="train only these configurations (e.g. nnc_lsdr10 rf_lsdr10; "
                   "default all)")
    p.add_argument("--jobs", type=positive_int, default=min(4, os.cpu_count() or 1),
                   help="train this many configurations side by side, one process and one "
                   "torch thread each (default: one per core, at most 4)")
    p.add_argument("--pdf", action="store_true", help="also write the figures as PDF")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a run with other settings in --output (its mock, datasets, "
                   "models and figures are deleted; default: refuse, the same run resumes)")
    p.set_defaults(func=_run)


RUN_FILE = "run_settings.json"
#: what a run derives from its settings (deleted by --overwrite when the settings change)
DERIVED = ("mock", "datasets", "models", "shap", "figures")


def _check_same_run(out: Path, args: argparse.Namespace, settings) -> None:
    """A rerun resumes only with the same settings; other settings need --overwrite."""
    import json
    import shutil

    from nncz.io import atomic_write, check_outputs

    check_outputs([args.mock], [], output_dirs=[out])
    record = {"mode": args.mode, "seed": args.seed, "mock": str(args.mock),
              "settings": json.loads(json.dumps(dataclasses.asdict(settings), default=str))}
    path = out / RUN_FILE
    if path.exists():
        old = json.loads(path.read_text())
        if old != record:
            if not args.overwrite:
                differ = [k for k in record if old.get(k) != record[k]]
                raise OutputError(f"{out} holds a reproduction with other settings ({differ} "
                                  f"differ; see {path}); pass --overwrite to replace it, or "
                                  "use another --output")
            for name in DERIVED:
                target = out / name
                if target.is_dir() and (name != "mock" or args.mock is None):
                    shutil.rmtree(target)
    text = json.dumps(record, indent=1)
    atomic_write(path, lambda temp: temp.write_text(text))


def _run(args: argparse.Namespace) -> int:
    from nncz.reproduce.configs import MODES
    from nncz.reproduce.pipeline import run_reproduce

    settings = MODES[args.mode]
    if args.n_galaxies is not None:
        settings = dataclasses.replace(settings, n_galaxies=args.n_galaxies)
    if args.max_epochs is not None:
        settings = dataclasses.replace(settings, nnc={**settings.nnc,
                                                      "max_epochs": args.max_epochs})
    formats = ("png", "pdf") if args.pdf else ("png",)
    _check_same_run(Path(args.output), args, settings)
    result = run_reproduce(args.output, mode=args.mode, seed=args.seed, mock_dir=args.mock,
                           settings=settings, formats=formats, models=args.models,
                           jobs=args.jobs,
                           verbose=not getattr(args, "quiet", False))
    out = Path(args.output).resolve()
    print(result["orderings"][["claim", "agree"]].to_string(index=False))
    print(f"Table 1: {out / 'table1.md'}; figures: {out / 'figures'}; report: "
          f"{out / 'report.md'}; stage seconds: {result['timings_s']}")
    return 0
