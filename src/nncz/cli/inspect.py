"""``nncz inspect FILE ...``: which survey and layout a file is, and what it can feed.

The report is :func:`nncz.inspection.inspect_file`'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from nncz.cli.options import CommonOptions, Verb, option

__all__ = ["InspectOptions", "VERBS"]


@dataclass(frozen=True)
class InspectOptions:
    """Options of ``nncz inspect`` (see ``nncz inspect --help``)."""

    files: tuple[str, ...] = option(nargs="+",
                                    help="table files, directories or quoted globs")
    json: bool = option(False, "--json", action="store_true",
                        help="print one JSON object per file")


def run(options: InspectOptions, common: CommonOptions) -> int:
    """Print the report of each file; exit status 3 (input data, as every verb) when a file is
    not recognised; the report is printed all the same."""
    from nncz.inspection import format_report, inspect_file
    from nncz.surveys.read import expand_inputs

    status = 0
    for path in expand_inputs(list(options.files)):
        report = inspect_file(path)
        status = status if report.get("survey") else 3
        print(json.dumps(report) if options.json else format_report(report))
    return status


VERBS = (
    Verb("inspect", InspectOptions, run,
         help="say which survey and archive layout a table file is, and what it feeds",
         description="For each file (directories and globs are expanded): the survey and "
         "layout recognised (with its data-model page), rows, and which feature sets, catalog "
         "levels and spectroscopic stages it can feed; for the others, what is missing."),
)
