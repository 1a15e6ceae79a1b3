"""The planner on synthetic populations: priorities against the truth, phases, axes,
households, capacity, determinism, both profiles, and the ``plan`` and ``demo`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import masrisk
from masrisk.planning import AXES
from masrisk.planning.planner import plan
from tests.test_cli import run
from tests.test_demo_bundle import DEMO

AS_OF = "2025-01-01"


@pytest.fixture(scope="module")
def bogota():
    population = masrisk.synthesize("bogota", persons=20_000, seed=2)
    config = masrisk.load_config("bogota")
    bundle = masrisk.load_bundle(DEMO)
    features = masrisk.build_features(
        population.tables, as_of=AS_OF, config=config, lab_codes=bundle.metadata["lab_codes"]
    )
    scores = masrisk.score(bundle, population.tables, as_of=AS_OF, config=config)
    drivers = masrisk.explain(bundle, features, tables=population.tables).drivers("territory")
    plans = plan(scores, population.tables, config=config, persons=features, drivers=drivers)
    return population, config, scores, features, drivers, plans


def test_priority_follows_the_true_expected_burden(bogota):
    population, _, scores, *_, plans = bogota
    truth = population.truth.set_index("person_id")["p_hospitalization_12m"]
    true_burden = (
        truth.reindex(scores["person_id"]).groupby(scores["territory_id"].to_numpy()).sum()
    )
    priority = plans.territories["priority"]
    rho = spearmanr(-priority.to_numpy(), true_burden.reindex(priority.index).to_numpy())[0]
    assert rho >= 0.7, rho


def test_every_rural_territory_is_in_phase_one(bogota):
    territories = bogota[-1].territories
    assert territories["rural"].any()
    assert (territories.loc[territories["rural"], "phase"] == 1).all()
    assert set(territories["phase"]) == {1, 2, 3}
    first = territories.loc[~territories["rural"], "phase"].eq(1).mean()
    assert first == pytest.approx(0.595, abs=0.05)


def test_the_city_plan_uses_all_five_axes(bogota):
    summary = bogota[-1].summary
    assert set(summary.by_axis) == set(AXES)
    assert all(figures["persons"] > 0 for figures in summary.by_axis.values())


def test_priority_households_belong_to_their_territory(bogota):
    population, *_, plans = bogota
    home = population.tables.households.set_index("household_id")["territory_id"].astype(str)
    home.index = home.index.astype(str)
    for community in plans.plans:
        assert community.priority_households
        assert set(home[list(community.priority_households)]) == {community.territory_id}


def test_hours_never_exceed_the_capacity(bogota):
    plans = bogota[-1]
    assert plans.summary.total_hours <= plans.summary.capacity_hours + 1e-6
    allocation = plans.allocation
    assert (allocation.persons >= 0).all()
    territories = plans.territories
    by_district = territories.groupby(territories["district"].astype(str))["hours_allocated"].sum()
    config = bogota[1].planning.capacity
    population = territories.groupby(territories["district"].astype(str))["population"].sum()
    assert (by_district <= config.hours_per_1000 * population / 1000 + 1e-6).all()


def test_plans_follow_the_design_and_list_drivers(bogota):
    plans = bogota[-1]
    community = plans.plans[0]
    assert community.priority == 1
    data = community.to_dict()
    for key in ("territory_id", "zone", "phase", "population", "households", "expected_events",
                "tiers", "drivers", "interventions", "priority_households", "hours_allocated",
                "expected_events_averted"):  # fmt: skip
        assert key in data
    assert community.drivers
    assert sum(community.tiers.values()) == community.population
    assert plans.summary.territories[0][0] == community.territory_id


def test_same_inputs_give_identical_plans(bogota, tmp_path):
    population, config, scores, features, drivers, plans = bogota
    again = plan(scores, population.tables, config=config, persons=features, drivers=drivers)
    first = plans.write(tmp_path / "a")
    second = again.write(tmp_path / "b")
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted(p.name for p in second.iterdir())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_mexico_plans_group_phases_by_district():
    population = masrisk.synthesize("mexico", persons=6000, seed=3)
    config = masrisk.load_config("mexico")
    model, _ = masrisk.train(
        population.tables,
        config=config,
        outcome="hospitalization_12m",
        train_as_of="2023-01-01",
        valid_as_of="2024-01-01",
    )
    features = masrisk.build_features(population.tables, as_of=AS_OF, config=config)
    risk = model.predict_risk(features)
    scores = pd.DataFrame(
        {
            "person_id": features.index,
            "household_id": population.tables.persons.set_index("person_id")
            .loc[features.index, "household_id"]
            .to_numpy(),
            "outcome": "hospitalization_12m",
            "as_of": pd.Timestamp(AS_OF),
            "risk": risk,
            "tier": masrisk.tiers.assign_tiers(risk, config.tiers).array,
        }
    )
    places = population.tables.households.set_index("household_id")["territory_id"]
    scores.insert(2, "territory_id", scores["household_id"].map(places).to_numpy())
    plans = plan(scores, population.tables, config=config, persons=features)
    territories = plans.territories
    urban = territories[~territories["rural"]]
    assert (urban.groupby("district")["phase"].nunique() == 1).all()
    assert set(plans.summary.by_axis) == set(AXES)


# --------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    data = root / "data"
    assert run("synth", "--persons", 6000, "--seed", 8, "--out", data, "-q").returncode == 0
    paths = {"data": data, "scores": root / "scores.parquet", "contrib": root / "c.parquet"}
    common = ("--model", DEMO, "--data", data, "--as-of", AS_OF, "-q")
    assert run("score", *common, "--out", paths["scores"]).returncode == 0
    assert run("explain", *common, "--out", paths["contrib"]).returncode == 0
    return paths


def test_plan_command_writes_the_plans_directory(scored, tmp_path):
    out = tmp_path / "plans"
    result = run(
        "plan", "--scores", scored["scores"], "--data", scored["data"], "--config", "bogota",
        "--out", out, "--contributions", scored["contrib"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {"territories", "total_hours", "expected_events_averted"} <= set(summary)
    first = summary["territories"][0]["territory_id"]
    community = json.loads((out / f"{first}.json").read_text(encoding="utf-8"))
    assert community["drivers"]
    assert (out / f"{first}.md").is_file()
    assert (out / "summary.md").is_file()


def test_plan_command_pseudonymizes_households(scored, tmp_path):
    out = tmp_path / "plans"
    key = tmp_path / "key"
    key.write_text("a secret key\n")
    result = run(
        "plan", "--scores", scored["scores"], "--data", scored["data"], "--config", "bogota",
        "--out", out, "--pseudonym-key-file", key, "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    first = summary["territories"][0]["territory_id"]
    households = json.loads((out / f"{first}.json").read_text(encoding="utf-8"))[
        "priority_households"
    ]
    assert households
    assert all(h.startswith("h_") for h in households)


def test_plan_command_refuses_scores_without_their_columns(scored, tmp_path):
    bad = tmp_path / "scores.csv"
    pd.read_parquet(scored["scores"]).drop(columns="tier").to_csv(bad, index=False)
    result = run(
        "plan", "--scores", bad, "--data", scored["data"], "--config", "bogota",
        "--out", tmp_path / "plans",
    )  # fmt: skip
    assert result.returncode == 2
    assert "scores" in result.stderr
    assert "tier" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    result = run("demo", "--out", out, "--persons", 6000)
    assert result.returncode == 0, result.stderr
    for name in ("data", "model", "scores.parquet", "contributions.parquet", "plans"):
        assert (out / name).exists(), name
    assert "events averted" in result.stdout
    assert np.isfinite(json.loads((out / "plans" / "summary.json").read_text())["total_hours"])


def test_minimums_are_scaled_only_where_a_district_lacks_the_hours(bogota):
    population, config, scores, features, drivers, plans = bogota
    territories = plans.territories
    poorest = territories.groupby("district")["population"].sum().idxmin()
    tight = config.model_copy(
        update={
            "planning": config.planning.model_copy(
                update={
                    "capacity": config.planning.capacity.model_copy(
                        update={"districts": {poorest: 1.0}}
                    )
                }
            )
        }
    )
    squeezed = plan(scores, population.tables, config=tight, persons=features)
    assert list(squeezed.summary.solver["minimum_coverage_scaled"]) == [poorest]
    hours = squeezed.territories.groupby("district")["hours_allocated"].sum()
    assert hours[poorest] <= 1.0 + 1e-9
    others = squeezed.territories["district"] != poorest
    np.testing.assert_array_equal(squeezed.allocation.persons[others.to_numpy()] >= 0, True)
    assert squeezed.territories.loc[others, "hours_allocated"].sum() > 0


def test_persons_without_a_column_the_catalogue_reads_are_refused(bogota):
    population, config, scores, features, *_ = bogota
    with pytest.raises(ValueError, match="column 'ind_age', needed by intervention"):
        plan(scores, population.tables, config=config, persons=features.drop(columns="ind_age"))
