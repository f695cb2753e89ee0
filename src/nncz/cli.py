"""The `nncz` command line: inform (train) -> estimate (predict) -> evaluate, plus the data verbs.

Every verb is a thin layer over the Python API: parse, call, report. Options can also come from a
YAML file (``--config FILE``; keys are the long option names with ``-`` or ``_``); flags given on
the command line win over the file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

import yaml

log = logging.getLogger("nncz")

# Sub-packages that add verbs expose add_cli(subparsers); missing optional parts are skipped.
VERB_MODULES = (
    "nncz.commands",
    "nncz.demo",
    "nncz.mock.cli",
    "nncz.spec.cli",
    "nncz.datasets",
    "nncz.catalog.cli",
    "nncz.reproduce",
)


def _load_config(argv: list[str]) -> dict:
    """Values of ``--config FILE`` as argparse defaults (flags still override them)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    if not known.config:
        return {}
    path = Path(known.config)
    if not path.exists():
        raise SystemExit(f"nncz: config file {path} not found")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise SystemExit(f"nncz: config file {path} must hold a mapping of option: value")
    return {str(k).replace("-", "_"): v for k, v in values.items()}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nncz",
        description="Calibrated photometric-redshift PDFs by neural-network classification. "
        "Verbs follow the photo-z life cycle: train (inform) -> predict (estimate) -> evaluate.",
    )
    parser.add_argument("--config", help="YAML file of option values (flags override it)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or logs")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="CPU threads for torch (default: torch's choice, one per core). "
                        "On a machine shared with other busy jobs use 1: torch's threads "
                        "spin-wait on each other and can run ~10x slower than one thread")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    for module_name in VERB_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue  # optional part not installed / not written
            raise
        module.add_cli(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    config = _load_config(argv)
    if config:
        for action in parser._subparsers._group_actions[0].choices.values():  # noqa: SLF001
            action.set_defaults(**{k: v for k, v in config.items()})
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    try:
        result = args.func(args)
    except (FileNotFoundError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"nncz {args.verb}: error: {message}", file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
