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
    quiet: Quiet = False,
) -> None:
    """Train a calibrated model out of time and write it as a bundle with its model card."""
    from masrisk.bundle import save_bundle
    from masrisk.config import load_config
    from masrisk.schema import load_tables
    from masrisk.training import train as train_model

    if out.exists() and not overwrite:  # before the training, not after it
        raise typer.BadParameter(
            f"{out} exists; pass --overwrite to replace it", param_hint="--out"
        )
    with _stage(quiet):
        settings = load_config(config)
        tables = load_tables(data, extra_kinds=settings.extra_event_kinds)
        model, report = train_model(
            tables,
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
    out: Annotated[Path, typer.Option("--out", help="Scores file, .parquet or .csv.")],
    config: Annotated[
        str | None,
        typer.Option(help="Configuration for the tiers; by default the bundle's profile."),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Score every person present at a cut-off: calibrated risk and tier."""
    from masrisk.outputs import write_table
    from masrisk.scoring import score as score_population

    _check_table_suffix(out)
    with _stage(quiet):
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
    out: Annotated[Path, typer.Option("--out", help="Contributions file, .parquet or .csv.")],
    config: Annotated[
        str | None,
        typer.Option(help="Configuration of the features; by default the bundle's profile."),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Persons explained at a time.")
    ] = 100_000,
    quiet: Quiet = False,
) -> None:
    """Explain every person present at a cut-off: each feature's contribution (log-odds)."""
    from rich.progress import Progress

    from masrisk.explanations import contributions_frame, iter_contributions
    from masrisk.features import build_features
    from masrisk.outputs import ChunkedTableWriter

    _check_table_suffix(out)
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
    quiet: Quiet = False,
) -> None:
    """Write an integral risk-management plan per community, and a city summary."""
    from masrisk.pipeline import plan_from_files

    if out.exists() and not overwrite:
        raise typer.BadParameter(
            f"{out} exists; pass --overwrite to replace it", param_hint="--out"
        )
    with _stage(quiet):
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
    from masrisk.bundle import load_bundle
    from masrisk.config import load_config
    from masrisk.schema import load_tables

    bundle = load_bundle(model)
    settings = load_config(config or bundle.metadata.get("profile", "bogota"))
    return bundle, settings, load_tables(data, extra_kinds=settings.extra_event_kinds)


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
