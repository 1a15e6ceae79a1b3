"""Exact per-feature contributions to a model's log-odds, computed in chunks.

LightGBM's are its native TreeSHAP (``pred_contrib=True``) of the raw score, before
calibration, a monotone map: the ranking of contributions is the same for the risk. The
logistic baseline's are the terms of its linear predictor
(:meth:`~masrisk.models.LogisticBaseline.contributions`). With the base value, each row
sums to the log-odds.
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
