"""Selection funnel: how many rows each cut of a data stage removed.

Every data stage (spectroscopic selection, survey cuts, cross-matching, redshift range) applies
its cuts one after the other through a :class:`Funnel`, so a user sees why a sample shrank::

    funnel = Funnel("lsdr10")
    funnel.start("spectroscopic sample", len(spec))
    ls = funnel.apply(ls, ls["type"] != "PSF", "type != PSF", stage="lsdr10")
    print(funnel)            # printable table
    funnel.to_dict()         # JSON-serialisable

Cuts are sequential: ``n_removed`` of a cut counts the rows that survived every earlier cut and
fail this one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Funnel", "FunnelStep"]


@dataclass
class FunnelStep:
    """One cut: rows in, rows removed, rows out."""

    stage: str
    cut: str
    n_in: int
    n_removed: int
    n_out: int


@dataclass
class Funnel:
    """Ordered record of the rows removed by each cut of a data pipeline.

    Parameters
    ----------
    name : str
        What the funnel describes (e.g. the feature set or ``"spec"``).
    """

    name: str = "funnel"
    steps: list[FunnelStep] = field(default_factory=list)
    notes: dict[str, object] = field(default_factory=dict)

    def start(self, stage: str, n_rows: int, what: str = "input rows") -> None:
        """Record the number of rows entering a stage (a step removing nothing)."""
        n_rows = int(n_rows)
        self.steps.append(FunnelStep(stage, what, n_rows, 0, n_rows))

    def record(self, stage: str, cut: str, n_in: int, n_out: int) -> None:
        """Record a cut that took ``n_in`` rows to ``n_out`` rows."""
        n_in, n_out = int(n_in), int(n_out)
        if n_out > n_in:
            raise ValueError(f"cut {cut!r} of stage {stage!r} increased rows {n_in} -> {n_out}")
        self.steps.append(FunnelStep(stage, cut, n_in, n_in - n_out, n_out))

    def apply(self, df: pd.DataFrame, keep: np.ndarray | pd.Series, cut: str,
              stage: str = "") -> pd.DataFrame:
        """Keep the rows where ``keep`` is True and record the cut.

        Parameters
        ----------
        df : pandas.DataFrame
            Table of N rows.
        keep : array of bool, shape (N,)
            Rows that pass the cut (NaN-derived comparisons are False, so they fail).
        cut : str
            Human-readable description of the cut, e.g. ``"fracflux_g < 0.5"``.
        stage : str
            Stage name (e.g. ``"lsdr10"``).

        Returns
        -------
        pandas.DataFrame
            The surviving rows (index reset).
        """
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (len(df),):
            raise ValueError(f"cut {cut!r}: mask shape {keep.shape} != ({len(df)},)")
        out = df.loc[keep].reset_index(drop=True)
        self.record(stage, cut, len(df), len(out))
        return out

    def extend(self, other: Funnel) -> None:
        """Append the steps of another funnel (e.g. the spectroscopic one)."""
        self.steps.extend(other.steps)

    @property
    def n_final(self) -> int | None:
        """Rows left after the last step (None when empty)."""
        return self.steps[-1].n_out if self.steps else None

    def to_frame(self) -> pd.DataFrame:
        """Steps as a DataFrame with columns stage, cut, n_in, n_removed, n_out."""
        return pd.DataFrame([asdict(s) for s in self.steps],
                            columns=["stage", "cut", "n_in", "n_removed", "n_out"])

    def to_dict(self) -> dict:
        """JSON-serialisable dict: name, steps (list of dicts), notes."""
        return {"name": self.name, "steps": [asdict(s) for s in self.steps],
                "notes": _jsonable(self.notes)}

    @classmethod
    def from_dict(cls, d: dict) -> Funnel:
        """Inverse of :meth:`to_dict`."""
        return cls(d.get("name", "funnel"), [FunnelStep(**s) for s in d.get("steps", [])],
                   dict(d.get("notes", {})))

    def to_json(self, path: str | Path | None = None) -> str:
        """JSON text of :meth:`to_dict`; also written (atomically) to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            from nncz.io import atomic_write

            atomic_write(Path(path), lambda temp: temp.write_text(text + "\n"))
        return text

    def __str__(self) -> str:
        if not self.steps:
            return f"Funnel {self.name!r}: (empty)"
        rows = [(s.stage, s.cut, f"{s.n_in:,}", f"-{s.n_removed:,}" if s.n_removed else "0",
                 f"{s.n_out:,}") for s in self.steps]
        head = ("stage", "cut", "in", "removed", "out")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
        fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
        lines = [f"Funnel {self.name!r}", fmt.format(*head), fmt.format(*("-" * w for w in widths))]
        lines += [fmt.format(*r) for r in rows]
        for key, val in self.notes.items():
            lines.append(f"# {key}: {val}")
        return "\n".join(lines)


def _jsonable(obj: object) -> object:
    """Convert numpy scalars/containers so ``json.dumps`` accepts them."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
