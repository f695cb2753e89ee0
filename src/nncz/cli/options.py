"""Options of the ``nncz`` verbs: a dataclass per verb, filled from flags and ``--config`` alike.

Each verb declares its options once, as the fields of a frozen dataclass whose defaults are the
defaults users see; a field's :func:`option` metadata says how it is spelled on the command line
(flag names, help text, argument type, choices). :func:`add_options` turns the fields into
argparse options and :func:`build_options` fills the dataclass from the parsed flags and the
values of a ``--config`` YAML file: a YAML value goes through the same argument type and choices
as the flag's text, a flag given on the command line wins over the file, and a key that is not a
field of the verb (or of :class:`CommonOptions`) is refused.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nncz.cli.argtypes import positive_int
from nncz.io import UsageError

__all__ = ["Flag", "option", "CommonOptions", "Verb", "add_options", "build_options"]


@dataclass(frozen=True)
class Flag:
    """How one option field is spelled on the command line.

    Attributes
    ----------
    names : tuple of str
        Option strings (``("-o", "--output")``); empty for a positional argument named after
        the field.
    help : str or None
        Help text of ``nncz VERB --help``.
    type : callable or None
        Converts and validates the option's text (:mod:`nncz.cli.argtypes`); raises
        :class:`argparse.ArgumentTypeError` with the message users see.
    choices : tuple or None
        Allowed values.
    nargs : str or None
        argparse ``nargs`` (``"+"``, ``"*"``): the value is a tuple.
    metavar : str or None
        Placeholder in the help.
    action : {None, "store_true", "append"}
        A switch, or a repeatable option collecting a list.
    required : bool
        An option that must be given on the command line.
    group : str or None
        Options of the same group are mutually exclusive.
    consts : tuple of (flag, value, help)
        Switches that each set the field to ``value`` (mutually exclusive; e.g. ``--quick``).
    """

    names: tuple[str, ...] = ()
    help: str | None = None
    type: Callable[[str], Any] | None = None
    choices: tuple | None = None
    nargs: str | None = None
    metavar: str | None = None
    action: str | None = None
    required: bool = False
    group: str | None = None
    consts: tuple[tuple[str, Any, str], ...] = ()


def option(default: Any = dataclasses.MISSING, *names: str, **flag: Any) -> Any:
    """A dataclass field with its default and its :class:`Flag` (keywords of :class:`Flag`).

    A positional argument (no ``names``) is given no default: the command line must give it.
    """
    return field(default=default, metadata={"flag": Flag(names, **flag)})


@dataclass(frozen=True)
class CommonOptions:
    """Options of every verb (given before the verb)."""

    quiet: bool = option(False, "-q", "--quiet", action="store_true",
                         help="no progress bars or logs")
    debug: bool = option(False, "--debug", action="store_true",
                         help="show the Python traceback of an error (default: one line)")
    threads: int | None = option(
        None, "--threads", type=positive_int, metavar="N",
        help="CPU threads for torch (default: OMP_NUM_THREADS if set, else the cores other jobs "
        "leave idle at start, from the 1-minute load average, at least 1: on busy cores more "
        "threads than idle cores ran up to 10x slower than one thread)")


@dataclass(frozen=True)
class Verb:
    """One ``nncz VERB``: its options dataclass and the function that runs it.

    ``run(options, common)`` returns the exit status; ``help`` is the line of ``nncz --help``
    and ``description`` the text of ``nncz VERB --help``.
    """

    name: str
    options: type
    run: Callable[[Any, CommonOptions], int]
    help: str
    description: str | None = None


def _flag(item: dataclasses.Field) -> Flag:
    return item.metadata["flag"]


def add_options(parser: argparse.ArgumentParser, options: type) -> None:
    """Add the fields of the dataclass ``options`` to ``parser``, in field order.

    No option has an argparse default (``SUPPRESS``): the parsed namespace holds only what the
    command line gave, and :func:`build_options` takes the rest from the file or the dataclass.
    """
    groups: dict[str, Any] = {}  # mutually exclusive groups by name
    for item in dataclasses.fields(options):
        flag = _flag(item)
        if flag.consts:
            group = parser.add_mutually_exclusive_group()
            for name, const, text in flag.consts:
                group.add_argument(name, dest=item.name, action="store_const", const=const,
                                   default=argparse.SUPPRESS, help=text)
            continue
        target = parser
        if flag.group is not None:
            if flag.group not in groups:
                groups[flag.group] = parser.add_mutually_exclusive_group()
            target = groups[flag.group]
        kwargs: dict[str, Any] = {"help": flag.help, "default": argparse.SUPPRESS}
        if flag.action is not None:
            kwargs["action"] = flag.action
        if flag.required:
            kwargs["required"] = True
        if flag.action != "store_true":
            kwargs.update({k: v for k, v in (("type", flag.type), ("choices", flag.choices),
                                             ("nargs", flag.nargs), ("metavar", flag.metavar))
                           if v is not None})
        if flag.names:
            target.add_argument(*flag.names, dest=item.name, **kwargs)
        else:
            target.add_argument(item.name, **kwargs)


def config_keys(*options: type) -> set[str]:
    """Keys a ``--config`` file may set for these options dataclasses."""
    return {item.name for cls in options for item in dataclasses.fields(cls)}


def build_options(options: type, given: argparse.Namespace, config: Mapping[str, Any],
                  path: Path | None) -> Any:
    """The dataclass ``options`` from the flags ``given`` and the ``config`` file's values.

    A flag on the command line wins; a value from the file is validated like the flag's text
    (:func:`config_value`); a field given neither way (or null in the file) keeps the dataclass
    default. Keys of ``config`` that are not fields of ``options`` are ignored here (see
    :func:`config_keys`).
    """
    values: dict[str, Any] = {}
    for item in dataclasses.fields(options):
        if hasattr(given, item.name):
            value = getattr(given, item.name)
        elif config.get(item.name) is not None:  # a YAML null leaves the default
            value = config_value(_flag(item), item.name, config[item.name], path)
        else:
            continue
        values[item.name] = tuple(value) if _flag(item).nargs in ("+", "*") else value
    return options(**values)


def config_value(flag: Flag, key: str, value: Any, path: Path | None) -> Any:
    """The value of ``key`` in a ``--config`` file, checked like the flag's text."""
    if flag.action == "store_true":
        if not isinstance(value, bool):
            raise UsageError(f"--config {path}: {key} must be true or false, got {value!r}")
        return value
    many = flag.nargs in ("+", "*") or flag.action == "append"
    if isinstance(value, list) and not many:  # a YAML list of columns: the flag's CSV text
        value = ",".join(str(v) for v in value)
    choices = flag.choices or tuple(const for _, const, _ in flag.consts) or None
    items = [_config_item(flag.type, choices, key, item, path)
             for item in (value if isinstance(value, list) else [value])]
    return items if many else items[0]


def _config_item(convert: Callable[[str], Any] | None, choices: tuple | None, key: str,
                 item: Any, path: Path | None) -> Any:
    if convert is not None:
        try:
            item = convert(str(item))
        except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
            raise UsageError(f"--config {path}: {key}: {error}") from None
    if choices is not None and item not in choices:
        raise UsageError(f"--config {path}: {key} must be one of {list(choices)}, got {item!r}")
    return item
