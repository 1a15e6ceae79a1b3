"""Territories: their burden, priority and rollout phase.

A territory's **expected burden** is the sum of its persons' risks; its **priority** weighs the
z-scores of that burden and of its households' deprivation, and its rurality. Phase 1 holds
the first units by priority and every rural territory (as in Bogotá: 696 of 1,170 sectors plus
the rural area); with ``group_by="district"`` whole districts move together.

Examples
--------
>>> import pandas as pd
>>> from masrisk.config import PhasesConfig
>>> priority = pd.Series([3.0, 2.0, 1.0, 0.0], index=["a", "b", "c", "d"])
>>> assign_phases(priority, PhasesConfig(count=3, first_share=0.25)).to_dict()
{'a': 1, 'b': 2, 'c': 2, 'd': 3}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from masrisk.config import PhasesConfig, PriorityConfig
from masrisk.features.family import deprivation_weights
from masrisk.tables import Tables
from masrisk.tiers import TIERS

__all__ = ["assign_phases", "household_deprivation", "priority_score", "territory_summary"]


def household_deprivation(households: pd.DataFrame) -> pd.Series:
    """Alkire-Foster deprivation score (0-1) of each household, indexed by ``household_id``.

    Households without the poverty-index flags score 0, so that they are still ranked.
    """
    score = pd.Series(0.0, index=households["household_id"].to_numpy())
    for name, weight in deprivation_weights().items():
        if name in households.columns:
            score += weight * households[name].fillna(0).to_numpy(dtype="float64")
    return score.rename("deprivation")


def territory_summary(scores: pd.DataFrame, tables: Tables) -> pd.DataFrame:
    """Return one row per territory with scored persons.

    Columns: ``name``, ``district``, ``zone``, ``rural``, ``population`` (persons scored),
    ``households``, ``expected_events`` (sum of risks), ``deprivation`` (mean household
    deprivation score of its persons) and the count of persons in each tier.
    """
    deprivation = household_deprivation(tables.households)
    frame = pd.DataFrame(
        {
            "territory_id": scores["territory_id"].to_numpy(),
            "household_id": scores["household_id"].to_numpy(),
            "risk": scores["risk"].to_numpy(dtype="float64"),
            "deprivation": deprivation.reindex(scores["household_id"].to_numpy()).to_numpy(),
            "tier": pd.Categorical(scores["tier"], categories=list(TIERS)),
        }
    )
    grouped = frame.groupby("territory_id", sort=True, observed=True)
    summary = pd.DataFrame(
        {
            "population": grouped.size(),
            "households": grouped["household_id"].nunique(),
            "expected_events": grouped["risk"].sum(),
            "deprivation": grouped["deprivation"].mean(),
        }
    )
    tiers = pd.crosstab(frame["territory_id"], frame["tier"]).reindex(
        index=summary.index, columns=list(TIERS), fill_value=0
    )
    summary = summary.join(tiers)
    places = tables.territories.set_index("territory_id").reindex(summary.index)
    summary["zone"] = places["zone"].astype(str).to_numpy()
    summary["rural"] = summary["zone"] == "rural"
    for column in ("name", "district"):
        known = column in places.columns
        summary[column] = places[column].astype(object).to_numpy() if known else None
    return summary.rename_axis("territory_id")


def _z(values: pd.Series) -> pd.Series:
    spread = float(values.std(ddof=0))
    return (values - values.mean()) / spread if spread > 0 else values * 0.0


def priority_score(units: pd.DataFrame, weights: PriorityConfig) -> pd.Series:
    """Return the priority of each row of ``units``, higher first.

    ``units`` has ``expected_events``, ``deprivation`` and ``rural`` (a flag or a share).
    """
    return (
        weights.burden * _z(units["expected_events"])
        + weights.deprivation * _z(units["deprivation"].fillna(0.0))
        + weights.rurality * units["rural"].astype("float64")
    ).rename("priority")


def assign_phases(priority: pd.Series, phases: PhasesConfig) -> pd.Series:
    """Return the phase (1, 2, ...) of each unit from its priority, highest first.

    Phase 1 takes the first ``first_share`` of the units; the rest are split evenly, in
    priority order (ties by index), into phases 2 to ``count``.
    """
    frame = priority.rename("priority").to_frame().assign(_key=priority.index)
    order = frame.sort_values(["priority", "_key"], ascending=[False, True], kind="stable").index
    phase = pd.Series(1, index=priority.index, dtype="int64", name="phase")
    first = min(len(order), int(round(phases.first_share * len(order))))
    if phases.count > 1:
        rest = np.asarray(order[first:])
        for number, part in enumerate(np.array_split(rest, phases.count - 1), start=2):
            phase[part] = number
    return phase
