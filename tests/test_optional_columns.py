"""Every optional column and table of the data contract is optional in every stage.

Each removal runs validate -> train -> score -> explain -> plan on a data directory through
the functions the command line calls. The default run removes every optional column and
table at once, per profile, plus the removals users met (``persons.disability``, absent from
every OMOP and RIPS import; ``persons.insurer``, absent from RIPS, scored with the shipped
model); ``-m slow`` runs each removal alone, for both profiles.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pandas as pd
import pytest

import masrisk
from masrisk.bundle import load_bundle, save_bundle
from masrisk.features import build_features
from masrisk.models import MissingFeatureWarning
from masrisk.models.features import OPTIONAL_SOURCES
from masrisk.outputs import write_table
from masrisk.pipeline import plan_from_files
from masrisk.scale import engines
from masrisk.tables import CONTRACT
from tests.test_cli import run

PROFILES = ("bogota", "mexico")
AS_OF = "2025-01-01"
FAST = {"num_leaves": 3, "max_depth": 2, "learning_rate": 0.3}
DEMO = Path(__file__).resolve().parents[1] / "models" / "hospitalization_12m"
EVERYTHING = "every optional column and table"


def _removals() -> list[str]:
    """``table`` for an optional table, ``table.column`` for each optional column."""
    found = []
    for name, spec in CONTRACT.items():
        if not spec.required:
            found.append(name)
        found += [f"{name}.{c.name}" for c in spec.columns if not c.required]
    return found


REMOVALS = _removals()


@pytest.fixture(scope="module", params=PROFILES)
def population(request) -> tuple[str, dict[str, pd.DataFrame]]:
    tables = masrisk.synthesize(request.param, persons=1500, seed=1).tables
    return request.param, dict(tables.items())


def without(frames: dict[str, pd.DataFrame], removal: str) -> dict[str, pd.DataFrame]:
    """The frames less one optional table or column (birth dates given as ages instead)."""
    frames = dict(frames)
    if removal == EVERYTHING:
        for name in REMOVALS:
            frames = without(frames, name)
        return frames
    table, _, column = removal.partition(".")
    if not column:
        frames.pop(table, None)
    elif table in frames and column in frames[table].columns:
        frames[table] = _drop(frames[table], column, frames["events"]["date"].max())
    return frames


def _drop(frame: pd.DataFrame, column: str, last_event: pd.Timestamp) -> pd.DataFrame:
    if column == "birth_date":  # one of birth_date or age must be given
        age = (last_event - frame["birth_date"]).dt.days / 365.25
        return frame.drop(columns=column).assign(age=age.round(1))
    if column == "age" and "birth_date" not in frame.columns:
        return frame
    return frame.drop(columns=column)


def pipeline(frames: dict[str, pd.DataFrame], profile: str, root: Path) -> dict[str, object]:
    """Validate, train, score, explain and plan a data directory of ``frames``."""
    data = root / "data"
    data.mkdir()
    for name, frame in frames.items():
        frame.to_parquet(data / f"{name}.parquet")
    config = masrisk.load_config(profile)
    tables = masrisk.load_tables(data)  # validate
    model, report = engines.train(
        data, config=config, outcome="hospitalization_12m", train_as_of="2023-01-01",
        valid_as_of="2024-01-01", params=FAST,
    )  # fmt: skip
    save_bundle(model, root / "model", metadata=model.training_, report=report.to_dict())
    bundle = load_bundle(root / "model")
    scores = engines.score(bundle, data, as_of=AS_OF, config=config)
    write_table(scores, root / "scores.parquet", kind="scores")
    explained = engines.explain(
        bundle, data, as_of=AS_OF, config=config, out=root / "contributions.parquet"
    )
    plans = plan_from_files(
        root / "scores.parquet", data, config=config, contributions=root / "contributions.parquet"
    )
    written = plans.write(root / "plans")
    return {
        "tables": tables, "bundle": bundle, "scores": scores, "explained": explained,
        "plans": plans, "written": written,
    }  # fmt: skip


def check_ran(result: dict[str, object], frames: dict[str, pd.DataFrame]) -> None:
    tables, scores, plans = result["tables"], result["scores"], result["plans"]
    assert len(tables.persons) == len(frames["persons"])
    assert scores["person_id"].is_unique
    assert scores["risk"].between(0, 1, inclusive="neither").all()
    assert result["explained"].persons == len(scores)
    assert len(plans) == scores["territory_id"].nunique()
    assert plans.summary.total_hours > 0
    assert (Path(result["written"]) / "index.html").is_file() or any(
        Path(result["written"]).iterdir()
    )
    absent = {f for f, source in OPTIONAL_SOURCES.items() if _absent(frames, source)}
    assert not absent & set(result["bundle"].features), "a feature of an absent column"


def _absent(frames: dict[str, pd.DataFrame], source: str) -> bool:
    table, column = source.split(".")
    return column not in frames[table].columns


def test_the_removals_cover_every_optional_column_and_table_of_the_contract():
    assert "persons.disability" in REMOVALS
    assert "adjacency" in REMOVALS
    optional = sum(not c.required for s in CONTRACT.values() for c in s.columns)
    tables = sum(not s.required for s in CONTRACT.values())
    assert len(REMOVALS) == optional + tables


def test_optional_sources_are_the_features_absent_columns_take_away(population):
    profile, frames = population
    config = masrisk.load_config(profile)
    full = masrisk.Tables.from_frames(frames)
    bare = masrisk.Tables.from_frames(without(frames, EVERYTHING))
    codes = ["HBA1C"]  # lab columns are asked for by name, so they are there with or without
    before = set(build_features(full, as_of=AS_OF, config=config, lab_codes=codes).columns)
    after = set(build_features(bare, as_of=AS_OF, config=config, lab_codes=codes).columns)
    assert before - after == set(OPTIONAL_SOURCES)


def test_every_stage_runs_without_any_optional_column_or_table(population, tmp_path, caplog):
    profile, frames = population
    bare = without(frames, EVERYTHING)
    assert "adjacency" not in bare
    assert "facilities" not in bare
    assert "disability" not in bare["persons"].columns
    with caplog.at_level(logging.WARNING, logger="masrisk"):
        result = pipeline(bare, profile, tmp_path)
    check_ran(result, bare)
    said = [r.getMessage() for r in caplog.records if "persons.disability" in r.getMessage()]
    assert len(said) == 1, "the planner says once that disability is unknown"
    assert "community_based_rehabilitation" in said[0]


@pytest.mark.slow
@pytest.mark.parametrize("removal", REMOVALS)
def test_every_stage_runs_without_each_optional_column_or_table(population, removal, tmp_path):
    profile, frames = population
    reduced = without(frames, removal)
    check_ran(pipeline(reduced, profile, tmp_path), reduced)


def test_masrisk_plan_runs_on_data_without_persons_disability(tmp_path):
    frames = without(
        dict(masrisk.synthesize("bogota", persons=1500, seed=4).tables.items()),
        "persons.disability",
    )
    result = pipeline(frames, "bogota", tmp_path)
    out = tmp_path / "cli-plans"
    done = run(
        "plan", "--scores", tmp_path / "scores.parquet", "--data", tmp_path / "data",
        "--config", "bogota", "--contributions", tmp_path / "contributions.parquet",
        "--out", out,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "persons.disability is absent from the data" in done.stderr
    assert f"({len(result['plans']):,} community plans)" in done.stderr


def test_the_shipped_model_scores_data_without_insurer_and_says_so(tmp_path):
    frames = without(
        dict(masrisk.synthesize("bogota", persons=1500, seed=5).tables.items()), "persons.insurer"
    )
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in frames.items():
        frame.to_parquet(data / f"{name}.parquet")
    bundle, config = load_bundle(DEMO), masrisk.load_config("bogota")
    assert "ind_insurer" in bundle.features
    with pytest.warns(MissingFeatureWarning) as caught:
        scores = engines.score(bundle, data, as_of=AS_OF, config=config)
    messages = [str(w.message) for w in caught if w.category is MissingFeatureWarning]
    assert len(messages) == 1
    assert "persons.insurer (feature ind_insurer)" in messages[0]
    assert f"all {len(scores):,} persons (100%)" in messages[0]
    assert scores["risk"].between(0, 1, inclusive="neither").all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingFeatureWarning)
        full = masrisk.Tables.from_frames(
            dict(masrisk.synthesize("bogota", persons=1500, seed=5).tables.items())
        )
        with_insurer = masrisk.score(bundle, full, as_of=AS_OF, config=config)
    # the same persons, scored without one feature: risks move, but not far
    merged = scores.merge(with_insurer, on="person_id", suffixes=("", "_full"))
    assert len(merged) == len(scores)
    assert (merged["risk"] != merged["risk_full"]).any()
    assert merged["risk"].corr(merged["risk_full"], method="spearman") > 0.8


def test_the_cli_scores_without_insurer_with_a_warning_and_exit_0(tmp_path):
    frames = without(
        dict(masrisk.synthesize("bogota", persons=1200, seed=6).tables.items()), "persons.insurer"
    )
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in frames.items():
        frame.to_parquet(data / f"{name}.parquet")
    out = tmp_path / "scores.parquet"
    done = run("score", "--model", DEMO, "--data", data, "--as-of", AS_OF, "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("persons.insurer (feature ind_insurer)") == 1
    assert len(pd.read_parquet(out)) > 0
