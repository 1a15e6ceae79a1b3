"""The Dask engine's options, and the steps the commands hand to it."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from masrisk.cli._common import _bundle_and_config
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
            "with --engine dask the output is a directory of Parquet files, one per "
            "partition: end it in .parquet",
            param_hint="--out",
        )


def _on_dask(
    step: str,
    model: Path,
    data: Path,
    as_of: str,
    out: Path,
    config: str | None,
    scheduler: str | None,
    partitions: int | None,
):  # noqa: ANN202 - a pandas frame, imported lazily
    """Score or explain on Dask into ``out``; return the written scores' tiers and risks."""
    import pandas as pd

    from masrisk.scale import engines

    bundle, settings = _bundle_and_config(model, config)
    run = engines.score if step == "score" else engines.explain
    run(
        bundle, data, as_of=as_of, config=settings, out=out, engine="dask",
        scheduler=scheduler, partitions=partitions, work=out.parent,
    )  # fmt: skip
    return pd.read_parquet(out, columns=["tier", "risk"] if step == "score" else ["person_id"])


def _plan_on_dask(
    scores: Path,
    data: Path,
    config: str,
    contributions: Path | None,
    scheduler: str | None,
    partitions: int | None,
):  # noqa: ANN202 - Plans, imported lazily
    from masrisk.config import load_config
    from masrisk.scale.dask_planning import plan_from_parquet
    from masrisk.scale.engines import dask_session

    settings = load_config(config)
    session = dask_session(
        data, config=settings, scheduler=scheduler, partitions=partitions, work=scores.parent
    )
    with session as population:
        return plan_from_parquet(scores, population, config=settings, contributions=contributions)
