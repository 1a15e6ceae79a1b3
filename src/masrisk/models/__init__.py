"""RiskModel: a calibrated LightGBM risk model with a logistic baseline beside it.

:mod:`~masrisk.models.estimator` (:class:`RiskModel`), :mod:`~masrisk.models.baseline`
(the logistic baseline as plain numbers), :mod:`~masrisk.models.selection` (the complexities
and the choice), :mod:`~masrisk.models.calibration`, :mod:`~masrisk.models.facts` (what a
model records of itself) and :mod:`~masrisk.models.features` (the check of its input).
"""

from __future__ import annotations

from masrisk.models.baseline import LogisticBaseline, make_baseline
from masrisk.models.calibration import Calibrator
from masrisk.models.estimator import RiskModel
from masrisk.models.facts import BundleMetadata, FeatureSpec, TrainingFacts, feature_specs
from masrisk.models.features import MissingFeatureWarning, UnseenCategoryWarning
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
    "MissingFeatureWarning",
    "UnseenCategoryWarning",
    "feature_specs",
    "make_baseline",
]
