"""A population split by territory gives the same features, scores and plans as the whole."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import masrisk
import masrisk.scale
from masrisk.engines import stages
from masrisk.features.parts import household_sample
from masrisk.scale.loop import PartitionEngine
from masrisk.scale.partitions import PartitionedData, open_partitioned, partition_data

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


def test_household_sample_is_stable_and_near_its_share():
    ids = pd.Index(np.arange(20_000))
    chosen = household_sample(ids, 0.25)
    assert abs(chosen.mean() - 0.25) < 0.02
    assert np.array_equal(chosen[:500], household_sample(ids[:500], 0.25))
    with pytest.raises(masrisk.ConfigError, match="sample"):
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


def test_training_on_a_sample_of_households_records_it(city):
    _, tables, data = city
    options = {
        "config": CONFIG,
        "outcome": "hospitalization_12m",
        "train_as_of": "2023-01-01",
        "valid_as_of": "2024-01-01",
    }
    model, _ = masrisk.train(PartitionEngine(data), sample=0.5, **options)
    whole, _ = masrisk.train(tables, **options)
    assert model.training_["sample"] == {"households_share": 0.5}
    assert model.training_["engine"] == "partitions"
    assert 0.4 < model.training_["train_persons"] / whole.training_["train_persons"] < 0.6
    assert model.training_["lab_codes"] == whole.training_["lab_codes"]  # those of everyone


def test_the_partition_loop_reads_each_partition_once(city, monkeypatch):
    _, _, data = city
    read, seen, tables = [], [], PartitionedData.tables
    monkeypatch.setattr(
        PartitionedData, "tables", lambda self, k, **kw: read.append(k) or tables(self, k, **kw)
    )
    engine = PartitionEngine(data, hook=lambda step, k: seen.append((step, k)))
    stages.build_features(engine, as_of="2024-01-01", config=CONFIG)
    assert read == list(range(data.partitions))
    assert seen[: data.partitions] == [("read_part", k) for k in range(data.partitions)]


def test_scale_facade_runs_the_loop_on_a_partitioned_directory(city, tmp_path):
    root, tables, data = city
    features = masrisk.scale.build_features(data.path, as_of="2024-01-01", config=CONFIG)
    whole = masrisk.build_features(tables, as_of="2024-01-01", config=CONFIG)
    pd.testing.assert_frame_equal(features.loc[whole.index], whole, check_exact=True)
    with pytest.raises(masrisk.ConfigError, match="engine"):
        masrisk.scale.build_features(data.path, as_of="2024-01-01", config=CONFIG, engine="x")


def test_a_partition_is_read_in_id_order_whatever_order_its_files_hold(city, tmp_path):
    """DuckDB's partitioned writes do not keep ORDER BY; a model must not depend on it."""
    import shutil

    _, _, data = city
    copy = tmp_path / "parts"
    shutil.copytree(data.path, copy)
    for name, key in (("households", "household_id"), ("persons", "person_id")):
        folder = copy / name / "part=1"
        frame = pd.read_parquet(folder)
        for file in folder.glob("*.parquet"):
            file.unlink()
        frame.sample(frac=1.0, random_state=0).to_parquet(folder / "data_0.parquet")
        got = open_partitioned(copy).frames(1)[name][key]
        assert got.is_monotonic_increasing
        assert got.tolist() == sorted(data.frames(1)[name][key])
