"""nncz's RAIL stages under RAIL's import path (the ``pz-rail-<name>`` plugin convention).

``from rail.estimation.algos.nncz import NNCInformer, NNCEstimator``; the code lives in
:mod:`nncz.rail`. This file is part of the ``nncz`` distribution, which contributes it to RAIL's
``rail`` namespace package (no ``__init__.py`` in ``rail``, ``rail/estimation`` or
``rail/estimation/algos``: those belong to the namespace).
"""

from nncz.rail import NNCEstimator, NNCInformer, NNCModelHandle

__all__ = ["NNCEstimator", "NNCInformer", "NNCModelHandle"]
