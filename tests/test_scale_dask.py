"""The Dask engine on a LocalCluster of 2 workers: the same features, a close model, the same plans.

One synthetic population of 4,000 persons, split into 4 partitions of whole territories, is
computed on one machine (pandas) and on the cluster (Dask), and the results are compared:
features, labels, scores given a bundle, contributions and plans exactly; a model trained
with ``lightgbm.dask`` closely (its trees are not those of one machine; the tolerance is
stated and justified in ``test_dask_training_agrees_with_single_machine_training``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

import masrisk
import masrisk.scale
from masrisk.bundle import data_fingerprint
from masrisk.cli import app
from tests.test_cli import digest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from masrisk.scale.dask_engine import (  # noqa: E402 - after the skip when Dask is missing
    DaskEngineError,
    connect,
    open_dask,
    require_dask,
)
from masrisk.scale.dask_features import dask_features, dask_labels  # noqa: E402
from masrisk.scale.dask_model import early_stopping_round, iteration_losses  # noqa: E402
from masrisk.scale.dask_planning import plan_dask, territory_drivers  # noqa: E402
from masrisk.scale.dask_scoring import explain_dask, score_dask, write_parquet  # noqa: E402
from masrisk.scale.dask_training import train_dask  # noqa: E402
from masrisk.scale.partitions import partition_data  # noqa: E402

OUTCOME = "hospitalization_12m"
TRAIN, VALID, SCORE = "2023-01-01", "2024-01-01", "2025-01-01"
#: One complexity (the second of masrisk.models.COMPLEXITIES), to compare like with like.
PARAMS = {"num_leaves": 7, "max_depth": 3, "lambda_l2": 10.0}
CONFIG = masrisk.load_config("bogota")


def run(*args: object):
    """Run ``masrisk`` in this process (a subprocess would spend seconds importing)."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def client():
    with connect(workers=2, threads_per_worker=1) as client:
        yield client


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("dask")
    plain = masrisk.synthesize("bogota", persons=4000, seed=3).write(root / "data")
    partition_data(plain, root / "parts", partitions=4)
    return plain, root / "parts"


@pytest.fixture(scope="module")
def tables(data) -> masrisk.Tables:
    return masrisk.load_tables(data[0])


@pytest.fixture(scope="module")
def population(data, client):
    return open_dask(data[1])


@pytest.fixture(scope="module")
def trained(population, tables):
    """The same model trained on the cluster and on one machine (two seeds)."""
    options = {
        "config": CONFIG,
        "outcome": OUTCOME,
        "train_as_of": TRAIN,
        "valid_as_of": VALID,
        "params": PARAMS,
    }
    on_dask = train_dask(population, **options)
    alone = [masrisk.train(tables, random_state=seed, **options) for seed in (0, 1)]
    return on_dask, alone


@pytest.fixture(scope="module")
def bundle_path(trained, tmp_path_factory) -> Path:
    (model, report), _ = trained
    path = tmp_path_factory.mktemp("bundle") / "model"
    return masrisk.save_bundle(model, path, report=report.to_dict())


@pytest.fixture(scope="module")
def bundle(bundle_path) -> masrisk.Bundle:
    return masrisk.load_bundle(bundle_path)


def test_the_cluster_has_two_worker_processes(client):
    workers = client.scheduler_info()["workers"].values()
    assert len(workers) == 2
    assert all(w["nthreads"] == 1 for w in workers)


def test_tables_are_dask_frames_with_one_partition_per_territory_group(population, data):
    persons = population.persons
    assert persons.npartitions == population.households.npartitions == 4
    assert population.events.npartitions == 4
    sizes = persons.map_partitions(len).compute().tolist()
    assert sizes == population.data.sizes["persons"].tolist()
    territories = population.data.territory_partition
    for k in range(4):
        own = population.households.get_partition(k).compute()["territory_id"]
        assert set(territories[own.unique()]) == {k}


@pytest.mark.parametrize(
    ("as_of", "lab_codes"), [(TRAIN, None), (SCORE, None), (SCORE, ["HBA1C", "ldl", "XYZ"])]
)
def test_dask_features_equal_pandas_features_exactly(population, tables, as_of, lab_codes):
    on_dask = dask_features(population, as_of=as_of, config=CONFIG, lab_codes=lab_codes)
    assert on_dask.npartitions == 4
    got = on_dask.compute()
    whole = masrisk.build_features(tables, as_of=as_of, config=CONFIG, lab_codes=lab_codes)
    assert got.index.is_unique
    assert len(got) == len(whole)
    pd.testing.assert_frame_equal(got.loc[whole.index], whole, check_exact=True)
    pd.testing.assert_frame_equal(on_dask._meta, whole.iloc[:0])  # dtypes known before compute


def test_dask_labels_equal_pandas_labels(population, tables):
    got = dask_labels(population, as_of=TRAIN, outcome=OUTCOME, config=CONFIG).compute()
    whole = masrisk.build_labels(tables, as_of=TRAIN, outcome=OUTCOME, config=CONFIG)
    pd.testing.assert_series_equal(got.loc[whole.index], whole)


def test_iteration_losses_and_early_stopping_are_lightgbm_s(tables):
    import lightgbm as lgb

    X = masrisk.build_features(tables, as_of=TRAIN, config=CONFIG)
    y = masrisk.build_labels(tables, as_of=TRAIN, outcome=OUTCOME, config=CONFIG)
    X_valid = masrisk.build_features(
        tables, as_of=VALID, config=CONFIG, lab_codes=masrisk.features.lab_codes_in(X.columns)
    )[X.columns]
    y_valid = masrisk.build_labels(tables, as_of=VALID, outcome=OUTCOME, config=CONFIG)
    params = {**PARAMS, "objective": "binary", "verbose": -1, "seed": 0, "num_threads": 1}
    train = lgb.Dataset(X, y)
    valid = lgb.Dataset(X_valid, y_valid, reference=train)
    recorded: dict = {}
    booster = lgb.train(
        params, train, 120, valid_sets=[valid], callbacks=[lgb.record_evaluation(recorded)]
    )
    losses, raw = iteration_losses(booster, X_valid, y_valid, chunk=50_000)  # several chunks
    expected = np.asarray(recorded["valid_0"]["binary_logloss"])
    np.testing.assert_allclose(losses / len(y_valid), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(raw, booster.predict(X_valid, raw_score=True), rtol=1e-12)
    # read in two steps, as a booster grown step by step is
    first_40 = lgb.Booster(model_str=booster.model_to_string(num_iteration=40))
    first, raw_40 = iteration_losses(first_40, X_valid, y_valid)
    rest, raw_all = iteration_losses(booster, X_valid, y_valid, start=40, raw=raw_40)
    np.testing.assert_allclose(np.concatenate([first, rest]), losses, rtol=1e-12)
    np.testing.assert_allclose(raw_all, raw, rtol=1e-12)
    stopped = lgb.train(
        params, train, 120, valid_sets=[valid], callbacks=[lgb.early_stopping(10, verbose=False)]
    )
    trees, _ = early_stopping_round(losses, patience=10)
    assert trees == stopped.best_iteration


def test_dask_training_agrees_with_single_machine_training(trained, tables):
    """Distributed LightGBM differs from one machine as much as another seed does.

    Its workers find their bins and draw their bagging samples from their own rows, so
    its trees are not one machine's; how far its predictions may fall is measured against
    how far one machine's fall when only the seed changes. Measured on this population
    (4,000 persons, 269 training events): Dask vs one machine, Spearman 0.93-0.95 and mean
    |risk difference| 0.016; seed 0 vs seed 1 on one machine, 0.955 and 0.013. At 12,000
    persons the two are indistinguishable (Spearman 0.971 vs 0.972-0.978, mean |difference|
    0.0095 vs 0.009-0.0095). Tolerances: Spearman >= 0.9, mean |difference| <= twice the
    seed-to-seed one, validation AUC within 0.03 (its 95% interval is +-0.03 here).
    """
    (model, report), alone = trained
    features = masrisk.build_features(
        tables, as_of=SCORE, config=CONFIG, lab_codes=model.training_["lab_codes"]
    )
    risk = model.predict_risk(features)
    reference, other_seed = (m.predict_risk(features) for m, _ in alone)
    seed_gap = np.abs(reference - other_seed).mean()
    assert spearmanr(risk, reference).statistic >= 0.9
    assert np.abs(risk - reference).mean() <= 2 * seed_gap
    auc = report.overall.loc["lightgbm", "auc"]
    assert auc == pytest.approx(alone[0][1].overall.loc["lightgbm", "auc"], abs=0.03)
    assert model.chosen_ == "lightgbm"
    # the baseline is fitted on the same rows, so it is the same model
    assert model.baseline_.intercept == pytest.approx(alone[0][0].baseline_.intercept, rel=1e-6)


def test_dask_training_records_what_single_machine_training_records(trained, population):
    (model, _), alone = trained
    facts, expected = model.training_, alone[0][0].training_
    assert set(facts) == set(expected) | {"engine"}
    for key in ("train_persons", "train_events", "valid_persons", "valid_events", "lab_codes"):
        assert facts[key] == expected[key]
    assert facts["features"] == expected["features"]
    X = dask_features(population, as_of=TRAIN, config=CONFIG).compute()
    y = dask_labels(population, as_of=TRAIN, outcome=OUTCOME, config=CONFIG).compute()
    assert facts["data_fingerprint"] == data_fingerprint(X, y)  # rows in partition order


def test_a_dask_trained_bundle_scores_and_explains_as_any_bundle(bundle, trained, tables):
    (model, _), _ = trained
    features = masrisk.build_features(
        tables, as_of=SCORE, config=CONFIG, lab_codes=bundle.metadata["lab_codes"]
    )
    np.testing.assert_array_equal(bundle.predict_risk(features), model.predict_risk(features))
    scores = masrisk.score(bundle, tables, as_of=SCORE, config=CONFIG, features=features)
    assert scores["risk"].between(0, 1, inclusive="neither").all()
    explanation = masrisk.explain(bundle, features.iloc[:50])
    log_odds = model.decision_function(features.iloc[:50])
    np.testing.assert_allclose(explanation.log_odds.to_numpy(), log_odds, rtol=1e-6)


@pytest.fixture(scope="module")
def on_both(bundle, population, tables):
    """Scores, contributions and plans at SCORE: pandas whole, and Dask by partition."""
    lab_codes = bundle.metadata["lab_codes"]
    features = masrisk.build_features(tables, as_of=SCORE, config=CONFIG, lab_codes=lab_codes)
    scores = masrisk.score(bundle, tables, as_of=SCORE, config=CONFIG, features=features)
    explanation = masrisk.explain(bundle, features, tables=tables)
    plans = masrisk.plan(
        scores, tables, config=CONFIG, persons=features, drivers=explanation.drivers(top=10)
    )
    on_dask = dask_features(population, as_of=SCORE, config=CONFIG, lab_codes=lab_codes)
    dask_scores = score_dask(bundle, on_dask, population, as_of=SCORE, config=CONFIG)
    contributions = explain_dask(bundle, on_dask)
    drivers = territory_drivers(bundle, on_dask, population, top=10)
    dask_plans = plan_dask(dask_scores, on_dask, population, config=CONFIG, drivers=drivers)
    return {
        "pandas": (scores, explanation, plans),
        "dask": (dask_scores, contributions, dask_plans, drivers),
    }


def test_dask_scores_equal_pandas_scores_tiers_included(on_both):
    scores, _, _ = on_both["pandas"]
    dask_scores = on_both["dask"][0]
    assert dask_scores.npartitions == 4
    assert dict(dask_scores.dtypes) == dict(scores.dtypes)  # known before compute
    got = dask_scores.compute().set_index("person_id").loc[scores["person_id"]]
    pd.testing.assert_frame_equal(got.reset_index(), scores, check_exact=True)


def test_dask_contributions_equal_pandas_contributions(on_both):
    _, explanation, _ = on_both["pandas"]
    expected = explanation.to_frame()
    got = on_both["dask"][1].compute().set_index("person_id").loc[expected["person_id"]]
    pd.testing.assert_frame_equal(got.reset_index(), expected, check_exact=True)


def test_dask_plans_are_the_pandas_plans(on_both, tmp_path):
    _, explanation, plans = on_both["pandas"]
    _, _, dask_plans, drivers = on_both["dask"]
    expected = explanation.drivers(top=10).sort_values(["territory_id", "rank"])
    pd.testing.assert_frame_equal(
        drivers.sort_values(["territory_id", "rank"]).reset_index(drop=True),
        expected.reset_index(drop=True),
    )
    written = digest(plans.write(tmp_path / "pandas"))
    assert len(written) >= 2 + 2 * len(plans)
    assert digest(dask_plans.write(tmp_path / "dask")) == written  # byte for byte


def test_write_parquet_writes_one_file_per_partition_and_replaces_only_its_own(on_both, tmp_path):
    dask_scores = on_both["dask"][0]
    out = write_parquet(dask_scores, tmp_path / "scores.parquet")
    assert sorted(p.name for p in out.iterdir()) == [f"part-{k:05d}.parquet" for k in range(4)]
    pd.testing.assert_frame_equal(
        pd.read_parquet(out), dask_scores.compute().reset_index(drop=True)
    )
    write_parquet(dask_scores, out)  # its own output: replaced
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a directory of Parquet parts"):
        write_parquet(dask_scores, precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_build_features_on_a_default_local_cluster_from_a_plain_directory(data, tables):
    """``scheduler=None``: a LocalCluster of its own, started and closed; a temporary split."""
    got = masrisk.scale.build_features(
        data[0], as_of=VALID, config=CONFIG, engine="dask", partitions=2
    )
    whole = masrisk.build_features(tables, as_of=VALID, config=CONFIG)
    pd.testing.assert_frame_equal(got.loc[whole.index], whole, check_exact=True)


def test_cli_runs_train_score_explain_and_plan_on_dask(
    client, data, bundle, bundle_path, on_both, tmp_path
):
    plain, _ = data
    on_cluster = ("--engine", "dask", "--scheduler", client.scheduler.address, "--partitions", 3)
    model = tmp_path / "model"
    result = run(
        "train", "--data", plain, "--config", "bogota", "--outcome", OUTCOME,
        "--train-as-of", TRAIN, "--valid-as-of", VALID, "--out", model, *on_cluster,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    metadata = json.loads((model / "metadata.json").read_text())
    assert metadata["engine"] == "dask"
    assert metadata["train_persons"] == bundle.metadata["train_persons"]
    assert len(metadata["search"]) == 4  # the whole search, on the cluster
    assert "AUC" in result.stderr

    # the module's bundle, so that the outputs can be compared with pandas's
    common = ("--model", bundle_path, "--data", plain, "--as-of", SCORE, *on_cluster)
    for step in ("score", "explain"):
        result = run(step, *common, "--out", tmp_path / f"{step}.parquet")
        assert result.exit_code == 0, result.stderr
        assert len(list((tmp_path / f"{step}.parquet").glob("part-*.parquet"))) == 3
    scores, explanation, _ = on_both["pandas"]
    got = pd.read_parquet(tmp_path / "score.parquet").set_index("person_id")
    pd.testing.assert_frame_equal(
        got.loc[scores["person_id"]].reset_index(), scores, check_exact=True
    )
    assert f"{len(scores):,} persons" in result.stderr  # explain's summary
    result = run(
        "plan", "--scores", tmp_path / "score.parquet", "--contributions",
        tmp_path / "explain.parquet", "--data", plain, "--config", "bogota",
        "--out", tmp_path / "plans", *on_cluster[:4], "--partitions", 3,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # splits gone

    # what `masrisk plan` makes of the same scores and contributions, written by pandas
    scores.to_parquet(tmp_path / "scores-pandas.parquet")
    explanation.to_frame().to_parquet(tmp_path / "contributions-pandas.parquet")
    from masrisk.pipeline import plan_from_files

    expected = plan_from_files(
        tmp_path / "scores-pandas.parquet",
        plain,
        config=CONFIG,
        contributions=tmp_path / "contributions-pandas.parquet",
    )
    assert digest(tmp_path / "plans") == digest(expected.write(tmp_path / "pandas-plans"))


def test_dask_options_need_the_dask_engine_and_a_parquet_directory(data, tmp_path):
    plain, _ = data
    common = ("--model", tmp_path / "m", "--data", plain, "--as-of", SCORE)
    result = run("score", *common, "--out", tmp_path / "s.parquet", "--scheduler", "tcp://x:1")
    assert result.exit_code == 2
    assert "needs --engine dask" in result.stderr
    result = run("score", *common, "--out", tmp_path / "s.csv", "--engine", "dask")
    assert result.exit_code == 2
    assert "directory of Parquet files" in result.stderr


def test_without_dask_the_engine_says_how_to_install_it(monkeypatch, data, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    hint = r'pip install "masrisk\[scale\]"'
    with pytest.raises(DaskEngineError, match=hint):
        require_dask()
    with pytest.raises(DaskEngineError, match=hint), connect():
        pass
    # the command line says it too, before reading anything
    args = ["score", "--model", tmp_path, "--data", data[0], "--as-of", SCORE]
    result = run(*args, "--out", tmp_path / "s.parquet", "--engine", "dask")
    assert result.exit_code == 2
    assert 'pip install "masrisk[scale]"' in " ".join(result.stderr.split())
