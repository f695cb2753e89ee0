"""nncz inside LSST DESC RAIL: an informer and an estimator stage (optional extra ``nncz[rail]``).

RAIL users import the stages the way RAIL's plugins ship them::

    from rail.estimation.algos.nncz import NNCInformer, NNCEstimator

(``nncz.rail`` is the same thing under nncz's name). See docs/rail.md for a pipeline.
"""

try:
    import rail.estimation.estimator  # noqa: F401  (pz-rail-base, not only a namespace)
except ImportError as error:
    raise ImportError(
        "nncz.rail needs LSST DESC RAIL (pz-rail-base): pip install 'nncz[rail]'"
    ) from error

from nncz.rail.handle import NNCModelHandle, NNCRailModel, read_model, write_model_archive
from nncz.rail.stages import NNCEstimator, NNCInformer

__all__ = [
    "NNCEstimator",
    "NNCInformer",
    "NNCModelHandle",
    "NNCRailModel",
    "read_model",
    "write_model_archive",
]
