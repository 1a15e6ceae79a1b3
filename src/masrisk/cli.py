"""The ``masrisk`` command line: thin wiring of the pipeline's stages, no logic of its own.

Exit status: 0 success; 2 invalid input or arguments (stderr says what and where, without a
traceback); 1 anything else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from masrisk import __version__
from masrisk.exceptions import MasriskError

__all__ = ["app", "main"]

app = typer.Typer(
    name="masrisk",
    help="Predictive health-risk modelling for population health management.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show no progress on stderr.")]


class Profile(str, Enum):
    """Synthetic population profiles."""

    bogota = "bogota"
    mexico = "mexico"


class FileFormat(str, Enum):
    """Formats of a data directory's files."""

    parquet = "parquet"
    csv = "csv"


def _version(value: bool) -> None:
    if value:
        _out.print(f"masrisk {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Predict health risk per person, family and territory; explain it; plan per community."""


@contextmanager
def _stage(quiet: bool) -> Iterator[None]:
    """Route the library's log to stderr, and turn user errors into exit status 2."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("masrisk")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        yield
    except (MasriskError, FileNotFoundError) as exc:
        _err.print(f"error: {type(exc).__name__}: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _summary(title: str, rows: list[tuple[str, int, int]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("columns", justify="right")
    for name, n, columns in rows:
        table.add_row(name, f"{n:,}", str(columns))
    return table


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Data directory to write.")],
    profile: Annotated[Profile, typer.Option(help="Population profile.")] = Profile.bogota,
    persons: Annotated[int, typer.Option(min=1000, help="Number of persons.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same tables.")] = 0,
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="File format of the tables.")
    ] = FileFormat.parquet,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Also write each person's true outcome probabilities here (.parquet or .csv)."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Write a synthetic population (a data directory) for a profile."""
    from masrisk.synth import synthesize

    with _stage(quiet):
        if truth is not None and truth.resolve().parent == out.resolve():
            raise typer.BadParameter("the truth file must not be inside the data directory")
        with (
            _err.status(f"Synthesising {persons:,} persons ({profile.value})", spinner="dots")
            if not quiet
            else _null()
        ):
            population = synthesize(profile.value, persons=persons, seed=seed)
            population.write(out, format=file_format.value, truth_path=truth)
        if not quiet:
            _err.print(_summary(f"Wrote {out}", population.tables.summary()))


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="Data directory to check.")],
    config: Annotated[
        str | None,
        typer.Option(help="Configuration (name or YAML path) whose extra event kinds are allowed."),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Check a data directory against the data contract; list every problem."""
    from masrisk.config import load_config
    from masrisk.schema import load_tables

    with _stage(quiet):
        kinds = load_config(config).extra_event_kinds if config else ()
        tables = load_tables(data, extra_kinds=kinds)
        if not quiet:
            _out.print(_summary(f"{data}: valid", tables.summary()))


@contextmanager
def _null() -> Iterator[None]:
    yield


def main() -> None:
    """Entry point of the ``masrisk`` console script."""
    app(prog_name="masrisk")
