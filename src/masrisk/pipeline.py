"""The whole pipeline behind ``masrisk plan`` and ``masrisk demo``, without the command line.

:func:`plan_from_files` reads a scores file (and optionally a contributions file) and makes
the plans; :func:`run_demo` runs every stage on an embedded synthetic population and writes
what each stage produces, calling ``on_stage`` so a caller can show progress.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from masrisk.bundle import load_bundle, save_bundle
from masrisk.config import Config, load_config
from masrisk.exceptions import Problem, ValidationError
from masrisk.explanations import Explanation, explain
from masrisk.features import build_features, lab_codes_in
from masrisk.outputs import write_table
from masrisk.planning.planner import Plans, plan
from masrisk.schema import load_tables
from masrisk.scoring import SCORE_COLUMNS, score
from masrisk.synth import synthesize
from masrisk.tables import Tables
from masrisk.training import train

__all__ = ["DEMO_STAGES", "DemoResult", "plan_from_files", "read_table", "run_demo"]

#: The stages of :func:`run_demo`, in order.
DEMO_STAGES: tuple[str, ...] = (
    "synthesise",
    "validate",
    "train and evaluate",
    "score",
    "explain",
    "plan",
)


def read_table(path: str | os.PathLike, *, name: str, required: tuple[str, ...]) -> pd.DataFrame:
    """Read a ``.parquet`` or ``.csv`` table and check it has the ``required`` columns.

    Raises
    ------
    masrisk.ValidationError
        Naming the table and every missing column.
    FileNotFoundError
        If the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{name}: no such file {path}")
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValidationError(
            [Problem(name, missing[0], "missing column", examples=tuple(missing))],
            source=str(path),
        )
    return frame


def _drivers(
    contributions: pd.DataFrame, features: pd.DataFrame, tables: Tables, outcome: str
) -> pd.DataFrame:
    """Return the territories' drivers from a contributions table (``masrisk explain``)."""
    values = contributions.set_index("person_id")
    names = [c for c in values.columns if c[:4] in ("ind_", "fam_", "ter_")]
    missing = [c for c in names if c not in features.columns]
    if missing:
        raise ValidationError(
            [
                Problem(
                    "contributions",
                    missing[0],
                    "feature unknown to the data",
                    examples=tuple(missing[:5]),
                )
            ]
        )
    persons = values.index
    households, territories = tables.person_places(persons)
    explanation = Explanation(
        values=values[names].astype("float64"),
        base_value=float(values["base_value"].iloc[0]) if len(values) else 0.0,
        data=features.reindex(persons)[names],
        outcome=outcome,
        households=households,
        territories=territories,
    )
    return explanation.drivers("territory", top=10)


def plan_from_files(
    scores: str | os.PathLike,
    data: str | os.PathLike,
    *,
    config: str | os.PathLike | Config,
    contributions: str | os.PathLike | None = None,
) -> Plans:
    """Make the plans from a scores file, a data directory and a configuration.

    The features the catalogue's eligibility reads are built from the data at the scores'
    ``as_of``; the drivers come from the contributions file when one is given.
    """
    settings = config if isinstance(config, Config) else load_config(config)
    tables = load_tables(data, extra_kinds=settings.extra_event_kinds)
    frame = read_table(scores, name="scores", required=SCORE_COLUMNS)
    as_of = pd.to_datetime(frame["as_of"]).unique()
    if len(as_of) != 1:
        raise ValidationError(
            [
                Problem(
                    "scores",
                    "as_of",
                    "more than one cut-off",
                    rows=len(frame),
                    examples=tuple(map(str, as_of[:5])),
                )
            ]
        )
    table = None
    if contributions is not None:
        table = read_table(
            contributions, name="contributions", required=("person_id", "base_value")
        )
    # the lab features only matter to describe the drivers
    lab_codes = lab_codes_in(table.columns) if table is not None else ()
    features = build_features(tables, as_of=as_of[0], config=settings, lab_codes=lab_codes)
    drivers = None
    if table is not None:
        drivers = _drivers(table, features, tables, str(frame["outcome"].iloc[0]))
    return plan(frame, tables, config=settings, persons=features, drivers=drivers)


@dataclass
class DemoResult:
    """What :func:`run_demo` wrote, and its figures."""

    out: Path
    paths: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, object] = field(default_factory=dict)


def run_demo(
    out: str | os.PathLike = "demo-output",
    *,
    persons: int = 100_000,
    profile: str = "bogota",
    seed: int = 1,
    on_stage: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run synth, validate, train, evaluate, score, explain and plan on a synthetic population.

    Writes into ``out``: ``data/`` (the tables), ``model/`` (the bundle with its model card),
    ``scores.parquet``, ``contributions.parquet`` and ``plans/``. Training uses the cut-offs
    2023-01-01 and 2024-01-01, scoring and planning 2025-01-01, for ``hospitalization_12m``.
    """
    notify = on_stage or (lambda stage: None)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    result = DemoResult(root)
    config = load_config(profile)
    outcome = "hospitalization_12m"

    notify("synthesise")
    data = synthesize(profile, persons=persons, seed=seed).write(root / "data")
    result.paths["data"] = data
    notify("validate")
    tables = load_tables(data, extra_kinds=config.extra_event_kinds)
    notify("train and evaluate")
    model, report = train(
        tables,
        config=config,
        outcome=outcome,
        train_as_of="2023-01-01",
        valid_as_of="2024-01-01",
        random_state=seed,
    )
    result.paths["model"] = save_bundle(
        model,
        root / "model",
        metadata={**model.training_, "data_description": f"masrisk demo: synthetic {profile}"},
        report=report.to_dict(),
        overwrite=True,
    )
    chosen = report.overall.loc[report.chosen_model]
    result.figures.update(
        chosen_model=report.chosen_model,
        validation_auc=float(chosen["auc"]),
        calibration_slope=float(chosen["calibration_slope"]),
    )
    notify("score")
    bundle = load_bundle(result.paths["model"])
    features = build_features(tables, as_of="2025-01-01", config=config, lab_codes=bundle.lab_codes)
    scores = score(bundle, tables, as_of="2025-01-01", config=config, features=features)
    result.paths["scores"] = write_table(scores, root / "scores.parquet")
    notify("explain")
    explanation = explain(bundle, features, tables=tables)
    result.paths["contributions"] = write_table(
        explanation.to_frame(), root / "contributions.parquet"
    )
    result.figures["level_shares"] = explanation.level_shares().round(3).to_dict()
    notify("plan")
    plans = plan(
        scores,
        tables,
        config=config,
        persons=features,
        drivers=explanation.drivers("territory", top=10),
    )
    result.paths["plans"] = plans.write(root / "plans", overwrite=True)
    summary = plans.summary
    result.figures.update(
        persons=len(scores),
        territories=len(plans),
        hours=summary.total_hours,
        capacity_hours=summary.capacity_hours,
        expected_events=summary.expected_events,
        expected_events_averted=summary.expected_events_averted,
        solver=summary.solver,
    )
    return result
