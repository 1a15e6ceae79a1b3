"""The partition loop: a population split by territory, one partition in memory at a time.

How a city the size of Bogotá runs on one machine (``benchmarks/city.py``): each step reads
a partition, keeps its (small) result and lets it go before the next is read.

Examples
--------
>>> import tempfile, masrisk
>>> from masrisk.engines import stages
>>> from masrisk.scale.loop import PartitionEngine
>>> from masrisk.scale.partitions import partition_data
>>> data = masrisk.synthesize("bogota", persons=1000, seed=0).write(tempfile.mkdtemp())
>>> split = partition_data(data, tempfile.mkdtemp() + "/split", partitions=3)
>>> config = masrisk.load_config("bogota")
>>> features = stages.build_features(PartitionEngine(split), as_of="2024-01-01", config=config)
>>> whole = masrisk.build_features(masrisk.load_tables(data), as_of="2024-01-01", config=config)
>>> features.loc[whole.index].equals(whole)
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from masrisk.engines.memory import LocalEngine
from masrisk.engines.steps import Territories, territories_of
from masrisk.models import RiskModel
from masrisk.scale.partitions import PartitionedData

__all__ = ["PartitionEngine"]

#: Called with the name of a step and the partition, to time steps from outside.
Hook = Callable[[str, int], None]


class _Partition:
    """The handle of a partition, read when a step needs it."""

    def __init__(self, number: int) -> None:
        self.number = number


class PartitionEngine(LocalEngine):
    """Run the steps partition after partition in this process.

    Parameters
    ----------
    data : PartitionedData
    extra_kinds : iterable of str
        Event kinds accepted beside the built-in ones (``Config.extra_event_kinds``).
    hook : callable, optional
        Called as ``hook(step_name, partition)`` before each step on a partition, and as
        ``hook("fit", -1)`` before the estimator is fitted (for timing).
    """

    name = "partitions"

    def __init__(
        self,
        data: PartitionedData,
        *,
        extra_kinds: Iterable[str] = (),
        hook: Hook | None = None,
    ) -> None:
        self.data = data
        self.extra_kinds = tuple(extra_kinds)
        self.hook = hook
        self._territories: Territories | None = None

    def parts(self) -> list[Any]:
        """Return one handle per part (see :class:`~masrisk.engines.Engine`)."""
        return [_Partition(k) for k in range(self.data.partitions)]

    def territories(self) -> Territories:
        """Return the tables every part holds whole."""
        if self._territories is None:
            self._read(_Partition(0))
        return self._territories

    def map(self, step: Callable[..., Any], *per_part: Sequence[Any], **shared: Any) -> list[Any]:
        """Run ``step`` on each part (see :class:`~masrisk.engines.Engine`)."""

        def run(k: int, args: tuple) -> Any:
            if self.hook is not None:
                self.hook(step.__name__.strip("_"), k)
            return step(*map(self._read, args), **shared)

        return [run(k, args) for k, args in enumerate(zip(*per_part, strict=True))]

    def estimator(self, outcome: str, **options: Any) -> RiskModel:
        """Return the engine's estimator, constructed (the hook hears ``"fit"``)."""
        if self.hook is not None:
            self.hook("fit", -1)
        return super().estimator(outcome, **options)

    def _read(self, value: Any) -> Any:
        if not isinstance(value, _Partition):
            return value
        tables = self.data.tables(value.number, extra_kinds=self.extra_kinds)
        if self._territories is None:  # the same in every partition, validated with it
            self._territories = territories_of(tables)
        return tables
