"""Every step gives the same result on every engine: in memory, the partition loop, Dask.

For a given bundle, features are equal value for value and dtype for dtype, and scores
(tiers included), contributions, drivers and plans byte for byte, for 1 to 8 partitions,
on the Bogotá and Mexico profiles. One Dask ``LocalCluster`` serves the whole module.
"""

from __future__ import annotations

import functools
import operator

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import masrisk
import masrisk.scale
from masrisk.engines import MemoryEngine, stages, steps
from masrisk.features.counts import territory_counts
from masrisk.features.parts import part_counts
from masrisk.scale.loop import PartitionEngine
from masrisk.scale.partitions import partition_data
from tests.test_cli import digest

pytest.importorskip("distributed")

from masrisk.scale.dask_engine import DaskEngine, connect  # noqa: E402 - after the skip

OUTCOME = "hospitalization_12m"
TRAIN, VALID, SCORE = "2023-01-01", "2024-01-01", "2025-01-01"
PROFILES = ("bogota", "mexico")
FEW = settings(max_examples=3, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def client():
    with connect() as client:
        yield client


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Per profile: config, data directory, tables, a bundle; partitioned copies on demand."""
    root = tmp_path_factory.mktemp("engines")
    out = {}
    for k, profile in enumerate(PROFILES):
        config = masrisk.load_config(profile)
        data = masrisk.synthesize(profile, persons=2500, seed=20 + k).write(root / profile)
        tables = masrisk.load_tables(data, extra_kinds=config.extra_event_kinds)
        model, report = masrisk.train(
            tables, config=config, outcome=OUTCOME, train_as_of=TRAIN, valid_as_of=VALID
        )
        path = masrisk.save_bundle(model, root / f"{profile}-model", report=report.to_dict())
        out[profile] = {
            "config": config,
            "data": data,
            "tables": tables,
            "bundle": masrisk.load_bundle(path),
            "split": functools.cache(
                lambda n, data=data, profile=profile: partition_data(
                    data, root / f"{profile}-{n}", partitions=n
                )
            ),
        }
    return out


def _engines(world, profile, partitions):
    case = world[profile]
    split = case["split"](partitions)
    kinds = case["config"].extra_event_kinds
    return {
        "memory": MemoryEngine(case["tables"]),
        "partitions": PartitionEngine(split, extra_kinds=kinds),
        "dask": DaskEngine(split, extra_kinds=kinds),
    }


def _by_person(frame: pd.DataFrame, order: pd.Series) -> pd.DataFrame:
    return frame.set_index("person_id").loc[order].reset_index()


@pytest.mark.parametrize("profile", PROFILES)
@FEW
@given(partitions=st.integers(1, 8))
def test_features_are_equal_value_for_value_and_dtype_for_dtype(client, world, profile, partitions):
    case = world[profile]
    whole = masrisk.build_features(case["tables"], as_of=VALID, config=case["config"])
    for name, engine in _engines(world, profile, partitions).items():
        got = stages.build_features(engine, as_of=VALID, config=case["config"])
        assert got.index.is_unique, name
        assert dict(got.dtypes) == dict(whole.dtypes), name
        pd.testing.assert_frame_equal(got.loc[whole.index], whole, check_exact=True, obj=name)


@pytest.mark.parametrize("profile", PROFILES)
@FEW
@given(partitions=st.integers(1, 8))
def test_scores_contributions_drivers_and_plans_are_equal_byte_for_byte(
    client, world, profile, partitions, tmp_path_factory
):
    case = world[profile]
    config, bundle = case["config"], case["bundle"]
    out = tmp_path_factory.mktemp(f"{profile}-{partitions}")
    results = {}
    for name, engine in _engines(world, profile, partitions).items():
        scores = masrisk.score(bundle, engine, as_of=SCORE, config=config)
        explained = stages.explain(
            bundle, engine, as_of=SCORE, config=config, out=out / f"{name}.parquet"
        )
        plans = stages.plan(scores, engine, config=config, contributions=explained.path)
        results[name] = (scores, pd.read_parquet(explained.path), explained, plans)
    scores, contributions, explained, plans = results["memory"]
    assert scores.equals(masrisk.score(bundle, case["tables"], as_of=SCORE, config=config))
    written = digest(plans.write(out / "memory-plans"))
    for name in ("partitions", "dask"):
        got_scores, got_contributions, got_explained, got_plans = results[name]
        pd.testing.assert_frame_equal(
            _by_person(got_scores, scores["person_id"]), scores, check_exact=True, obj=name
        )
        pd.testing.assert_frame_equal(
            _by_person(got_contributions, contributions["person_id"]),
            contributions,
            check_exact=True,
            obj=name,
        )
        pd.testing.assert_frame_equal(got_explained.drivers, explained.drivers, obj=name)
        pd.testing.assert_series_equal(got_explained.level_shares, explained.level_shares)
        assert digest(got_plans.write(out / f"{name}-plans")) == written, name


@pytest.mark.parametrize("profile", PROFILES)
def test_the_engine_steps_are_the_public_functions_in_memory(world, profile, tmp_path):
    """``masrisk.explain``'s drivers and ``masrisk.plan`` are what the engine stages give.

    (Drivers read back from a written table are of float32 contributions: the engines agree
    among themselves on those, in the test above.)
    """
    case = world[profile]
    config, bundle, tables = case["config"], case["bundle"], case["tables"]
    engine = MemoryEngine(tables)
    features = masrisk.build_features(
        tables, as_of=SCORE, config=config, lab_codes=bundle.lab_codes
    )
    explanation = masrisk.explain(bundle, features, tables=tables)
    explained = stages.explain(
        bundle, engine, as_of=SCORE, config=config, out=tmp_path / "c.parquet"
    )
    pd.testing.assert_frame_equal(explained.drivers, explanation.drivers("territory", top=10))
    pd.testing.assert_series_equal(explained.level_shares, explanation.level_shares())
    scores = masrisk.score(bundle, tables, as_of=SCORE, config=config)
    drivers = explanation.drivers("territory", top=10)
    expected = masrisk.plan(scores, tables, config=config, persons=features, drivers=drivers)
    got = stages.plan(scores, engine, config=config, drivers=explained.drivers)
    assert digest(got.write(tmp_path / "got")) == digest(expected.write(tmp_path / "expected"))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("engine_name", ["memory", "partitions"])
def test_one_pass_run_equals_score_explain_and_plan(world, profile, engine_name, tmp_path):
    """``stages.run`` builds each part's features once and gives what the three stages give."""
    case = world[profile]
    config, bundle = case["config"], case["bundle"]
    engine = _engines(world, profile, 3)[engine_name]
    scores = masrisk.score(bundle, engine, as_of=SCORE, config=config)
    explained = stages.explain(
        bundle, engine, as_of=SCORE, config=config, out=tmp_path / "a.parquet"
    )
    plans = stages.plan(scores, engine, config=config, drivers=explained.drivers)
    got_scores, got_explained, got_plans = stages.run(
        bundle, engine, as_of=SCORE, config=config, out=tmp_path / "b.parquet"
    )
    pd.testing.assert_frame_equal(got_scores, scores, check_exact=True)
    pd.testing.assert_frame_equal(got_explained.drivers, explained.drivers)
    pd.testing.assert_series_equal(got_explained.level_shares, explained.level_shares)
    assert got_explained.persons == explained.persons
    pd.testing.assert_frame_equal(
        pd.read_parquet(got_explained.path), pd.read_parquet(explained.path), check_exact=True
    )
    assert digest(got_plans.write(tmp_path / "got")) == digest(plans.write(tmp_path / "want"))


@pytest.mark.parametrize("profile", PROFILES)
def test_labels_and_training_facts_agree_across_engines(world, profile):
    case = world[profile]
    config = case["config"]
    engine = PartitionEngine(case["split"](3), extra_kinds=config.extra_event_kinds)
    whole = masrisk.build_labels(case["tables"], as_of=TRAIN, outcome=OUTCOME, config=config)
    frames, _ = stages.feature_parts(engine, as_of=TRAIN, config=config)
    reads = engine.map(
        steps.read_part, engine.parts(), cutoffs=(TRAIN,), config=config, outcome=OUTCOME
    )
    labels = engine.map(steps.labels_at, reads)
    pd.testing.assert_series_equal(pd.concat(labels).loc[whole.index], whole)
    model, report = masrisk.train(
        engine, config=config, outcome=OUTCOME, train_as_of=TRAIN, valid_as_of=VALID
    )
    expected = case["bundle"].metadata
    for key in ("train_persons", "train_events", "valid_persons", "lab_codes", "features"):
        assert model.training_[key] == expected[key], key
    X = pd.concat(frames)
    assert model.training_["data_fingerprint"] == masrisk.bundle.data_fingerprint(
        X, pd.concat(labels).to_numpy()
    )  # rows in part order
    assert report.chosen_model in {"lightgbm", "logistic_baseline"}


@pytest.mark.parametrize("profile", PROFILES)
def test_the_counts_of_parts_add_up_to_the_counts_of_the_whole(world, profile):
    case = world[profile]
    config, split = case["config"], case["split"](4)
    whole = territory_counts(case["tables"], VALID, outcomes=config.outcomes)
    parts = [
        part_counts(split.tables(k), as_of=VALID, config=config) for k in range(split.partitions)
    ]
    total = functools.reduce(operator.add, parts)
    for field in ("households_known", "households_deprived", "cases", "at_risk"):
        got, expected = getattr(total.territories, field), getattr(whole, field)
        assert set(got) == set(expected)
        for key in expected:
            assert (got[key] == expected[key]).all(), (field, key)
    assert total.labs.persons == sum(p.labs.persons for p in parts)
    assert (
        total.labs.frequent()
        == part_counts(case["tables"], as_of=VALID, config=config).labs.frequent()
    )


def test_a_configuration_is_required_wherever_it_changes_the_result(world):
    case = world["bogota"]
    tables = case["tables"]
    with pytest.raises(TypeError, match="config"):
        masrisk.build_features(tables, as_of=VALID)
    with pytest.raises(masrisk.ConfigError, match="config"):
        masrisk.build_labels(tables, as_of=VALID, outcome=OUTCOME)
    with pytest.raises(TypeError, match="config"):
        masrisk.scale.build_features(case["data"], as_of=VALID)
    with pytest.raises(TypeError, match="config"):
        masrisk.train(tables, outcome=OUTCOME, train_as_of=TRAIN, valid_as_of=VALID)


def test_masrisk_score_and_the_scale_score_both_return_the_scores_table(world, tmp_path):
    case = world["bogota"]
    bundle, config = case["bundle"], case["config"]
    scores = masrisk.score(bundle, case["tables"], as_of=SCORE, config=config)
    got = masrisk.scale.score(bundle, case["data"], as_of=SCORE, config=config)
    pd.testing.assert_frame_equal(got, scores)
    with pytest.warns(DeprecationWarning, match="write_table"):
        masrisk.scale.score(
            bundle, case["data"], as_of=SCORE, config=config, out=tmp_path / "s.csv"
        )
    assert len(pd.read_csv(tmp_path / "s.csv")) == len(scores)
