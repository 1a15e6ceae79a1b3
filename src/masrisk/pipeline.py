"""The whole pipeline behind ``masrisk plan`` and ``masrisk demo``, without the command line."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from masrisk.bundle import load_bundle, save_bundle
from masrisk.config import Config, load_config
from masrisk.engines import stages
from masrisk.engines.base import Engine
from masrisk.exceptions import Problem, ValidationError
from masrisk.explanations import explain
from masrisk.features import build_features
from masrisk.outputs import output_directory, write_table
from masrisk.planning.planner import Plans, plan
from masrisk.scale.engines import plan as plan_on_engine
from masrisk.schema import load_tables
from masrisk.scoring import SCORE_COLUMNS, score
from masrisk.synth import synthesize
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
    _require(name, frame.columns, required, path)
    return frame


def plan_from_files(
    scores: str | os.PathLike,
    data: str | os.PathLike | Engine,
    *,
    config: str | os.PathLike | Config,
    contributions: str | os.PathLike | None = None,
) -> Plans:
    """Make the plans from a scores file, the data and a configuration.

    ``data`` is a data directory (plain or partitioned: :func:`masrisk.scale.engines.open_engine`)
    or an open engine; the drivers come from ``contributions`` (a file or a directory of
    Parquet parts) when given (:func:`masrisk.engines.stages.plan`).

    Raises
    ------
    masrisk.ValidationError
        If the scores or contributions lack a column, the scores hold several cut-offs, or
        the contributions name features or persons the data lack.
    FileNotFoundError
        If a file does not exist.
    """
    settings = config if isinstance(config, Config) else load_config(config)
    frame = read_table(scores, name="scores", required=SCORE_COLUMNS)
    if contributions is not None:
        path = Path(contributions)
        if not path.exists():
            raise FileNotFoundError(f"contributions: no such file {path}")
        _require("contributions", stages.table_columns(path), ("person_id", "base_value"), path)
    plan_on = plan_on_engine if isinstance(data, str | os.PathLike) else stages.plan
    return plan_on(frame, data, config=settings, contributions=contributions)


def _require(name: str, columns: Sequence[str], required: Sequence[str], path: Path) -> None:
    """Raise a ValidationError naming every ``required`` column missing from a table."""
    missing = [c for c in required if c not in columns]
    if missing:
        problem = Problem(name, missing[0], "missing column", examples=tuple(missing))
        raise ValidationError([problem], source=str(path))


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
    overwrite: bool = False,
) -> DemoResult:
    """Run synth, validate, train, evaluate, score, explain and plan on a synthetic population.

    Writes into ``out``: ``data/`` (the tables), ``model/`` (the bundle with its model card),
    ``scores.parquet``, ``contributions.parquet`` and ``plans/``. Training uses the cut-offs
    2023-01-01 and 2024-01-01, scoring and planning 2025-01-01, for ``hospitalization_12m``.
    ``out`` is written whole beside itself and moved into place at the end
    (:func:`masrisk.outputs.output_directory`); with ``overwrite`` only an earlier demo's
    output is replaced.
    """
    notify = on_stage or (lambda stage: None)
    target = Path(out)
    with output_directory(target, kind="demo", overwrite=overwrite) as staging:
        result = _demo(staging, persons=persons, profile=profile, seed=seed, notify=notify)
    result.out = target
    result.paths = {name: target / path.relative_to(staging) for name, path in result.paths.items()}
    return result


def _demo(
    root: Path, *, persons: int, profile: str, seed: int, notify: Callable[[str], None]
) -> DemoResult:
    result = DemoResult(root)
    config = load_config(profile)
    outcome = "hospitalization_12m"

    notify("synthesise")
    data = synthesize(profile, persons=persons, seed=seed).write(root / "data")
    result.paths["data"] = data
    notify("validate")
    tables = load_tables(data, extra_kinds=config.extra_event_kinds, columns=config.columns)
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
    result.paths["scores"] = write_table(scores, root / "scores.parquet", kind="scores")
    notify("explain")
    explanation = explain(bundle, features, tables=tables)
    result.paths["contributions"] = write_table(
        explanation.to_frame(), root / "contributions.parquet", kind="contributions"
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
    result.paths["plans"] = plans.write(root / "plans")
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
