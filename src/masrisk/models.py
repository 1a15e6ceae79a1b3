"""RiskModel: a calibrated LightGBM risk model with a logistic baseline beside it.

Fitting takes a training period and a later, out-of-time validation period:

1. the logistic baseline (median-imputed, standardised numerics; one-hot categoricals) is
   fitted on the training period;
2. LightGBM is fitted on the training period for each of a few complexities - shallow trees
   by default, which keeps exact TreeSHAP cheap - with early stopping on the validation
   period; of the complexities whose validation AUC is within :data:`AUC_TOLERANCE` of the
   best, the cheapest to explain wins (at no real cost in ranking);
3. the booster is kept only if it ranks the validation period better than the baseline
   (AUC); otherwise the baseline is the model, and the reason is recorded;
4. the chosen model's log-odds are recalibrated on the validation period - data the booster
   did not train on - by Platt scaling (``calibration="sigmoid"``, the default) or isotonic
   regression. Platt scaling is the default because it has two parameters, so it is stable
   with a few hundred events (a rural district, a cohort), it keeps the ranking without
   ties, and it is the logistic recalibration of clinical prediction models (intercept and
   slope) that transports across periods. Isotonic needs thousands of events and makes
   steps.

For the evaluation report the calibration is cross-fitted: each half of the validation
period is calibrated by a map fitted on the other half, so reported calibration is never
measured on the data it was fitted to. The final calibrator uses the whole period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = [
    "AUC_TOLERANCE",
    "COMPLEXITIES",
    "MAX_ROUNDS",
    "PATIENCE",
    "BoosterTrial",
    "Calibrator",
    "LogisticBaseline",
    "RiskModel",
    "make_baseline",
]

logger = logging.getLogger(__name__)

#: LightGBM complexities tried. Depth is bounded so that exact TreeSHAP over a whole city
#: stays cheap: its cost per row grows with trees x leaves x depth^2. The shallowest trees are
#: also tried at twice the learning rate, which needs about half the trees to explain.
COMPLEXITIES: tuple[dict[str, Any], ...] = (
    {"num_leaves": 7, "max_depth": 3, "lambda_l2": 10.0, "learning_rate": 0.2},
    {"num_leaves": 7, "max_depth": 3, "lambda_l2": 10.0},
    {"num_leaves": 15, "max_depth": 4, "lambda_l2": 10.0},
    {"num_leaves": 31, "max_depth": 6, "lambda_l2": 1.0},
)

#: A simpler complexity is preferred to a more complex one whose validation AUC is higher by
#: less than this: well inside the AUC's sampling error at any realistic size.
AUC_TOLERANCE = 0.001

_BASE_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.1,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "min_sum_hessian_in_leaf": 1e-2,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
#: Early stopping: at most this many trees, stopping after :data:`PATIENCE` rounds without a
#: better validation log loss (the trees up to the best round are kept).
MAX_ROUNDS = 2000
PATIENCE = 50
_MAX_ROUNDS, _PATIENCE = MAX_ROUNDS, PATIENCE  # the former names, read by benchmarks/explain.py


@dataclass(frozen=True)
class BoosterTrial:
    """One LightGBM complexity tried: its booster and how it did on the validation period.

    Attributes
    ----------
    complexity : dict
        The complexity's parameters (an entry of :meth:`RiskModel.complexities`).
    booster : lightgbm.Booster
        The booster trained; it may hold more trees than ``trees``.
    trees : int
        Trees kept: the round of the best validation log loss (early stopping).
    valid_logloss : float
        Validation log loss with ``trees`` trees.
    valid_score : numpy.ndarray
        Validation log-odds with ``trees`` trees, in the order of the validation labels.
    """

    complexity: dict[str, Any]
    booster: Any
    trees: int
    valid_logloss: float
    valid_score: np.ndarray


@dataclass(frozen=True)
class Calibrator:
    """Monotone map from a model's log-odds to a calibrated probability.

    ``method="sigmoid"``: ``expit(intercept + slope * score)``. ``method="isotonic"``: linear
    interpolation through ``(x, y)`` knots. ``method="none"``: ``expit(score)``.
    """

    method: str
    intercept: float = 0.0
    slope: float = 1.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    @classmethod
    def fit(cls, score: np.ndarray, y: np.ndarray, method: str) -> Calibrator:
        """Fit the map on scores and outcomes of data the model did not train on."""
        score = np.asarray(score, dtype="float64")
        if method == "none":
            return cls("none")
        if method == "sigmoid":
            lr = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)  # unpenalised
            lr.fit(score.reshape(-1, 1), y)
            return cls("sigmoid", float(lr.intercept_[0]), float(lr.coef_[0, 0]))
        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6).fit(score, y)
            return cls(
                "isotonic",
                x=tuple(map(float, iso.X_thresholds_)),
                y=tuple(map(float, iso.y_thresholds_)),
            )
        raise ValueError(f"calibration must be 'sigmoid', 'isotonic' or 'none', got {method!r}")

    def __call__(self, score: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities for log-odds ``score``."""
        score = np.asarray(score, dtype="float64")
        if self.method == "isotonic":
            return np.interp(score, self.x, self.y)
        return 1.0 / (1.0 + np.exp(-(self.intercept + self.slope * score)))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description."""
        return {
            "method": self.method,
            "intercept": self.intercept,
            "slope": self.slope,
            "x": list(self.x),
            "y": list(self.y),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Rebuild from :meth:`to_dict`."""
        return cls(
            data["method"],
            float(data["intercept"]),
            float(data["slope"]),
            tuple(data.get("x", ())),
            tuple(data.get("y", ())),
        )


@dataclass(frozen=True)
class LogisticBaseline:
    """The fitted logistic baseline as plain numbers: what a bundle stores, and predicts with.

    Numeric features are imputed by their training median and standardised; each categorical
    feature adds the coefficient of its category (none for a category unseen in training).
    """

    numeric: tuple[str, ...]
    medians: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    numeric_coef: tuple[float, ...]
    categorical: dict[str, tuple[str, ...]]
    categorical_coef: dict[str, tuple[float, ...]]
    intercept: float

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> LogisticBaseline:
        """Read the numbers out of a pipeline made by :func:`make_baseline` and fitted."""
        encode = pipeline.named_steps["encode"]
        coef = pipeline.named_steps["model"].coef_[0]
        numeric_steps = encode.named_transformers_["numeric"]
        numeric = tuple(encode.transformers_[0][2])
        categorical_columns = list(encode.transformers_[1][2])
        start = len(numeric)
        categorical, categorical_coef = {}, {}
        if categorical_columns:
            onehot = encode.named_transformers_["categorical"]
            for column, categories in zip(categorical_columns, onehot.categories_, strict=True):
                categorical[column] = tuple(str(c) for c in categories)
                categorical_coef[column] = tuple(map(float, coef[start : start + len(categories)]))
                start += len(categories)
        return cls(
            numeric=numeric,
            medians=tuple(map(float, numeric_steps.named_steps["impute"].statistics_)),
            means=tuple(map(float, numeric_steps.named_steps["scale"].mean_)),
            scales=tuple(map(float, numeric_steps.named_steps["scale"].scale_)),
            numeric_coef=tuple(map(float, coef[: len(numeric)])),
            categorical=categorical,
            categorical_coef=categorical_coef,
            intercept=float(pipeline.named_steps["model"].intercept_[0]),
        )

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Return the log-odds of each row."""
        values = X[list(self.numeric)].to_numpy(dtype="float64")
        values = np.where(np.isnan(values), np.asarray(self.medians), values)
        score = ((values - np.asarray(self.means)) / np.asarray(self.scales)) @ np.asarray(
            self.numeric_coef
        )
        for column, categories in self.categorical.items():
            codes = pd.Categorical(
                X[column].astype("str").where(X[column].notna()), categories=categories
            ).codes
            score = score + np.append(np.asarray(self.categorical_coef[column]), 0.0)[codes]
        return score + self.intercept

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description."""
        return {
            "numeric": list(self.numeric),
            "medians": list(self.medians),
            "means": list(self.means),
            "scales": list(self.scales),
            "numeric_coef": list(self.numeric_coef),
            # a list, not a mapping: the order of the sum must survive sorted JSON keys
            "categorical": [
                {"column": k, "categories": list(v), "coef": list(self.categorical_coef[k])}
                for k, v in self.categorical.items()
            ],
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogisticBaseline:
        """Rebuild from :meth:`to_dict`."""
        return cls(
            numeric=tuple(data["numeric"]),
            medians=tuple(data["medians"]),
            means=tuple(data["means"]),
            scales=tuple(data["scales"]),
            numeric_coef=tuple(data["numeric_coef"]),
            categorical={c["column"]: tuple(c["categories"]) for c in data["categorical"]},
            categorical_coef={c["column"]: tuple(c["coef"]) for c in data["categorical"]},
            intercept=float(data["intercept"]),
        )


def make_baseline(X: pd.DataFrame, *, random_state: int = 0) -> Pipeline:
    """Return the logistic baseline: imputed, standardised numerics and one-hot categoricals."""
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    encode = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
        ]
    )
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=random_state)
    return Pipeline([("encode", encode), ("model", model)])


class RiskModel(BaseEstimator):
    """Calibrated risk of one outcome: LightGBM, with a logistic baseline beside it.

    Parameters
    ----------
    outcome : str
        Name of the outcome the model predicts (as in the configuration).
    params : dict, optional
        LightGBM parameters. By default the complexity is chosen among
        :data:`COMPLEXITIES` on the validation period; given ``params`` are used as they are
        (over masrisk's defaults) and no search is made.
    calibration : {"sigmoid", "isotonic", "none"}
        How the chosen model's log-odds are recalibrated on the validation period.
    random_state : int
        Seed of LightGBM's bagging and of the validation halves.
    n_jobs : int
        Threads LightGBM uses.

    Attributes
    ----------
    booster_ : lightgbm.Booster or None
        The booster, ``None`` when the baseline was chosen.
    baseline_ : LogisticBaseline
        The logistic baseline, as plain numbers.
    chosen_ : {"lightgbm", "logistic_baseline"}
    choice_reason_ : str
    calibrator_ : Calibrator
    features_ : list of str
    validation_risk_ : dict of str to numpy.ndarray
        Cross-fitted calibrated risks of the validation period for each model, in its order.
    search_ : pandas.DataFrame
        The complexities tried: trees kept by early stopping, relative TreeSHAP cost per row
        (``shap_cost``), validation log loss and AUC.
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

    # ------------------------------------------------------------------ fitting

    def fit(self, X: pd.DataFrame, y: Any, *, eval_set: tuple[pd.DataFrame, Any]) -> RiskModel:
        """Fit on a training period, choose and calibrate on a later validation period.

        Parameters
        ----------
        X, y : training features (``build_features`` at the training cut-off) and labels.
        eval_set : (X_valid, y_valid)
            The same at the later validation cut-off: early stopping, the choice and the
            calibration are made on it.

        Returns
        -------
        RiskModel
            ``self``, fitted.
        """
        import lightgbm as lgb

        X_valid, y_valid = eval_set
        y, y_valid = _binary(y, "y"), _binary(y_valid, "y_valid")
        if list(X_valid.columns) != list(X.columns):
            raise ValueError("X_valid must have the columns of X, in the same order")
        self.features_ = list(X.columns)
        pipeline = make_baseline(X, random_state=self.random_state).fit(X, y)
        self.baseline_ = LogisticBaseline.from_pipeline(pipeline)
        baseline_score = self.baseline_.decision_function(X_valid)

        train = lgb.Dataset(X, y, free_raw_data=False)
        valid = lgb.Dataset(X_valid, y_valid, reference=train)
        trials = []
        for complexity in self.complexities():
            booster = lgb.train(
                self.booster_params(complexity, rows=len(X)),
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
        return self.select(trials, baseline_score=baseline_score, y_valid=y_valid)

    def complexities(self) -> list[dict[str, Any]]:
        """Return the LightGBM complexities to try: ``params``, or else :data:`COMPLEXITIES`."""
        return [dict(self.params)] if self.params else [dict(c) for c in COMPLEXITIES]

    def booster_params(self, complexity: dict[str, Any], *, rows: int) -> dict[str, Any]:
        """Return LightGBM's parameters for one complexity and ``rows`` training rows."""
        return {
            **_BASE_PARAMS,
            "min_data_in_leaf": max(20, rows // 2000),
            **complexity,
            "seed": self.random_state,
            "num_threads": self.n_jobs,
        }

    def select(
        self, trials: list[BoosterTrial], *, baseline_score: np.ndarray, y_valid: Any
    ) -> RiskModel:
        """Choose among the boosters tried, against the baseline, and calibrate the choice.

        :meth:`fit` calls it; an engine that trains the boosters elsewhere (the Dask engine,
        :mod:`masrisk.scale.dask_training`) sets ``features_`` and ``baseline_`` and calls
        it with its own trials.

        Parameters
        ----------
        trials : list of BoosterTrial
            One per complexity of :meth:`complexities`, in that order.
        baseline_score : numpy.ndarray
            The baseline's log-odds on the validation period.
        y_valid : array-like of 0/1
            The validation labels, in the order of the scores.

        Returns
        -------
        RiskModel
            ``self``, fitted.
        """
        import lightgbm as lgb

        y_valid = _binary(y_valid, "y_valid")
        baseline_auc = roc_auc_score(y_valid, baseline_score)
        rows = []
        for trial in trials:
            params = {**_BASE_PARAMS, **trial.complexity}
            rows.append(
                {
                    **trial.complexity,
                    "trees": trial.trees,
                    "shap_cost": _shap_cost(trial.trees, params),
                    "valid_logloss": trial.valid_logloss,
                    "valid_auc": roc_auc_score(y_valid, trial.valid_score),
                }
            )
        self.search_ = pd.DataFrame(rows)
        top_auc = max(row["valid_auc"] for row in rows)
        close = [k for k, row in enumerate(rows) if row["valid_auc"] >= top_auc - AUC_TOLERANCE]
        chosen = min(close, key=lambda k: rows[k]["shap_cost"])  # the cheapest to explain
        best, trial = rows[chosen], trials[chosen]
        if best["valid_auc"] > baseline_auc:
            self.chosen_ = "lightgbm"
            booster_string = trial.booster.model_to_string(num_iteration=trial.trees)
            self.booster_ = lgb.Booster(model_str=booster_string)
            rate = best.get("learning_rate", _BASE_PARAMS["learning_rate"])
            self.choice_reason_ = (
                f"LightGBM ({best['trees']} trees, {best.get('num_leaves', '?')} leaves, depth "
                f"{best.get('max_depth', '?')}, learning rate {rate}; the cheapest to explain of "
                f"{len(trials)} complexities within {AUC_TOLERANCE} of the best validation AUC, "
                f"{top_auc:.4f}) ranks the validation period better than the logistic baseline: "
                f"AUC {best['valid_auc']:.4f} vs {baseline_auc:.4f}"
            )
            chosen_score = trial.valid_score
        else:
            self.chosen_ = "logistic_baseline"
            self.booster_ = None
            self.choice_reason_ = (
                f"the logistic baseline validates at least as well as the best LightGBM "
                f"(AUC {baseline_auc:.4f} vs {best['valid_auc']:.4f}), so it is the model"
            )
            chosen_score = baseline_score
        logger.info("%s: %s", self.outcome, self.choice_reason_)
        self.calibrator_ = Calibrator.fit(chosen_score, y_valid, self.calibration)
        self.validation_risk_ = {
            "lightgbm": self._cross_fitted(trial.valid_score, y_valid),
            "logistic_baseline": self._cross_fitted(baseline_score, y_valid),
        }
        return self

    def _cross_fitted(self, score: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Calibrate each half of the validation period with a map fitted on the other half."""
        half = np.random.default_rng(self.random_state).permutation(len(score)) % 2 == 0
        risk = np.empty(len(score))
        for part in (half, ~half):
            if y[~part].min() == y[~part].max():  # one class only in the other half
                risk[part] = Calibrator.fit(score, y, self.calibration)(score[part])
            else:
                risk[part] = Calibrator.fit(score[~part], y[~part], self.calibration)(score[part])
        return risk

    # ------------------------------------------------------------------ predicting

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Return the chosen model's log-odds before calibration (what SHAP explains)."""
        if not hasattr(self, "calibrator_"):
            raise NotFittedError("this RiskModel is not fitted yet: call fit() first")
        X = self.select_features(X)
        if self.booster_ is not None:
            return self.booster_.predict(X, raw_score=True, num_threads=self.n_jobs)
        return self.baseline_.decision_function(X)

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Return the calibrated probability of the outcome for each row."""
        score = self.decision_function(X)
        return self.calibrator_(score)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Return ``[1 - risk, risk]`` per row, as scikit-learn classifiers do."""
        risk = self.predict_risk(X)
        return np.column_stack([1 - risk, risk])

    def select_features(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return the model's feature columns of ``X``, in training order.

        Raises
        ------
        masrisk.ValidationError
            Naming every feature of the model that ``X`` lacks.
        """
        if not hasattr(self, "features_"):
            raise NotFittedError("this RiskModel is not fitted yet: call fit() first")
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            from masrisk.exceptions import Problem, ValidationError

            problem = Problem(
                "features",
                None,
                "features of the model are missing from the data",
                examples=tuple(missing[:5]),
                detail=f"{len(missing)} of {len(self.features_)}: {', '.join(missing)}",
            )
            raise ValidationError([problem])
        return X[self.features_]


def _shap_cost(trees: int, params: dict[str, Any]) -> float:
    """Relative cost per row of exact TreeSHAP: trees x leaves x depth squared (an upper bound)."""
    leaves = params.get("num_leaves", 31)
    depth = params.get("max_depth", -1)
    if depth is None or depth <= 0:
        depth = leaves - 1  # unbounded: a chain is the worst case
    return float(trees * leaves * min(depth, leaves - 1) ** 2)


def _binary(y: Any, name: str) -> np.ndarray:
    values = np.asarray(y)
    if values.ndim != 1 or not np.isin(values, (0, 1)).all():
        raise ValueError(f"{name} must be a 1-D array of 0/1 labels")
    if values.min() == values.max():
        raise ValueError(f"{name} holds only one class; both outcomes must occur")
    return values.astype("int8")
