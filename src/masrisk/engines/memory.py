"""The in-memory engine: the whole population is one part, in this process."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from masrisk.engines.steps import Territories, territories_of
from masrisk.models import RiskModel
from masrisk.tables import Tables

__all__ = ["LocalEngine", "MemoryEngine", "concat"]


class LocalEngine:
    """What the engines that run in this process share: sums, gathers, frames, estimator."""

    def sum(self, results: Sequence[Any]) -> Any:
        """Add the parts' results up."""
        return functools.reduce(operator.add, results)

    def gather(self, results: Sequence[Any]) -> list[Any]:
        """Bring the parts' results here, in part order."""
        return list(results)

    def frame(self, results: Sequence[Any], meta: Any) -> Any:
        """Join per-part frames into the collection the estimator fits."""
        return concat(results)

    def estimator(self, outcome: str, **options: Any) -> RiskModel:
        """Return the engine's estimator, constructed."""
        return RiskModel(outcome, **options)


class MemoryEngine(LocalEngine):
    """Run the steps on a :class:`~masrisk.tables.Tables` held whole, as one part.

    Examples
    --------
    >>> import masrisk
    >>> from masrisk.engines import MemoryEngine
    >>> engine = MemoryEngine(masrisk.synthesize("bogota", persons=1000, seed=0).tables)
    >>> len(engine.parts())
    1
    """

    name = "memory"

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def parts(self) -> list[Any]:
        """Return one handle per part (see :class:`~masrisk.engines.Engine`)."""
        return [self.tables]

    def territories(self) -> Territories:
        """Return the tables every part holds whole."""
        return territories_of(self.tables)

    def map(self, step: Callable[..., Any], *per_part: Sequence[Any], **shared: Any) -> list[Any]:
        """Run ``step`` on each part (see :class:`~masrisk.engines.Engine`)."""
        return [step(*args, **shared) for args in zip(*per_part, strict=True)]


def concat(frames: Sequence[Any]) -> Any:
    """Join parts' frames (or series) of the same dtypes, in part order."""
    return frames[0] if len(frames) == 1 else pd.concat(list(frames))
