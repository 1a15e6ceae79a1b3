"""The greedy plan, the linear relaxation, bound tightening and repair for ``allocate``.

Fixing every cell that cannot move in a plan as good as the greedy one leaves the optimum
unchanged, and HiGHS a tenth of the cells.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from masrisk.planning.allocation import AllocationProblem

#: Relative slack allowed on a district's hours (floating-point noise, not policy).
_TOL = 1e-9


def _by_district(problem: AllocationProblem, per_cell: np.ndarray) -> np.ndarray:
    """Sum a (T, I) array over each district's territories and interventions, shape (D,)."""
    return np.bincount(
        problem.district, weights=per_cell.sum(axis=1), minlength=len(problem.capacity)
    )


def _greedy_persons(problem: AllocationProblem) -> np.ndarray:
    """Minimums, then cells in decreasing benefit per hour while the district has hours."""
    persons = problem.minimum
    n_i = persons.shape[1]
    free = (problem.eligible - persons).ravel()
    ratio = (problem.benefit / problem.hours).ravel()
    cells = np.flatnonzero((ratio > 0) & (free > 0))
    order = cells[np.argsort(-ratio[cells], kind="stable")]
    spare = (problem.capacity - problem.minimum_hours()).tolist()
    hours, district = problem.hours[order % n_i].tolist(), problem.district[order // n_i].tolist()
    take = []
    for f, h, d in zip(free[order].tolist(), hours, district, strict=True):
        n = max(min(f, math.floor(spare[d] / h + _TOL)), 0)
        spare[d] -= n * h
        take.append(n)
    np.put(persons, order, persons.ravel()[order] + np.asarray(take, dtype="int64"))
    return persons


def _relaxation(problem: AllocationProblem) -> tuple[np.ndarray, np.ndarray]:
    """Solve the linear relaxation; return its bound per district and the reduced costs.

    One fractional knapsack per district; the benefit per hour where its hours run out is the
    price of an hour (``lam``). Any plan has ``value_d <= bound_d - sum |reduced| * distance``.
    """
    minimum, n_i = problem.minimum, problem.benefit.shape[1]
    ratio = (problem.benefit / problem.hours).ravel()
    width = ((problem.eligible - minimum) * problem.hours).ravel()
    district = np.repeat(problem.district, n_i)
    cells = np.flatnonzero((ratio > 0) & (width > 0))
    order = cells[np.lexsort((-ratio[cells], district[cells]))]
    d = district[order]
    lam = np.zeros(len(problem.capacity))
    if order.size:
        filled = np.cumsum(width[order])
        block = np.r_[True, d[1:] != d[:-1]]
        starts = np.maximum.accumulate(np.where(block, np.arange(d.size), 0))
        within = filled - (filled - width[order])[starts]  # hours filled so far in the district
        spare = (problem.capacity - problem.minimum_hours())[d]
        past = np.flatnonzero(within > spare + _TOL * np.maximum(1.0, spare))
        first_district, first = np.unique(d[past], return_index=True)
        lam[first_district] = ratio[order[past[first]]]
    reduced = problem.benefit - lam[problem.district, np.newaxis] * problem.hours
    best = np.maximum(reduced * problem.eligible, reduced * minimum)
    return lam * problem.capacity + _by_district(problem, best), reduced


def _tightened_bounds(
    problem: AllocationProblem, incumbent: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds on persons that every plan at least as good as ``incumbent`` keeps (and the bound).

    A plan as good as the incumbent strays from the relaxation's choice in a district only by
    the incumbent's slack ``bound_d - value_d``; a cell whose reduced cost exceeds it is fixed.
    """
    bound, reduced = _relaxation(problem)
    slack = bound - _by_district(problem, problem.benefit * incumbent)
    slack = np.maximum(slack + _TOL * np.maximum(1.0, np.abs(bound)), 0.0)
    size = np.abs(reduced)
    steps = np.full(size.shape, np.inf)
    np.divide(slack[problem.district, np.newaxis], size, out=steps, where=size > 0)
    steps = np.floor(steps)
    minimum, eligible = problem.minimum, problem.eligible
    lo = np.where(reduced > 0, np.maximum(minimum, eligible - steps), minimum)
    hi = np.where(reduced < 0, np.minimum(eligible, minimum + steps), eligible)
    hi = np.where(problem.benefit > 0, hi, minimum)  # no benefit: the minimum is best
    return lo.astype("int64"), hi.astype("int64"), bound


def _repair(problem: AllocationProblem, persons: np.ndarray) -> np.ndarray:
    """Undo an over-run of hours from rounding the solver: lowest benefit per hour first."""
    over = _by_district(problem, persons * problem.hours) - problem.capacity
    minimum = problem.minimum
    ratio = problem.benefit / problem.hours
    for d in np.flatnonzero(over > _TOL * np.maximum(1.0, problem.capacity)):
        cells = np.argwhere((problem.district[:, np.newaxis] == d) & (persons > minimum))
        for t, i in cells[np.argsort(ratio[cells[:, 0], cells[:, 1]], kind="stable")]:
            take = min(persons[t, i] - minimum[t, i], math.ceil(over[d] / problem.hours[i]))
            persons[t, i] -= take
            over[d] -= take * problem.hours[i]
            if over[d] <= _TOL * max(1.0, problem.capacity[d]):
                break
    return persons
