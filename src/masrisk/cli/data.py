"""Commands that make and check a data directory: ``synth`` and ``validate``."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from masrisk.cli._common import (
    FileFormat,
    Overwrite,
    Profile,
    Quiet,
    Seed,
    _err,
    _out,
    _stage,
    _summary,
    app,
)

#: The most persons ``synth`` makes: a few times Bogotá (7.9 M), within a 24 GiB machine.
MAX_PERSONS = 20_000_000


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Data directory to write.")],
    profile: Annotated[Profile, typer.Option(help="Population profile.")] = Profile.bogota,
    persons: Annotated[
        int, typer.Option(min=1000, max=MAX_PERSONS, help="Number of persons.")
    ] = 20_000,
    seed: Seed = 0,
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="File format of the tables.")
    ] = FileFormat.parquet,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Also write each person's true outcome probabilities here (.parquet or .csv)."
        ),
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Write a synthetic population (a data directory) for a profile."""
    from masrisk.outputs import check_output
    from masrisk.synth import synthesize

    with _stage(quiet):
        if truth is not None and truth.resolve().parent == out.resolve():
            raise typer.BadParameter("the truth file must not be inside the data directory")
        check_output(out, overwrite=overwrite, kind="data")  # before minutes of work
        if truth is not None:
            check_output(truth, overwrite=overwrite, kind="truth")
        with (
            _err.status(f"Synthesising {persons:,} persons ({profile.value})", spinner="dots")
            if not quiet
            else nullcontext()
        ):
            population = synthesize(profile.value, persons=persons, seed=seed)
            population.write(out, format=file_format.value, truth_path=truth, overwrite=overwrite)
        if not quiet:
            _err.print(_summary(f"Wrote {out}", population.tables.summary()))


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="Data directory to check.")],
    config: Annotated[
        str | None,
        typer.Option(
            help="Configuration (name or YAML path): its extra event kinds are allowed, its "
            "columns: mapping read."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Check a data directory against the data contract; list every problem."""
    from masrisk.config import load_config
    from masrisk.schema import load_tables

    with _stage(quiet):
        settings = load_config(config) if config else None
        kinds = settings.extra_event_kinds if settings else ()
        tables = load_tables(
            data, extra_kinds=kinds, columns=settings.columns if settings else None
        )
        if not quiet:
            _out.print(_summary(f"{data}: valid", tables.summary()))
