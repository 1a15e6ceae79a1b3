"""RiskModel: scikit-learn conventions, out-of-time choice, calibration, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

import masrisk
from masrisk.exceptions import ParameterError
from masrisk.features import lab_codes_in
from masrisk.models import (
    AUC_TOLERANCE,
    COMPLEXITIES,
    Calibrator,
    RiskModel,
    TrainingFacts,
    UnseenCategoryWarning,
    feature_specs,
)

CONFIG = masrisk.load_config("bogota")

OUTCOME = "hospitalization_12m"


@pytest.fixture(scope="module")
def periods() -> dict[str, pd.DataFrame | pd.Series]:
    tables = masrisk.synthesize("bogota", persons=4000, seed=0).tables
    X = masrisk.build_features(tables, as_of="2023-01-01", config=CONFIG)
    X_valid = masrisk.build_features(
        tables, as_of="2024-01-01", lab_codes=lab_codes_in(X.columns), config=CONFIG
    )
    return {
        "X": X,
        "y": masrisk.build_labels(tables, as_of="2023-01-01", outcome=OUTCOME, config=CONFIG),
        "X_valid": X_valid[X.columns],
        "y_valid": masrisk.build_labels(tables, as_of="2024-01-01", outcome=OUTCOME, config=CONFIG),
    }


@pytest.fixture(scope="module")
def fitted(periods) -> RiskModel:
    return RiskModel(OUTCOME).fit(
        periods["X"], periods["y"], eval_set=(periods["X_valid"], periods["y_valid"])
    )


def test_options_are_stored_as_given_and_clone_works():
    model = RiskModel(
        "mortality_12m", params={"num_leaves": 3}, calibration="isotonic", random_state=7
    )
    assert model.get_params() == {
        "outcome": "mortality_12m",
        "params": {"num_leaves": 3},
        "calibration": "isotonic",
        "random_state": 7,
        "n_jobs": 2,
    }
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.set_params(random_state=1).random_state == 1


def test_unfitted_model_refuses_to_predict(periods):
    with pytest.raises(NotFittedError):
        RiskModel().predict_risk(periods["X_valid"])


def test_fit_returns_self_with_fitted_attributes(fitted, periods):
    check_is_fitted(fitted)
    assert fitted.chosen_ in {"lightgbm", "logistic_baseline"}
    assert list(fitted.feature_names_in_) == list(periods["X"].columns)
    assert fitted.n_features_in_ == periods["X"].shape[1]
    sex = next(spec for spec in fitted.feature_specs_ if spec.name == "ind_sex")
    assert (sex.dtype, sex.categories) == ("category", ["F", "M"])
    assert set(fitted.validation_risk_) == {"lightgbm", "logistic_baseline"}
    assert len(fitted.search_) == len(COMPLEXITIES)
    assert {"trees", "shap_cost", "valid_logloss", "valid_auc"} <= set(fitted.search_.columns)
    assert fitted.choice_reason_


def test_risks_are_probabilities_ranked_like_the_log_odds(fitted, periods):
    risk = fitted.predict_risk(periods["X_valid"])
    assert risk.shape == (len(periods["X_valid"]),)
    assert ((risk > 0) & (risk < 1)).all()
    proba = fitted.predict_proba(periods["X_valid"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    order = np.argsort(fitted.decision_function(periods["X_valid"]), kind="stable")
    assert (np.diff(risk[order]) >= -1e-12).all()


def test_lightgbm_beats_the_baseline_on_the_synthetic_population(fitted, periods):
    assert fitted.chosen_ == "lightgbm"
    auc = roc_auc_score(periods["y_valid"], fitted.validation_risk_["lightgbm"])
    assert auc > roc_auc_score(periods["y_valid"], fitted.validation_risk_["logistic_baseline"])


def test_calibration_in_the_large_on_the_validation_period(fitted, periods):
    observed = periods["y_valid"].mean()
    assert fitted.validation_risk_["lightgbm"].mean() == pytest.approx(observed, rel=0.1)


def test_same_data_and_seed_give_identical_models(fitted, periods):
    again = RiskModel(OUTCOME).fit(
        periods["X"], periods["y"], eval_set=(periods["X_valid"], periods["y_valid"])
    )
    pd.testing.assert_frame_equal(again.search_, fitted.search_)
    np.testing.assert_array_equal(
        again.predict_risk(periods["X_valid"]), fitted.predict_risk(periods["X_valid"])
    )


def test_a_weak_booster_falls_back_to_the_baseline(periods):
    weak = {"min_data_in_leaf": 10**7}  # no split possible: a constant booster
    model = RiskModel(OUTCOME, params=weak).fit(
        periods["X"], periods["y"], eval_set=(periods["X_valid"], periods["y_valid"])
    )
    assert model.chosen_ == "logistic_baseline"
    assert model.booster_ is None
    assert "baseline" in model.choice_reason_
    risk = model.predict_risk(periods["X_valid"])
    assert roc_auc_score(periods["y_valid"], risk) > 0.6


def test_missing_features_are_named(fitted, periods):
    X = periods["X_valid"].drop(columns=["ind_age", "fam_size"])
    with pytest.raises(masrisk.ValidationError, match="ind_age"):
        fitted.predict_risk(X)


def test_fit_needs_a_validation_period(periods):
    with pytest.raises(
        ParameterError, match=r"eval_set is required.*eval_set=\(X_valid, y_valid\)"
    ):
        RiskModel().fit(periods["X"], periods["y"])


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"n_jobs": 10**9}, r"n_jobs must be an int in \[1, 64\], got 1000000000"),
        ({"n_jobs": 2.5}, r"n_jobs must be an int in \[1, 64\], got 2.5"),
        ({"calibration": "magic"}, r"calibration must be one of .*, got 'magic'"),
        ({"params": {"num_leaves": 10**7}}, r"num_leaves must be an int in \[2, 131072\]"),
        ({"params": {"learning_rate": 5}}, r"learning_rate must be a float in \[0.0001, 1.0\]"),
    ],
)
def test_options_out_of_bounds_are_refused_at_fit(periods, option, message):
    model = RiskModel(**option)  # stored as given, checked at fit
    assert model.get_params()[next(iter(option))] == next(iter(option.values()))
    with pytest.raises(ParameterError, match=message):
        model.fit(periods["X"], periods["y"], eval_set=(periods["X_valid"], periods["y_valid"]))


def test_training_facts_are_kept_typed_from_fit_or_assignment(periods):
    X, y = periods["X"].iloc[:1500], periods["y"].iloc[:1500]
    facts = {"features": feature_specs(X), "train_persons": len(X), "lab_codes": ["hba1c"]}
    model = RiskModel(params={"num_leaves": 3, "max_depth": 2}).fit(
        X, y, eval_set=(periods["X_valid"], periods["y_valid"]), training=facts
    )
    assert isinstance(model.training_, TrainingFacts)
    assert model.training_.train_persons == 1500
    assert model.training_["lab_codes"] == ["hba1c"]  # reads as the dict it replaces
    model.training_ = {**facts, "train_persons": 7}
    assert model.training_.train_persons == 7
    with pytest.raises(ParameterError, match="training.features"):
        model.training_ = {"features": feature_specs(X.iloc[:, :3])}
    with pytest.raises(ParameterError, match=r"training: train_persons: .* \(got -1\)"):
        model.training_ = {**facts, "train_persons": -1}
    assert not hasattr(RiskModel(), "training_")


def test_numeric_features_given_as_text_are_named(fitted, periods):
    X = periods["X_valid"].astype({"ind_age": "str"})
    with pytest.raises(masrisk.ValidationError, match="ind_age: must be numeric"):
        fitted.predict_risk(X)


def test_categories_given_as_text_score_as_categoricals(fitted, periods):
    X = periods["X_valid"]
    as_text = X.astype(dict.fromkeys(X.select_dtypes("category").columns, "str"))
    np.testing.assert_array_equal(fitted.predict_risk(as_text), fitted.predict_risk(X))
    as_text.iloc[:3, as_text.columns.get_loc("ind_sex")] = "X"
    with pytest.warns(UnseenCategoryWarning, match="ind_sex: 3"):
        fitted.predict_risk(as_text)


def test_baseline_log_odds_are_its_contributions_and_intercept(fitted, periods):
    X = periods["X_valid"].iloc[:200]
    terms = fitted.baseline_.contributions(X)
    assert terms.shape == X.shape
    np.testing.assert_allclose(
        terms.sum(axis=1) + fitted.baseline_.intercept,
        fitted.baseline_.decision_function(X),
        rtol=1e-12,
    )


def test_labels_must_hold_both_classes(periods):
    with pytest.raises(ValueError, match="one class"):
        RiskModel().fit(
            periods["X"],
            np.zeros(len(periods["X"])),
            eval_set=(periods["X_valid"], periods["y_valid"]),
        )
    with pytest.raises(ValueError, match="0/1"):
        RiskModel().fit(
            periods["X"],
            np.full(len(periods["X"]), 2),
            eval_set=(periods["X_valid"], periods["y_valid"]),
        )


# --------------------------------------------------------------------------- calibrator


def test_sigmoid_calibration_recovers_a_known_miscalibration():
    rng = np.random.default_rng(0)
    score = rng.normal(-2, 1, 200_000)
    y = rng.random(len(score)) < expit(0.5 + 0.8 * score)
    calibrator = Calibrator.fit(score, y, "sigmoid")
    assert calibrator.intercept == pytest.approx(0.5, abs=0.03)
    assert calibrator.slope == pytest.approx(0.8, abs=0.02)


def test_isotonic_calibration_is_monotone_and_bounded():
    rng = np.random.default_rng(1)
    score = rng.normal(size=5000)
    y = rng.random(5000) < expit(score)
    calibrator = Calibrator.fit(score, y, "isotonic")
    risk = calibrator(np.sort(score))
    assert (np.diff(risk) >= 0).all()
    assert risk.min() > 0
    assert risk.max() < 1


@pytest.mark.parametrize("method", ["sigmoid", "isotonic", "none"])
def test_calibrator_round_trips_through_a_dict(method):
    rng = np.random.default_rng(2)
    score = rng.normal(size=500)
    calibrator = Calibrator.fit(score, rng.random(500) < expit(score), method)
    again = Calibrator.from_dict(calibrator.to_dict())
    np.testing.assert_array_equal(again(score), calibrator(score))


def test_unknown_calibration_is_refused():
    with pytest.raises(ValueError, match="calibration"):
        Calibrator.fit(np.zeros(3), np.array([0, 1, 0]), "magic")


def test_none_calibration_is_the_logistic_function():
    assert Calibrator.fit(np.zeros(2), np.array([0, 1]), "none")(np.array([logit(0.2)]))[
        0
    ] == pytest.approx(0.2)


def test_the_cheapest_complexity_to_explain_within_the_tolerance_is_kept(fitted):
    search = fitted.search_
    close = search[search["valid_auc"] >= search["valid_auc"].max() - AUC_TOLERANCE]
    cheapest = close.loc[close["shap_cost"].idxmin()]
    assert fitted.chosen_ == "lightgbm"
    assert fitted.booster_.num_trees() == cheapest["trees"]
    assert f"{int(cheapest['num_leaves'])} leaves" in fitted.choice_reason_
