"""The planner: from scores to an integral risk-management plan per community.

:func:`plan` ranks and phases the territories, finds who is eligible for what (a covered
person averts the mean risk of the eligible times the relative risk reduction), allocates each
district's team-hours, ranks households for home visits and writes the documents. Events
averted add up across interventions as if each acted on its own: the usual first-order
estimate of a programme's effect.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from masrisk.config import Config
from masrisk.exceptions import ParameterError
from masrisk.planning.allocation import Allocation, AllocationProblem, allocate
from masrisk.planning.catalog import InterventionCatalog, load_catalog
from masrisk.planning.documents import CitySummary, CommunityPlan, Driver, InterventionLine
from masrisk.planning.eligibility_rules import eligibility
from masrisk.planning.households import rank_households
from masrisk.planning.inputs import check_scores, eligibility_inputs
from masrisk.planning.territories import (
    assign_phases,
    household_deprivation,
    priority_score,
    territory_summary,
)
from masrisk.planning.writing import write_plans
from masrisk.tables import Tables
from masrisk.tiers import TIERS

__all__ = ["Places", "Plans", "plan"]

logger = logging.getLogger(__name__)

_WHOLE = "all"  # the district of every territory when the data has no district column


@dataclass(frozen=True)
class Places:
    """What the planner reads of the tables (a whole :class:`~masrisk.tables.Tables` serves too).

    A population split in parts gives its territories and households without the persons;
    ``persons``, when given, holds each person's ``household_id`` and ``territory_id``
    (indexed by ``person_id``), against which the scores are checked.
    """

    territories: pd.DataFrame
    households: pd.DataFrame
    persons: pd.DataFrame | None = None


@dataclass(frozen=True, eq=False)
class Plans:
    """The plans of every community, the city summary and how they were made.

    Attributes
    ----------
    plans, summary : tuple of CommunityPlan, CitySummary
        The plans in priority order, and the city summary.
    allocation : Allocation
        Persons and hours per territory and intervention, solver status, gap and seconds.
    territories, households : pandas.DataFrame
        One row per territory (figures, priority, phase, hours allocated, events averted), and
        every household ranked for home visits within its territory.
    """

    plans: tuple[CommunityPlan, ...]
    summary: CitySummary
    allocation: Allocation
    territories: pd.DataFrame
    households: pd.DataFrame
    suppress_below: int = 5

    def __getitem__(self, territory_id: Any) -> CommunityPlan:
        for community in self.plans:
            if community.territory_id == str(territory_id):
                return community
        raise KeyError(f"no plan for territory {territory_id!r}")

    def __len__(self) -> int:
        return len(self.plans)

    def write(
        self,
        out_dir: str | os.PathLike,
        *,
        pseudonym_key: str | bytes | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write the plans directory (see :func:`masrisk.planning.writing.write_plans`)."""
        return write_plans(
            self.plans,
            self.summary,
            out_dir,
            suppress_below=self.suppress_below,
            overwrite=overwrite,
            pseudonym_key=pseudonym_key,
        )

    def _repr_html_(self) -> str:
        return self.summary.to_html(suppress_below=self.suppress_below)


def plan(
    scores: pd.DataFrame,
    tables: Tables | Places,
    *,
    config: Config,
    persons: pd.DataFrame,
    drivers: pd.DataFrame | None = None,
    catalog: InterventionCatalog | None = None,
) -> Plans:
    """Turn scores into an integral risk-management plan per community.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``masrisk.score`` output: ``person_id``, ``household_id``, ``territory_id``,
        ``outcome``, ``risk``, ``tier``.
    tables : Tables or Places
        Gives the territories (zone, name, district) and the households' deprivation flags.
    config : Config
        Its ``planning`` section: capacity, priorities, phases, households, catalogue.
    persons : pandas.DataFrame
        ``masrisk.build_features`` at the scores' ``as_of``, indexed by ``person_id``, with at
        least the columns the catalogue's eligibility reads (an optional feature the data
        cannot give, :data:`masrisk.models.features.OPTIONAL_SOURCES`, is missing for all).
    drivers : pandas.DataFrame, optional
        ``Explanation.drivers("territory")``: the drivers listed in each plan.
    catalog : InterventionCatalog, optional
        By default the one named by ``config.planning.catalog``.

    Raises
    ------
    masrisk.ValidationError
        If the scores name persons the data lack at the cut-off, or households or
        territories that are not the persons' in the data
        (:func:`~masrisk.planning.inputs.check_scores`).
    """
    settings = config.planning
    catalog = catalog or load_catalog(settings.catalog)
    outcome = _one_outcome(scores)
    places = _person_places(tables, persons.index)
    if places is not None:
        check_scores(scores, places)
    territories = territory_summary(scores, tables)
    districts = territories["district"].fillna(_WHOLE).astype(str)
    territories = _prioritise(territories, districts, config)
    eligible, benefit = _eligibility_by_territory(scores, persons, catalog, territories.index)
    district_names, district_codes = np.unique(districts.to_numpy(), return_inverse=True)
    capacity = _capacity(territories, district_names, districts, config)
    interventions = catalog.interventions
    hours = np.array([i.hours_per_person for i in interventions])
    coverage = np.array([i.min_coverage for i in interventions])
    problem = AllocationProblem(benefit, eligible, hours, district_codes, capacity, coverage)
    problem, scale = _feasible_minimums(problem, district_names)
    allocation = allocate(problem, gap=settings.mip_gap, time_limit=settings.time_limit_s)
    territories["hours_allocated"] = allocation.hours.sum(axis=1)
    territories["expected_events_averted"] = (allocation.persons * benefit).sum(axis=1)

    households = rank_households(scores, household_deprivation(tables.households), settings)
    visits = (
        households[households["rank"] <= settings.priority_households]
        .groupby("territory_id", sort=False)["household_id"]
        .agg(lambda ids: tuple(str(h) for h in ids))
    )
    listed = _drivers_by_territory(drivers, settings.drivers)
    order = np.argsort(territories["priority"].to_numpy(), kind="stable")
    plans = tuple(
        _community_plan(territories, k, allocation, interventions, visits, listed, outcome)
        for k in order
    )
    # no solve time in the documents: the same inputs must give byte-identical plans
    solver = {"status": allocation.status, "gap": allocation.gap, "minimum_coverage_scaled": scale}
    summary = CitySummary.from_plans(plans, capacity_hours=float(capacity.sum()), solver=solver)
    return Plans(plans, summary, allocation, territories, households, settings.suppress_below)


def _person_places(tables: Tables | Places, present: pd.Index) -> pd.DataFrame | None:
    """Each person present's household and territory in the data, when the tables tell."""
    if isinstance(tables, Tables):
        household, territory = tables.person_places(present)
        return pd.DataFrame({"household_id": household, "territory_id": territory})
    return getattr(tables, "persons", None)


def _one_outcome(scores: pd.DataFrame) -> str:
    outcomes = pd.unique(scores["outcome"].astype(str))
    if len(outcomes) != 1:
        raise ParameterError(f"scores must hold one outcome, got {sorted(outcomes)}")
    return str(outcomes[0])


def _prioritise(territories: pd.DataFrame, districts: pd.Series, config: Config) -> pd.DataFrame:
    """Add ``priority_score``, ``priority`` (rank, 1 first) and ``phase`` to each territory."""
    settings = config.planning
    territories = territories.copy()
    territories["priority_score"] = priority_score(territories, settings.priority)
    unit_score, unit = territories["priority_score"], territories.index  # phases by territory
    if settings.phases.group_by == "district":
        grouped = territories.groupby(districts.to_numpy(), sort=True)
        units = pd.DataFrame(
            {
                "expected_events": grouped["expected_events"].sum(),
                "deprivation": grouped.apply(
                    lambda t: np.average(t["deprivation"].fillna(0), weights=t["population"]),
                    include_groups=False,
                ),
                "rural": grouped["rural"].mean(),
            }
        )
        unit_score, unit = priority_score(units, settings.priority), districts
    territories["phase"] = assign_phases(unit_score, settings.phases).reindex(unit).to_numpy()
    territories["unit_score"] = unit_score.reindex(unit).to_numpy()
    if settings.phases.rural_first:
        territories.loc[territories["rural"], "phase"] = 1
    order = territories.assign(_id=territories.index).sort_values(
        ["unit_score", "priority_score", "_id"], ascending=[False, False, True], kind="stable"
    )
    territories["priority"] = pd.Series(np.arange(1, len(order) + 1), index=order.index)
    return territories.drop(columns="unit_score")


def _eligibility_by_territory(
    scores: pd.DataFrame,
    persons: pd.DataFrame,
    catalog: InterventionCatalog,
    territory_ids: pd.Index,
) -> tuple[np.ndarray, np.ndarray]:
    """Return persons eligible (T, I) and expected events averted per person covered (T, I)."""
    # a missing column is named, with the interventions that read it, by eligibility()
    attributes = eligibility_inputs(persons, catalog).reindex(scores["person_id"].to_numpy())
    attributes["tier"] = scores["tier"].to_numpy()
    eligible_persons = eligibility(catalog, attributes).to_numpy(dtype=bool)
    codes = territory_ids.get_indexer(scores["territory_id"].to_numpy())
    risk = scores["risk"].to_numpy(dtype="float64")
    n, masks = len(territory_ids), eligible_persons.T  # one mask of persons per intervention
    eligible = np.column_stack([np.bincount(codes[m], minlength=n) for m in masks]).astype(float)
    risk_sum = np.column_stack([np.bincount(codes[m], weights=risk[m], minlength=n) for m in masks])
    reduction = np.array([i.relative_risk_reduction for i in catalog.interventions])
    with np.errstate(invalid="ignore", divide="ignore"):
        benefit = np.where(eligible > 0, risk_sum / eligible, 0.0) * reduction
    return eligible, benefit


def _feasible_minimums(
    problem: AllocationProblem, district_names: np.ndarray
) -> tuple[AllocationProblem, dict[str, float]]:
    """Scale the minimum coverage down, by the largest factor affordable, where hours lack.

    The factors are logged and reported in the summary (``solver.minimum_coverage_scaled``).
    """
    needed = first_needed = problem.minimum_hours()
    short = first_short = needed > problem.capacity
    if not short.any():
        return problem, {}
    base = np.broadcast_to(problem.min_coverage, problem.eligible.shape)
    scale = np.ones(len(problem.capacity))
    while short.any():  # minimums are floors of shares: shrink until each district affords them
        scale[short] *= problem.capacity[short] / needed[short] * (1 - 1e-6)
        problem = replace(problem, min_coverage=base * scale[problem.district, None])
        needed = problem.minimum_hours()
        short = needed > problem.capacity
    scaled = {str(district_names[d]): round(float(scale[d]), 4) for d in np.flatnonzero(scale < 1)}
    logger.warning(
        "minimum coverage scaled down where the hours do not reach it: %s (%s h needed, %s h "
        "available)",
        ", ".join(f"{name} to {factor:.0%}" for name, factor in scaled.items()),
        ", ".join(f"{h:,.0f}" for h in first_needed[first_short]),
        ", ".join(f"{h:,.0f}" for h in problem.capacity[first_short]),
    )
    return problem, scaled


def _capacity(
    territories: pd.DataFrame, names: np.ndarray, districts: pd.Series, config: Config
) -> np.ndarray:
    """Team-hours of each district: configured, or per 1,000 persons scored in it."""
    capacity = config.planning.capacity
    population = territories["population"].groupby(districts.to_numpy()).sum()
    scaled = capacity.hours_per_1000 * population / 1000
    return np.array([capacity.districts.get(name, scaled[name]) for name in names])


def _drivers_by_territory(drivers: pd.DataFrame | None, top: int) -> dict[Any, tuple]:
    if drivers is None or not top:
        return {}
    kept = drivers[drivers["rank"] <= top].sort_values(["territory_id", "rank"], kind="stable")
    return {
        territory_id: tuple(
            Driver(str(d.feature), str(d.description), float(d.contribution))
            for d in rows.itertuples()
        )
        for territory_id, rows in kept.groupby("territory_id", sort=False)
    }


def _community_plan(
    territories: pd.DataFrame,
    k: int,
    allocation: Allocation,
    interventions: tuple,
    visits: pd.Series,
    drivers: dict[Any, tuple[Driver, ...]],
    outcome: str,
) -> CommunityPlan:
    """Return the plan of the ``k``-th territory."""
    territory_id, row = territories.index[k], territories.iloc[k]
    persons, hours = allocation.persons[k], allocation.hours[k]
    lines = tuple(
        InterventionLine(i.name, i.axis, i.setting, int(persons[j]), float(hours[j]))
        for j, i in enumerate(interventions)
        if persons[j] > 0
    )
    amounts = ("expected_events", "hours_allocated", "expected_events_averted")
    return CommunityPlan(
        territory_id=str(territory_id),
        name=None if pd.isna(row["name"]) else str(row["name"]),
        district=None if pd.isna(row["district"]) else str(row["district"]),
        zone=str(row["zone"]),
        **{c: int(row[c]) for c in ("phase", "priority", "population", "households")},
        **{c: float(row[c]) for c in amounts},
        tiers={tier: int(row[tier]) for tier in TIERS},
        drivers=drivers.get(territory_id, ()),
        interventions=lines,
        priority_households=visits.get(territory_id, ()),
        outcome=outcome,
    )
