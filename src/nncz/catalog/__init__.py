"""Unified five-level photo-z catalog of LSDR10 + PS1 DR2 (+ unWISE), streamed or on lsdb.

- :mod:`~nncz.catalog.config`   the five levels and the YAML config (one model per level)
- :mod:`~nncz.catalog.sources`  LSDR10 x PS1 x unWISE matching rules
- :mod:`~nncz.catalog.levels`   priority assignment
- :mod:`~nncz.catalog.products` inference, products, quantised PDFs per chunk
- :mod:`~nncz.catalog.stream`   bounded-memory, resumable engine (declination stripes)
- :mod:`~nncz.catalog.lsdb_path` HATS/lsdb partition-wise path on Dask
- ``nncz catalog`` is :mod:`nncz.cli.catalog`
"""

from nncz.catalog.config import LEVELS, CatalogConfig, load_config
from nncz.catalog.memory import build_catalog, write_catalog
from nncz.catalog.products import MAIN_COLUMNS, ModelSet, process_chunk
from nncz.catalog.stream import Inputs, run_catalog

__all__ = ["LEVELS", "CatalogConfig", "load_config", "build_catalog", "write_catalog",
           "MAIN_COLUMNS", "ModelSet", "process_chunk", "Inputs",
           "run_catalog"]
