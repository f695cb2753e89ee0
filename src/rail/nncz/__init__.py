"""nncz as a RAIL package: ``RailEnv.import_all_packages()`` imports ``rail.<package>`` for every
package in the ``rail`` namespace, which registers nncz's stages with RAIL (``rail.stages``)."""

from rail.estimation.algos.nncz import NNCEstimator, NNCInformer, NNCModelHandle

__all__ = ["NNCEstimator", "NNCInformer", "NNCModelHandle"]
