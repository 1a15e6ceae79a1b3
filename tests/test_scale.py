"""A population split by territory gives the same features, scores and plans as the whole."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import masrisk
from masrisk.scale.features import build_features_by_partition, household_sample
from masrisk.scale.partitions import open_partitioned, partition_data
from masrisk.scale.pipeline import score_by_partition, train_by_partition

CONFIG = masrisk.load_config("bogota")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    root = tmp_path_factory.mktemp("city")
    population = masrisk.synthesize("bogota", persons=4000, seed=11)
    population.write(root / "data")
    data = partition_data(root / "data", root / "parts", partitions=3)
    return root, population.tables, data


def test_partitions_hold_whole_territories_and_every_row(city):
    root, tables, data = city
    assert data.partitions == 3
    assert data.sizes.sum().to_dict() == {
        "households": len(tables.households),
        "persons": len(tables.persons),
        "events": len(tables.events),
    }
    seen = []
    for k in range(data.partitions):
        part = data.tables(k)
        territories = set(part.households["territory_id"])
        assert territories <= set(data.territory_partition.index[data.territory_partition == k])
        seen.append(part.persons["person_id"])
        assert len(part.territories) == len(tables.territories)  # small tables whole
    assert sorted(pd.concat(seen)) == sorted(tables.persons["person_id"])
    assert open_partitioned(root / "parts").sizes.equals(data.sizes)
    manifest = json.loads((root / "parts" / "partitions.json").read_text())
    assert len(manifest["territory_partition"]) == len(tables.territories)


def test_partitions_are_balanced_by_persons(city):
    _, tables, data = city
    persons = data.sizes["persons"]
    assert persons.max() < 2 * persons.min()


@pytest.mark.parametrize("as_of", ["2023-01-01", "2025-01-01"])
def test_features_by_partition_equal_the_whole(city, as_of):
    _, tables, data = city
    whole = masrisk.build_features(tables, as_of=as_of, config=CONFIG)
    parts = build_features_by_partition(data.iter_tables, as_of=as_of, config=CONFIG)
    assert parts.index.is_unique
    pd.testing.assert_frame_equal(parts.loc[whole.index], whole, check_exact=True)


def test_features_by_partition_with_given_lab_codes(city):
    _, tables, data = city
    codes = ["HBA1C", "NOT_IN_DATA"]
    whole = masrisk.build_features(tables, as_of="2024-01-01", config=CONFIG, lab_codes=codes)
    parts = build_features_by_partition(
        data.iter_tables, as_of="2024-01-01", config=CONFIG, lab_codes=codes
    )
    pd.testing.assert_frame_equal(parts.loc[whole.index], whole, check_exact=True)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(partitions=st.integers(1, 8))
def test_any_number_of_partitions_gives_the_same_features(city, tmp_path, partitions):
    root, tables, _ = city
    data = partition_data(root / "data", tmp_path / f"p{partitions}", partitions=partitions)
    assert 1 <= data.partitions <= partitions
    whole = masrisk.build_features(tables, as_of="2024-06-01", config=CONFIG)
    parts = build_features_by_partition(data.iter_tables, as_of="2024-06-01", config=CONFIG)
    pd.testing.assert_frame_equal(parts.loc[whole.index], whole, check_exact=True)


def test_household_sample_is_stable_and_near_its_share():
    ids = pd.Index(np.arange(20_000))
    chosen = household_sample(ids, 0.25)
    assert abs(chosen.mean() - 0.25) < 0.02
    assert np.array_equal(chosen[:500], household_sample(ids[:500], 0.25))
    with pytest.raises(ValueError, match="fraction"):
        household_sample(ids, 0)


def test_orphan_rows_are_refused_by_name(tmp_path):
    population = masrisk.synthesize("bogota", persons=1000, seed=2)
    population.write(tmp_path / "data", format="csv")
    events = pd.read_csv(tmp_path / "data" / "events.csv", dtype=str)
    events.loc[0, "person_id"] = "999999"
    events.to_csv(tmp_path / "data" / "events.csv", index=False)
    with pytest.raises(masrisk.ValidationError) as error:
        partition_data(tmp_path / "data", tmp_path / "parts", partitions=2)
    assert "events.person_id" in str(error.value)
    assert "999999" in str(error.value)
    assert not (tmp_path / "parts").exists()


def test_csv_sources_keep_their_ids(tmp_path):
    population = masrisk.synthesize("bogota", persons=1000, seed=2)
    population.write(tmp_path / "data", format="csv")
    data = partition_data(tmp_path / "data", tmp_path / "parts", partitions=2)
    ids = pd.concat([data.tables(k).persons["person_id"] for k in range(data.partitions)])
    assert sorted(ids.astype(str)) == sorted(population.tables.persons["person_id"].astype(str))


@pytest.fixture(scope="module")
def trained(city, tmp_path_factory):
    _, _, data = city
    model, report, counts = train_by_partition(
        data,
        config=CONFIG,
        outcome="hospitalization_12m",
        train_as_of="2023-01-01",
        valid_as_of="2024-01-01",
        score_as_of="2025-01-01",
    )
    path = tmp_path_factory.mktemp("bundle") / "model"
    masrisk.save_bundle(model, path, report=report.to_dict())
    return masrisk.load_bundle(path), report, counts


def test_training_by_partition_matches_training_on_the_whole(city, trained):
    _, tables, _ = city
    bundle, report, _ = trained
    _, whole_report = masrisk.train(
        tables,
        config=CONFIG,
        outcome="hospitalization_12m",
        train_as_of="2023-01-01",
        valid_as_of="2024-01-01",
    )
    # Same features, same rows (in another order): LightGBM's bins and the fit may differ
    # only through the row order, so the validation AUCs agree closely.
    auc = report.overall.loc[report.chosen_model, "auc"]
    whole_auc = whole_report.overall.loc[whole_report.chosen_model, "auc"]
    assert auc == pytest.approx(whole_auc, abs=0.01)


def test_scores_and_plans_by_partition_equal_the_whole(city, trained, tmp_path):
    root, tables, data = city
    bundle, _, counts = trained
    result = score_by_partition(
        data, bundle, as_of="2025-01-01", config=CONFIG, counts=counts, out=tmp_path
    )
    whole = masrisk.score(bundle, tables, as_of="2025-01-01", config=CONFIG)
    by_id = result.scores.set_index("person_id").loc[whole["person_id"]].reset_index()
    # Risks come from the contributions' sum (the log-odds), not a second pass of the trees:
    # equal to float32 rounding, and the same tiers.
    pd.testing.assert_frame_equal(by_id, whole, check_exact=False, rtol=1e-6)
    written = pd.read_parquet(tmp_path / "scores")
    assert len(written) == len(whole)
    contributions = pd.read_parquet(tmp_path / "contributions")
    assert len(contributions) == len(whole)

    features = masrisk.build_features(
        tables, as_of="2025-01-01", config=CONFIG, lab_codes=bundle.metadata["lab_codes"]
    )
    explanation = masrisk.explain(bundle, features, tables=tables)
    drivers = explanation.drivers("territory", top=10)
    pd.testing.assert_frame_equal(
        result.drivers.sort_values(["territory_id", "rank"], ignore_index=True),
        drivers.sort_values(["territory_id", "rank"], ignore_index=True),
        check_exact=False,
        rtol=1e-5,
    )
    expected = masrisk.plan(whole, tables, config=CONFIG, persons=features, drivers=drivers)
    plans = masrisk.plan(
        result.scores, result.tables, config=CONFIG, persons=result.persons, drivers=result.drivers
    )
    expected.write(tmp_path / "expected")
    plans.write(tmp_path / "plans")
    for file in sorted((tmp_path / "expected").rglob("*.json")):
        other = tmp_path / "plans" / file.relative_to(tmp_path / "expected")
        assert json.loads(other.read_text()) == json.loads(file.read_text()), file.name
