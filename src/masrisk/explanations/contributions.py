"""Exact per-feature contributions to a model's log-odds, computed in chunks.

For the LightGBM model they are LightGBM's native TreeSHAP (``pred_contrib=True``): exact
Shapley values of the booster's raw score (the log-odds before calibration), computed in C++
over ``n_jobs`` threads. Each row sums, with the base value, to the booster's raw score. The
calibrated risk is a monotone function of that score (Platt: ``expit(a + b * score)``), so a
feature that raises the log-odds raises the risk and the ranking of contributions is the same
on both scales.

For the logistic baseline they are the terms of the linear predictor: for a numeric feature
``coef * (x - mean) / scale`` (its Shapley value, taking the training distribution as the
reference), for a categorical feature the coefficient of the person's category (relative to a
missing value). Each row again sums, with the base value, to the log-odds.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from masrisk.exceptions import ParameterError
from masrisk.models import LogisticBaseline, RiskModel

__all__ = ["DEFAULT_CHUNK_SIZE", "iter_contributions", "linear_contributions"]

#: Rows explained at a time: bounds memory (LightGBM converts each chunk to float64).
DEFAULT_CHUNK_SIZE = 100_000


def iter_contributions(
    model: RiskModel, X: pd.DataFrame, *, chunk_size: int = DEFAULT_CHUNK_SIZE, n_jobs: int = 2
) -> Iterator[tuple[slice, np.ndarray, float]]:
    """Yield ``(rows, values, base_value)`` for successive chunks of ``X``.

    ``values`` is a float64 array (rows, features) in the order of ``model.features_``.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ParameterError(f"chunk_size must be a positive int, got {chunk_size!r}")
    for start in range(0, len(X), chunk_size):
        rows = slice(start, min(start + chunk_size, len(X)))
        chunk = X.iloc[rows]
        if model.booster_ is not None:
            out = model.booster_.predict(chunk, pred_contrib=True, num_threads=n_jobs)
            yield rows, out[:, :-1], float(out[0, -1]) if len(out) else 0.0
        else:
            values, base = linear_contributions(model.baseline_, chunk)
            yield rows, values, base


def linear_contributions(baseline: LogisticBaseline, X: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Return the terms of the baseline's linear predictor per feature, and the intercept."""
    return baseline.contributions(X), baseline.intercept
