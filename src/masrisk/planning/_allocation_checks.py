"""Input checks of an allocation problem: shapes, finite values, signs, whole counts, codes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from masrisk.planning.allocation import AllocationProblem

#: The rules values follow: what is wrong when the test is true.
_NEGATIVE = (lambda a: a < 0, "are negative")
_FRACTIONAL = (lambda a: a != np.round(a), "are not whole")
_OUTSIDE_SHARE = (lambda a: (a < 0) | (a > 1), "are outside [0, 1]")
#: What each array must look like: shape in words, dimensions, and the rules its values follow.
_ARRAYS = {
    "benefit": ("(T, I)", (2,), [_NEGATIVE]),
    "eligible": ("(T, I)", (2,), [_NEGATIVE, _FRACTIONAL]),
    "hours": ("(I,)", (1,), [(lambda a: a <= 0, "are not positive")]),
    "district": ("(T,)", (1,), [_FRACTIONAL, _NEGATIVE]),
    "capacity": ("(D,)", (1,), [_NEGATIVE]),
    "min_coverage": ("(I,) or (T, I)", (1, 2), [_OUTSIDE_SHARE]),
}


def _frozen(value: np.ndarray) -> np.ndarray:
    value = np.array(value)  # a copy the caller cannot change under us
    value.setflags(write=False)
    return value


def _as_float(name: str, value: Any, problems: list[str]) -> np.ndarray | None:
    """Return ``value`` as a finite float array of the right dimension, or note why not."""
    shape, dimensions, _ = _ARRAYS[name]
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        problems.append(f"{name}: expected numbers with shape {shape}, got {value!r:.60}")
        return None
    if array.ndim not in dimensions:
        problems.append(f"{name}: expected shape {shape}, got shape {array.shape}")
        return None
    bad = ~np.isfinite(array)
    if bad.any():
        problems.append(f"{name}: {int(bad.sum())} value(s) are NaN or infinite")
        return None
    return array


def _expected_shapes(arrays: dict[str, np.ndarray | None]) -> dict[str, tuple[int, ...]]:
    """Shapes implied by the first 2-D array (T, I) and by ``capacity`` (D)."""
    grid = next((a.shape for k in ("benefit", "eligible") if (a := arrays[k]) is not None), None)
    if grid is None:
        return {}
    n_t, n_i = grid
    coverage = arrays["min_coverage"]
    return {
        "benefit": grid,
        "eligible": grid,
        "hours": (n_i,),
        "district": (n_t,),
        "min_coverage": (n_i,) if coverage is None or coverage.ndim == 1 else grid,
    }


def _value_problems(name: str, array: np.ndarray) -> list[str]:
    found = []
    for rule, text in _ARRAYS[name][2]:
        bad = rule(array)
        if bad.any():
            where = [tuple(int(j) for j in ix) for ix in np.argwhere(bad)[:3]]
            shown = ", ".join(f"{name}[{', '.join(map(str, ix))}]={array[ix]:g}" for ix in where)
            found.append(f"{name}: {int(bad.sum())} value(s) {text} (e.g. {shown})")
    return found


def _checked(problem: AllocationProblem) -> tuple[dict[str, np.ndarray], list[str]]:
    """Return the problem's arrays converted, or every problem found with them."""
    problems: list[str] = []
    arrays = {name: _as_float(name, getattr(problem, name), problems) for name in _ARRAYS}
    for name, shape in _expected_shapes(arrays).items():
        array = arrays[name]
        if array is not None and array.shape != shape:
            problems.append(
                f"{name}: expected shape {_ARRAYS[name][0]} = {shape}, got {array.shape}"
            )
            arrays[name] = None
    for name, array in arrays.items():
        if array is not None:
            problems.extend(_value_problems(name, array))
    district, capacity = arrays["district"], arrays["capacity"]
    if district is not None and capacity is not None and (district >= len(capacity)).any():
        bad = sorted({int(d) for d in district[district >= len(capacity)]})[:5]
        problems.append(
            f"district: codes {bad} have no capacity (capacity has {len(capacity)} districts, "
            f"codes 0..{len(capacity) - 1})"
        )
    if problems:
        return {}, problems
    for name in ("eligible", "district"):
        arrays[name] = np.round(arrays[name]).astype("int64")
    return {name: _frozen(array) for name, array in arrays.items()}, []
