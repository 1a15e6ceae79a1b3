"""Capacity allocation: small plans known by hand, and invariants on random problems."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from masrisk.exceptions import MasriskError
from masrisk.planning.allocation import (
    AllocationError,
    AllocationProblem,
    InfeasibleAllocationError,
    InvalidProblemError,
    allocate,
    greedy_allocation,
)


def make_problem(benefit, eligible, hours, capacity, *, district=None, min_coverage=None):
    benefit = np.asarray(benefit, dtype=float)
    n_t, n_i = benefit.shape
    return AllocationProblem(
        benefit=benefit,
        eligible=np.asarray(eligible),
        hours=np.asarray(hours, dtype=float),
        district=np.zeros(n_t, dtype=int) if district is None else np.asarray(district),
        capacity=np.asarray(capacity, dtype=float),
        min_coverage=np.zeros(n_i) if min_coverage is None else np.asarray(min_coverage),
    )


def district_hours(problem, allocation):
    per_territory = allocation.hours.sum(axis=1)
    return np.bincount(problem.district, weights=per_territory, minlength=len(problem.capacity))


# --- plans known by hand -------------------------------------------------------------------


def test_fills_the_best_benefit_per_hour_first():
    # benefit per hour: (1, 1) 0.5 > (0, 1) 0.3 > (0, 0) 0.2 > (1, 0) 0.1; 10 hours in all.
    problem = make_problem(
        benefit=[[0.4, 0.3], [0.2, 0.5]], eligible=[[5, 3], [5, 3]], hours=[2, 1], capacity=[10]
    )
    result = allocate(problem, gap=0)
    np.testing.assert_array_equal(result.persons, [[2, 3], [0, 3]])
    np.testing.assert_allclose(result.hours, [[4, 3], [0, 3]])
    assert result.events_averted == pytest.approx(3.2)
    assert result.status == "optimal"
    assert result.gap == pytest.approx(0, abs=1e-9)
    assert result.bound == pytest.approx(3.2)
    assert result.persons.dtype == np.int64


def test_integrality_takes_one_of_each_rather_than_two_of_the_best_ratio():
    # 7 hours: two persons at 3 h (ratio 1.1) leave 1 h idle; one at 3 h and one at 4 h fill it.
    problem = make_problem(benefit=[[3.3, 4.0]], eligible=[[2, 2]], hours=[3, 4], capacity=[7])
    result = allocate(problem, gap=0)
    np.testing.assert_array_equal(result.persons, [[1, 1]])
    assert result.events_averted == pytest.approx(7.3)
    greedy = greedy_allocation(problem)
    np.testing.assert_array_equal(greedy.persons, [[2, 0]])
    assert greedy.events_averted == pytest.approx(6.6)
    assert greedy.status == "greedy"
    assert greedy.bound == pytest.approx(6.6 + 1.0)  # the relaxation adds 1 h at ratio 1.0
    assert greedy.gap == pytest.approx(1.0 / 6.6)


def test_minimum_coverage_forces_a_worse_intervention():
    # floor(0.55 * 10) = 5 persons of the poor intervention, then 5 h left for the good one.
    problem = make_problem(
        benefit=[[1.0, 0.1]],
        eligible=[[20, 10]],
        hours=[1, 1],
        capacity=[10],
        min_coverage=[0, 0.55],
    )
    result = allocate(problem, gap=0)
    np.testing.assert_array_equal(result.persons, [[5, 5]])
    assert result.events_averted == pytest.approx(5.5)
    free = make_problem(benefit=[[1.0, 0.1]], eligible=[[20, 10]], hours=[1, 1], capacity=[10])
    np.testing.assert_array_equal(allocate(free, gap=0).persons, [[10, 0]])


def test_minimum_share_is_not_lost_to_floating_point():
    # 0.29 * 100 is 28.999999999999996 in floating point; the minimum is still 29 persons.
    problem = make_problem(
        benefit=[[0.0]], eligible=[[100]], hours=[1], capacity=[100], min_coverage=[0.29]
    )
    np.testing.assert_array_equal(problem.minimum, [[29]])
    np.testing.assert_array_equal(allocate(problem).persons, [[29]])


def test_districts_do_not_share_hours():
    # Territory 0 is ten times better, but its district has only 2 hours.
    problem = make_problem(
        benefit=[[1.0], [0.1]], eligible=[[10], [10]], hours=[1], capacity=[2, 8], district=[0, 1]
    )
    result = allocate(problem, gap=0)
    np.testing.assert_array_equal(result.persons, [[2], [8]])
    assert result.events_averted == pytest.approx(2.8)
    np.testing.assert_allclose(district_hours(problem, result), [2, 8])


def test_cells_without_benefit_get_exactly_their_minimum():
    problem = make_problem(
        benefit=[[0.0, 1.0], [0.0, 0.0]],
        eligible=[[10, 0], [10, 4]],
        hours=[1, 1],
        capacity=[100],
        min_coverage=[0.5, 0.5],
    )
    result = allocate(problem)
    np.testing.assert_array_equal(result.persons, [[5, 0], [5, 2]])
    assert result.events_averted == 0
    assert result.status == "optimal"


def test_result_frame_lists_covered_cells():
    problem = make_problem(benefit=[[3.3, 4.0]], eligible=[[2, 2]], hours=[3, 4], capacity=[7])
    frame = allocate(problem, gap=0).to_frame()
    assert list(frame.columns) == ["territory", "intervention", "persons", "hours"]
    assert frame[["persons", "hours"]].to_numpy().tolist() == [[1, 3], [1, 4]]
    summary = allocate(problem, gap=0).to_dict()
    assert summary["persons"] == 2
    assert summary["hours"] == pytest.approx(7)


# --- errors ------------------------------------------------------------------------------------


def test_infeasible_minimums_name_the_district_and_the_hours():
    problem = make_problem(
        benefit=[[1.0], [1.0], [1.0]],
        eligible=[[10], [10], [10]],
        hours=[0.5],
        capacity=[100, 4, 2],
        district=[0, 1, 2],
        min_coverage=[1.0],
    )
    with pytest.raises(InfeasibleAllocationError) as info:
        allocate(problem)
    error = info.value
    assert isinstance(error, MasriskError)
    assert isinstance(error, ValueError)
    assert error.districts == (1, 2)
    assert error.needed == (5.0, 5.0)
    assert error.available == (4.0, 2.0)
    assert "district 1: 5.00 h needed for the minimums, 4.00 h available" in str(error)
    assert "district 2: 5.00 h needed for the minimums, 2.00 h available" in str(error)
    with pytest.raises(InfeasibleAllocationError, match="district 1"):
        greedy_allocation(problem)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hours": [1.0, 1.0, 1.0]}, r"hours: expected shape \(I,\) = \(2,\), got \(3,\)"),
        ({"benefit": [1.0, 2.0]}, r"benefit: expected shape \(T, I\), got shape \(2,\)"),
        ({"benefit": [[-1.0, 0.0]]}, r"benefit: 1 value\(s\) are negative \(e.g. benefit\[0, 0\]"),
        ({"eligible": [[1.5, 2]]}, r"eligible: 1 value\(s\) are not whole"),
        ({"hours": [0.0, 1.0]}, r"hours: 1 value\(s\) are not positive"),
        ({"district": [3]}, r"district: codes \[3\] have no capacity"),
        ({"capacity": [np.nan]}, r"capacity: 1 value\(s\) are NaN or infinite"),
        ({"min_coverage": [0.0, 1.5]}, r"min_coverage: 1 value\(s\) are outside \[0, 1\]"),
        ({"capacity": ["lots"]}, r"capacity: expected numbers"),
    ],
)
def test_invalid_arrays_are_named(change, message):
    arrays = {
        "benefit": [[1.0, 2.0]],
        "eligible": [[1, 2]],
        "hours": [1.0, 1.0],
        "district": [0],
        "capacity": [5.0],
        "min_coverage": [0.0, 0.0],
    }
    with pytest.raises(InvalidProblemError, match=message) as info:
        AllocationProblem(**{**arrays, **change})
    assert isinstance(info.value, ValueError)


def test_every_invalid_array_is_listed_at_once():
    with pytest.raises(InvalidProblemError, match="3 problems") as info:
        AllocationProblem(
            benefit=[[-1.0]],
            eligible=[[1]],
            hours=[-1.0],
            district=[0],
            capacity=[-5.0],
            min_coverage=[0.0],
        )
    for name in ("benefit", "hours", "capacity"):
        assert f"\n  {name}:" in str(info.value)


@pytest.mark.parametrize(("option", "value"), [("gap", -0.1), ("time_limit", 0), ("gap", "1%")])
def test_bad_solver_options_raise(option, value):
    problem = make_problem(benefit=[[1.0]], eligible=[[1]], hours=[1], capacity=[1])
    with pytest.raises(ValueError, match=option):
        allocate(problem, **{option: value})


def test_time_limit_returns_the_best_plan_found_with_its_gap(monkeypatch):
    real = scipy.optimize.milp

    def stopped_early(*args, **kwargs):
        res = real(*args, **kwargs)
        res.status, res.mip_gap = 1, 0.05
        return res

    monkeypatch.setattr(scipy.optimize, "milp", stopped_early)
    problem = make_problem(benefit=[[3.3, 4.0]], eligible=[[2, 2]], hours=[3, 4], capacity=[7])
    result = allocate(problem, time_limit=1)
    assert result.status == "time limit (feasible)"
    assert result.gap == 0.05
    np.testing.assert_array_equal(result.persons, [[1, 1]])


def test_time_limit_without_a_plan_raises(monkeypatch):
    def nothing_found(*args, **kwargs):
        return scipy.optimize.OptimizeResult(
            status=1, x=None, message="Time limit reached.", mip_gap=None, mip_dual_bound=None
        )

    monkeypatch.setattr(scipy.optimize, "milp", nothing_found)
    problem = make_problem(benefit=[[3.3, 4.0]], eligible=[[2, 2]], hours=[3, 4], capacity=[7])
    with pytest.raises(AllocationError, match="no feasible allocation.*Time limit"):
        allocate(problem)


# --- invariants on random problems -----------------------------------------------------------


@st.composite
def problems(draw, max_t=6, max_i=5, max_d=3, max_eligible=8):
    """Random small problems whose minimums fit (capacity = minimum hours + spare)."""
    n_t = draw(st.integers(1, max_t))
    n_i = draw(st.integers(1, max_i))
    n_d = draw(st.integers(1, max_d))
    benefit = draw(
        arrays(float, (n_t, n_i), elements=st.one_of(st.just(0.0), st.floats(0.01, 5.0)))
    )
    hours = draw(
        arrays(
            float, n_i, elements=st.one_of(st.sampled_from([0.5, 1, 2, 3, 4]), st.floats(0.1, 8))
        )
    )
    shares = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.floats(0.0, 1.0))
    base = AllocationProblem(
        benefit=benefit,
        eligible=draw(arrays(int, (n_t, n_i), elements=st.integers(0, max_eligible))),
        hours=hours,
        district=draw(arrays(int, n_t, elements=st.integers(0, n_d - 1))),
        capacity=np.zeros(n_d),
        min_coverage=draw(arrays(float, n_i, elements=shares)),
    )
    spare = draw(arrays(float, n_d, elements=st.floats(0.0, 40.0)))
    return AllocationProblem(
        benefit=base.benefit,
        eligible=base.eligible,
        hours=base.hours,
        district=base.district,
        capacity=base.minimum_hours() + spare,
        min_coverage=base.min_coverage,
    )


def assert_feasible(problem, result):
    assert result.persons.shape == result.hours.shape == problem.benefit.shape
    assert result.persons.dtype == np.int64
    assert (result.persons >= problem.minimum).all()
    assert (result.persons <= problem.eligible).all()
    np.testing.assert_allclose(result.hours, result.persons * problem.hours, rtol=0, atol=0)
    assert (district_hours(problem, result) <= problem.capacity + 1e-6).all()
    assert result.events_averted == pytest.approx((problem.benefit * result.persons).sum())


@settings(max_examples=60, deadline=None)
@given(problems())
def test_optimal_allocation_is_feasible_beats_greedy_and_repeats(problem):
    result = allocate(problem, gap=0)
    greedy = greedy_allocation(problem)
    assert_feasible(problem, result)
    assert_feasible(problem, greedy)
    assert result.status == "optimal"
    assert result.events_averted >= greedy.events_averted - 1e-6
    assert result.events_averted <= greedy.bound + 1e-6  # the relaxation bounds every plan
    assert result.bound >= result.events_averted
    again = allocate(problem, gap=0)
    np.testing.assert_array_equal(again.persons, result.persons)
    assert again.events_averted == result.events_averted


def best_by_exhaustive_search(problem):
    ranges = [
        np.arange(lo, hi + 1)
        for lo, hi in zip(problem.minimum.ravel(), problem.eligible.ravel(), strict=True)
    ]
    plans = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, len(ranges))
    n_i = problem.benefit.shape[1]
    hours = plans * np.tile(problem.hours, problem.benefit.shape[0])
    territory_district = np.repeat(problem.district, n_i)
    used = np.stack(
        [hours[:, territory_district == d].sum(axis=1) for d in range(len(problem.capacity))],
        axis=1,
    )
    feasible = (used <= problem.capacity + 1e-9).all(axis=1)
    return float((plans[feasible] @ problem.benefit.ravel()).max())


def best_by_plain_milp(problem):
    """The textbook model, every cell a variable, no bound tightening."""
    n_t, n_i = problem.benefit.shape
    rows = np.zeros((len(problem.capacity), n_t * n_i))
    rows[np.repeat(problem.district, n_i), np.arange(n_t * n_i)] = np.tile(problem.hours, n_t)
    res = scipy.optimize.milp(
        -problem.benefit.ravel(),
        integrality=np.ones(n_t * n_i),
        bounds=scipy.optimize.Bounds(problem.minimum.ravel(), problem.eligible.ravel()),
        constraints=scipy.optimize.LinearConstraint(rows, -np.inf, problem.capacity),
        options={"mip_rel_gap": 0.0},
    )
    assert res.status == 0
    return -res.fun


@settings(max_examples=40, deadline=None)
@given(problems(max_t=3, max_i=2, max_eligible=3))
def test_optimal_allocation_matches_exhaustive_search(problem):
    best = best_by_exhaustive_search(problem)
    assert allocate(problem, gap=0).events_averted == pytest.approx(best, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(problems(max_eligible=30))
def test_bound_tightening_keeps_the_optimum_of_the_plain_model(problem):
    result = allocate(problem, gap=0)
    assert result.events_averted == pytest.approx(best_by_plain_milp(problem), abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(problems(), st.data())
def test_raises_exactly_when_minimums_exceed_a_district(problem, data):
    cuts = st.one_of(st.just(0.0), st.floats(0.01, 10.0))  # clear of the 1e-9 float allowance
    cut = data.draw(arrays(float, len(problem.capacity), elements=cuts))
    short = AllocationProblem(
        benefit=problem.benefit,
        eligible=problem.eligible,
        hours=problem.hours,
        district=problem.district,
        capacity=np.maximum(problem.minimum_hours() - cut, 0.0),
        min_coverage=problem.min_coverage,
    )
    expected = tuple(np.flatnonzero(short.minimum_hours() > short.capacity + 1e-9).tolist())
    if expected:
        with pytest.raises(InfeasibleAllocationError) as info:
            allocate(short)
        assert info.value.districts == expected
    else:
        assert_feasible(short, allocate(short))


# --- city size ---------------------------------------------------------------------------------


def city_problem(seed=0, n_t=1170, n_i=40, n_d=20):
    """A Bogotá-sized problem: 1,170 territories, 40 interventions, 20 districts."""
    rng = np.random.default_rng(seed)
    eligible = rng.poisson(60, size=(n_t, n_i)) * (rng.random((n_t, n_i)) < 0.95)
    benefit = rng.gamma(2.0, 0.01, size=(n_t, n_i)) * rng.random(n_i)
    hours = rng.uniform(0.25, 4.0, size=n_i)
    district = np.concatenate([np.arange(n_d), rng.integers(0, n_d, size=n_t - n_d)])
    demand = np.bincount(district, weights=(eligible * hours).sum(axis=1), minlength=n_d)
    min_coverage = np.where(rng.random(n_i) < 0.25, 0.1, 0.0)
    return AllocationProblem(
        benefit=benefit,
        eligible=eligible,
        hours=hours,
        district=district,
        capacity=0.3 * demand,
        min_coverage=min_coverage,
    )


def test_city_sized_problem_solves_to_one_percent_quickly():
    problem = city_problem()
    start = time.perf_counter()
    result = allocate(problem, gap=0.01, time_limit=30)
    elapsed = time.perf_counter() - start
    assert result.status == "optimal"
    assert result.gap <= 0.01
    assert elapsed < 10
    assert_feasible(problem, result)
    assert result.events_averted >= greedy_allocation(problem).events_averted - 1e-6


def test_minimum_coverage_may_be_given_per_territory():
    base = {
        "benefit": np.array([[1.0, 2.0], [1.0, 2.0]]),
        "eligible": np.array([[10, 10], [10, 10]]),
        "hours": np.array([1.0, 1.0]),
        "district": np.array([0, 0]),
        "capacity": np.array([100.0]),
    }
    shared = AllocationProblem(**base, min_coverage=np.array([0.5, 0.0]))
    per_territory = AllocationProblem(**base, min_coverage=np.array([[0.5, 0.0], [0.5, 0.0]]))
    np.testing.assert_array_equal(shared.minimum, per_territory.minimum)
    uneven = AllocationProblem(**base, min_coverage=np.array([[0.5, 0.0], [0.0, 0.0]]))
    assert uneven.minimum.tolist() == [[5, 0], [0, 0]]
    with pytest.raises(InvalidProblemError, match=r"min_coverage: expected shape"):
        AllocationProblem(**base, min_coverage=np.zeros((3, 2)))
