"""Argument types of the ``nncz`` command line: numbers are validated where they enter.

Each function takes the option's text and returns its value, or raises
:class:`argparse.ArgumentTypeError`; argparse then prints one line naming the option and the
value (``nncz predict: error: argument --chunk-rows: must be an integer >= 1, got '0'``) and
exits with status 2. A value from a ``--config`` file goes through the same function
(:func:`nncz.cli.options.config_value`).
"""

from __future__ import annotations

import argparse
import math

__all__ = ["positive_int", "nonnegative_int", "positive_float", "nonnegative_float",
           "finite_float", "open_fraction", "unit_interval", "int_list", "csv_list"]


def _number(text: str, kind: type) -> int | float:
    try:
        if kind is int:
            value = float(str(text).strip())
            if not value.is_integer():
                raise ValueError
            return int(value)
        return float(str(text).strip())
    except (TypeError, ValueError, OverflowError):
        name = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"must be {name}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1 (rows per chunk, batch size, epochs, bins, workers)."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer >= 0 (a seed, a patience)."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """Any finite number (no NaN, no inf)."""
    value = _number(text, float)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (a learning rate, a radius [arcsec], a threshold)."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0 (a loss weight, a dropout)."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def open_fraction(text: str) -> float:
    """A number strictly between 0 and 1 (a held-out share)."""
    value = finite_float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1 (exclusive), "
                                         f"got {text!r}")
    return value


def unit_interval(text: str) -> float:
    """A number in [0, 1) (a dropout probability)."""
    value = finite_float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}")
    return value


def int_list(text: str) -> str:
    """Comma-separated integers >= 1 (hidden widths, e.g. ``512,256``); returned unchanged."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers >= 1, got {text!r}")
    for part in parts:
        try:
            positive_int(part)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(
                f"must be comma-separated integers >= 1, got {text!r}") from None
    return ",".join(parts)


def csv_list(text: str | None) -> list[str]:
    """The non-empty items of comma-separated ``text`` (columns, edges); [] for None."""
    if text is None:
        return []
    return [t.strip() for t in str(text).split(",") if t.strip()]
