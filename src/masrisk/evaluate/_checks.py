"""Checks shared by the measures: labels are 0/1, risks are probabilities, lengths agree."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from masrisk.exceptions import Problem, ValidationError

NAN = float("nan")


def _examples(values: np.ndarray) -> tuple[str, ...]:
    return tuple(repr(v.item()) if hasattr(v, "item") else repr(v) for v in values[:5])


def as_arrays(
    y_true: ArrayLike, risk: ArrayLike, *, name: str = "risk"
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y, p)`` as float arrays, or raise ValidationError listing every problem."""
    problems: list[Problem] = []
    arrays = []
    for column, values, rule in (
        ("y_true", y_true, "labels must be 0 (no event) or 1 (event)"),
        (name, risk, "risks must be probabilities in [0, 1]"),
    ):
        raw = np.asarray(values)
        try:
            array = raw.astype(float)
        except (TypeError, ValueError):
            problems.append(Problem("predictions", column, "not numeric", detail=rule))
            array = np.zeros(raw.shape)
        if array.ndim != 1:
            problems.append(
                Problem("predictions", column, f"not one-dimensional (shape {array.shape})")
            )
        arrays.append(array.ravel())
    y, p = arrays
    bad_y = ~np.isin(y, (0.0, 1.0))
    if bad_y.any():
        problems.append(
            Problem("predictions", "y_true", "not 0/1", int(bad_y.sum()), _examples(y[bad_y]))
        )
    bad_p = ~((p >= 0.0) & (p <= 1.0))
    if bad_p.any():
        count, examples = int(bad_p.sum()), _examples(p[bad_p])
        problems.append(
            Problem("predictions", name, "not a probability in [0, 1]", count, examples)
        )
    if y.size != p.size:
        problems.append(Problem("predictions", name, f"{p.size} risks for {y.size} labels"))
    elif y.size == 0:
        problems.append(Problem("predictions", None, "no rows to evaluate"))
    if problems:
        raise ValidationError(problems)
    return y, p


def check_level(level: float) -> float:
    """Return ``level`` as a float, or raise ValueError when it is not in (0, 1)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return float(level)
