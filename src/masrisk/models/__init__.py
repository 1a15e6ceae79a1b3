"""RiskModel: a calibrated LightGBM risk model with a logistic baseline beside it.

- :mod:`~masrisk.models.estimator`: :class:`RiskModel`, fitted as scikit-learn and LightGBM
  estimators are (``fit(X, y, eval_set=(X_valid, y_valid))``);
- :mod:`~masrisk.models.baseline`: the logistic baseline, as plain numbers;
- :mod:`~masrisk.models.selection`: the complexities tried and the choice among them;
- :mod:`~masrisk.models.calibration`: Platt or isotonic recalibration, cross-fitted;
- :mod:`~masrisk.models.facts`: what a model records of itself (features, training facts,
  bundle metadata), typed;
- :mod:`~masrisk.models.features`: the one check of a model's input.
"""

from __future__ import annotations

from masrisk.models.baseline import LogisticBaseline, make_baseline
from masrisk.models.calibration import Calibrator
from masrisk.models.estimator import RiskModel
from masrisk.models.facts import BundleMetadata, FeatureSpec, TrainingFacts, feature_specs
from masrisk.models.features import UnseenCategoryWarning
from masrisk.models.selection import (
    AUC_TOLERANCE,
    BASE_PARAMS,
    COMPLEXITIES,
    MAX_ROUNDS,
    PATIENCE,
    BoosterTrial,
)

# the former private names, read by benchmarks/explain.py
_BASE_PARAMS, _MAX_ROUNDS, _PATIENCE = BASE_PARAMS, MAX_ROUNDS, PATIENCE

__all__ = [
    "AUC_TOLERANCE",
    "COMPLEXITIES",
    "MAX_ROUNDS",
    "PATIENCE",
    "BoosterTrial",
    "BundleMetadata",
    "Calibrator",
    "FeatureSpec",
    "LogisticBaseline",
    "RiskModel",
    "TrainingFacts",
    "UnseenCategoryWarning",
    "feature_specs",
    "make_baseline",
]
