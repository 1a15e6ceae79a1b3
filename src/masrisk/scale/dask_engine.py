"""The Dask engine: a population split by territory, one ``dask.delayed`` task per partition.

:func:`connect` opens a ``distributed.Client`` (a ``LocalCluster``, or a scheduler's
address); :class:`DaskEngine` runs each step of :mod:`masrisk.engines.steps` on the
partitions of :func:`~masrisk.scale.partitions.partition_data` and trains with
``lightgbm.dask``. Dask is optional (``pip install "masrisk[scale]"``), imported on use.
"""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd

from masrisk.engines.steps import Territories, territories_of
from masrisk.exceptions import MasriskError
from masrisk.models import RiskModel
from masrisk.scale.partitions import PartitionedData

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "INSTALL_HINT",
    "DaskEngine",
    "DaskEngineError",
    "connect",
    "current_client",
    "from_pieces",
    "require_dask",
]

logger = logging.getLogger(__name__)

#: What to run when Dask is missing.
INSTALL_HINT = 'pip install "masrisk[scale]"'


class DaskEngineError(MasriskError, RuntimeError):
    """The Dask engine cannot run: Dask is not installed, or the scheduler is unreachable."""


def require_dask() -> None:
    """Check that Dask, its dataframes and distributed are importable.

    Raises
    ------
    DaskEngineError
        Saying how to install them.
    """
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise DaskEngineError(
            f"the Dask engine needs dask[dataframe,distributed] ({exc.msg}): {INSTALL_HINT}"
        ) from None


@contextmanager
def connect(
    scheduler: str | Client | None = None,
    *,
    workers: int = 2,
    threads_per_worker: int = 1,
    memory_limit: str | float = "auto",
) -> Iterator[Client]:
    """Open a Dask client for the duration of a ``with`` block, and close what it opened.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        A running scheduler's address (``tcp://host:8786``), or a client used as it is (left
        open). By default a ``LocalCluster`` of ``workers`` processes, closed at the end.
    workers, threads_per_worker, memory_limit
        The ``LocalCluster``'s worker processes (LightGBM runs one network member per
        process, and pandas holds the GIL), threads and memory limit per worker.

    Yields
    ------
    distributed.Client
        Also the default client of Dask's computations inside the block.

    Raises
    ------
    DaskEngineError
        If Dask is not installed or the scheduler cannot be reached.
    """
    require_dask()
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=None,  # no dashboard
            # the scheduler's HTTP server (health, metrics) on a free port, not 8787
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
        with cluster, Client(cluster) as client:  # both closed at the end
            client.run(_silence_stdout)
            logger.info("Dask: a local cluster of %d worker processes", workers)
            yield client
        return
    try:
        client = Client(scheduler, timeout="30s")
    except OSError as exc:
        raise DaskEngineError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        logger.info("Dask: the scheduler at %s", scheduler)
        yield client


def current_client() -> Client:
    """Return the Dask client that the engine's functions run on.

    Raises
    ------
    DaskEngineError
        If no client is open (use :func:`connect`).
    """
    require_dask()
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        raise DaskEngineError(
            "no Dask client: run inside `with masrisk.scale.dask_engine.connect(): ...`"
        ) from None


def _silence_stdout() -> None:
    """Send a local worker's stdout (LightGBM's native network set-up) to the null device."""
    import os

    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)


class DaskEngine:
    """Run the steps on a Dask cluster, one task per partition of whole territories.

    Runs on the current Dask client (:func:`connect`). Each partition is read and validated
    in its own task and held by the cluster while the engine lives; steps run where their
    partition is, and only what ``sum`` and ``gather`` ask for comes back.

    Parameters
    ----------
    data : PartitionedData
    extra_kinds : sequence of str
        Event kinds accepted beside the built-in ones (``Config.extra_event_kinds``).
    local_rows, step
        Passed to the estimator, :class:`~masrisk.scale.dask_model.DaskRiskModel`.
    """

    name = "dask"

    def __init__(
        self,
        data: PartitionedData,
        *,
        extra_kinds: Sequence[str] = (),
        local_rows: int = 1_000_000,
        step: int = 100,
    ) -> None:
        require_dask()
        self.data = data
        self.extra_kinds = tuple(extra_kinds)
        self.local_rows = local_rows
        self.step = step
        self._parts: list[Any] | None = None
        self._territories: Territories | None = None

    def parts(self) -> list[Any]:
        """Return one handle per part (see :class:`~masrisk.engines.Engine`)."""
        import dask

        if self._parts is None:
            read = dask.delayed(PartitionedData.tables, pure=True)
            tasks = [
                read(self.data, k, extra_kinds=self.extra_kinds)
                for k in range(self.data.partitions)
            ]
            self._parts = list(dask.persist(*tasks))
        return self._parts

    def territories(self) -> Territories:
        """Return the tables every part holds whole."""
        if self._territories is None:
            self._territories = self.gather(self.map(territories_of, self.parts()[:1]))[0]
        return self._territories

    def map(self, step: Callable[..., Any], *per_part: Sequence[Any], **shared: Any) -> list[Any]:
        """Run ``step`` on each part (see :class:`~masrisk.engines.Engine`)."""
        import dask

        # one copy of each shared input, sent to the workers once
        shared = {k: dask.delayed(v, pure=True, traverse=False) for k, v in shared.items()}
        run = dask.delayed(step, pure=True)
        return list(dask.persist(*(run(*args, **shared) for args in zip(*per_part, strict=True))))

    def sum(self, results: Sequence[Any]) -> Any:
        """Add the parts' results up."""
        import dask

        return dask.compute(dask.delayed(functools.reduce)(operator.add, list(results)))[0]

    def gather(self, results: Sequence[Any]) -> list[Any]:
        """Bring the parts' results here, in part order."""
        import dask

        return list(dask.compute(*results))

    def frame(self, results: Sequence[Any], meta: Any) -> Any:
        """Join per-part frames into the collection the estimator fits."""
        import dask
        from distributed import wait

        # Part k is held on worker k mod n, so that every worker trains on a share, as a
        # copy: it consolidates the columns into a few blocks (Dask adds categorical
        # columns one by one when it concatenates partitions, which fragments make slow).
        client = current_client()
        workers = sorted(client.scheduler_info()["workers"])
        pieces = [
            client.persist(
                dask.delayed(_copy, pure=True)(piece),
                workers=[workers[k % len(workers)]],
                allow_other_workers=False,
            )
            for k, piece in enumerate(results)
        ]
        wait(pieces)
        return from_pieces(pieces, meta)

    def estimator(self, outcome: str, **options: Any) -> RiskModel:
        """Return the engine's estimator, constructed."""
        from masrisk.scale.dask_model import DaskRiskModel

        return DaskRiskModel(outcome, local_rows=self.local_rows, step=self.step, **options)


def _copy(piece: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    return piece.copy()


def from_pieces(pieces: Sequence[Any], meta: pd.DataFrame | pd.Series) -> Any:
    """Return a Dask dataframe of ``pieces`` (delayed pandas objects), their dtypes kept.

    Dask's conversion of text to its string dtype is off: a computed frame equals its
    single-machine twin.
    """
    import dask
    import dask.dataframe as dd

    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(list(pieces), meta=meta, verify_meta=False)
