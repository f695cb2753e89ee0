"""The `nncz` command line: inform (train) -> estimate (predict) -> evaluate, plus the data verbs.

Every verb is a thin layer over the Python API: parse, call, report. Each verb module of this
package declares its verbs (:class:`~nncz.cli.options.Verb`): a dataclass of options and the
function that runs it. Options can also come from a YAML file (``--config FILE``; keys are the
long option names with ``-`` or ``_``, validated like the flags; unknown keys are refused); flags
given on the command line win over the file (:func:`nncz.cli.options.build_options`).

Every expected failure is one line on stderr, ``nncz VERB: error: ...``, with the exit status of
:data:`EXIT_CODES`; ``--debug`` adds the traceback (docs/ROBUSTNESS.md).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import io
import logging
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import NoReturn

from nncz.threads import one_malloc_arena, prefer_passive_wait, set_torch_threads

# The process is nncz's: settings its libraries read once, when they load, come first.
# OpenMP threads waiting for work sleep instead of spinning, so that cores shared with other jobs
# do not make training several times slower (2 threads on 2 busy cores: 2.3k samples/s
# spinning, 18k passive; benchmarks/README.md).
prefer_passive_wait()
# pyarrow's buffers come from the C library's heap, which io.release_free_memory hands back after
# each chunk; its default mimalloc pool keeps freed memory (nncz predict at 10^7 rows: 514 MB
# peak with it; benchmarks/README.md).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
# Threads allocate from one heap, whose freed memory io.release_free_memory returns (nncz predict
# --threads 2 --pdf-output, 10^6 rows: 529 MB peak with a heap per thread, 470-475 MB).
one_malloc_arena()

import yaml  # noqa: E402

from nncz.cli.options import (  # noqa: E402
    CommonOptions,
    Verb,
    add_options,
    build_options,
    config_keys,
)
from nncz.io import ModelFileError, OutputError, UsageError  # noqa: E402

log = logging.getLogger("nncz")

# Modules of this package that declare verbs (VERBS, a tuple of Verb), in the order of --help.
# They do not import torch (nor lsdb, ...) at load time: a verb imports its dependencies when it
# runs, after main() has set OMP_WAIT_POLICY.
VERB_MODULES = (
    "nncz.cli.core",
    "nncz.cli.demo",
    "nncz.cli.mock",
    "nncz.cli.spec",
    "nncz.cli.dataset",
    "nncz.cli.catalog",
    "nncz.cli.reproduce",
    "nncz.cli.nz",
    "nncz.cli.inspect",
)


EXIT_CODES: dict[str, int] = {
    "internal": 1,      # a bug: one line, and the traceback with --debug
    "usage": 2,         # bad option, option value, option combination or --config file
    "input": 3,         # an input file, column or value that cannot be used
    "output": 4,        # output refused (an input, exists), permission, disk full, a directory
    "model": 5,         # a model bundle or checkpoint that fails verification
    "interrupted": 130,  # Ctrl-C (SIGINT)
    "broken_pipe": 141,  # the reader of stdout went away (`nncz ... | head`)
    "terminated": 143,  # SIGTERM
}
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.EFBIG}


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line: ``nncz VERB: error: ...`` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CODES["usage"], f"{self.prog}: error: {message} "
                  f"(see `{self.prog} --help`)\n")


def _load_config(argv: list[str]) -> tuple[dict, Path | None]:
    """Values of ``--config FILE`` (applied after parsing; flags given override them)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    if not known.config:
        return {}, None
    path = Path(known.config)
    if not path.is_file():
        raise UsageError(f"--config {path}: no such file")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise UsageError(f"--config {path}: not valid YAML{line}") from error
    if not isinstance(values, dict):
        raise UsageError(f"--config {path}: must hold a mapping of option: value")
    return {str(k).replace("-", "_"): v for k, v in values.items()}, path


def verbs() -> dict[str, Verb]:
    """Every verb of ``nncz`` by name."""
    out: dict[str, Verb] = {}
    for module_name in VERB_MODULES:
        out.update((verb.name, verb) for verb in importlib.import_module(module_name).VERBS)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The ``nncz`` parser: the common options, then one sub-parser per verb."""
    return _build_parsers(verbs())[0]


def _build_parsers(known: dict[str, Verb]) -> tuple[argparse.ArgumentParser,
                                                   dict[str, argparse.ArgumentParser]]:
    parser = _Parser(
        prog="nncz",
        description="Calibrated photometric-redshift PDFs by neural-network classification. "
        "Verbs follow the photo-z life cycle: train (inform) -> predict (estimate) -> evaluate.",
        epilog="Exit status: 0 success, 1 internal error, 2 usage, 3 input data, 4 output "
        "(refused, permission, disk full), 5 model bundle or checkpoint, 130 interrupted, "
        "141 broken pipe, 143 terminated. "
        "Errors are one line; --debug shows the traceback.",
    )
    parser.add_argument("--config", default=argparse.SUPPRESS,
                        help="YAML file of option values (flags override it)")
    add_options(parser, CommonOptions)
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    parsers = {}
    for verb in known.values():
        parsers[verb.name] = subparsers.add_parser(verb.name, help=verb.help,
                                                   description=verb.description)
        add_options(parsers[verb.name], verb.options)
    return parser, parsers


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every partial output is removed on the way out."""


def _on_sigterm(signum, frame) -> NoReturn:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run ``nncz`` with ``argv``; returns the exit status (see :data:`EXIT_CODES`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    state = {"prog": "nncz", "debug": "--debug" in argv}
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        return _run(argv, state)
    except SystemExit as stop:  # argparse (usage, --help) or a verb's own exit
        if stop.code is None or isinstance(stop.code, int):
            return int(stop.code or 0)
        message = str(stop.code).removeprefix(f"{state['prog']}: ")
        print(f"{state['prog']}: error: {message}", file=sys.stderr)
        return EXIT_CODES["usage"]
    except KeyboardInterrupt as stop:
        if state["debug"]:
            traceback.print_exc()
        what = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
        print(f"{state['prog']}: {what}; no output was left half-written", file=sys.stderr)
        return EXIT_CODES["terminated" if isinstance(stop, Terminated) else "interrupted"]
    except BrokenPipeError:  # `nncz ... | head`: the reader left; nothing to report
        _silence_stdout()
        return EXIT_CODES["broken_pipe"]
    except Exception as error:  # noqa: BLE001 - the one place errors become exit codes
        kind, message = classify_error(error)
        if state["debug"]:
            traceback.print_exc()
        elif kind == "internal":
            message += " (rerun with --debug for the traceback)"
        print(f"{state['prog']}: error: {message}", file=sys.stderr)
        return EXIT_CODES[kind]
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's exit flush raises no second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _run(argv: list[str], state: dict) -> int:
    known = verbs()
    parser, parsers = _build_parsers(known)
    config, config_path = _load_config(argv)
    given, extra = parser.parse_known_args(argv)
    state["debug"] = getattr(given, "debug", False) is True
    if extra:
        parsers.get(given.verb, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if given.verb is None:
        parser.print_help()
        return EXIT_CODES["usage"]
    verb = known[given.verb]
    state["prog"] = f"nncz {verb.name}"
    unknown = sorted(set(config) - config_keys(CommonOptions, verb.options))
    if unknown:
        raise UsageError(f"--config {config_path}: unknown key(s) {unknown} for "
                         f"`nncz {verb.name}`")
    common = build_options(CommonOptions, given, config, config_path)
    state["debug"] = common.debug
    options = build_options(verb.options, given, config, config_path)
    _setup_logging(common.quiet, state["prog"])
    set_torch_threads(common.threads)  # --threads, else OMP_NUM_THREADS, else the idle cores
    return int(verb.run(options, common) or 0)


class _Formatter(logging.Formatter):
    def __init__(self, prog: str) -> None:
        super().__init__("%(message)s")
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"{self.prog}: warning: {text}" if record.levelno >= logging.WARNING else text


def _setup_logging(quiet: bool, prog: str) -> None:
    """Log lines of ``nncz.*`` to the current stderr; warnings read ``nncz VERB: warning:``."""
    for handler in [h for h in log.handlers if getattr(h, "_nncz_cli", False)]:
        log.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._nncz_cli = True  # noqa: SLF001 - ours, replaced on the next call
    handler.setFormatter(_Formatter(prog))
    log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)


def classify_error(error: BaseException) -> tuple[str, str]:
    """Kind (a key of :data:`EXIT_CODES`) and one-line message of an expected failure."""
    if isinstance(error, OutputError):
        return "output", str(error)
    if isinstance(error, ModelFileError):
        return "model", str(error)
    if isinstance(error, UsageError | yaml.YAMLError):
        return "usage", str(error)
    if isinstance(error, FileNotFoundError):
        name, reason = error.filename, error.strerror or "no such file or directory"
        return "input", f"{name}: {reason}" if name else str(error)
    if isinstance(error, OSError) and (error.errno in _DISK_ERRNOS
                                       or isinstance(error, PermissionError)):
        name = f"{error.filename}: " if error.filename else ""
        reason = error.strerror or str(error)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            reason += " (disk full: free space or write elsewhere)"
        return "output", f"{name}{reason}"
    if isinstance(error, KeyError):
        return "input", str(error.args[0]) if error.args else repr(error)
    if isinstance(error, ValueError | OSError):  # OSError without errno: unreadable file
        return "input", " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, MemoryError):
        return "internal", "out of memory (a smaller --chunk-rows or --batch-size may help)"
    return "internal", f"internal error {type(error).__name__}: {error}"
