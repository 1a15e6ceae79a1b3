"""The pipeline written once, run by an engine.

- :mod:`~masrisk.engines.steps`: the steps on one part of a population (whole
  territories) and the typed sums of parts;
- :mod:`~masrisk.engines.base`: the :class:`Engine` protocol (map, sum, gather);
- :mod:`~masrisk.engines.memory`: :class:`MemoryEngine`, the whole population as one part;
- :mod:`~masrisk.engines.stages`: features, scores, explanations and plans over any
  engine (:func:`masrisk.train` is in :mod:`masrisk.training`).

The engines of many parts are in :mod:`masrisk.scale`: a partition loop on one machine
(:class:`masrisk.scale.loop.PartitionEngine`) and Dask
(:class:`masrisk.scale.dask_engine.DaskEngine`).
"""

from masrisk.engines.base import Engine
from masrisk.engines.memory import MemoryEngine
from masrisk.engines.steps import SCORE_COLUMNS, Explained

__all__ = ["SCORE_COLUMNS", "Engine", "Explained", "MemoryEngine"]
