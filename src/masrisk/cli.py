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
from rich import box
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
import_app = typer.Typer(
    help="Read a health system's records (RIPS, OMOP CDM) into a data directory.",
    no_args_is_help=True,
)
export_app = typer.Typer(
    help="Write scores and plans for other systems (HL7 FHIR R4).", no_args_is_help=True
)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show no progress on stderr.")]


class Profile(str, Enum):
    """Synthetic population profiles."""

    bogota = "bogota"
    mexico = "mexico"


class Calibration(str, Enum):
    """Recalibration of a model's log-odds."""

    sigmoid = "sigmoid"
    isotonic = "isotonic"
    none = "none"


class FileFormat(str, Enum):
    """Formats of a data directory's files."""

    parquet = "parquet"
    csv = "csv"


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


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="Data directory.")],
    config: Annotated[str, typer.Option(help="Configuration: a shipped name or a YAML path.")],
    outcome: Annotated[str, typer.Option(help="Outcome of the configuration to predict.")],
    train_as_of: Annotated[str, typer.Option("--train-as-of", help="Training cut-off (date).")],
    valid_as_of: Annotated[str, typer.Option("--valid-as-of", help="Validation cut-off, later.")],
    out: Annotated[Path, typer.Option("--out", help="Bundle directory to write.")],
    calibration: Annotated[
        Calibration, typer.Option(help="Recalibration: sigmoid (Platt), isotonic or none.")
    ] = Calibration.sigmoid,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    data_description: Annotated[
        str | None,
        typer.Option(help="Where the data come from, for the model card (e.g. a source, a year)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing bundle.")] = False,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    partitions: PartitionsOption = None,
    quiet: Quiet = False,
) -> None:
    """Train a calibrated model out of time and write it as a bundle with its model card."""
    from masrisk.bundle import save_bundle
    from masrisk.config import load_config
    from masrisk.scale.engines import train as train_model

    _check_engine(engine, scheduler, partitions)
    if out.exists() and not overwrite:  # before the training, not after it
        raise typer.BadParameter(
            f"{out} exists; pass --overwrite to replace it", param_hint="--out"
        )
    with _stage(quiet):
        settings = load_config(config)
        model, report = train_model(
            data,
            engine=engine.value,
            scheduler=scheduler,
            partitions=partitions,
            work=out.parent,
            config=settings,
            outcome=outcome,
            train_as_of=train_as_of,
            valid_as_of=valid_as_of,
            calibration=calibration.value,
            random_state=seed,
        )
        metadata = {**model.training_, "data_description": data_description or str(data)}
        save_bundle(model, out, metadata=metadata, report=report.to_dict(), overwrite=overwrite)
        if not quiet:
            _err.print(_metrics_table(report))
            _err.print(f"Wrote {out} (model card: {out / 'model_card.md'})", markup=False)


@app.command()
def score(
    model: Annotated[Path, typer.Option("--model", help="Bundle directory.")],
    data: Annotated[Path, typer.Option("--data", help="Data directory.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Cut-off of the features (date).")],
    out: Annotated[
        Path,
        typer.Option("--out", help="Scores file, .parquet or .csv (Dask: a .parquet directory)."),
    ],
    config: Annotated[
        str | None,
        typer.Option(help="Configuration for the tiers; by default the bundle's profile."),
    ] = None,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    partitions: PartitionsOption = None,
    quiet: Quiet = False,
) -> None:
    """Score every person present at a cut-off: calibrated risk and tier."""
    from masrisk.outputs import write_table
    from masrisk.scoring import score as score_population

    _check_table_suffix(out)
    _check_engine(engine, scheduler, partitions, out=out)
    with _stage(quiet):
        if engine is Engine.dask:
            scores = _on_dask("score", model, data, as_of, out, config, scheduler, partitions)
        else:
            bundle, settings, tables = _bundle_and_tables(model, data, config)
            scores = score_population(bundle, tables, as_of=as_of, config=settings)
            write_table(scores, out)
        if not quiet:
            counts = scores["tier"].value_counts(sort=False)
            summary = Table(title=f"Wrote {out}: {len(scores):,} persons", title_justify="left")
            for column in ("tier", "persons", "mean risk"):
                summary.add_column(column, justify="left" if column == "tier" else "right")
            for tier, n in counts.items():
                mean = scores.loc[scores["tier"] == tier, "risk"].mean()
                summary.add_row(str(tier), f"{n:,}", f"{mean:.3f}")
            _err.print(summary)


@app.command()
def explain(
    model: Annotated[Path, typer.Option("--model", help="Bundle directory.")],
    data: Annotated[Path, typer.Option("--data", help="Data directory.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Cut-off of the features (date).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Contributions file, .parquet or .csv (Dask: a .parquet directory)."
        ),
    ],
    config: Annotated[
        str | None,
        typer.Option(help="Configuration of the features; by default the bundle's profile."),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Persons explained at a time.")
    ] = 100_000,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    partitions: PartitionsOption = None,
    quiet: Quiet = False,
) -> None:
    """Explain every person present at a cut-off: each feature's contribution (log-odds)."""
    from rich.progress import Progress

    from masrisk.explanations import contributions_frame, iter_contributions
    from masrisk.features import build_features
    from masrisk.outputs import ChunkedTableWriter

    _check_table_suffix(out)
    _check_engine(engine, scheduler, partitions, out=out)
    if engine is Engine.dask:
        with _stage(quiet):
            rows = _on_dask("explain", model, data, as_of, out, config, scheduler, partitions)
        if not quiet:
            _err.print(f"Wrote {out}: {len(rows):,} persons, one file per partition", markup=False)
        return
    with _stage(quiet):
        bundle, settings, tables = _bundle_and_tables(model, data, config)
        features = build_features(
            tables, as_of=as_of, config=settings, lab_codes=bundle.metadata.get("lab_codes")
        )
        X = bundle.prepare(features)
        del features
        columns = list(X.columns)
        with (
            ChunkedTableWriter(out) as writer,
            Progress(console=_err, disable=quiet, transient=True) as progress,
        ):
            task = progress.add_task("explaining", total=len(X))
            for rows, values, base in iter_contributions(bundle.model, X, chunk_size=chunk_size):
                writer.write(contributions_frame(X.index[rows], columns, values, base))
                progress.advance(task, rows.stop - rows.start)
        if not quiet:
            _err.print(
                f"Wrote {out}: {writer.rows:,} persons x {len(columns)} features", markup=False
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
    pseudonymize: Annotated[
        str | None,
        typer.Option(
            "--pseudonymize",
            metavar="KEY",
            help="Replace household ids by keyed HMAC-SHA256 pseudonyms.",
            envvar="MASRISK_PSEUDONYM_KEY",
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing plans directory.")] = False,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    partitions: PartitionsOption = None,
    quiet: Quiet = False,
) -> None:
    """Write an integral risk-management plan per community, and a city summary."""
    from masrisk.pipeline import plan_from_files

    _check_engine(engine, scheduler, partitions)
    if out.exists() and not overwrite:
        raise typer.BadParameter(
            f"{out} exists; pass --overwrite to replace it", param_hint="--out"
        )
    with _stage(quiet):
        if engine is Engine.dask:
            plans = _plan_on_dask(scores, data, config, contributions, scheduler, partitions)
        else:
            plans = plan_from_files(scores, data, config=config, contributions=contributions)
        plans.write(out, pseudonym_key=pseudonymize, overwrite=overwrite)
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
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    quiet: Quiet = False,
) -> None:
    """Run the whole pipeline on a synthetic population: synth to plans, with progress."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from masrisk.pipeline import DEMO_STAGES, run_demo

    columns = (TextColumn("{task.description:<20}"), BarColumn(), TimeElapsedColumn())
    with _stage(quiet), Progress(*columns, console=_err, disable=quiet) as progress:
        task = progress.add_task(DEMO_STAGES[0], total=len(DEMO_STAGES))

        def on_stage(stage: str) -> None:
            progress.update(task, description=stage, completed=DEMO_STAGES.index(stage))

        result = run_demo(out, persons=persons, profile=profile.value, seed=seed, on_stage=on_stage)
        progress.update(task, description="done", completed=len(DEMO_STAGES))
    figures = result.figures
    table = Table(title=f"masrisk demo: {profile.value}, {persons:,} persons", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
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


@export_app.command("fhir")
def export_fhir(
    scores: Annotated[Path, typer.Option("--scores", help="Scores file (masrisk score).")],
    plans: Annotated[Path, typer.Option("--plans", help="Plans directory (masrisk plan).")],
    out: Annotated[Path, typer.Option("--out", help="Directory of NDJSON files to write.")],
    model: Annotated[
        Path | None,
        typer.Option(help="Bundle that made the scores: the model's identity and horizon."),
    ] = None,
    system_base: Annotated[
        str,
        typer.Option("--system-base", help="URI under which masrisk's code systems are named."),
    ] = "urn:masrisk",
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Persons converted at a time.")
    ] = 20_000,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes that build and validate the resources.")
    ] = 1,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing export.")] = False,
    quiet: Quiet = False,
) -> None:
    """Write scores and plans as FHIR R4 RiskAssessment, CarePlan and Group NDJSON files."""
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    from masrisk.io.fhir import export_fhir as write_fhir

    if out.exists() and not overwrite:
        raise typer.BadParameter(
            f"{out} exists; pass --overwrite to replace it", param_hint="--out"
        )
    columns = (TextColumn("RiskAssessment: {task.completed:,} persons"), TimeElapsedColumn())
    with _stage(quiet), Progress(*columns, console=_err, disable=quiet, transient=True) as bar:
        task = bar.add_task("export", total=None)
        export = write_fhir(
            scores, plans, out, model=model, system_base=system_base, chunk_size=chunk_size,
            workers=workers, overwrite=overwrite, on_chunk=lambda rows: bar.advance(task, rows),
        )  # fmt: skip
    if not quiet:
        table = Table(title="FHIR R4 resources", title_justify="left")
        table.add_column("file")
        table.add_column("resources", justify="right")
        for kind, n in export.counts.items():
            table.add_row(f"{kind}.ndjson", f"{n:,}")
        _err.print(table)
        note = "" if model is not None else " (no --model: no basis or horizon)"
        _err.print(f"Wrote {out}: {export.outcome} as of {export.as_of}{note}", markup=False)


class OmopIds(str, Enum):
    """Where ids of an OMOP import come from."""

    omop = "omop"
    source = "source"


@import_app.command("omop")
def import_omop(
    source: Annotated[
        str,
        typer.Argument(
            help="OMOP CDM v5.4: a folder of CSV/Parquet tables, a .duckdb file, "
            "duckdb:///PATH, or a database URL (postgresql://user@host/db)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Data directory to write.")],
    schema: Annotated[str | None, typer.Option(help="Database schema of the CDM tables.")] = None,
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="File format of the tables written.")
    ] = FileFormat.parquet,
    households: Annotated[
        Path | None,
        typer.Option(help="Households table (.parquet/.csv) to use instead of OMOP's locations."),
    ] = None,
    territories: Annotated[
        Path | None,
        typer.Option(help="Territories table (.parquet/.csv): zones and names OMOP lacks."),
    ] = None,
    ids: Annotated[
        OmopIds, typer.Option(help="Ids from OMOP's integer ids or from the *_source_value.")
    ] = OmopIds.omop,
    territory_column: Annotated[
        str, typer.Option(help="Column of location holding the territory id.")
    ] = "county",
    default_zone: Annotated[
        str, typer.Option(help="Zone of every territory when --territories is not given.")
    ] = "urban",
    overwrite: Annotated[
        bool, typer.Option(help="Replace the tables of an existing data directory.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Read an OMOP Common Data Model into a data directory."""
    from masrisk.io.omop import from_omop
    from masrisk.outputs import write_table

    old = _data_files(out)
    if old and not overwrite:
        raise typer.BadParameter(
            f"{out} holds a data directory; pass --overwrite to replace it", param_hint="--out"
        )
    with _stage(quiet):
        tables = from_omop(
            source,
            schema=schema,
            households=households,
            territories=territories,
            ids=ids.value,
            territory_column=territory_column,
            default_zone=default_zone,
        )
        for path in old:
            path.unlink()
        for name, frame in tables.items():
            write_table(frame, out / f"{name}.{file_format.value}")
        if not quiet:
            _err.print(_summary(f"Wrote {out}", tables.summary()))


def _data_files(out: Path) -> list[Path]:
    """Return the table files of a data directory at ``out`` (none if it does not exist)."""
    from masrisk.tables import CONTRACT

    files = [out / f"{name}.{suffix}" for name in CONTRACT for suffix in ("parquet", "csv")]
    return [p for p in files if p.is_file()]


@import_app.command("rips")
def import_rips(
    folder: Annotated[
        Path, typer.Argument(help="Folder of RIPS JSON files (Resolution 2275 of 2023).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Data directory to write.")],
    households: Annotated[
        Path | None, typer.Option(help="Households table (.parquet/.csv), e.g. from SISBÉN.")
    ] = None,
    territories: Annotated[
        Path | None, typer.Option(help="Territories table (.parquet/.csv) of the households.")
    ] = None,
    members: Annotated[
        Path | None,
        typer.Option(
            help="Membership table (.parquet/.csv): document_type, document_number, household_id."
        ),
    ] = None,
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="File format of the tables written.")
    ] = FileFormat.parquet,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the tables of an existing data directory.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Read RIPS JSON files into a data directory; list problems by file and JSON path."""
    from masrisk.io.rips import from_rips
    from masrisk.tables import CONTRACT

    old = [out / f"{t}.{s.value}" for t in CONTRACT for s in FileFormat]
    if not overwrite and any(path.is_file() for path in old):
        raise typer.BadParameter(
            f"{out} holds a data directory; pass --overwrite to replace it", param_hint="--out"
        )
    with _stage(quiet):
        result = from_rips(folder, households=households, territories=territories, members=members)
        result.write(out, format=file_format.value, overwrite=True)
    if quiet:
        return
    table = _summary(f"Wrote {out}", result.tables.summary())
    counts = result.counts
    table.caption = (
        f"{counts['files']:,} files, {counts['user_entries']:,} user entries; "
        f"{counts['unmatched_persons']:,} persons not in the membership table "
        f"(unmatched_persons.csv); {counts['problems']:,} problems (import_problems.csv)"
    )
    _err.print(table)
    for problem in result.problems[:10]:
        _err.print(f"  {problem}", markup=False, soft_wrap=True)
    if len(result.problems) > 10:
        _err.print(f"  ... and {len(result.problems) - 10:,} more in import_problems.csv")


def _plans_table(summary) -> Table:  # noqa: ANN001 - CitySummary, imported lazily
    table = Table(title="Plans by axis", title_justify="left")
    for column in ("axis", "persons", "team-hours"):
        table.add_column(column, justify="left" if column == "axis" else "right")
    for axis, figures in summary.by_axis.items():
        table.add_row(axis, f"{figures['persons']:,}", f"{figures['hours']:,.0f}")
    table.caption = (
        f"{summary.total_hours:,.0f} of {summary.capacity_hours:,.0f} team-hours; "
        f"{summary.expected_events_averted:,.1f} of {summary.expected_events:,.0f} expected "
        f"events averted"
    )
    return table


def _check_table_suffix(out: Path) -> None:
    from masrisk.outputs import TABLE_SUFFIXES

    if out.suffix not in TABLE_SUFFIXES:
        raise typer.BadParameter("must end in .parquet or .csv", param_hint="--out")


def _bundle_and_tables(model: Path, data: Path, config: str | None) -> tuple:
    """Load a bundle, its configuration (``config`` or the bundle's profile) and the tables."""
    from masrisk.schema import load_tables

    bundle, settings = _bundle_and_config(model, config)
    return bundle, settings, load_tables(data, extra_kinds=settings.extra_event_kinds)


def _bundle_and_config(model: Path, config: str | None) -> tuple:
    from masrisk.bundle import load_bundle
    from masrisk.config import load_config

    bundle = load_bundle(model)
    return bundle, load_config(config or bundle.metadata.get("profile", "bogota"))


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


def _metrics_table(report) -> Table:  # noqa: ANN001 - EvaluationReport, imported lazily
    table = Table(
        title=f"Validation: {report.period}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,  # fits 80 columns
    )
    table.caption = "sc. Brier: scaled Brier; intercept and slope: calibration's"
    table.caption_justify = "left"
    for column in ("model", "AUC", "95% CI", "AP", "sc. Brier", "intercept", "slope"):
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    for name, row in report.overall.iterrows():
        table.add_row(
            str(name),
            f"{row['auc']:.3f}",
            f"{row['auc_low']:.3f}-{row['auc_high']:.3f}",
            f"{row['average_precision']:.3f}",
            f"{row['scaled_brier']:.3f}",
            f"{row['calibration_intercept']:.3f}",
            f"{row['calibration_slope']:.3f}",
        )
    return table


@contextmanager
def _null() -> Iterator[None]:
    yield


def main() -> None:
    """Entry point of the ``masrisk`` console script."""
    app(prog_name="masrisk")
