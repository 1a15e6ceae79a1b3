"""The engine protocol: how the pipeline's steps are run over the parts of a population.

An engine holds a population split into parts of whole territories and runs a step
(:mod:`masrisk.engines.steps`) where each part lives. :func:`masrisk.train`,
:func:`masrisk.score` and :mod:`masrisk.engines.stages` are written once over it; it is
implemented by :class:`~masrisk.engines.memory.MemoryEngine` (one part in memory),
:class:`masrisk.scale.loop.PartitionEngine` (one partition in memory at a time) and
:class:`masrisk.scale.dask_engine.DaskEngine` (one Dask task per partition).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from masrisk.engines.steps import Territories
from masrisk.models import RiskModel

__all__ = ["Engine"]


@runtime_checkable
class Engine(Protocol):
    """Runs steps over the parts of a population.

    Attributes
    ----------
    name : str
        ``"memory"``, ``"partitions"`` or ``"dask"`` (recorded in a bundle's facts).
    """

    name: str

    def parts(self) -> list[Any]:
        """One handle per part: the step receives the part's Tables in its place."""

    def territories(self) -> Territories:
        """Return the tables every part holds whole."""

    def map(self, step: Callable[..., Any], *per_part: Sequence[Any], **shared: Any) -> list[Any]:
        """Run ``step(*args_k, **shared)`` for each part ``k``; one result (or handle) each."""

    def sum(self, results: Sequence[Any]) -> Any:
        """Add the parts' results up with ``+``, and bring the total here."""

    def gather(self, results: Sequence[Any]) -> list[Any]:
        """Bring the parts' results here, in part order."""

    def frame(self, results: Sequence[Any], meta: Any) -> Any:
        """Join per-part frames (of columns and dtypes ``meta``) into one collection."""

    def estimator(self, outcome: str, **options: Any) -> RiskModel:
        """Return the estimator that fits this engine's collections, constructed."""
