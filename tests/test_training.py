"""train(): out-of-time cut-offs without leakage, quality against the synthetic truth, determinism.

The acceptance test (``-m slow``) trains on 100,000 synthetic Bogotá persons and scores the
year after the data end against the generator's truth; run it with ``pytest -m slow -s`` to
see its figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import masrisk
from masrisk.evaluate import calibration_intercept_slope
from masrisk.features import build_features, lab_codes_in

OUTCOME = "hospitalization_12m"
TRAIN_AS_OF, VALID_AS_OF, SCORE_AS_OF = "2023-01-01", "2024-01-01", "2025-01-01"


@pytest.fixture(scope="module")
def config() -> masrisk.Config:
    return masrisk.load_config("bogota")


def fit(tables: masrisk.Tables, config: masrisk.Config, **kwargs):
    dates = {"train_as_of": TRAIN_AS_OF, "valid_as_of": VALID_AS_OF}
    return masrisk.train(tables, config=config, outcome=OUTCOME, **{**dates, **kwargs})


# --------------------------------------------------------------------------- acceptance


@pytest.mark.slow
def test_acceptance_on_100k_persons_against_the_truth(config):
    population = masrisk.synthesize("bogota", persons=100_000, seed=1)
    model, report = fit(population.tables, config)

    X = build_features(
        population.tables,
        as_of=SCORE_AS_OF,
        config=config,
        lab_codes=lab_codes_in(model.features_),
    )[model.features_]
    truth = population.truth.set_index("person_id")
    assert set(X.index) == set(truth.index), "truth rows must be the persons present at scoring"
    truth = truth.loc[X.index]
    y = truth[f"y_{OUTCOME}"].to_numpy()
    risk = model.predict_risk(X)

    auc = roc_auc_score(y, risk)
    oracle_auc = roc_auc_score(y, truth[f"p_{OUTCOME}"].to_numpy())
    intercept, slope = calibration_intercept_slope(y, risk)
    baseline_auc = roc_auc_score(y, model.baseline_.decision_function(X))
    oracle_intercept, oracle_slope = calibration_intercept_slope(y, truth[f"p_{OUTCOME}"])

    print(
        f"\nacceptance, bogota 100,000 persons seed 1, trained {TRAIN_AS_OF} / {VALID_AS_OF}, "
        f"scored {SCORE_AS_OF} ({len(y):,} persons, {int(y.sum()):,} events, "
        f"prevalence {y.mean():.4f}, mean risk {risk.mean():.4f})\n"
        f"  chosen: {report.chosen_model}: {model.choice_reason_}\n"
        f"  search:\n{model.search_.to_string()}\n"
        f"  AUC {auc:.4f}, oracle AUC {oracle_auc:.4f}, ratio {auc / oracle_auc:.4f} (>= 0.95)\n"
        f"  calibration intercept {intercept:+.4f} (|.| <= 0.1), slope {slope:.4f} "
        f"([0.9, 1.1]); oracle's: {oracle_intercept:+.4f}, {oracle_slope:.4f}\n"
        f"  logistic baseline AUC {baseline_auc:.4f}, LightGBM ahead by "
        f"{auc - baseline_auc:+.4f}\n"
        f"  validation report ({VALID_AS_OF}):\n"
        + report.overall[
            ["n", "events", "auc", "calibration_intercept", "calibration_slope"]
        ].to_string()
    )
    assert report.chosen_model == "lightgbm"
    assert auc >= 0.95 * oracle_auc
    assert 0.9 <= slope <= 1.1
    assert abs(intercept) <= 0.1
    assert auc > baseline_auc


# --------------------------------------------------------------------------- small populations


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_population_model_is_no_worse_than_the_baseline_and_calibrated(config, seed):
    tables = masrisk.synthesize("bogota", persons=5000, seed=seed).tables
    _, report = fit(tables, config)

    overall = report.overall
    assert list(overall.index) == ["lightgbm", "logistic_baseline"]
    chosen = overall.loc[report.chosen_model]
    baseline = overall.loc["logistic_baseline"]
    print(
        f"\nseed {seed}: chosen {report.chosen_model}, validation AUC {chosen['auc']:.4f} "
        f"(baseline {baseline['auc']:.4f}), calibration slope "
        f"{chosen['calibration_slope']:.3f}, intercept {chosen['calibration_intercept']:+.4f}, "
        f"{int(chosen['events'])} events in {int(chosen['n']):,}"
    )
    assert chosen["auc"] >= baseline["auc"] - 0.01
    assert 0.8 <= chosen["calibration_slope"] <= 1.2


# --------------------------------------------------------------------------- leakage


@pytest.fixture(scope="module")
def small() -> masrisk.synth.SyntheticPopulation:
    return masrisk.synthesize("bogota", persons=3000, seed=0)


def test_validation_cut_off_closer_than_one_horizon_is_refused(small, config):
    with pytest.raises(ValueError, match=r"at least 365 days after train_as_of"):
        fit(small.tables, config, train_as_of="2023-06-01", valid_as_of="2024-01-01")


def test_validation_horizon_past_the_data_end_is_refused(small, config):
    assert small.tables.events["date"].max() == pd.Timestamp("2024-12-31")
    with pytest.raises(ValueError, match=r"data end on 2024-12-31.*horizon"):
        fit(small.tables, config, train_as_of="2023-01-01", valid_as_of="2024-06-01")


def with_extra_events(population, start: str) -> masrisk.Tables:
    """The same tables plus events dated in the year from ``start``.

    600 persons born before 2023 and alive at the end get admissions, emergencies, chronic
    diagnoses, labs and deaths in that year (deaths on its last day, after their other events).
    """
    rng = np.random.default_rng(0)
    persons = population.tables.persons
    born = persons.loc[persons["birth_date"] < pd.Timestamp("2023-01-01"), "person_id"]
    alive = population.truth["person_id"]
    chosen = rng.choice(alive[alive.isin(born)].to_numpy(), size=600, replace=False)
    kinds = ["hospitalization", "emergency", "outpatient", "lab", "death"]
    codes = {
        "hospitalization": "I21.0",
        "emergency": "J44.1",
        "outpatient": "E11.9",
        "lab": "HBA1C",
        "death": "I64X",
    }
    rows = []
    for i, person in enumerate(chosen):
        kind = kinds[i % len(kinds)]
        days = 364 if kind == "death" else int(rng.integers(0, 200))
        day = pd.Timestamp(start) + pd.Timedelta(days=days)
        rows.append(
            {
                "person_id": person,
                "date": day,
                "kind": kind,
                "code": codes[kind],
                "value": "9.1" if kind == "lab" else None,
            }
        )
    frames = dict(population.tables.items())
    events = frames["events"]
    extra = pd.DataFrame(rows).astype({"person_id": events["person_id"].dtype})
    frames["events"] = pd.concat(
        [events.astype({"kind": str, "code": object}), extra], ignore_index=True
    )
    return masrisk.Tables.from_frames(frames)


def test_events_after_the_validation_horizon_change_nothing_and_training_is_deterministic(
    small, config
):
    model, report = fit(small.tables, config)
    again, report_again = fit(small.tables, config)
    later = with_extra_events(small, "2025-01-01")  # on or after VALID_AS_OF + 365 days
    assert later.events["date"].max() > small.tables.events["date"].max()
    assert len(later.events) > len(small.tables.events)
    model_later, report_later = fit(later, config)

    # determinism: same data and seed, same everything
    assert report.to_dict() == report_again.to_dict()
    X_valid = build_features(
        small.tables, as_of=VALID_AS_OF, config=config, lab_codes=lab_codes_in(model.features_)
    )[model.features_]
    np.testing.assert_array_equal(model.predict_risk(X_valid), again.predict_risk(X_valid))
    for name, risk in model.validation_risk_.items():
        np.testing.assert_array_equal(risk, again.validation_risk_[name])

    # no leakage: events beyond the validation horizon leave model and report unchanged
    assert report_later.to_dict() == report.to_dict()
    assert model_later.features_ == model.features_
    np.testing.assert_array_equal(model_later.predict_risk(X_valid), model.predict_risk(X_valid))
    for name, risk in model.validation_risk_.items():
        np.testing.assert_array_equal(risk, model_later.validation_risk_[name])

    # the check has power: the same events inside the validation horizon do change the report
    _, report_inside = fit(with_extra_events(small, "2024-01-01"), config)
    assert report_inside.to_dict() != report.to_dict()
