"""Scale: a whole city on one machine, and beyond it on Dask.

- :mod:`masrisk.scale.partitions` splits a data directory into partitions of whole
  territories, out of core with DuckDB;
- :mod:`masrisk.scale.loop`: the partition loop, an engine that holds one partition in
  memory at a time;
- :mod:`masrisk.scale.dask_engine`: the Dask engine, one task per partition, and
  :mod:`masrisk.scale.dask_model` its estimator (``lightgbm.dask``);
- :mod:`masrisk.scale.engines`: :func:`build_features`, :func:`train`, :func:`score`,
  :func:`explain` and :func:`plan` on a data directory (plain or partitioned) with
  ``engine="pandas"`` or ``engine="dask"`` (``scheduler=ADDRESS``, a ``LocalCluster`` by
  default). The command line's ``--engine dask [--scheduler ADDRESS]`` calls them.

Dask is the optional extra ``masrisk[scale]``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names loaded on first use, so that ``import masrisk.scale`` does no work.
_ENGINES = ("build_features", "explain", "open_engine", "plan", "score", "train")


def __getattr__(name: str) -> Any:
    if name in _ENGINES:
        return getattr(importlib.import_module("masrisk.scale.engines"), name)
    raise AttributeError(f"module 'masrisk.scale' has no attribute {name!r}")
