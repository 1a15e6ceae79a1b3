"""The engine options of the commands."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from masrisk.exceptions import MasriskError


class Engine(str, Enum):
    """Where the pipeline's steps run."""

    pandas = "pandas"
    dask = "dask"


EngineOption = Annotated[
    Engine,
    typer.Option(
        help="pandas: the whole population in this process; dask: a Dask cluster, one task "
        "per partition of territories (needs masrisk[scale])."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESS",
        help="Dask scheduler to run on (tcp://host:8786); a LocalCluster by default.",
    ),
]
PartitionsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Dask: partitions to split a plain data directory into (default: one per "
        "million persons); a partitioned directory keeps its own.",
    ),
]


def _check_engine(
    engine: Engine, scheduler: str | None, partitions: int | None, *, out: Path | None = None
) -> None:
    """Refuse the Dask engine's options without it or without Dask, and non-Parquet output."""
    if engine is Engine.pandas:
        for name, value in (("--scheduler", scheduler), ("--partitions", partitions)):
            if value is not None:
                raise typer.BadParameter("needs --engine dask", param_hint=name)
        return
    from masrisk.scale.dask_engine import require_dask

    try:
        require_dask()
    except MasriskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--engine") from None
    if out is not None and out.suffix != ".parquet":
        raise typer.BadParameter(
            "with --engine dask the output is Parquet (explain: a directory of Parquet "
            "files, one per partition): end it in .parquet",
            param_hint="--out",
        )


def _where(
    engine: Engine, scheduler: str | None, partitions: int | None, out: Path
) -> dict[str, Any]:
    """Return the engine options of :mod:`masrisk.scale.engines` (Dask splits beside ``out``)."""
    return {
        "engine": engine.value,
        "scheduler": scheduler,
        "partitions": partitions,
        "work": out.parent if engine is Engine.dask else None,
    }
