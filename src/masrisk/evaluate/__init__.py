"""Evaluate risk models honestly: discrimination, calibration, usefulness, subgroups.

Pure functions take the observed outcome ``y_true`` (0/1) and the predicted ``risk``;
:class:`EvaluationReport` puts candidate models side by side, states which one was chosen
and why, and breaks the measures down by subgroup.

- :func:`auc_with_ci`: ROC AUC with its DeLong interval.
- :func:`calibration_intercept_slope`, :func:`calibration_curve`: calibration.
- :func:`brier`, :func:`scaled_brier`: overall accuracy of the risks.
- :func:`net_benefit`: the decision curve; :func:`capture_at_top`: events among the top.
- :func:`metrics`: all headline measures; :func:`subgroup_metrics`: the same by subgroup.
"""

from __future__ import annotations

from masrisk.evaluate.calibration import (
    brier,
    calibration_curve,
    calibration_intercept_slope,
    scaled_brier,
)
from masrisk.evaluate.decision import DEFAULT_THRESHOLDS, net_benefit
from masrisk.evaluate.discrimination import CAPTURE_FRACTIONS, auc_with_ci, capture_at_top
from masrisk.evaluate.report import EvaluationReport
from masrisk.evaluate.summary import ESTIMABLE_WITH_EVENTS, METRIC_KEYS, metrics, subgroup_metrics

__all__ = [
    "CAPTURE_FRACTIONS",
    "DEFAULT_THRESHOLDS",
    "ESTIMABLE_WITH_EVENTS",
    "METRIC_KEYS",
    "EvaluationReport",
    "auc_with_ci",
    "brier",
    "calibration_curve",
    "calibration_intercept_slope",
    "capture_at_top",
    "metrics",
    "net_benefit",
    "scaled_brier",
    "subgroup_metrics",
]
