"""Every headline measure of a model, overall and by subgroup (a tidy frame)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score

from masrisk.evaluate._checks import NAN, as_arrays
from masrisk.evaluate.calibration import brier, calibration_intercept_slope, scaled_brier
from masrisk.evaluate.discrimination import auc_with_ci, capture_at_top
from masrisk.exceptions import Problem, ValidationError

__all__ = ["ESTIMABLE_WITH_EVENTS", "METRIC_KEYS", "metrics", "subgroup_metrics"]

#: Keys of :func:`metrics`, in the order of the columns of every metrics table.
METRIC_KEYS: tuple[str, ...] = (
    "n", "events", "prevalence", "auc", "auc_low", "auc_high", "average_precision", "brier",
    "scaled_brier", "calibration_intercept", "calibration_slope",
    "capture_top_1pct", "capture_top_5pct", "capture_top_10pct",
)  # fmt: skip

#: Measures left ``NaN`` in a group with fewer than ``min_events`` events or non-events: all
#: but the counts, the prevalence and the Brier scores.
ESTIMABLE_WITH_EVENTS: tuple[str, ...] = tuple(
    key for key in METRIC_KEYS if key not in ("n", "events", "prevalence", "brier", "scaled_brier")
)

MISSING = "missing"


def metrics(y_true: ArrayLike, risk: ArrayLike) -> dict[str, float | int]:
    """Return every headline measure of a risk model, keyed as in ``METRIC_KEYS``.

    ``n`` and ``events`` are ints, the others floats (the AUC with its 95% DeLong interval);
    measures undefined on these data are ``NaN``.

    Examples
    --------
    >>> m = metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> m["n"], m["events"], m["auc"], m["auc_low"] < 0.75 < m["auc_high"]
    (4, 2, 0.75, True)
    """
    y, p = as_arrays(y_true, risk)
    events = int(y.sum())
    values = (
        int(y.size),
        events,
        events / y.size,
        *auc_with_ci(y, p),
        float(average_precision_score(y, p)) if 0 < events < y.size else NAN,
        brier(y, p),
        scaled_brier(y, p),
        *calibration_intercept_slope(y, p),
        *capture_at_top(y, p).values(),
    )
    return dict(zip(METRIC_KEYS, values, strict=True))


def subgroup_metrics(
    y_true: ArrayLike, risk: ArrayLike, groups: pd.DataFrame, *, min_events: int = 5
) -> pd.DataFrame:
    """Return the measures of :func:`metrics` overall and in every subgroup.

    Parameters
    ----------
    y_true, risk : array-like
        Observed outcome (0/1) and predicted risk, one of each per person.
    groups : pandas.DataFrame
        One column per attribute (``sex``, ``life_stage``, ``zone``, ``insurer``, ``regime``,
        ``deprivation_quintile``, ...), one row per person, aligned by position with
        ``y_true``. Missing values form the group ``"missing"``.
    min_events : int, default 5
        In a group with fewer events *or* fewer non-events than this, the discrimination,
        calibration and capture measures (``ESTIMABLE_WITH_EVENTS``) are ``NaN``: too few to
        estimate them honestly.

    Returns
    -------
    pandas.DataFrame
        Columns ``attribute``, ``group`` (str) then ``METRIC_KEYS``. The first row is the
        whole population (``attribute="overall"``, ``group="all"``), then one row per group in
        order of the attribute's categories, or sorted values, with ``"missing"`` last.

    Examples
    --------
    >>> import pandas as pd
    >>> y = [0, 1, 0, 1, 0, 1]
    >>> risk = [0.1, 0.8, 0.3, 0.6, 0.2, 0.4]
    >>> table = subgroup_metrics(y, risk, pd.DataFrame({"sex": ["F", "F", "M", "M", "F", None]}),
    ...                          min_events=1)
    >>> table[["attribute", "group", "n", "events", "auc"]]
      attribute    group  n  events  auc
    0   overall      all  6       3  1.0
    1       sex        F  3       1  1.0
    2       sex        M  2       1  1.0
    3       sex  missing  1       1  NaN
    """
    y, p = as_arrays(y_true, risk)
    if not isinstance(groups, pd.DataFrame):
        raise TypeError(f"groups must be a pandas DataFrame, got {type(groups).__name__}")
    if len(groups) != y.size:
        raise ValidationError([Problem("groups", None, f"{len(groups)} rows for {y.size} labels")])
    rows = [{"attribute": "overall", "group": "all", **_gated(y, p, min_events)}]
    for attribute in groups.columns:
        labels, codes = _group_codes(groups[attribute])
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
        for label, start, stop in zip(labels, bounds[:-1], bounds[1:], strict=True):
            if stop > start:
                rows_of = order[start:stop]
                values = _gated(y[rows_of], p[rows_of], min_events)
                rows.append({"attribute": str(attribute), "group": label, **values})
    frame = pd.DataFrame(rows, columns=["attribute", "group", *METRIC_KEYS])
    return frame.astype({"attribute": str, "group": str, "n": "int64", "events": "int64"})


def _gated(y: np.ndarray, p: np.ndarray, min_events: int) -> dict[str, float | int]:
    values = metrics(y, p)
    if min(values["events"], values["n"] - values["events"]) < min_events:
        values.update(dict.fromkeys(ESTIMABLE_WITH_EVENTS, float("nan")))
    return values


def _group_codes(values: pd.Series) -> tuple[list[str], np.ndarray]:
    """Return the group labels and, per row, the index of its label (NaN -> ``"missing"``)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories
    else:
        try:
            codes, uniques = pd.factorize(values, sort=True)
        except TypeError:  # values of mixed types cannot be sorted: sort their text
            codes, uniques = pd.factorize(values.astype(str).where(values.notna()), sort=True)
    labels = [str(value) for value in uniques]
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(MISSING)
    return labels, codes
