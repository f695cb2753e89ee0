"""Reproduce the method's Table 1 and Figures 2-8 with one call (``nncz reproduce``).

>>> from nncz.reproduce import run_reproduce
>>> result = run_reproduce("out", mode="quick")      # doctest: +SKIP

Modules: :mod:`~nncz.reproduce.configs` (Table 1 rows, models, published values, modes),
:mod:`~nncz.reproduce.run` (training with resume), :mod:`~nncz.reproduce.table`,
:mod:`~nncz.reproduce.figures`, :mod:`~nncz.reproduce.report`,
:mod:`~nncz.reproduce.pipeline` (:func:`run_reproduce`); the verb is :mod:`nncz.cli.reproduce`.
"""

from nncz.reproduce.configs import MODELS, MODES, TABLE1_ROWS, ModelConfig, Table1Row
from nncz.reproduce.pipeline import run_reproduce
from nncz.reproduce.table import build_table1, write_table1

__all__ = ["MODELS", "MODES", "TABLE1_ROWS", "ModelConfig", "Table1Row", "build_table1",
           "run_reproduce", "write_table1"]
