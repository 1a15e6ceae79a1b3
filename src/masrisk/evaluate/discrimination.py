"""Discrimination: how well the risks rank persons with the event above those without."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri

from masrisk.evaluate._checks import NAN, as_arrays
from masrisk.exceptions import ParameterError

__all__ = ["CAPTURE_FRACTIONS", "auc_with_ci", "capture_at_top"]

#: Default fractions of :func:`capture_at_top`: the top 1%, 5% and 10% by risk.
CAPTURE_FRACTIONS = (0.01, 0.05, 0.10)


def auc_with_ci(
    y_true: ArrayLike, risk: ArrayLike, *, level: float = 0.95
) -> tuple[float, float, float]:
    """Return the ROC AUC and its DeLong confidence interval.

    The AUC and its variance come from the fast DeLong algorithm (Sun & Xu 2014), which
    needs only midranks, so it runs in O(n log n) and handles tied risks (a tie counts 1/2).
    The interval is ``auc ± z · se``, clipped to [0, 1].

    Parameters
    ----------
    y_true, risk : array-like
        Observed outcome (0/1) and predicted risk, one of each per person.
    level : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    auc, low, high : float
        All ``NaN`` when a class is absent; ``low`` and ``high`` are ``NaN`` when a class has
        a single member (its variance is not estimable).

    Examples
    --------
    >>> auc_with_ci([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])[0]
    0.75
    """
    y, p = as_arrays(y_true, risk)
    if not 0.0 < level < 1.0:
        raise ParameterError("level", "in (0, 1)", level)
    positive, negative = p[y == 1], p[y == 0]
    m, n = positive.size, negative.size
    if m == 0 or n == 0:
        return NAN, NAN, NAN
    combined = _midranks(np.concatenate([positive, negative]))
    auc = float((combined[:m].sum() - m * (m + 1) / 2) / (m * n))
    if m < 2 or n < 2:
        return auc, NAN, NAN
    v10 = (combined[:m] - _midranks(positive)) / n  # share of negatives below each positive
    v01 = 1.0 - (combined[m:] - _midranks(negative)) / m  # share of positives above each negative
    se = math.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    half = float(ndtri(0.5 + float(level) / 2)) * se
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def _midranks(values: np.ndarray) -> np.ndarray:
    """Rank of each value, 1-based; tied values share the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]


def capture_at_top(
    y_true: ArrayLike, risk: ArrayLike, *, fractions: Sequence[float] = CAPTURE_FRACTIONS
) -> dict[float, float]:
    """Return the share of all events found among the persons of highest risk.

    For each fraction ``f`` the top ``ceil(f · n)`` persons by risk are taken (at least 1);
    among tied risks, the earlier row comes first (a stable sort), so the result is
    deterministic.

    Parameters
    ----------
    y_true, risk : array-like
        Observed outcome (0/1) and predicted risk, one of each per person.
    fractions : sequence of float, default (0.01, 0.05, 0.10)
        Fractions of the population, each in (0, 1].

    Returns
    -------
    dict of float to float
        Fraction -> share of events in [0, 1], ``NaN`` when there is no event.

    Examples
    --------
    >>> capture_at_top([1, 0, 0, 1], [0.9, 0.8, 0.1, 0.3], fractions=(0.25, 0.5))
    {0.25: 0.5, 0.5: 0.5}
    """
    y, p = as_arrays(y_true, risk)
    share = np.asarray(fractions, dtype=float)
    if not np.all((share > 0.0) & (share <= 1.0)):
        raise ParameterError("fractions", "in (0, 1]", fractions)
    found = np.cumsum(y[np.argsort(-p, kind="stable")])
    top = np.clip(np.ceil(np.round(share * y.size, 9)).astype(int), 1, y.size)
    captured = found[top - 1] / found[-1] if found[-1] > 0 else np.full(share.size, np.nan)
    return {float(f): float(c) for f, c in zip(share, captured, strict=True)}
