"""The Dask engine: a population split by territory as Dask collections.

Beyond one machine (Mexico's programme: tens of millions of persons) the partitions of
:func:`~masrisk.scale.partitions.partition_data` become the partitions of Dask dataframes,
one per group of whole territories, and each step runs as one task per partition on a
Dask cluster, calling the single-machine code:

- :func:`connect` gives a ``distributed.Client``: a ``LocalCluster`` by default, or the
  scheduler at an address;
- :func:`open_dask` reads a partitioned directory as :class:`DaskPopulation`: households,
  persons and events as ``dask.dataframe`` frames with one partition per ``part=K``
  folder, and each partition's validated :class:`~masrisk.tables.Tables`;
- :mod:`masrisk.scale.dask_features` builds the features (equal to
  :func:`masrisk.build_features`), :mod:`masrisk.scale.dask_training` trains with
  ``lightgbm.dask``, :mod:`masrisk.scale.dask_scoring` scores and explains with
  ``map_partitions`` and writes partitioned Parquet, :mod:`masrisk.scale.dask_planning`
  makes the plans.

Dask is an optional dependency (``pip install "masrisk[scale]"``): it is imported only when
one of these functions runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from masrisk.exceptions import MasriskError
from masrisk.scale.partitions import PARTITIONED_TABLES, PartitionedData, open_partitioned
from masrisk.schema import normalize_and_validate, read_table_file
from masrisk.tables import Tables

if TYPE_CHECKING:
    import dask.dataframe as dd
    from dask.delayed import Delayed
    from distributed import Client

__all__ = [
    "INSTALL_HINT",
    "DaskEngineError",
    "DaskPopulation",
    "connect",
    "current_client",
    "from_pieces",
    "open_dask",
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
        The address of a running scheduler (``tcp://host:8786``), or a client to use as it
        is (left open). By default a ``LocalCluster`` of ``workers`` processes is started
        on this machine and closed at the end.
    workers, threads_per_worker, memory_limit
        The ``LocalCluster``'s worker processes, threads per worker and memory limit per
        worker. Processes, not threads: LightGBM's distributed training runs one LightGBM
        network member per process, and pandas holds the GIL.

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
            # The scheduler's small HTTP server (health, metrics) on a free local port, not
            # on 8787, which another cluster may hold.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
        try:
            with Client(cluster) as client:
                client.run(_silence_stdout)
                logger.info("Dask: a local cluster of %d worker processes", workers)
                yield client
        finally:
            cluster.close()
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
    """Send a local worker's standard output to the null device.

    LightGBM's native code prints its network set-up (ports, connections) from the
    worker's threads, where neither ``verbose`` nor a registered logger reaches; a local
    worker would print it on the user's terminal. Logs and errors still come back.
    """
    import os

    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)


@dataclass(frozen=True)
class DaskPopulation:
    """A partitioned population as Dask collections, one partition per group of territories.

    Attributes
    ----------
    data : PartitionedData
        The partitioned directory read.
    households, persons, events : dask.dataframe.DataFrame
        The tables as on disk (not yet validated), partition ``k`` being the folder
        ``part=k``.
    extra_kinds : tuple of str
        Event kinds accepted beside the built-in ones.
    """

    data: PartitionedData
    households: dd.DataFrame
    persons: dd.DataFrame
    events: dd.DataFrame
    extra_kinds: tuple[str, ...] = ()

    @property
    def partitions(self) -> int:
        """Number of partitions."""
        return self.data.partitions

    def tables(self) -> list[Delayed]:
        """Return each partition's validated :class:`~masrisk.tables.Tables`, lazily.

        Each partition is checked against the data contract in its own task; a problem
        raises :class:`masrisk.ValidationError` naming the partition.
        """
        from dask import delayed

        small = delayed(self.data.small_tables(), pure=True, traverse=False)
        pieces = zip(
            self.households.to_delayed(),
            self.persons.to_delayed(),
            self.events.to_delayed(),
            strict=True,
        )
        return [
            delayed(_validate, pure=True)(
                small,
                households,
                persons,
                events,
                source=f"{self.data.path} (partition {k})",
                extra_kinds=self.extra_kinds,
            )
            for k, (households, persons, events) in enumerate(pieces)
        ]

    def places(self) -> dd.DataFrame:
        """Return each person's ``household_id`` and ``territory_id``, lazily.

        Indexed by ``person_id``, partitioned as the tables; read from the persons and
        households only (no events).
        """
        import dask.dataframe as dd

        persons, households = self.persons._meta, self.households._meta
        meta = pd.DataFrame(
            {"household_id": persons["household_id"], "territory_id": households["territory_id"]},
            index=pd.Index(persons["person_id"], name="person_id"),
        )
        return dd.map_partitions(
            _person_places, self.persons, self.households, meta=meta, align_dataframes=False
        )


def open_dask(
    data: str | Path | PartitionedData, *, extra_kinds: Sequence[str] = ()
) -> DaskPopulation:
    """Read a partitioned directory (:func:`~masrisk.scale.partitions.partition_data`) lazily.

    Parameters
    ----------
    data : str, pathlib.Path or PartitionedData
    extra_kinds : sequence of str
        Event kinds accepted beside the built-in ones (``Config.extra_event_kinds``).

    Returns
    -------
    DaskPopulation
    """
    require_dask()
    import dask
    import dask.dataframe as dd

    data = data if isinstance(data, PartitionedData) else open_partitioned(data)
    frames = {}
    for name in PARTITIONED_TABLES:
        folders = [str(data.path / name / f"part={k}") for k in range(data.partitions)]
        # Read as masrisk reads a table, not with Dask's own string dtype: the features'
        # categories must have the dtype that masrisk.build_features gives them.
        with dask.config.set({"dataframe.convert-string": False}):
            frames[name] = dd.from_map(
                read_table_file, folders, meta=_empty(folders[0]), label=f"read-{name}"
            )
    return DaskPopulation(data, **frames, extra_kinds=tuple(extra_kinds))


def from_pieces(pieces: Sequence[Any], meta: pd.DataFrame | pd.Series) -> Any:
    """Return a Dask dataframe whose partitions are ``pieces`` (delayed pandas objects).

    The pieces' dtypes are kept as masrisk makes them: Dask's conversion of text columns to
    its own string dtype is off, so a computed frame equals its single-machine twin.
    """
    import dask
    import dask.dataframe as dd

    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(list(pieces), meta=meta, verify_meta=False)


def _empty(folder: str) -> pd.DataFrame:
    """Return an empty frame with the columns and dtypes of a partition folder's table."""
    import pyarrow.parquet as pq

    first = sorted(Path(folder).glob("*.parquet"))[0]
    return pq.read_schema(first).empty_table().to_pandas()


def _validate(
    small: dict[str, pd.DataFrame],
    households: pd.DataFrame,
    persons: pd.DataFrame,
    events: pd.DataFrame,
    *,
    source: str,
    extra_kinds: tuple[str, ...],
) -> Tables:
    frames = {**small, "households": households, "persons": persons, "events": events}
    return normalize_and_validate(frames, source=source, extra_kinds=extra_kinds)


def _person_places(persons: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    places = persons[["person_id", "household_id"]].set_index("person_id")
    territory = households.set_index("household_id")["territory_id"]
    return places.assign(territory_id=places["household_id"].map(territory))
