"""Who is present at ``as_of``, and what happened to them before it.

Every feature builder starts here, so the point-in-time rule lives in one place: a person is
present at ``as_of`` when born before it and without a death event before it, and features
see only events dated strictly before ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from masrisk.tables import Tables

__all__ = ["Population", "population_at", "to_timestamp"]


def to_timestamp(as_of: str | pd.Timestamp | np.datetime64) -> pd.Timestamp:
    """Read a cut-off date; it must be a plain date (no time of day)."""
    stamp = pd.Timestamp(as_of)
    if stamp != stamp.normalize():
        raise ValueError(f"as_of must be a date without a time of day, got {as_of!r}")
    return stamp


@dataclass(frozen=True)
class Population:
    """Persons present at ``as_of`` and their events before it.

    Attributes
    ----------
    as_of : pandas.Timestamp
    persons : pandas.DataFrame
        One row per person present, indexed by ``person_id``, in the order of the persons
        table, with ``territory_id`` joined from the household.
    events : pandas.DataFrame
        Events of those persons dated before ``as_of``: ``pos`` (int32 row of the person in
        ``persons``), ``date``, ``kind``, ``code``, ``value``, and ``days_before`` (int32:
        ``as_of - date`` in days, at least 1).
    """

    as_of: pd.Timestamp
    persons: pd.DataFrame
    events: pd.DataFrame

    @property
    def size(self) -> int:
        """Number of persons present."""
        return len(self.persons)


def population_at(tables: Tables, as_of: str | pd.Timestamp) -> Population:
    """Select the persons present at ``as_of`` and their events before it."""
    as_of = to_timestamp(as_of)
    events = tables.events
    before = (events["date"] < as_of).to_numpy()
    persons = tables.persons
    died = events.loc[before & (events["kind"] == "death").to_numpy(), "person_id"]
    present = (persons["birth_date"] < as_of) & ~persons["person_id"].isin(died)
    persons = persons.loc[present.to_numpy()]
    territory = tables.households.set_index("household_id")["territory_id"]
    persons = persons.assign(territory_id=persons["household_id"].map(territory).to_numpy())
    persons = persons.set_index("person_id")

    pos = persons.index.get_indexer(events["person_id"])
    keep = before & (pos >= 0)
    columns = [c for c in ("date", "kind", "code", "value") if c in events.columns]
    selected = events.loc[keep, columns].reset_index(drop=True)
    days = (as_of - selected["date"]).dt.days.to_numpy(dtype="int32")
    selected.insert(0, "pos", pos[keep].astype("int32"))
    selected["days_before"] = days
    return Population(as_of=as_of, persons=persons, events=selected)
