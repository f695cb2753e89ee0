"""Rewrite the module table of docs/ARCHITECTURE.md from the tree (names, lines, docstrings).

    python docs/module_table.py          # rewrites the table between the two marker lines
    python docs/module_table.py --check  # exit 1 if the table does not match the tree

The table sits between ``<!-- modules:begin -->`` and ``<!-- modules:end -->``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
BEGIN, END = "<!-- modules:begin -->", "<!-- modules:end -->"


def module_rows(src: Path = ROOT / "src") -> list[tuple[str, int, str]]:
    """(module path relative to src/, line count, first line of its docstring) per .py file."""
    rows = []
    for path in sorted(src.rglob("*.py")):
        text = path.read_text()
        doc = ast.get_docstring(ast.parse(text)) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        rows.append((str(path.relative_to(src)), len(text.splitlines()), summary))
    return rows


def table(rows: list[tuple[str, int, str]]) -> str:
    lines = ["| module | lines | what it holds |", "|---|--:|---|"]
    lines += [f"| `{name}` | {count} | {summary.replace('|', '/')} |"
              for name, count, summary in rows]
    lines.append(f"| **total** | **{sum(r[1] for r in rows)}** | |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{table(module_rows())}\n{END}{tail}"
    if args.check:
        return 0 if new == text else 1
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
