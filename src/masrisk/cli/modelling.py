"""Commands of the model: ``train``, ``score`` and ``explain``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from masrisk.cli._common import (
    Engine,
    EngineOption,
    Overwrite,
    PartitionsOption,
    Quiet,
    SchedulerOption,
    Seed,
    _bundle_and_config,
    _engine_options,
    _err,
    _stage,
    _table,
    app,
    date_option,
)


class Calibration(str, Enum):
    """Recalibration of a model's log-odds."""

    sigmoid = "sigmoid"
    isotonic = "isotonic"
    none = "none"


def _table_out(what: str) -> typer.models.OptionInfo:
    """Return ``--out`` for a table of ``what``: a file, or with Dask a directory of Parquet."""
    text = f"{what} file, .parquet or .csv (Dask: a .parquet directory)."
    return typer.Option("--out", help=text)


def _bundle_config(use: str) -> typer.models.OptionInfo:
    """Return ``--config`` for a command on a bundle: by default the profile it was trained with."""
    return typer.Option(help=f"Configuration {use}; by default the bundle's profile.")


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="Data directory.")],
    config: Annotated[str, typer.Option(help="Configuration: a shipped name or a YAML path.")],
    outcome: Annotated[str, typer.Option(help="Outcome of the configuration to predict.")],
    train_as_of: Annotated[str, date_option("--train-as-of", "Training cut-off")],
    valid_as_of: Annotated[str, date_option("--valid-as-of", "Validation cut-off, later")],
    out: Annotated[Path, typer.Option("--out", help="Bundle directory to write.")],
    calibration: Annotated[
        Calibration, typer.Option(help="Recalibration: sigmoid (Platt), isotonic or none.")
    ] = Calibration.sigmoid,
    seed: Seed = 0,
    data_description: Annotated[
        str | None,
        typer.Option(help="Where the data come from, for the model card (e.g. a source, a year)."),
    ] = None,
    overwrite: Overwrite = False,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    partitions: PartitionsOption = None,
    quiet: Quiet = False,
) -> None:
    """Train a calibrated model out of time and write it as a bundle with its model card."""
    from masrisk.bundle import save_bundle
    from masrisk.config import load_config
    from masrisk.scale.engines import train as train_model

    where = _engine_options(engine, scheduler, partitions, out)
    with _stage(quiet, out, overwrite=overwrite, kind="bundle"):  # refused before the training
        settings = load_config(config)
        model, report = train_model(
            data,
            **where,
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
    as_of: Annotated[str, date_option("--as-of", "Cut-off of the features")],
    out: Annotated[Path, _table_out("Scores")],
    config: Annotated[str | None, _bundle_config("for the tiers")] = None,
    overwrite: Overwrite = False,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    partitions: PartitionsOption = None,
    quiet: Quiet = False,
) -> None:
    """Score every person present at a cut-off: calibrated risk and tier."""
    from masrisk.outputs import write_table
    from masrisk.scale.engines import score as score_population
    from masrisk.scoring import SCORE_COLUMNS

    where = _engine_options(engine, scheduler, partitions, out, table=True)
    with _stage(quiet, out, overwrite=overwrite, kind="scores", header=SCORE_COLUMNS):
        bundle, settings = _bundle_and_config(model, config)
        with _input_warnings(bundle.profile, config_given=config is not None):
            scores = score_population(bundle, data, as_of=as_of, config=settings, **where)
        write_table(scores, out, kind="scores", overwrite=overwrite)
        if not quiet:
            title = f"Wrote {out}: {len(scores):,} persons"
            summary = _table(title, "tier", "persons", "mean risk")
            for tier, n in scores["tier"].value_counts(sort=False).items():
                mean = scores.loc[scores["tier"] == tier, "risk"].mean()
                summary.add_row(str(tier), f"{n:,}", f"{mean:.3f}")
            _err.print(summary)


@app.command()
def explain(
    model: Annotated[Path, typer.Option("--model", help="Bundle directory.")],
    data: Annotated[Path, typer.Option("--data", help="Data directory.")],
    as_of: Annotated[str, date_option("--as-of", "Cut-off of the features")],
    out: Annotated[Path, _table_out("Contributions")],
    config: Annotated[str | None, _bundle_config("of the features")] = None,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Persons explained at a time.")
    ] = 100_000,
    overwrite: Overwrite = False,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    partitions: PartitionsOption = None,
    quiet: Quiet = False,
) -> None:
    """Explain every person present at a cut-off: each feature's contribution (log-odds)."""
    from masrisk.scale.engines import explain as explain_population

    where = _engine_options(engine, scheduler, partitions, out, table=True)
    with _stage(quiet):
        bundle, settings = _bundle_and_config(model, config)
        with _input_warnings(bundle.profile, config_given=config is not None):
            explained = explain_population(
                bundle, data, as_of=as_of, config=settings, out=out, chunk_size=chunk_size,
                overwrite=overwrite, **where,
            )  # fmt: skip
    if not quiet:
        features = len(bundle.features)
        _err.print(
            f"Wrote {out}: {explained.persons:,} persons x {features} features", markup=False
        )


@contextmanager
def _input_warnings(profile: str | None, *, config_given: bool) -> Iterator[None]:
    """Say once what the model could not read in the data, summed over every part scored.

    Without ``--config`` the bundle's own profile is used: unseen categories then most often
    mean data of another programme, and the line says so.
    """
    from masrisk.models.features import (
        MissingFeatureWarning,
        UnseenCategoryWarning,
        absent_warning,
        unseen_warning,
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnseenCategoryWarning)
        warnings.simplefilter("always", MissingFeatureWarning)
        yield
    unseen: dict[str, int] = {}
    absent: dict[str, str] = {}
    rows = {"unseen": 0, "absent": 0}
    for record in caught:
        found = record.message
        if isinstance(found, UnseenCategoryWarning):
            for name, n in found.counts.items():
                unseen[name] = unseen.get(name, 0) + n
            rows["unseen"] += found.rows
        elif isinstance(found, MissingFeatureWarning):
            absent |= found.features
            rows["absent"] += found.rows
        else:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)
    if absent:
        _err.print(f"warning: {absent_warning(absent, rows['absent'])}", markup=False)
    if unseen:
        line = f"warning: {unseen_warning(unseen, rows['unseen'])}"
        if not config_given and profile is not None:
            line += (
                f". The bundle was trained on profile {profile!r} and no --config was given: "
                "if these data are of another programme, give --config"
            )
        _err.print(line, markup=False)


def _metrics_table(report) -> Table:  # noqa: ANN001 - EvaluationReport, imported lazily
    table = _table(
        f"Validation: {report.period}",
        *("model", "AUC", "95% CI", "AP", "sc. Brier", "intercept", "slope"),
        no_wrap=True,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,  # fits 80 columns
        caption="sc. Brier: scaled Brier; intercept and slope: calibration's",
        caption_justify="left",
    )
    measures = ("average_precision", "scaled_brier", "calibration_intercept", "calibration_slope")
    for name, row in report.overall.iterrows():
        interval = f"{row['auc_low']:.3f}-{row['auc_high']:.3f}"
        table.add_row(
            str(name), f"{row['auc']:.3f}", interval, *(f"{row[k]:.3f}" for k in measures)
        )
    return table
