"""Checks shared by the measures: labels are 0/1, risks are probabilities, lengths agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from masrisk.exceptions import Problems

NAN = float("nan")


def as_arrays(
    y_true: ArrayLike, risk: ArrayLike, *, name: str = "risk"
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y, p)`` as float arrays, or raise ValidationError listing every problem."""
    problems = Problems()
    arrays = []
    for column, values, rule in (
        ("y_true", y_true, "labels must be 0 (no event) or 1 (event)"),
        (name, risk, "risks must be probabilities in [0, 1]"),
    ):
        raw = np.asarray(values)
        try:
            array = raw.astype(float, copy=False)
        except (TypeError, ValueError):
            problems.add("predictions", column, "not numeric", detail=rule)
            array = np.zeros(raw.shape)
        if array.ndim != 1:
            problems.add("predictions", column, f"not one-dimensional (shape {array.shape})")
        arrays.append(array.ravel())
    y, p = arrays
    shown_y, shown_p = pd.Series(y, copy=False), pd.Series(p, copy=False)
    problems.add_values("predictions", "y_true", "not 0/1", ~np.isin(y, (0.0, 1.0)), shown_y)
    bad_p = ~((p >= 0.0) & (p <= 1.0))
    problems.add_values("predictions", name, "not a probability in [0, 1]", bad_p, shown_p)
    if y.size != p.size:
        problems.add("predictions", name, f"{p.size} risks for {y.size} labels")
    elif y.size == 0:
        problems.add("predictions", None, "no rows to evaluate")
    problems.raise_if_any()
    return y, p
