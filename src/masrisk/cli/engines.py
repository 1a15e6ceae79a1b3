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


def _engine_options(
    engine: Engine, scheduler: str | None, partitions: int | None, out: Path, parquet: bool = False
) -> dict[str, Any]:
    """Return the engine options of :mod:`masrisk.scale.engines` (Dask splits beside ``out``).

    Refuses the Dask engine's options without it or without Dask, and with ``parquet`` an
    ``out`` that is not Parquet.
    """
    if engine is Engine.pandas:
        for name, value in (("--scheduler", scheduler), ("--partitions", partitions)):
            if value is not None:
                raise typer.BadParameter("needs --engine dask", param_hint=name)
    else:
        from masrisk.scale.dask_engine import require_dask

        try:
            require_dask()
        except MasriskError as exc:
            raise typer.BadParameter(str(exc), param_hint="--engine") from None
        if parquet and out.suffix != ".parquet":
            raise typer.BadParameter(
                "with --engine dask the output is Parquet (explain: a directory of Parquet "
                "files, one per partition): end it in .parquet",
                param_hint="--out",
            )
    return {
        "engine": engine.value,
        "scheduler": scheduler,
        "partitions": partitions,
        "work": out.parent if engine is Engine.dask else None,
    }
