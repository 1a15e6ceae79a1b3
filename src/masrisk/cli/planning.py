"""Commands that plan: ``plan`` (one plan per community) and ``demo`` (every stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from masrisk.cli._common import (
    Engine,
    EngineOption,
    Overwrite,
    PartitionsOption,
    Profile,
    Quiet,
    SchedulerOption,
    Seed,
    _engine_options,
    _err,
    _out,
    _stage,
    _table,
    app,
    pseudonym_key,
)


@app.command()
def plan(
    scores: Annotated[Path, typer.Option("--scores", help="Scores file (masrisk score).")],
    data: Annotated[Path, typer.Option("--data", help="Data directory.")],
    config: Annotated[str, typer.Option(help="Configuration: a shipped name or a YAML path.")],
    out: Annotated[Path, typer.Option("--out", help="Plans directory to write.")],
    contributions: Annotated[
        Path | None,
        typer.Option(help="Contributions file (masrisk explain): the drivers of each plan."),
    ] = None,
    pseudonym_key_file: Annotated[
        Path | None,
        typer.Option(
            "--pseudonym-key-file",
            help="File holding the secret key of keyed HMAC-SHA256 pseudonyms of household "
            "ids (or MASRISK_PSEUDONYM_KEY); never the key itself on the command line.",
        ),
    ] = None,
    pseudonymize: Annotated[
        str | None, typer.Option("--pseudonymize", hidden=True, help="Refused: a key in clear.")
    ] = None,
    overwrite: Overwrite = False,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    partitions: PartitionsOption = None,
    quiet: Quiet = False,
) -> None:
    """Write an integral risk-management plan per community, and a city summary."""
    from masrisk.config import load_config
    from masrisk.pipeline import plan_from_files
    from masrisk.scale.engines import open_engine

    where = _engine_options(engine, scheduler, partitions, out)
    if pseudonymize is not None:
        raise typer.BadParameter(
            "a key on the command line is visible to every user of this machine; put it in "
            "a file (--pseudonym-key-file FILE) or the MASRISK_PSEUDONYM_KEY variable",
            param_hint="--pseudonymize",
        )
    with _stage(quiet, out, overwrite=overwrite, kind="plans"):  # refused before the work
        key = pseudonym_key(pseudonym_key_file)
        settings = load_config(config)
        with open_engine(data, config=settings, **where) as running:
            plans = plan_from_files(scores, running, config=settings, contributions=contributions)
        plans.write(out, pseudonym_key=key, overwrite=overwrite)
        if not quiet:
            _err.print(_plans_table(plans.summary))
            _err.print(f"Wrote {out} ({len(plans):,} community plans)", markup=False)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Directory for everything.")] = Path(
        "demo-output"
    ),
    persons: Annotated[
        int, typer.Option(min=5000, help="Persons in the synthetic population.")
    ] = 100_000,
    profile: Annotated[Profile, typer.Option(help="Population profile.")] = Profile.bogota,
    seed: Seed = 1,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Run the whole pipeline on a synthetic population: synth to plans, with progress."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from masrisk.pipeline import DEMO_STAGES, run_demo

    columns = (TextColumn("{task.description:<20}"), BarColumn(), TimeElapsedColumn())
    with (
        _stage(quiet, out, overwrite=overwrite, kind="demo"),  # refused before minutes of work
        Progress(*columns, console=_err, disable=quiet) as progress,
    ):
        task = progress.add_task(DEMO_STAGES[0], total=len(DEMO_STAGES))

        def on_stage(stage: str) -> None:
            progress.update(task, description=stage, completed=DEMO_STAGES.index(stage))

        result = run_demo(
            out, persons=persons, profile=profile.value, seed=seed, on_stage=on_stage,
            overwrite=overwrite,
        )  # fmt: skip
        progress.update(task, description="done", completed=len(DEMO_STAGES))
    figures = result.figures
    table = _table(f"masrisk demo: {profile.value}, {persons:,} persons", "figure", "value")
    table.add_row("model chosen", str(figures["chosen_model"]))
    table.add_row("validation AUC", f"{figures['validation_auc']:.3f}")
    table.add_row("calibration slope", f"{figures['calibration_slope']:.2f}")
    shares = figures["level_shares"]
    table.add_row("levels (ind/fam/ter)", " / ".join(f"{v:.0%}" for v in shares.values()))
    table.add_row("persons scored", f"{figures['persons']:,}")
    table.add_row("community plans", f"{figures['territories']:,}")
    table.add_row(
        "team-hours allocated", f"{figures['hours']:,.0f} of {figures['capacity_hours']:,.0f}"
    )
    table.add_row("expected events", f"{figures['expected_events']:,.0f}")
    table.add_row("events averted", f"{figures['expected_events_averted']:,.1f}")
    _out.print(table)
    for name, path in result.paths.items():
        _out.print(f"{name:<14} {path}", markup=False)


def _plans_table(summary) -> Table:  # noqa: ANN001 - CitySummary, imported lazily
    table = _table("Plans by axis", "axis", "persons", "team-hours")
    for axis, figures in summary.by_axis.items():
        table.add_row(axis, f"{figures['persons']:,}", f"{figures['hours']:,.0f}")
    table.caption = (
        f"{summary.total_hours:,.0f} of {summary.capacity_hours:,.0f} team-hours; "
        f"{summary.expected_events_averted:,.1f} of {summary.expected_events:,.0f} expected "
        f"events averted"
    )
    return table
