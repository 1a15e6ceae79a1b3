"""What every command shares: the root app, the consoles, shared options and helpers."""

from __future__ import annotations

import datetime
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from masrisk import __version__
from masrisk.exceptions import ConfigError, MasriskError, ParameterError

app = typer.Typer(
    name="masrisk",
    help="Predictive health-risk modelling for population health management.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# soft_wrap: a line the commands print (a path, an error) is never broken at the terminal's
# width, so it can be copied whole and read by a program; tables still fit the width.
_err = Console(stderr=True, highlight=False, soft_wrap=True)
_out = Console(highlight=False, soft_wrap=True)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show no progress on stderr.")]

#: ``--overwrite``: replace an output masrisk wrote before, never anything else.
Overwrite = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an output of the same kind that masrisk wrote before (never input data).",
    ),
]

#: Seeds: any integer NumPy's generators and LightGBM accept.
Seed = Annotated[int, typer.Option(min=0, max=2**31 - 1, help="Random seed (0 to 2147483647).")]

#: Whether ``--debug`` was given: an unexpected failure then shows its traceback.
_DEBUG = {"on": False}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: str | None) -> str | None:
    """Check that a command-line date is a real calendar date written ``YYYY-MM-DD``."""
    if value is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError
        datetime.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date written YYYY-MM-DD (ISO 8601, e.g. 2025-01-01)"
        ) from None
    return value


def date_option(name: str, help: str) -> typer.models.OptionInfo:  # noqa: A002 - typer's word
    """Return a typer option for a date: ISO 8601 ``YYYY-MM-DD`` only, checked at the edge."""
    return typer.Option(name, help=f"{help} (YYYY-MM-DD).", metavar="DATE", callback=_iso_date)


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
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected failure.")
    ] = False,
) -> None:
    """Predict health risk per person, family and territory; explain it; plan per community."""
    _DEBUG["on"] = debug


def report_unexpected(exc: BaseException) -> int:
    """Say in one line that something failed unexpectedly; return the exit status (1).

    The traceback is shown only with ``--debug``: a user's error is exit 2 and explained
    (:func:`_stage`); what reaches here is a fault of masrisk or of the machine.
    """
    if _DEBUG["on"]:
        _err.print_exception()
    else:
        _err.print(
            f"error: unexpected failure: {type(exc).__name__}: {exc} "
            "(run again with --debug for the traceback, and report it)",
            markup=False,
        )
    return 1


@contextmanager
def _stage(quiet: bool, out: Path | None = None, **check: Any) -> Iterator[None]:
    """Route the library's log to stderr, and turn user errors into exit status 2.

    With ``out``, first refuse it as :func:`masrisk.outputs.check_output` does (before the work).
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("masrisk")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        if out is not None:
            from masrisk.outputs import check_output

            check_output(out, **check)
        yield
    except (MasriskError, FileNotFoundError, FileExistsError, NotADirectoryError) as exc:
        _err.print(f"error: {type(exc).__name__}: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _table(title: str, *columns: str, no_wrap: bool = False, **options: Any) -> Table:
    """Return a table titled on the left: its first column aligned left, the others right."""
    table = Table(title=title, title_justify="left", **options)
    for i, column in enumerate(columns):
        table.add_column(column, justify="right" if i else "left", no_wrap=no_wrap)
    return table


def _summary(title: str, rows: list[tuple[str, int, int]]) -> Table:
    table = _table(title, "table", "rows", "columns")
    for name, n, columns in rows:
        table.add_row(name, f"{n:,}", str(columns))
    return table


def pseudonym_key(path: Path | None) -> bytes | None:
    """Read the pseudonym key from a file, or the ``MASRISK_PSEUDONYM_KEY`` variable.

    Never from the command line, where every local user could read it in the process table.
    Surrounding white space (a final newline) is not part of the key.

    Raises
    ------
    masrisk.exceptions.ParameterError
        If the file cannot be read, or the key is empty.
    """
    if path is None:
        value = os.environ.get("MASRISK_PSEUDONYM_KEY")
        if value is None:
            return None
        key, source = value.encode("utf-8").strip(), "MASRISK_PSEUDONYM_KEY"
    else:
        try:
            key, source = path.read_bytes().strip(), f"--pseudonym-key-file {path}"
        except OSError as exc:
            raise ParameterError(
                f"--pseudonym-key-file: cannot read {path}: {exc.strerror}"
            ) from None
    if not key:
        raise ParameterError(f"{source}: the pseudonym key is empty; give a secret key")
    return key


def _bundle_and_config(model: Path, config: str | None) -> tuple:
    from masrisk.bundle import load_bundle
    from masrisk.config import load_config

    bundle = load_bundle(model)
    if config is None and bundle.profile is None:
        raise ConfigError(
            f"--config: {model} does not record the configuration it was trained with; "
            "give --config (a profile name such as bogota, or a YAML file)"
        )
    return bundle, load_config(config or bundle.profile)


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
    engine: Engine, scheduler: str | None, partitions: int | None, out: Path, table: bool = False
) -> dict[str, Any]:
    """Return the engine options of :mod:`masrisk.scale.engines` (Dask splits beside ``out``).

    Refuses the Dask engine's options without it or without Dask, and with ``table`` an
    ``out`` that is not a table file (.parquet or .csv; Parquet for Dask).
    """
    if table:
        from masrisk.outputs import TABLE_SUFFIXES

        if out.suffix not in TABLE_SUFFIXES:
            raise typer.BadParameter("must end in .parquet or .csv", param_hint="--out")
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
        if table and out.suffix != ".parquet":
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
