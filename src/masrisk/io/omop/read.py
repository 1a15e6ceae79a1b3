"""Reading an OMOP CDM: which columns to read, then persons, places and events, assembled."""

from __future__ import annotations

import logging
from collections import Counter

import pandas as pd

from masrisk.codes import EVENT_KINDS
from masrisk.exceptions import Problems
from masrisk.io.omop.events import EventOptions, read_events
from masrisk.io.omop.people import (
    PeopleOptions,
    build_households,
    build_territories,
    read_facilities,
    read_locations,
    read_payers,
    read_persons,
)
from masrisk.io.omop.store import Store
from masrisk.io.omop.values import Source, plain
from masrisk.io.user_tables import align_ids
from masrisk.tables import Tables

__all__ = ["read_cdm"]

logger = logging.getLogger("masrisk.io.omop")


#: Columns read per OMOP table: those required, then those read when present.
_REQUIRED: dict[str, str] = {
    "person": "person_id gender_concept_id year_of_birth location_id",
    "visit_occurrence": "visit_occurrence_id person_id visit_concept_id visit_start_date",
    "condition_occurrence": (
        "condition_occurrence_id person_id visit_occurrence_id condition_source_value"
    ),
    "drug_exposure": "person_id drug_exposure_start_date drug_source_value",
    "procedure_occurrence": "person_id procedure_date procedure_source_value",
    "measurement": "person_id measurement_date measurement_source_value value_as_number",
    "death": "person_id death_date",
    "location": "location_id",
    "care_site": "care_site_id",
    "payer_plan_period": "person_id payer_plan_period_end_date",
}
_OPTIONAL: dict[str, str] = {
    "person": "month_of_birth day_of_birth birth_datetime person_source_value gender_source_value",
    "condition_occurrence": "condition_status_concept_id",
    "drug_exposure": "drug_exposure_id visit_occurrence_id",
    "procedure_occurrence": "procedure_occurrence_id",
    "measurement": "measurement_id",
    "death": "cause_source_value",
    "location": "location_source_value latitude longitude",
    "care_site": "care_site_name location_id care_site_source_value place_of_service_source_value",
    "payer_plan_period": "payer_source_value plan_source_value",
}
_WHY_NEEDED = {
    "person": "every OMOP CDM has a person table",
    "location": "households and their territories come from location; or pass households=",
}


def read_cdm(
    store: Store,
    *,
    households: pd.DataFrame | None,
    territories: pd.DataFrame | None,
    people: PeopleOptions,
    events: EventOptions,
    chunksize: int,
) -> Tables:
    """Read the CDM of ``store`` into validated tables (the body of :func:`~masrisk.io.from_omop`).

    Every missing table or column is listed before anything is read, every unreadable value
    after; the frames go to :meth:`masrisk.Tables.from_frames`.
    """
    problems, left_out = Problems(), Counter()
    given = households is not None
    plan = _plan(store, people, given=given, problems=problems)
    problems.raise_if_any(store.name)
    source = Source(store, plan, problems, chunksize)
    persons = read_persons(source, people)
    payers = read_payers(source)
    locations = read_locations(source, people)
    home, built = build_households(persons, locations, people, problems, given=given)
    facilities = read_facilities(source, locations, people, left_out)
    found = read_events(source, pd.Index(persons["omop_id"].dropna()), events, left_out)
    problems.raise_if_any(store.name)
    frames = _assemble(persons, home, payers, found, people)
    frames["households"], frames["territories"] = _places(
        households, territories, built, frames["persons"], facilities, people.default_zone
    )
    if facilities is not None:
        frames["facilities"] = facilities
    _log_left_out(left_out)
    kinds = {k for k in [*events.visit_kinds.values(), *events.preventive_codes.values()] if k}
    return Tables.from_frames(
        frames, source=store.name, extra_kinds=sorted(kinds - set(EVENT_KINDS))
    )


def _plan(
    store: Store, options: PeopleOptions, *, given: bool, problems: Problems
) -> dict[str, list[str] | None]:
    """Columns to read per table (``None``: table absent); missing ones are problems."""
    required = {table: columns.split() for table, columns in _REQUIRED.items()}
    optional = {table: _OPTIONAL.get(table, "").split() for table in _REQUIRED}
    optional["location"].append(options.territory_column)
    if options.ids == "source":
        for table in ("person", "location", "care_site"):
            required[table].append(f"{table}_source_value")
    if not given:
        required["location"].append(options.territory_column)
    needed = {"person"} | ({"location"} if not given or options.ids == "source" else set())
    plan: dict[str, list[str] | None] = {}
    for table in _REQUIRED:
        stored = store.columns(table)
        if stored is None:
            if table in needed:
                problems.add(table, None, "missing table", detail=_WHY_NEEDED[table])
            plan[table] = None
            continue
        for column in required[table]:
            if column not in stored:
                problems.add(table, column, "missing column")
        plan[table] = list(
            dict.fromkeys(c for c in [*required[table], *optional[table]] if c in stored)
        )
    return plan


def _assemble(
    persons: pd.DataFrame,
    home: pd.Series,
    payers: pd.DataFrame | None,
    events: pd.DataFrame,
    options: PeopleOptions,
) -> dict[str, pd.DataFrame]:
    """Masrisk persons and events, with ids as ``options.ids`` says."""
    table = pd.DataFrame({"person_id": plain(persons["person_id"])}).assign(
        household_id=plain(home),
        birth_date=persons["birth_date"],
        sex=persons["sex"],
    )
    if payers is not None:
        extra = payers.set_index("omop_id")
        for column in ("insurer", "regime"):
            if column in extra.columns and extra[column].notna().any():
                table[column] = persons["omop_id"].map(extra[column]).to_numpy()
    if options.ids == "source":
        person_of = pd.Series(table["person_id"].to_numpy(), index=persons["omop_id"].to_numpy())
        events = events.assign(person_id=events["person_id"].map(person_of))
    person_ids = events["person_id"]
    if len(person_ids) == 0 or isinstance(person_ids.dtype, pd.Int64Dtype):
        person_ids = person_ids.astype(table["person_id"].dtype)
    return {"persons": table, "events": events.assign(person_id=person_ids)}


def _places(
    given_households: pd.DataFrame | None,
    given_territories: pd.DataFrame | None,
    built: pd.DataFrame | None,
    persons: pd.DataFrame,
    facilities: pd.DataFrame | None,
    default_zone: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Households and territories: the caller's where given, else built from locations."""
    households = built if given_households is None else given_households
    if given_households is not None and "household_id" in households.columns:
        ids = align_ids(households["household_id"], persons["household_id"])
        households = households.assign(household_id=ids)
    territories = given_territories
    if territories is None:
        territories = build_territories(
            households, persons["household_id"], facilities, default_zone
        )
    elif {"territory_id"} <= set(territories.columns) & set(households.columns):
        ids = align_ids(households["territory_id"], territories["territory_id"])
        households = households.assign(territory_id=ids)
        if "population" not in territories.columns:
            territory_of = households.set_index("household_id")["territory_id"]
            counts = persons["household_id"].map(territory_of).value_counts()
            population = territories["territory_id"].map(counts).fillna(0).astype("int64")
            territories = territories.assign(population=population)
    return households.drop(columns=["lat", "lon"], errors="ignore"), territories


def _log_left_out(left_out: Counter) -> None:
    lines = [f"{n:,} {what}" for what, n in left_out.items() if n]
    if lines:
        logger.warning("OMOP records not imported: %s", "; ".join(lines))
