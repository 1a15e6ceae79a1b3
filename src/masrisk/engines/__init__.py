"""The pipeline written once, run by an engine.

:mod:`~masrisk.engines.steps` holds the steps on one part of a population (whole
territories), :mod:`~masrisk.engines.base` the :class:`Engine` protocol,
:mod:`~masrisk.engines.memory` :class:`MemoryEngine` (the whole population as one part) and
:mod:`~masrisk.engines.stages` the stages over any engine. The engines of many parts are in
:mod:`masrisk.scale`.
"""

from masrisk.engines.base import Engine
from masrisk.engines.memory import MemoryEngine
from masrisk.engines.steps import SCORE_COLUMNS, Explained

__all__ = ["SCORE_COLUMNS", "Engine", "Explained", "MemoryEngine"]
