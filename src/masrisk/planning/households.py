"""Households ranked for home visits: expected events averted per visit hour, with equity.

A home visit to a household of ``m`` scored members takes ``home_visit_hours +
home_visit_hours_per_member * (m - 1)`` team-hours and averts ``home_visit_rrr * sum(risk)``
expected events. Households are ranked within each territory by events averted per hour times
``1 + equity_weight * deprivation`` (the Alkire-Foster score, 0-1).

Examples
--------
>>> import pandas as pd
>>> from masrisk.config import PlanningConfig
>>> scores = pd.DataFrame({"household_id": ["h1", "h1", "h2"], "territory_id": ["t"] * 3,
...                        "risk": [0.2, 0.1, 0.3]})
>>> ranked = rank_households(scores, pd.Series({"h1": 0.0, "h2": 0.0}), PlanningConfig())
>>> ranked["household_id"].tolist()  # h2: 0.3 in 1.5 h beats h1: 0.3 in 1.75 h
['h2', 'h1']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from masrisk.config import PlanningConfig

__all__ = ["rank_households"]


def rank_households(
    scores: pd.DataFrame, deprivation: pd.Series, planning: PlanningConfig
) -> pd.DataFrame:
    """Return the households in visiting order within each territory.

    ``scores`` has ``household_id``, ``territory_id`` and ``risk`` per person;
    ``deprivation`` is the score (0-1) by ``household_id`` (missing counts as 0). The result
    has one row per household, sorted by territory and rank: ``territory_id``,
    ``household_id``, ``members``, ``expected_events``, ``visit_hours``, ``events_averted``,
    ``deprivation``, ``priority`` and ``rank`` (1 = first visit in its territory).
    """
    grouped = scores.groupby(["territory_id", "household_id"], sort=True, observed=True)
    out = grouped["risk"].agg(members="size", expected_events="sum").reset_index()
    extra = planning.home_visit_hours_per_member * (out["members"] - 1)
    out["visit_hours"] = planning.home_visit_hours + extra
    out["events_averted"] = planning.home_visit_rrr * out["expected_events"]
    known = deprivation.reindex(out["household_id"].to_numpy()).fillna(0.0)
    out["deprivation"] = known.to_numpy(dtype="float64")
    per_hour = out["events_averted"] / out["visit_hours"]
    out["priority"] = per_hour * (1.0 + planning.equity_weight * out["deprivation"])
    out = out.sort_values(
        ["territory_id", "priority", "household_id"],
        ascending=[True, False, True],
        kind="stable",
        ignore_index=True,
    )
    out["rank"] = out.groupby("territory_id", sort=False, observed=True).cumcount() + 1
    return out.astype({"rank": np.int64, "members": np.int64})
