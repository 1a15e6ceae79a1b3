"""Per territory, the counts the territorial features are computed from; parts add up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from masrisk.codes import MPI_INDICATORS
from masrisk.config import OutcomeConfig
from masrisk.features.labels import qualifying_events
from masrisk.features.population import population_at, to_timestamp
from masrisk.tables import Tables

__all__ = ["TerritoryCounts", "territory_counts"]


@dataclass(frozen=True)
class TerritoryCounts:
    """Per territory, what the territorial features are computed from; parts add up.

    Every array is float64, one value per territory of ``territory_ids`` (the territories
    table, which every part of a population holds whole).

    Attributes
    ----------
    territory_ids : pandas.Index
    households_known, households_deprived : dict of str to numpy.ndarray
        Per deprivation indicator the households table has: households with a known flag,
        households deprived.
    cases, at_risk : dict of str to numpy.ndarray
        Per outcome: persons with a qualifying event in the window, persons at risk.
    """

    territory_ids: pd.Index
    households_known: dict[str, np.ndarray]
    households_deprived: dict[str, np.ndarray]
    cases: dict[str, np.ndarray]
    at_risk: dict[str, np.ndarray]

    def __add__(self, other: TerritoryCounts) -> TerritoryCounts:
        if not self.territory_ids.equals(other.territory_ids):
            raise ValueError("territory counts of different territories tables do not add up")
        summed = {}
        for name in ("households_known", "households_deprived", "cases", "at_risk"):
            a, b = getattr(self, name), getattr(other, name)
            summed[name] = {k: a.get(k, 0) + b.get(k, 0) for k in dict.fromkeys([*a, *b])}
        return replace(self, **summed)


def territory_counts(
    tables: Tables, as_of: str | pd.Timestamp, *, outcomes: Mapping[str, OutcomeConfig]
) -> TerritoryCounts:
    """Count, per territory, what the territorial features are computed from.

    Parameters
    ----------
    tables : Tables
        A validated population, or one part of it that holds whole territories.
    as_of : date
        Cut-off of the features.
    outcomes : mapping of str to OutcomeConfig
        The outcomes whose cases and persons at risk to count.

    Returns
    -------
    TerritoryCounts
        Parts of a population that share no household add up (``+``) to the whole.
    """
    ids = pd.Index(tables.territories["territory_id"], name="territory_id")
    known, deprived = _deprivation_counts(tables.households, ids)
    cases, at_risk = _cases_and_persons_at_risk(tables, to_timestamp(as_of), ids, outcomes)
    return TerritoryCounts(ids, known, deprived, cases, at_risk)


def _deprivation_counts(
    households: pd.DataFrame, ids: pd.Index
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Households with a known flag, and households deprived, per indicator and territory."""
    n = len(ids)
    territory = ids.get_indexer(households["territory_id"])
    known_counts, deprived_counts = {}, {}
    for indicator in MPI_INDICATORS:
        if indicator in households.columns:
            flag = households[indicator].to_numpy(dtype="float64", na_value=np.nan)
            known = ~np.isnan(flag) & (territory >= 0)
            known_counts[indicator] = np.bincount(territory[known], minlength=n).astype("float64")
            deprived_counts[indicator] = np.bincount(territory[known], flag[known], minlength=n)
    return known_counts, deprived_counts


def _cases_and_persons_at_risk(
    tables: Tables, as_of: pd.Timestamp, ids: pd.Index, outcomes: Mapping[str, OutcomeConfig]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per outcome and territory: persons with the outcome in the window, persons at risk."""
    events = tables.events
    dates = events["date"].to_numpy()
    kinds = sorted({kind for outcome in outcomes.values() for kind in outcome.kinds})
    relevant = events["kind"].isin(kinds).to_numpy() & (dates < np.datetime64(as_of))
    columns = [c for c in ("person_id", "kind", "code") if c in events.columns]
    cases, at_risk = {}, {}
    for horizon in sorted({outcome.horizon_days for outcome in outcomes.values()}):
        start = as_of - pd.Timedelta(days=horizon)
        persons = population_at(tables, start).persons
        territory = ids.get_indexer(persons["territory_id"])
        present = np.bincount(territory[territory >= 0], minlength=len(ids))
        recent = events.loc[relevant & (dates >= np.datetime64(start)), columns]
        if "code" not in recent.columns:  # no codes: outcomes that list codes never qualify
            recent = recent.assign(code=pd.Categorical([None] * len(recent)))
        person = persons.index.get_indexer(recent["person_id"])
        for name, outcome in outcomes.items():
            if outcome.horizon_days != horizon:
                continue
            hit = qualifying_events(recent, outcome) & (person >= 0)
            case = np.zeros(len(persons), dtype=bool)
            case[person[hit]] = True
            observed = np.bincount(territory[case & (territory >= 0)], minlength=len(ids))
            cases[name], at_risk[name] = observed.astype("float64"), present.astype("float64")
    return {name: cases[name] for name in outcomes}, {name: at_risk[name] for name in outcomes}
