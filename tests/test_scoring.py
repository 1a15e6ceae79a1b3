"""Scoring a population with a bundle."""

from __future__ import annotations

import pandas as pd
import pytest

import masrisk
from masrisk.bundle import save_bundle
from masrisk.outputs import write_table
from masrisk.scoring import SCORE_COLUMNS, score

CONFIG = masrisk.load_config("bogota")


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tables = masrisk.synthesize("bogota", persons=3000, seed=5).tables
    config = masrisk.load_config("bogota")
    model, report = masrisk.train(
        tables,
        config=config,
        outcome="hospitalization_12m",
        train_as_of="2023-01-01",
        valid_as_of="2024-01-01",
    )
    path = save_bundle(model, tmp_path_factory.mktemp("b") / "bundle", report=report.to_dict())
    bundle = masrisk.load_bundle(path)
    return tables, config, bundle, score(bundle, tables, as_of="2025-01-01", config=config)


def test_scores_have_the_documented_columns_and_rows(scored):
    tables, _, _, scores = scored
    assert tuple(scores.columns) == SCORE_COLUMNS
    present = masrisk.build_labels(
        tables, as_of="2025-01-01", outcome="mortality_12m", config=CONFIG
    ).index
    assert scores["person_id"].tolist() == present.tolist()
    assert (scores["outcome"] == "hospitalization_12m").all()
    assert (scores["as_of"] == pd.Timestamp("2025-01-01")).all()
    assert scores["risk"].between(0, 1, inclusive="neither").all()
    assert list(scores["tier"].cat.categories) == [
        "case_management",
        "disease_management",
        "promotion_prevention",
    ]


def test_ids_follow_the_tables(scored):
    tables, _, _, scores = scored
    persons = tables.persons.set_index("person_id")
    assert (
        scores["household_id"].to_numpy()
        == persons.loc[scores["person_id"], "household_id"].to_numpy()
    ).all()
    households = tables.households.set_index("household_id")["territory_id"]
    assert (
        scores["territory_id"].to_numpy() == households.loc[scores["household_id"]].to_numpy()
    ).all()


def test_tiers_follow_the_config(scored):
    _, _, _, scores = scored
    counts = scores["tier"].value_counts()
    assert counts["case_management"] == round(0.03 * len(scores))
    assert counts["disease_management"] == round(0.17 * len(scores))
    top = scores.loc[scores["tier"] == "case_management", "risk"].min()
    assert top >= scores.loc[scores["tier"] != "case_management", "risk"].max()


def test_same_inputs_give_identical_scores(scored):
    tables, config, bundle, scores = scored
    pd.testing.assert_frame_equal(score(bundle, tables, as_of="2025-01-01", config=config), scores)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_scores_round_trip_through_files(scored, tmp_path, suffix):
    _, _, _, scores = scored
    path = write_table(scores, tmp_path / f"scores{suffix}")
    back = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    assert back["risk"].tolist() == pytest.approx(scores["risk"].tolist(), rel=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == [f"scores{suffix}"]
    with pytest.raises(ValueError, match="parquet or .csv"):
        write_table(scores, tmp_path / "scores.xlsx")
