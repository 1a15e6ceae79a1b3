"""The LightGBM complexities tried, and the choice among them and against the baseline.

Of the complexities whose validation AUC is within :data:`AUC_TOLERANCE` of the best, the
cheapest to explain wins (at no real cost in ranking); the booster is kept only if it ranks
the validation period better than the logistic baseline, otherwise the baseline is the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

__all__ = [
    "AUC_TOLERANCE",
    "BASE_PARAMS",
    "COMPLEXITIES",
    "MAX_ROUNDS",
    "PATIENCE",
    "BoosterTrial",
    "Choice",
    "choose",
]

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

#: masrisk's LightGBM defaults, under every complexity.
BASE_PARAMS: dict[str, Any] = {
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


@dataclass(frozen=True)
class BoosterTrial:
    """One LightGBM complexity tried: its booster and how it did on the validation period.

    The ``booster`` may hold more trees than ``trees``, the round of the best validation log
    loss (early stopping); ``valid_logloss`` and ``valid_score`` (log-odds, in the order of
    the validation labels) are those with ``trees`` trees.
    """

    complexity: dict[str, Any]
    booster: Any
    trees: int
    valid_logloss: float
    valid_score: np.ndarray


@dataclass(frozen=True)
class Choice:
    """The outcome of :func:`choose`: the search table, the model kept and why."""

    search: pd.DataFrame
    chosen: str
    reason: str
    booster: Any
    score: np.ndarray
    best_trial: BoosterTrial


def choose(trials: list[BoosterTrial], baseline_score: np.ndarray, y_valid: np.ndarray) -> Choice:
    """Choose among the boosters tried, and between the best of them and the baseline."""
    import lightgbm as lgb

    baseline_auc = roc_auc_score(y_valid, baseline_score)
    rows = [
        {
            **trial.complexity,
            "trees": trial.trees,
            "shap_cost": shap_cost(trial.trees, {**BASE_PARAMS, **trial.complexity}),
            "valid_logloss": trial.valid_logloss,
            "valid_auc": roc_auc_score(y_valid, trial.valid_score),
        }
        for trial in trials
    ]
    top_auc = max(row["valid_auc"] for row in rows)
    close = [k for k, row in enumerate(rows) if row["valid_auc"] >= top_auc - AUC_TOLERANCE]
    chosen = min(close, key=lambda k: rows[k]["shap_cost"])  # the cheapest to explain
    best, trial = rows[chosen], trials[chosen]
    if best["valid_auc"] <= baseline_auc:
        reason = (
            f"the logistic baseline validates at least as well as the best LightGBM "
            f"(AUC {baseline_auc:.4f} vs {best['valid_auc']:.4f}), so it is the model"
        )
        return Choice(pd.DataFrame(rows), "logistic_baseline", reason, None, baseline_score, trial)
    rate = best.get("learning_rate", BASE_PARAMS["learning_rate"])
    reason = (
        f"LightGBM ({best['trees']} trees, {best.get('num_leaves', '?')} leaves, depth "
        f"{best.get('max_depth', '?')}, learning rate {rate}; the cheapest to explain of "
        f"{len(trials)} complexities within {AUC_TOLERANCE} of the best validation AUC, "
        f"{top_auc:.4f}) ranks the validation period better than the logistic baseline: "
        f"AUC {best['valid_auc']:.4f} vs {baseline_auc:.4f}"
    )
    booster = lgb.Booster(model_str=trial.booster.model_to_string(num_iteration=trial.trees))
    return Choice(pd.DataFrame(rows), "lightgbm", reason, booster, trial.valid_score, trial)


def shap_cost(trees: int, params: dict[str, Any]) -> float:
    """Relative cost per row of exact TreeSHAP: trees x leaves x depth squared (an upper bound)."""
    leaves = params.get("num_leaves", 31)
    depth = params.get("max_depth", -1)
    if depth is None or depth <= 0:
        depth = leaves - 1  # unbounded: a chain is the worst case
    return float(trees * leaves * min(depth, leaves - 1) ** 2)
