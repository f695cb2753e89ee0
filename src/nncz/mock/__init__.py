"""Simulated universe: galaxies, stars and QSOs observed as LSDR10, PS1 DR2, unWISE, DESI DR1 and
SDSS DR19 catalogues with the archives' schemas (docs/SCHEMAS.md).

>>> from nncz.mock import make_universe
>>> paths = make_universe("mock", n_galaxies=100_000, seed=0)  # doctest: +SKIP

CLI: ``nncz mock OUT_DIR --n-galaxies N --seed S [--report]`` (:mod:`nncz.cli.mock`).
"""

from nncz.mock.universe import MockConfig, make_chunk, make_universe

__all__ = ["MockConfig", "make_chunk", "make_universe"]
