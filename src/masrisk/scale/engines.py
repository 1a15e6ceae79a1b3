"""The pipeline's steps on a data directory, run by the engine of your choice.

``engine="pandas"`` holds the whole population in this process's memory and runs
:func:`masrisk.build_features`, :func:`masrisk.train`, :func:`masrisk.score` and
:func:`masrisk.explain` as they are. ``engine="dask"`` runs the same builders on a Dask
cluster, one task per partition of whole territories (:mod:`masrisk.scale.dask_engine`):
on a ``LocalCluster`` of this machine by default, or on the scheduler at ``scheduler``.

``data`` is either a data directory (one file per table) or a directory written by
:func:`~masrisk.scale.partitions.partition_data` (it holds ``partitions.json``). The Dask
engine first splits a plain data directory into ``partitions`` partitions (by default one
per million persons) in a temporary directory under ``work``, removed at the end; as the
workers read it, ``work`` must be on storage they share.

Examples
--------
>>> import tempfile, masrisk, masrisk.scale
>>> data = masrisk.synthesize("bogota", persons=1000, seed=0).write(tempfile.mkdtemp())
>>> config = masrisk.load_config("bogota")
>>> features = masrisk.scale.build_features(data, as_of="2024-01-01", config=config)
>>> features.equals(masrisk.build_features(masrisk.load_tables(data), as_of="2024-01-01",
...     config=config))
True
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from masrisk.bundle import Bundle
from masrisk.config import Config, load_config
from masrisk.evaluate import EvaluationReport
from masrisk.models import RiskModel
from masrisk.outputs import write_table
from masrisk.scale.partitions import PartitionedData, open_partitioned, partition_data
from masrisk.schema import load_tables, normalize_and_validate
from masrisk.tables import Tables

__all__ = ["ENGINES", "Engine", "build_features", "dask_session", "explain", "score", "train"]

#: The engines.
ENGINES: tuple[str, ...] = ("pandas", "dask")

Engine = Literal["pandas", "dask"]
DataPath = str | os.PathLike | PartitionedData


def build_features(
    data: DataPath,
    *,
    as_of: str | pd.Timestamp,
    config: Config | None = None,
    lab_codes: list[str] | None = None,
    engine: Engine = "pandas",
    scheduler: str | None = None,
    partitions: int | None = None,
) -> pd.DataFrame:
    """Build the features of every person present at ``as_of`` (:func:`masrisk.build_features`).

    Parameters
    ----------
    data : str, path-like or PartitionedData
        A data directory or a partitioned one.
    as_of, config, lab_codes
        As :func:`masrisk.build_features`.
    engine : {"pandas", "dask"}
    scheduler : str, optional
        Dask scheduler address; a ``LocalCluster`` by default.
    partitions : int, optional
        Partitions to split a plain data directory into (Dask engine).

    Returns
    -------
    pandas.DataFrame
        Equal to :func:`masrisk.build_features` of the whole population; with the Dask
        engine the rows come partition by partition.
    """
    config = config or load_config("bogota")
    if _check(engine) == "pandas":
        from masrisk.features import build_features as build

        return build(_tables(data, config), as_of=as_of, config=config, lab_codes=lab_codes)
    from masrisk.scale.dask_features import dask_features

    with dask_session(data, config=config, scheduler=scheduler, partitions=partitions) as pop:
        return dask_features(pop, as_of=as_of, config=config, lab_codes=lab_codes).compute()


def train(
    data: DataPath,
    *,
    config: Config,
    outcome: str,
    train_as_of: str | pd.Timestamp,
    valid_as_of: str | pd.Timestamp,
    params: dict | None = None,
    calibration: str = "sigmoid",
    random_state: int = 0,
    engine: Engine = "pandas",
    scheduler: str | None = None,
    partitions: int | None = None,
    work: str | os.PathLike | None = None,
) -> tuple[RiskModel, EvaluationReport]:
    """Train out of time (:func:`masrisk.train`); the Dask engine trains with ``lightgbm.dask``.

    Parameters
    ----------
    data : str, path-like or PartitionedData
    config, outcome, train_as_of, valid_as_of, params, calibration, random_state
        As :func:`masrisk.train`.
    engine, scheduler, partitions, work
        See the module's description.

    Returns
    -------
    model : RiskModel
    report : EvaluationReport
    """
    options = {
        "config": config,
        "outcome": outcome,
        "train_as_of": train_as_of,
        "valid_as_of": valid_as_of,
        "params": params,
        "calibration": calibration,
        "random_state": random_state,
    }
    if _check(engine) == "pandas":
        from masrisk.training import train as train_whole

        return train_whole(_tables(data, config), **options)
    from masrisk.scale.dask_training import train_dask

    with dask_session(
        data, config=config, scheduler=scheduler, partitions=partitions, work=work
    ) as population:
        return train_dask(population, **options)


def score(
    bundle: Bundle,
    data: DataPath,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    out: str | os.PathLike,
    engine: Engine = "pandas",
    scheduler: str | None = None,
    partitions: int | None = None,
    work: str | os.PathLike | None = None,
) -> Path:
    """Score everyone present at ``as_of`` (:func:`masrisk.score`) and write the scores.

    Returns
    -------
    pathlib.Path
        ``out``: a ``.parquet`` or ``.csv`` file (pandas), or a directory of Parquet files,
        one per partition (Dask; ``out`` must end in ``.parquet``).
    """
    lab_codes = bundle.lab_codes
    if _check(engine) == "pandas":
        from masrisk.scoring import score as score_whole

        return write_table(
            score_whole(bundle, _tables(data, config), as_of=as_of, config=config), out
        )
    from masrisk.scale.dask_features import dask_features
    from masrisk.scale.dask_scoring import score_dask, write_parquet

    _check_directory(out)
    with dask_session(
        data, config=config, scheduler=scheduler, partitions=partitions, work=work
    ) as population:
        features = dask_features(population, as_of=as_of, config=config, lab_codes=lab_codes)
        scores = score_dask(bundle, features, population, as_of=as_of, config=config)
        return write_parquet(scores, out)


def explain(
    bundle: Bundle,
    data: DataPath,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    out: str | os.PathLike,
    engine: Engine = "pandas",
    scheduler: str | None = None,
    partitions: int | None = None,
    work: str | os.PathLike | None = None,
    chunk_size: int = 100_000,
) -> Path:
    """Explain everyone present at ``as_of`` (:func:`masrisk.explain`) and write the table.

    Returns
    -------
    pathlib.Path
        ``out``, as :func:`score` writes it: the ``masrisk explain`` contributions table.
    """
    lab_codes = bundle.lab_codes
    if _check(engine) == "pandas":
        from masrisk.explanations import explain as explain_whole
        from masrisk.features import build_features as build

        features = build(_tables(data, config), as_of=as_of, config=config, lab_codes=lab_codes)
        return write_table(explain_whole(bundle, features, chunk_size=chunk_size).to_frame(), out)
    from masrisk.scale.dask_features import dask_features
    from masrisk.scale.dask_scoring import explain_dask, write_parquet

    _check_directory(out)
    with dask_session(
        data, config=config, scheduler=scheduler, partitions=partitions, work=work
    ) as population:
        features = dask_features(population, as_of=as_of, config=config, lab_codes=lab_codes)
        return write_parquet(explain_dask(bundle, features, chunk_size=chunk_size), out)


@contextmanager
def dask_session(
    data: DataPath,
    *,
    config: Config,
    scheduler: Any = None,
    partitions: int | None = None,
    work: str | os.PathLike | None = None,
) -> Iterator[Any]:
    """Open a Dask client and the data as a :class:`~masrisk.scale.dask_engine.DaskPopulation`.

    A plain data directory is split into ``partitions`` partitions under ``work`` first,
    and the split removed at the end; the client is closed at the end if it was opened
    here (see :func:`~masrisk.scale.dask_engine.connect`).

    Yields
    ------
    DaskPopulation
    """
    from masrisk.scale.dask_engine import connect, open_dask, require_dask

    require_dask()  # before any partitioning
    with _partitioned(data, partitions=partitions, work=work) as split, connect(scheduler):
        yield open_dask(split, extra_kinds=config.extra_event_kinds)


@contextmanager
def _partitioned(
    data: DataPath, *, partitions: int | None, work: str | os.PathLike | None
) -> Iterator[PartitionedData]:
    if isinstance(data, PartitionedData):
        yield data
        return
    path = Path(data)
    if (path / "partitions.json").is_file():
        yield open_partitioned(path)
        return
    parent = Path(work) if work is not None else Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=".masrisk-partitions-", dir=parent))
    try:
        options = {"partitions": partitions} if partitions else {}
        yield partition_data(path, temporary / "data", **options)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _tables(data: DataPath, config: Config) -> Tables:
    """Read the whole population into memory, from a plain or a partitioned directory."""
    kinds = config.extra_event_kinds
    if not isinstance(data, PartitionedData):
        if not (Path(data) / "partitions.json").is_file():
            return load_tables(data, extra_kinds=kinds)
        data = open_partitioned(data)
    frames = data.small_tables()
    pieces = [data.frames(k) for k in range(data.partitions)]
    for name in ("households", "persons", "events"):
        frames[name] = pd.concat([p[name] for p in pieces], ignore_index=True)
    return normalize_and_validate(frames, source=str(data.path), extra_kinds=kinds)


def _check(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    return engine


def _check_directory(out: str | os.PathLike) -> None:
    if Path(out).suffix != ".parquet":
        raise ValueError(
            f"{out}: the Dask engine writes a directory of Parquet files, one per partition; "
            "name it with .parquet"
        )
