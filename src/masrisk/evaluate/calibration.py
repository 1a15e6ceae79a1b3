"""Calibration: how closely the predicted risks match the observed event rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.optimize import brentq
from scipy.special import expit, logit

from masrisk.evaluate._checks import NAN, as_arrays
from masrisk.exceptions import ParameterError

__all__ = ["brier", "calibration_curve", "calibration_intercept_slope", "scaled_brier"]

_CLIP = 1e-6


def calibration_intercept_slope(y_true: ArrayLike, risk: ArrayLike) -> tuple[float, float]:
    """Return the calibration intercept (calibration-in-the-large) and calibration slope.

    Both come from logistic recalibration on ``x = logit(p)``, with ``p`` clipped to
    ``[1e-6, 1 - 1e-6]`` (Van Calster et al. 2016, 2019), fitted by unpenalised Newton
    iterations:

    - the **slope** is ``b`` in ``logit P(y=1) = a + b·x``. Ideal 1; below 1 the risks are
      too extreme (overfitting), above 1 too moderate.
    - the **intercept** is ``a`` in ``logit P(y=1) = a + x``, i.e. with ``x`` as an offset
      and the slope fixed at 1. Ideal 0; below 0 the risks are too high on average, above 0
      too low. This is *not* the ``a`` of the two-parameter model above.

    Parameters
    ----------
    y_true, risk : array-like
        Observed outcome (0/1) and predicted risk, one of each per person.

    Returns
    -------
    intercept, slope : float
        ``NaN`` when a class is absent; the slope is also ``NaN`` when the risks separate
        the classes perfectly (its maximum-likelihood estimate does not exist).

    Examples
    --------
    >>> a, b = calibration_intercept_slope([0, 1, 0, 1, 1, 0], [0.2, 0.7, 0.4, 0.6, 0.3, 0.5])
    >>> round(a, 3), round(b, 3)
    (0.228, 1.557)
    """
    y, p = as_arrays(y_true, risk)
    if y.mean() in (0.0, 1.0):
        return NAN, NAN
    x = logit(np.clip(p, _CLIP, 1.0 - _CLIP))
    intercept = _offset_intercept(x, y.sum())
    design = np.column_stack([np.ones(y.size), x])
    _, slope = _newton(design, y, start=np.array([intercept, 1.0]))
    return float(intercept), float(slope)


def _offset_intercept(x: np.ndarray, events: float) -> float:
    """Return ``a`` with ``sum(expit(x + a)) == events`` (the likelihood's maximum in ``a``).

    Bracketed and found by Brent's method: Newton steps can overshoot into the flat tails.
    """
    target = logit(events / x.size)
    return float(
        brentq(
            lambda a: expit(x + a).sum() - events,
            target - x.max() - 1.0,  # every risk below the prevalence: too few events
            target - x.min() + 1.0,  # every risk above it: too many
            xtol=1e-12,
        )
    )


def _log_likelihood(eta: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _newton(design: np.ndarray, y: np.ndarray, *, start: np.ndarray) -> np.ndarray:
    """Maximise the logistic likelihood by Newton steps, halved until they gain likelihood.

    Returns NaNs when it does not converge in 100 steps, when no halved step gains, or when
    the information matrix is (nearly) singular: perfect separation drives the weights to 0.
    """
    beta = start.astype(float)
    loglik = _log_likelihood(design @ beta, y)
    for _ in range(100):
        mu = expit(design @ beta)
        information = design.T @ (design * (mu * (1.0 - mu))[:, None])
        eigen = np.linalg.eigvalsh(information)
        if not eigen[0] > 1e-12 * eigen[-1]:
            break
        step = np.linalg.solve(information, design.T @ (y - mu))
        for _ in range(60):
            candidate = _log_likelihood(design @ (beta + step), y)
            if candidate >= loglik - 1e-12 * abs(loglik):
                break
            step = step / 2
        else:
            break
        beta, loglik = beta + step, candidate
        if np.max(np.abs(step)) < 1e-9:
            return beta
    return np.full_like(beta, np.nan)


def brier(y_true: ArrayLike, risk: ArrayLike) -> float:
    """Return the Brier score, the mean squared difference between risk and outcome.

    Examples
    --------
    >>> round(brier([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3]), 6)
    0.075
    """
    y, p = as_arrays(y_true, risk)
    return float(np.mean((p - y) ** 2))


def scaled_brier(y_true: ArrayLike, risk: ArrayLike) -> float:
    """Return the scaled Brier score, ``1 - Brier / Brier of the prevalence model``.

    The prevalence model gives everyone the observed prevalence ``π``; its Brier score is
    ``π(1 - π)``. 1 is perfect, 0 is no better than the prevalence, below 0 is worse.
    ``NaN`` when a class is absent.

    Examples
    --------
    >>> round(scaled_brier([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3]), 6)
    0.7
    """
    y, p = as_arrays(y_true, risk)
    prevalence = y.mean()
    reference = prevalence * (1.0 - prevalence)
    return float(1.0 - brier(y, p) / reference) if reference > 0 else NAN


def calibration_curve(
    y_true: ArrayLike, risk: ArrayLike, *, bins: int = 10, strategy: str = "quantile"
) -> pd.DataFrame:
    """Return mean predicted risk against observed event rate, by bin of risk.

    Parameters
    ----------
    y_true, risk : array-like
        Observed outcome (0/1) and predicted risk, one of each per person.
    bins : int, default 10
        Number of bins asked for.
    strategy : {"quantile", "uniform"}, default "quantile"
        ``"quantile"``: edges at quantiles of the risk, so bins hold about equal numbers of
        persons (tied risks stay together, so there may be fewer bins); ``"uniform"``: edges
        at ``0, 1/bins, ..., 1``. A bin is ``[lower, upper)``, the last one closed.

    Returns
    -------
    pandas.DataFrame
        Columns ``bin`` (0-based index of the bin, increasing risk), ``mean_risk``,
        ``observed_rate`` and ``n``; one row per non-empty bin.

    Examples
    --------
    >>> calibration_curve([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2)
       bin  mean_risk  observed_rate  n
    0    0       0.15            0.0  2
    1    1       0.80            1.0  2
    """
    y, p = as_arrays(y_true, risk)
    if int(bins) < 1:
        raise ParameterError("bins", "a positive integer", bins)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, int(bins) + 1)))
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, int(bins) + 1)
    else:
        raise ParameterError("strategy", "'quantile' or 'uniform'", strategy)
    index = np.searchsorted(edges[1:-1], p, side="right")
    size = max(edges.size - 1, 1)
    n = np.bincount(index, minlength=size)
    keep = n > 0
    return pd.DataFrame(
        {
            "bin": np.flatnonzero(keep).astype("int64"),
            "mean_risk": np.bincount(index, weights=p, minlength=size)[keep] / n[keep],
            "observed_rate": np.bincount(index, weights=y, minlength=size)[keep] / n[keep],
            "n": n[keep].astype("int64"),
        }
    )
