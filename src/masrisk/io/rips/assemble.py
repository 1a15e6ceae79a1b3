"""Turn what :class:`~masrisk.io.rips.reader.RipsReader` kept into the data contract's tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from masrisk.codes import EVENT_KINDS
from masrisk.exceptions import Problems
from masrisk.io.rips.codes import KIND_CODE
from masrisk.io.rips.persons import (
    PERSON_EXTRAS,
    members_without_services,
    place_persons,
    resolve_persons,
)
from masrisk.io.rips.places import MEMBER_KEY, Places, new_ids
from masrisk.io.rips.reader import RipsReader, events_frame
from masrisk.tables import Tables

__all__ = ["Assembled", "assemble"]

_PERSON_COLUMNS = ["person_id", "household_id", "birth_date", "sex", *PERSON_EXTRAS]
_UNMATCHED_COLUMNS = ["person_id", *MEMBER_KEY, "household_id", "territory_id"]


@dataclass(frozen=True)
class Assembled:
    """The tables of an import, its unmatched persons and the counts it adds."""

    tables: Tables
    unmatched: pd.DataFrame
    counts: dict[str, int]


def assemble(reader: RipsReader, places: Places) -> Assembled:
    """Build validated tables from the reader's persons and events and the user's places.

    Problems found on the way go to ``reader.problems``; a :class:`masrisk.ValidationError`
    is raised if no person could be read or the tables break the data contract.
    """
    people = place_persons(resolve_persons(reader), places)
    keep = (people["left_out"] == "").to_numpy()
    if not keep.any() and places.members is None:
        found = Problems("RIPS import")
        found.add("persons", None, "no person read from the RIPS files")
        found.raise_if_any()
    households, territories, people = _place_unmatched(people, keep, places)
    events, dropped = _events(reader, people, keep)
    extra, members_left_out = members_without_services(places, people)
    columns = [c for c in _PERSON_COLUMNS if c in people or c in extra]
    persons = pd.concat([people[keep], extra], ignore_index=True)[columns]
    if households is not None and pd.api.types.is_integer_dtype(households["household_id"].dtype):
        persons["household_id"] = persons["household_id"].astype(households["household_id"].dtype)
    persons = persons.sort_values("person_id", kind="stable", ignore_index=True)
    frames = {
        "territories": territories,
        "households": households,
        "persons": persons,
        "events": events,
    }
    tables = Tables.from_frames(frames, source="RIPS import")
    unmatched = people.loc[keep & ~people["matched"].to_numpy(), _UNMATCHED_COLUMNS]
    unmatched = unmatched.reset_index(drop=True)
    counts = {
        "persons": len(tables.persons),
        "persons_left_out": int((~keep).sum()),
        "unmatched_persons": len(unmatched),
        "members_without_services": len(extra),
        "members_left_out": members_left_out,
        "events": len(tables.events),
        "deaths": int((tables.events["kind"] == "death").sum()),
        "diagnosis_events": int((tables.events["kind"] == "diagnosis").sum()),
        "events_with_product_code": int(tables.events["product_code"].notna().sum()),
        "events_left_out": dropped,
    }
    return Assembled(tables, unmatched, counts)


def _place_unmatched(
    people: pd.DataFrame, keep: np.ndarray, places: Places
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Households and territories with a new household per unmatched person (see :func:`new_ids`).

    Each lies in a new territory per municipality and zone, ``RIPS-<municipality>-<U|R>``.
    """
    households, territories = places.households, places.territories
    alone = keep & ~people["matched"].to_numpy()
    people = people.assign(territory_id=None)
    if not alone.any():
        return households, territories, people
    new = people[alone]
    zone_letter = new["zone"].astype("str").str[0].str.upper()  # U(rban), R(ural)
    place = "RIPS-" + new["municipality"] + "-" + zone_letter
    territory = new_ids(territories, "territories", "territory_id", place)
    label = "RIPS-" + new["document_type"] + "-" + new["document_number"]
    household = new_ids(households, "households", "household_id", label)
    people = people.astype({"household_id": object, "territory_id": object})
    people.loc[alone, "household_id"] = household.to_numpy()
    people.loc[alone, "territory_id"] = territory.to_numpy()
    added_t = (
        pd.DataFrame({"territory_id": territory, "zone": new["zone"], "name": place})
        .groupby(["territory_id", "zone", "name"], sort=True)
        .size()
        .rename("population")
        .reset_index()
    )
    added_h = pd.DataFrame(
        {"household_id": household.to_numpy(), "territory_id": territory.to_numpy()}
    )
    return _append(households, added_h), _append(territories, added_t), people


def _append(frame: pd.DataFrame | None, added: pd.DataFrame) -> pd.DataFrame:
    return added if frame is None else pd.concat([frame, added], ignore_index=True)


def _events(reader: RipsReader, people: pd.DataFrame, keep: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Return the events of the persons kept, one death each, sorted by person and date."""
    events = pd.concat([events_frame(reader), _deaths(reader, keep)], ignore_index=True)
    person = events["person"].to_numpy()
    kept = keep[person] if len(person) else np.zeros(0, dtype=bool)
    dropped = int((~kept).sum())
    birth = people["birth_date"].to_numpy().astype("datetime64[D]").astype("int64")
    early = kept & (events["day"].to_numpy() < birth[person])
    rule = "services before the birth date kept for this person left out"
    for pidx, n in pd.Series(person[early]).value_counts(sort=False).items():
        reader.report(*reader.where[pidx], rule, detail=f"{n} services")
    events = events[kept & ~early]
    dropped += int(early.sum())
    rank = people["person_id"].rank(method="dense").to_numpy()
    order = np.lexsort((events["kind"], events["day"], rank[events["person"].to_numpy()]))
    events = events.iloc[order]
    frame = pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy()[events["person"].to_numpy()],
            "date": events["day"].to_numpy().astype("datetime64[D]").astype("datetime64[ns]"),
            "kind": pd.Categorical.from_codes(events["kind"].to_numpy(), list(EVENT_KINDS)),
            "code": _categories(events["code"], reader.codes),
            "product_code": _categories(events["product"], reader.products),
        }
    )
    return frame, dropped


def _categories(ids: pd.Series, names: dict[str, int]) -> pd.Categorical:
    """Categorical of ids into ``names`` (in insertion order); -1 is missing."""
    categories = pd.Index(list(names), dtype="str")
    return pd.Categorical.from_codes(ids.to_numpy(), categories).remove_unused_categories()


def _deaths(reader: RipsReader, keep: np.ndarray) -> pd.DataFrame:
    """One death per person, the earliest; a problem for each further one."""
    deaths = pd.DataFrame(reader.deaths, columns=["person", "day", "code", "at"])
    deaths = deaths[keep[deaths["person"].to_numpy(dtype="int64")]] if len(deaths) else deaths
    deaths = deaths.sort_values(["person", "day"], kind="stable")
    again = deaths["person"].duplicated()
    for at, day in zip(deaths.loc[again, "at"], deaths.loc[again, "day"], strict=True):
        reader.report(*at, "second death of the same person", np.datetime64(int(day), "D"))
    deaths = deaths[~again]
    return pd.DataFrame(
        {
            "person": deaths["person"].to_numpy(dtype="int32"),
            "day": deaths["day"].to_numpy(dtype="int32"),
            "kind": np.full(len(deaths), KIND_CODE["death"], dtype="int8"),
            "code": deaths["code"].to_numpy(dtype="int32"),
            "product": np.full(len(deaths), -1, dtype="int32"),
        }
    )
