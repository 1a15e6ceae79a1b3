"""Scale: a whole city on one machine, and beyond it on Dask.

:mod:`~masrisk.scale.partitions` splits a data directory into partitions of whole
territories (DuckDB, out of core); :mod:`~masrisk.scale.loop` runs them one at a time in
memory, :mod:`~masrisk.scale.dask_engine` as Dask tasks (:mod:`~masrisk.scale.dask_model`:
``lightgbm.dask``); :mod:`~masrisk.scale.engines` runs the stages on a data directory with
``engine="pandas"`` or ``engine="dask"`` (the command line's ``--engine``). Dask is the
optional extra ``masrisk[scale]``.
"""

from __future__ import annotations

from masrisk._lazy import lazy_exports

#: Public names loaded on first use, so that ``import masrisk.scale`` does no work.
_EXPORTS = dict.fromkeys(
    ("build_features", "explain", "open_engine", "plan", "score", "train"), "masrisk.scale.engines"
)
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
