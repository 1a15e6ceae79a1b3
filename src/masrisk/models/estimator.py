"""RiskModel: a calibrated LightGBM risk model with a logistic baseline beside it.

:meth:`RiskModel.fit` fits the baseline and one booster per complexity (shallow trees, which
keep exact TreeSHAP cheap) on the training period with early stopping on the later
validation period, keeps the cheapest good booster if it beats the baseline
(:func:`~masrisk.models.selection.choose`), and recalibrates the choice on the validation
period (:mod:`masrisk.models.calibration`). :class:`masrisk.scale.dask_model.DaskRiskModel`
overrides the protected hooks only, as ``lightgbm.dask`` subclasses LightGBM's estimator.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pydantic
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags
from sklearn.utils.validation import check_is_fitted

from masrisk.exceptions import ParameterError
from masrisk.models.baseline import LogisticBaseline, make_baseline
from masrisk.models.calibration import Calibrator, check_calibration, cross_fitted
from masrisk.models.facts import FeatureSpec, TrainingFacts, check_bounded, describe_problems
from masrisk.models.features import binary_labels, check_features, frame_specs, input_error
from masrisk.models.selection import (
    BASE_PARAMS,
    COMPLEXITIES,
    MAX_ROUNDS,
    PATIENCE,
    BoosterTrial,
    choose,
)

__all__ = ["RiskModel"]

logger = logging.getLogger(__name__)


class RiskModel(BaseEstimator):
    """Calibrated risk of one outcome: LightGBM, with a logistic baseline beside it.

    Parameters
    ----------
    outcome : str
        Name of the outcome the model predicts (as in the configuration).
    params : dict, optional
        LightGBM parameters, used as they are (over masrisk's defaults); by default the
        complexity is chosen among :data:`~masrisk.models.COMPLEXITIES`.
    calibration : {"sigmoid", "isotonic", "none"}
        How the chosen model's log-odds are recalibrated on the validation period.
    random_state : int
        Seed of LightGBM's bagging and of the validation halves.
    n_jobs : int
        Threads LightGBM uses, in [1, 64].

    Attributes
    ----------
    feature_names_in_, n_features_in_
        The training features, in order, and their number.
    feature_specs_ : list of FeatureSpec
        Each feature's dtype and, for a categorical, its training categories.
    booster_ : lightgbm.Booster or None
        ``None`` when the baseline was chosen.
    baseline_ : LogisticBaseline
    chosen_ : {"lightgbm", "logistic_baseline"}
    choice_reason_ : str
    calibrator_ : Calibrator
    validation_risk_ : dict of str to numpy.ndarray
        Each model's cross-fitted calibrated risks of the validation period.
    search_ : pandas.DataFrame
        The complexities tried: trees kept, relative TreeSHAP cost per row (``shap_cost``),
        validation log loss and AUC.
    training_ : TrainingFacts
        What a bundle records of the training (:meth:`fit`'s ``training``).
    """

    def __init__(
        self,
        outcome: str = "hospitalization_12m",
        *,
        params: dict[str, Any] | None = None,
        calibration: str = "sigmoid",
        random_state: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.outcome = outcome
        self.params = params
        self.calibration = calibration
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=False, poor_score=True)
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True  # LightGBM and the baseline's imputation take NaN
        tags.input_tags.categorical = True
        return tags

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        *,
        eval_set: tuple[pd.DataFrame, Any] | None = None,
        training: TrainingFacts | Mapping[str, Any] | None = None,
    ) -> RiskModel:
        """Fit on a training period, choose and calibrate on a later validation period.

        Parameters
        ----------
        X : pandas.DataFrame
            Training features (:func:`masrisk.build_features` at the training cut-off).
        y : array-like of 0/1
            Training labels, in the order of ``X``.
        eval_set : (X_valid, y_valid)
            The same at the later validation cut-off, columns in the same order: early
            stopping, the choice and the calibration are made on it. Required: a model is
            validated out of time, never on a random split of its training period.
        training : TrainingFacts or dict, optional
            The facts a bundle records (:func:`masrisk.training.training_facts`).

        Returns
        -------
        RiskModel
            ``self``, fitted.

        Raises
        ------
        masrisk.exceptions.ParameterError
            For an option out of bounds, or no ``eval_set``.
        masrisk.ValidationError
            For features or labels that cannot be fitted.
        """
        self._check_params()
        if eval_set is None:
            raise ParameterError(
                "eval_set is required: RiskModel stops early, chooses and calibrates on a later, "
                "out-of-time period; pass eval_set=(X_valid, y_valid)"
            )
        if y is None:
            raise ParameterError("RiskModel requires y to be passed, but the target y is None")
        X_valid, y_valid = eval_set
        self.__dict__.pop("_training", None)  # a refit forgets the facts of the last one
        specs = frame_specs(X, "X")
        if [s.name for s in frame_specs(X_valid, "X_valid")] != [s.name for s in specs]:
            raise input_error("X_valid", "must have the columns of X, in the same order")
        self._set_features(specs)
        self._fit_baseline(X, y)
        baseline_score, labels = self._validation_scores(X_valid, y_valid)
        labels = binary_labels(labels, "y_valid")
        self._select(self._train_trials(X, y, X_valid, y_valid), baseline_score, labels)
        if training is not None:
            self.training_ = training
        return self

    def _set_features(self, specs: list[FeatureSpec]) -> None:
        self.feature_specs_ = specs
        self.feature_names_in_ = np.asarray([s.name for s in specs], dtype=object)
        self.n_features_in_ = len(specs)

    def _check_params(self) -> None:
        check_bounded("n_jobs", self.n_jobs)
        check_bounded("random_state", self.random_state)
        check_calibration(self.calibration)
        if self.params is not None and not isinstance(self.params, Mapping):
            raise ParameterError(f"params must be a dict or None, got {self.params!r}")
        for name in ("num_leaves", "max_depth", "learning_rate", "lambda_l2"):
            if self.params and name in self.params:
                check_bounded(name, self.params[name])

    def _fit_baseline(self, X: pd.DataFrame, y: Any) -> None:
        """Fit the logistic baseline on the training period; sets ``baseline_``."""
        pipeline = make_baseline(X, random_state=self.random_state).fit(X, binary_labels(y, "y"))
        self.baseline_ = LogisticBaseline.from_pipeline(pipeline)

    def _validation_scores(self, X_valid: pd.DataFrame, y_valid: Any) -> tuple[np.ndarray, Any]:
        """Return the baseline's validation log-odds and the validation labels (array-like)."""
        return self.baseline_.decision_function(X_valid), y_valid

    def _train_trials(
        self, X: pd.DataFrame, y: Any, X_valid: pd.DataFrame, y_valid: Any
    ) -> list[BoosterTrial]:
        """Train one booster per complexity, with early stopping on the validation period."""
        import lightgbm as lgb

        train = lgb.Dataset(X, binary_labels(y, "y"), free_raw_data=False)
        valid = lgb.Dataset(X_valid, binary_labels(y_valid, "y_valid"), reference=train)
        trials = []
        for complexity in self._complexities():
            booster = lgb.train(
                self._booster_params(complexity, rows=len(X)),
                train,
                MAX_ROUNDS,
                valid_sets=[valid],
                callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
            )
            best = booster.best_iteration or booster.current_iteration()
            trials.append(
                BoosterTrial(
                    complexity=complexity,
                    booster=booster,
                    trees=best,
                    valid_logloss=booster.best_score["valid_0"]["binary_logloss"],
                    valid_score=booster.predict(X_valid, raw_score=True, num_iteration=best),
                )
            )
        return trials

    def _complexities(self) -> list[dict[str, Any]]:
        """Return the LightGBM complexities to try: ``params``, or else the default ones."""
        return [dict(self.params)] if self.params else [dict(c) for c in COMPLEXITIES]

    def _booster_params(self, complexity: dict[str, Any], *, rows: int) -> dict[str, Any]:
        """Return LightGBM's parameters for one complexity and ``rows`` training rows."""
        return {
            **BASE_PARAMS,
            "min_data_in_leaf": max(20, rows // 2000),
            **complexity,
            "seed": self.random_state,
            "num_threads": self.n_jobs,
        }

    def _select(
        self, trials: list[BoosterTrial], baseline_score: np.ndarray, y_valid: np.ndarray
    ) -> None:
        """Choose among the trials and the baseline, calibrate the choice, cross-fit both."""
        choice = choose(trials, baseline_score, y_valid)
        self.search_, self.chosen_, self.booster_ = choice.search, choice.chosen, choice.booster
        self.choice_reason_ = choice.reason
        logger.info("%s: %s", self.outcome, self.choice_reason_)
        self.calibrator_ = Calibrator.fit(choice.score, y_valid, self.calibration)
        self.validation_risk_ = {
            name: cross_fitted(score, y_valid, self.calibration, random_state=self.random_state)
            for name, score in (
                ("lightgbm", choice.best_trial.valid_score),
                ("logistic_baseline", baseline_score),
            )
        }

    @classmethod
    def restore(
        cls,
        *,
        features: Sequence[FeatureSpec],
        booster: Any,
        baseline: LogisticBaseline,
        calibrator: Calibrator,
        chosen: str,
        choice_reason: str,
        search: pd.DataFrame,
        **options: Any,
    ) -> RiskModel:
        """Rebuild a fitted model from its parts, as a bundle stores them.

        ``options`` are those of the constructor.
        """
        model = cls(**options)
        model._set_features([FeatureSpec.model_validate(f) for f in features])
        model.booster_, model.baseline_, model.calibrator_ = booster, baseline, calibrator
        model.chosen_, model.choice_reason_, model.search_ = chosen, choice_reason, search
        return model

    @property
    def training_(self) -> TrainingFacts:
        """The facts of the training a bundle records (given to :meth:`fit` as ``training``).

        Assigning a :class:`TrainingFacts` or the same dict also sets them, checked.
        """
        try:
            return self._training
        except AttributeError:
            raise AttributeError("training_: fit() was given no training facts") from None

    @training_.setter
    def training_(self, facts: TrainingFacts | Mapping[str, Any]) -> None:
        try:
            facts = TrainingFacts.model_validate(facts)
        except pydantic.ValidationError as exc:
            raise ParameterError(f"training: {describe_problems(exc)}") from None
        if hasattr(self, "feature_names_in_") and facts.feature_names != self.features_:
            raise ParameterError("training.features must be the features of X, in order")
        self._training = facts

    @property
    def features_(self) -> list[str]:
        """The training features' names, in order (``feature_names_in_`` as a list)."""
        check_is_fitted(self, "feature_names_in_")
        return list(self.feature_names_in_)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Return the chosen model's log-odds before calibration (what SHAP explains)."""
        X = self._validate_features(X)
        if self.booster_ is not None:
            return self.booster_.predict(X, raw_score=True, num_threads=self.n_jobs)
        return self.baseline_.decision_function(X)

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Return the calibrated probability of the outcome for each row."""
        score = self.decision_function(X)  # checks that the model is fitted first
        return self.calibrator_(score)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Return ``[1 - risk, risk]`` per row, as scikit-learn classifiers do."""
        risk = self.predict_risk(X)
        return np.column_stack([1 - risk, risk])

    def select_features(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return the model's features of ``X``, checked, in training order.

        See :func:`masrisk.models.features.check_features`: text read as the training
        categories, unseen categories scored as missing with an :class:`UnseenCategoryWarning`.

        Raises
        ------
        masrisk.ValidationError
            Naming every missing feature, and every numeric feature held as text.
        """
        return self._validate_features(X)

    def _validate_features(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, ("feature_names_in_", "calibrator_"))
        return check_features(X, self.feature_specs_)
