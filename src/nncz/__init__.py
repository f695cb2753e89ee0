"""nncz: calibrated photometric-redshift PDFs by neural-network classification over z bins."""

__version__ = "0.1.0"

from nncz.grid import RedshiftGrid  # noqa: E402

__all__ = ["NNCEstimator", "RedshiftGrid", "__version__"]


def __getattr__(name: str):
    # Import the estimator (and torch) lazily so that `import nncz` stays light for I/O work.
    if name == "NNCEstimator":
        from nncz.estimator import NNCEstimator

        return NNCEstimator
    raise AttributeError(f"module 'nncz' has no attribute {name!r}")
