"""Clinical usefulness: the decision curve (net benefit at each risk threshold)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from masrisk.evaluate._checks import as_arrays
from masrisk.exceptions import ParameterError

__all__ = ["DEFAULT_THRESHOLDS", "net_benefit"]

#: Risk thresholds of the decision curve: 0.01, 0.02, ..., 0.50 (read-only).
DEFAULT_THRESHOLDS = np.round(np.linspace(0.01, 0.50, 50), 2)
DEFAULT_THRESHOLDS.flags.writeable = False


def net_benefit(
    y_true: ArrayLike, risk: ArrayLike, *, thresholds: ArrayLike = DEFAULT_THRESHOLDS
) -> pd.DataFrame:
    """Return the decision curve: net benefit of acting on the model at each risk threshold.

    A person is treated when ``risk >= threshold``. At threshold ``t`` (Vickers & Elkin 2006)
    ``NB = TP/n - FP/n · t/(1 - t)``; treating everyone gives
    ``prevalence - (1 - prevalence) · t/(1 - t)`` and treating no one gives 0.

    Parameters
    ----------
    y_true, risk : array-like
        Observed outcome (0/1) and predicted risk, one of each per person.
    thresholds : array-like of float, default 0.01, 0.02, ..., 0.50
        Risk thresholds, each in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``threshold``, ``model``, ``treat_all``, ``treat_none``; one row per threshold.

    Examples
    --------
    >>> net_benefit([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3], thresholds=[0.5])
       threshold  model  treat_all  treat_none
    0        0.5    0.5        0.0         0.0
    """
    y, p = as_arrays(y_true, risk)
    t = np.asarray(thresholds, dtype=float).ravel()
    if not np.all((t > 0.0) & (t < 1.0)):
        raise ParameterError("thresholds", "strictly between 0 and 1", thresholds)
    n = y.size
    positive, negative = np.sort(p[y == 1]), np.sort(p[y == 0])
    true_positive = positive.size - np.searchsorted(positive, t, side="left")
    false_positive = negative.size - np.searchsorted(negative, t, side="left")
    odds = t / (1.0 - t)
    prevalence = positive.size / n
    return pd.DataFrame(
        {
            "threshold": t,
            "model": true_positive / n - false_positive / n * odds,
            "treat_all": prevalence - (1.0 - prevalence) * odds,
            "treat_none": np.zeros_like(t),
        }
    )
