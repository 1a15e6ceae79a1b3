"""Mismatched inputs are refused, or said, never planned or scored silently.

``plan`` with the scores of another data directory; ``score`` at a cut-off outside the
data; a bundle of one profile on data of another without ``--config``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import masrisk
from masrisk.bundle import load_bundle, save_bundle
from masrisk.exceptions import CutoffError
from masrisk.outputs import write_table
from masrisk.pipeline import plan_from_files
from masrisk.scale import engines
from tests.test_cli import run

AS_OF = "2025-01-01"
FAST = {"num_leaves": 3, "max_depth": 2, "learning_rate": 0.3}
DEMO = Path(__file__).resolve().parents[1] / "models" / "hospitalization_12m"


def write(tables: masrisk.Tables, directory: Path) -> Path:
    directory.mkdir(parents=True)
    for name, frame in tables.items():
        frame.to_parquet(directory / f"{name}.parquet")
    return directory


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> dict[str, Path]:
    """Two Bogotá data directories (same person ids, other households), a bundle, scores."""
    root = tmp_path_factory.mktemp("mismatch")
    config = masrisk.load_config("bogota")
    paths = {}
    for name, seed in (("a", 1), ("b", 2)):
        tables = masrisk.synthesize("bogota", persons=1500, seed=seed).tables
        paths[name] = write(tables, root / name)
    model, report = engines.train(
        paths["a"], config=config, outcome="hospitalization_12m", train_as_of="2023-01-01",
        valid_as_of="2024-01-01", params=FAST,
    )  # fmt: skip
    paths["model"] = save_bundle(model, root / "model", metadata=model.training_)
    bundle = load_bundle(paths["model"])
    for name in ("a", "b"):
        scores = engines.score(bundle, paths[name], as_of=AS_OF, config=config)
        paths[f"scores_{name}"] = write_table(scores, root / f"scores_{name}.parquet")
    return paths


def test_plan_refuses_the_scores_of_another_data_directory(two):
    config = masrisk.load_config("bogota")
    with pytest.raises(masrisk.ValidationError) as caught:
        plan_from_files(two["scores_b"], two["a"], config=config)
    problems = {(p.table, p.column): p for p in caught.value.problems}
    household = problems["scores", "household_id"]
    assert household.rule == "household is not the person's in the data"
    assert household.rows > 0
    assert household.examples, "example ids"
    assert "person_id" in household.examples[0]
    assert "scores of another data directory" in household.detail
    assert ("scores", "territory_id") in problems


def test_plan_accepts_its_own_scores(two):
    plans = plan_from_files(two["scores_a"], two["a"], config=masrisk.load_config("bogota"))
    assert len(plans) > 0


def test_plan_refuses_scores_of_persons_the_data_lack(two, tmp_path):
    scores = pd.read_parquet(two["scores_a"])
    stranger = scores.iloc[[0]].assign(person_id=999_999)
    path = write_table(pd.concat([scores, stranger]), tmp_path / "scores.parquet")
    with pytest.raises(masrisk.ValidationError) as caught:
        plan_from_files(path, two["a"], config=masrisk.load_config("bogota"))
    (problem,) = caught.value.problems
    assert (problem.table, problem.column) == ("scores", "person_id")
    assert problem.rule == "person not in the data at the scores' cut-off"
    assert problem.rows == 1
    assert problem.examples == ("999999",)


def test_plan_of_part_of_the_persons_says_the_others_are_not_planned(two, tmp_path, caplog):
    scores = pd.read_parquet(two["scores_a"])
    path = write_table(scores.iloc[100:], tmp_path / "scores.parquet")
    plan_from_files(path, two["a"], config=masrisk.load_config("bogota"))
    assert any(
        "100 of the" in r.getMessage() and "not scored" in r.getMessage() for r in caplog.records
    )


def test_masrisk_plan_exits_2_naming_the_mismatch(two, tmp_path):
    done = run(
        "plan", "--scores", two["scores_b"], "--data", two["a"], "--config", "bogota",
        "--out", tmp_path / "plans",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "scores.household_id: household is not the person's in the data" in done.stderr
    assert not (tmp_path / "plans").exists()


@pytest.mark.parametrize(
    ("as_of", "accepted"),
    [("2021-01-01", False), ("2021-01-02", True), ("2025-01-01", True), ("2025-01-02", False)],
)
def test_score_accepts_a_cut_off_within_the_data_only(two, as_of, accepted):
    # the events run from 2021-01-01 to 2024-12-31: a cut-off after the first event date and
    # at most the day after the last one
    bundle, config = load_bundle(two["model"]), masrisk.load_config("bogota")
    if accepted:
        assert len(engines.score(bundle, two["a"], as_of=as_of, config=config)) > 0
    else:
        with pytest.raises(CutoffError, match="2021-01-01 to 2024-12-31"):
            engines.score(bundle, two["a"], as_of=as_of, config=config)


@pytest.mark.parametrize("as_of", ["2019-06-30", "2026-01-01"])
def test_masrisk_score_exits_2_at_a_cut_off_outside_the_data(two, tmp_path, as_of):
    out = tmp_path / "scores.parquet"
    done = run("score", "--model", two["model"], "--data", two["a"], "--as-of", as_of, "--out", out)
    assert done.returncode == 2, done.stderr
    assert f"as_of {as_of} is outside the data" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


@pytest.fixture(scope="module")
def mexico(tmp_path_factory) -> Path:
    tables = masrisk.synthesize("mexico", persons=1200, seed=3).tables
    return write(tables, tmp_path_factory.mktemp("mexico") / "data")


def test_a_bogota_bundle_on_mexico_data_without_config_warns_naming_the_shares(mexico, tmp_path):
    out = tmp_path / "scores.parquet"
    done = run("score", "--model", DEMO, "--data", mexico, "--as-of", AS_OF, "--out", out)
    assert done.returncode == 0, done.stderr
    scored = len(pd.read_parquet(out))
    lines = [line for line in done.stderr.splitlines() if "unseen in training" in line]
    assert len(lines) == 1
    assert f"ind_regime: {scored:,} of {scored:,} (100%)" in lines[0]
    assert f"ind_insurer: {scored:,} of {scored:,} (100%)" in lines[0]
    assert "trained on profile 'bogota' and no --config was given" in lines[0]


def test_with_config_the_unseen_categories_are_said_without_the_profile_hint(mexico, tmp_path):
    out = tmp_path / "scores.parquet"
    done = run(
        "score", "--model", DEMO, "--data", mexico, "--as-of", AS_OF, "--out", out,
        "--config", "mexico",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("unseen in training") == 1
    assert "no --config was given" not in done.stderr


def test_a_bundle_on_data_of_its_own_profile_says_nothing_of_unseen_categories(two, tmp_path):
    out = tmp_path / "scores.parquet"
    done = run("score", "--model", DEMO, "--data", two["a"], "--as-of", AS_OF, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "unseen in training" not in done.stderr
