"""The pipeline on a data directory, run by the engine of your choice.

``engine="pandas"`` runs in this process (:class:`~masrisk.engines.MemoryEngine`, or one
partition at a time for a partitioned directory: :class:`~masrisk.scale.loop.PartitionEngine`);
``engine="dask"`` on a Dask cluster (:class:`~masrisk.scale.dask_engine.DaskEngine`). The
steps are the same whatever the engine, and so are the results.

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
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from masrisk.bundle import Bundle
from masrisk.config import Config
from masrisk.engines import MemoryEngine, stages
from masrisk.engines.base import Engine
from masrisk.engines.steps import Explained
from masrisk.evaluate import EvaluationReport
from masrisk.exceptions import ConfigError
from masrisk.models import RiskModel
from masrisk.outputs import write_table
from masrisk.planning.planner import Plans
from masrisk.scale.loop import PartitionEngine
from masrisk.scale.partitions import PartitionedData, open_partitioned, partition_data
from masrisk.schema import load_tables
from masrisk.scoring import score as score_population
from masrisk.training import TrainSpec
from masrisk.training import train as train_model

__all__ = [
    "ENGINES",
    "EngineName",
    "build_features",
    "explain",
    "open_engine",
    "plan",
    "score",
    "train",
]

#: The engines.
ENGINES: tuple[str, ...] = ("pandas", "dask")

EngineName = Literal["pandas", "dask"]
DataPath = str | os.PathLike | PartitionedData


def build_features(
    data: DataPath, *, as_of: str | pd.Timestamp, config: Config,
    lab_codes: list[str] | None = None, **where: Any,
) -> pd.DataFrame:  # fmt: skip
    """Build the features of every person present at ``as_of`` (:func:`masrisk.build_features`).

    ``where`` chooses the engine (:func:`open_engine`); the rows come part after part.
    """
    with open_engine(data, config=config, **where) as engine:
        return stages.build_features(engine, as_of=as_of, config=config, lab_codes=lab_codes)


def train(
    data: DataPath, spec: TrainSpec | None = None, /, *, engine: EngineName = "pandas",
    scheduler: str | None = None, partitions: int | None = None,
    work: str | os.PathLike | None = None, **options: Any,
) -> tuple[RiskModel, EvaluationReport]:  # fmt: skip
    """Train out of time (:func:`masrisk.train`); the Dask engine trains with ``lightgbm.dask``.

    ``spec`` or ``options`` as :func:`masrisk.train`; ``engine``, ``scheduler``,
    ``partitions`` and ``work`` as :func:`open_engine`.
    """
    spec = spec if spec is not None else TrainSpec(**options)
    where = {"engine": engine, "scheduler": scheduler, "partitions": partitions, "work": work}
    with open_engine(data, config=spec.config, **where) as running:
        return train_model(running, spec)


def score(
    bundle: Bundle, data: DataPath, *, as_of: str | pd.Timestamp, config: Config,
    out: str | os.PathLike | None = None, **where: Any,
) -> pd.DataFrame:  # fmt: skip
    """Score everyone present at ``as_of``: :func:`masrisk.score`, the scores table.

    ``where`` chooses the engine (:func:`open_engine`). ``out`` is deprecated: write the
    returned table with :func:`masrisk.outputs.write_table`.
    """
    with open_engine(data, config=config, **where) as engine:
        scores = score_population(bundle, engine, as_of=as_of, config=config)
    if out is not None:
        warnings.warn(
            "masrisk.scale.score(out=...) is deprecated: it returns the scores; write them "
            "with masrisk.outputs.write_table",
            DeprecationWarning,
            stacklevel=2,
        )
        write_table(scores, out)
    return scores


def explain(
    bundle: Bundle, data: DataPath, *, as_of: str | pd.Timestamp, config: Config,
    out: str | os.PathLike, chunk_size: int = 100_000, overwrite: bool = False, **where: Any,
) -> Explained:  # fmt: skip
    """Explain everyone present at ``as_of``, streaming the contributions table to ``out``.

    See :func:`masrisk.engines.stages.explain`; ``where`` chooses the engine.
    """
    with open_engine(data, config=config, **where) as engine:
        return stages.explain(
            bundle, engine, as_of=as_of, config=config, out=out, chunk_size=chunk_size,
            overwrite=overwrite,
        )  # fmt: skip


def plan(
    scores: pd.DataFrame, data: DataPath, *, config: Config,
    contributions: str | os.PathLike | None = None, **where: Any,
) -> Plans:  # fmt: skip
    """Make the plans of scored persons (:func:`masrisk.engines.stages.plan`) on an engine."""
    with open_engine(data, config=config, **where) as engine:
        return stages.plan(scores, engine, config=config, contributions=contributions)


@contextmanager
def open_engine(
    data: DataPath,
    *,
    config: Config,
    engine: EngineName = "pandas",
    scheduler: Any = None,
    partitions: int | None = None,
    work: str | os.PathLike | None = None,
) -> Iterator[Engine]:
    """Open the engine that runs the steps on ``data``.

    Parameters
    ----------
    data : str, path-like or PartitionedData
        A data directory, or a partitioned one (it holds ``partitions.json``).
    config : Config
        Its extra event kinds are accepted when reading.
    engine : {"pandas", "dask"}
        ``pandas``: in this process, whole or one partition at a time. ``dask``: one task
        per partition; a plain data directory is first split into ``partitions`` partitions
        (one per million persons by default) under ``work`` (a temporary directory by
        default, removed at the end; on storage the workers share).
    scheduler : str or distributed.Client, optional
        Dask scheduler address; a ``LocalCluster`` by default.

    Yields
    ------
    Engine
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    kinds = config.extra_event_kinds
    if engine == "pandas":
        if partitions is not None or scheduler is not None:
            raise ConfigError("partitions and scheduler need engine='dask'")
        split = _split(data)
        if split is not None:
            yield PartitionEngine(split, extra_kinds=kinds)
        else:
            yield MemoryEngine(load_tables(data, extra_kinds=kinds, columns=config.columns))
        return
    from masrisk.scale.dask_engine import DaskEngine, connect, require_dask

    require_dask()  # before any partitioning
    with _partitioned(data, partitions=partitions, work=work) as split, connect(scheduler):
        yield DaskEngine(split, extra_kinds=kinds)


@contextmanager
def _partitioned(
    data: DataPath, *, partitions: int | None, work: str | os.PathLike | None
) -> Iterator[PartitionedData]:
    split = _split(data)
    if split is not None:
        yield split
        return
    parent = Path(work) if work is not None else Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=".masrisk-partitions-", dir=parent))
    try:
        options = {"partitions": partitions} if partitions else {}
        yield partition_data(data, temporary / "data", **options)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _split(data: DataPath) -> PartitionedData | None:
    """Return ``data`` as partitioned data, or ``None`` for a plain data directory."""
    if isinstance(data, PartitionedData):
        return data
    return open_partitioned(data) if (Path(data) / "partitions.json").is_file() else None
