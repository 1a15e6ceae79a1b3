"""Scale: a whole city on one machine, and beyond it on Dask.

- :mod:`masrisk.scale.partitions` splits a data directory into partitions of whole
  territories, out of core with DuckDB;
- :mod:`masrisk.scale.features` builds the features of a partitioned population one
  partition at a time, equal to :func:`masrisk.build_features` on the whole;
- :mod:`masrisk.scale.engines`: :func:`build_features`, :func:`train`, :func:`score` and
  :func:`explain` on a data directory (plain or partitioned) with ``engine="pandas"`` (the
  whole population in this process) or ``engine="dask"`` (a Dask cluster, one task per
  partition; ``scheduler=ADDRESS``, a ``LocalCluster`` by default). The command line's
  ``--engine dask [--scheduler ADDRESS]`` calls them;
- the Dask engine itself, for use inside ``with dask_engine.connect(): ...``:
  :mod:`~masrisk.scale.dask_engine` (the client, the tables as ``dask.dataframe`` frames),
  :mod:`~masrisk.scale.dask_features` (features equal to :func:`masrisk.build_features`),
  :mod:`~masrisk.scale.dask_training` (``lightgbm.dask``), :mod:`~masrisk.scale.dask_scoring`
  (scores and contributions by ``map_partitions``, partitioned Parquet) and
  :mod:`~masrisk.scale.dask_planning` (the plans). Dask is the optional extra
  ``masrisk[scale]``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names loaded on first use, so that ``import masrisk.scale`` does no work.
_ENGINES = ("build_features", "explain", "score", "train")


def __getattr__(name: str) -> Any:
    if name in _ENGINES:
        return getattr(importlib.import_module("masrisk.scale.engines"), name)
    raise AttributeError(f"module 'masrisk.scale' has no attribute {name!r}")
