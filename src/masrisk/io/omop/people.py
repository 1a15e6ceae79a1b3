"""OMOP persons and places -> masrisk persons, households, territories and facilities.

Read from ``person``, ``location``, ``care_site`` and ``payer_plan_period``:

* a household is a ``location``: persons who share a ``location_id`` live together;
* a household's territory is a column of its location (``county`` unless told otherwise);
* a territory's population is the number of its persons, its ``lon``/``lat`` the median of
  its households' coordinates; OMOP has no zone, so every territory gets ``default_zone``
  unless the caller gives a territories table;
* a facility is a ``care_site`` with a location that has coordinates and a level of care
  1, 2 or 3 in ``place_of_service_source_value``;
* ``insurer`` and ``regime`` are ``payer_source_value`` and ``plan_source_value`` of each
  person's latest ``payer_plan_period``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from masrisk.exceptions import Problems
from masrisk.io.omop.cdm import FEMALE, MALE
from masrisk.io.omop.store import Store
from masrisk.io.omop.values import (
    dates_from_parts,
    plain,
    to_dates,
    to_ids,
    to_numbers,
)
from masrisk.io.user_tables import to_source_ids, to_text

__all__ = [
    "PeopleOptions",
    "build_households",
    "build_territories",
    "read_facilities",
    "read_locations",
    "read_payers",
    "read_persons",
]

logger = logging.getLogger("masrisk.io.omop")

_SEX = {FEMALE: "F", MALE: "M"}


@dataclass(frozen=True)
class PeopleOptions:
    """How OMOP ids and places become masrisk ids, households and territories."""

    ids: str
    territory_column: str
    default_zone: str
    chunksize: int


def _read(store: Store, plan: Mapping[str, list[str] | None], table: str, size: int):
    columns = plan.get(table)
    if columns is None:
        return None
    chunks = list(store.read(table, columns, size))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)


def read_persons(
    store: Store, plan: Mapping[str, list[str] | None], options: PeopleOptions, problems: Problems
) -> pd.DataFrame:
    """Persons: ``omop_id``, ``person_id``, ``location_id``, ``birth_date``, ``sex``."""
    table = "person"
    raw = _read(store, plan, table, options.chunksize)
    labels = raw["person_id"]
    omop = to_ids(raw["person_id"], table, "person_id", problems, labels)
    problems.add_rows(table, "person_id", "missing id", omop.isna(), ids=labels)
    problems.add_rows(
        table, "person_id", "duplicate id", omop.duplicated(keep=False) & omop.notna(), ids=labels
    )
    if options.ids == "source":
        ids = to_source_ids(raw["person_source_value"])
        problems.add_rows(
            table,
            "person_source_value",
            "missing value",
            ids.isna(),
            ids=labels,
            detail="ids='source' takes each person's id from person_source_value",
        )
        problems.add_rows(
            table,
            "person_source_value",
            "duplicate id",
            ids.duplicated(keep=False) & ids.notna(),
            ids=labels,
        )
    else:
        ids = omop
    location = (
        to_ids(raw["location_id"], table, "location_id", problems, labels)
        if "location_id" in raw.columns
        else pd.Series(pd.NA, index=raw.index, dtype="Int64")
    )
    return pd.DataFrame(
        {
            "omop_id": omop,
            "person_id": ids,
            "location_id": location,
            "birth_date": _birth_dates(raw, problems, labels),
            "sex": _sexes(raw, problems, labels),
        }
    )


def _birth_dates(raw: pd.DataFrame, problems: Problems, labels: pd.Series) -> pd.Series:
    """``birth_datetime`` where given, else year, month and day of birth (missing parts: 1)."""
    table = "person"

    def part(name: str) -> pd.Series:
        if name not in raw.columns:
            return pd.Series(float("nan"), index=raw.index)
        return to_numbers(raw[name], table, name, problems, labels)

    parts = dates_from_parts(part("year_of_birth"), part("month_of_birth"), part("day_of_birth"))
    if "birth_datetime" in raw.columns:
        exact = to_dates(raw["birth_datetime"], table, "birth_datetime", problems, labels)
        parts = exact.fillna(parts)
    problems.add_rows(table, "year_of_birth", "no valid birth date", parts.isna(), ids=labels)
    return parts


def _sexes(raw: pd.DataFrame, problems: Problems, labels: pd.Series) -> pd.Series:
    """``F``/``M`` from the gender concept, else from ``gender_source_value``."""
    concept = to_ids(raw["gender_concept_id"], "person", "gender_concept_id", problems, labels)
    sex = concept.map(_SEX)
    if "gender_source_value" in raw.columns:
        source = to_text(raw["gender_source_value"]).str.upper()
        sex = sex.fillna(source.where(source.isin(["F", "M"])))
    problems.add_rows(
        "person",
        "gender_concept_id",
        "neither female (8532) nor male (8507)",
        sex.isna(),
        ids=labels,
        detail="masrisk needs sex F or M (gender_source_value 'F'/'M' is also read)",
    )
    return sex


def read_payers(
    store: Store,
    plan: Mapping[str, list[str] | None],
    options: PeopleOptions,
    problems: Problems,
) -> pd.DataFrame | None:
    """Each person's latest payer plan period: ``omop_id``, ``insurer``, ``regime``."""
    table = "payer_plan_period"
    raw = _read(store, plan, table, options.chunksize)
    if raw is None:
        return None
    labels = raw["person_id"]
    frame = pd.DataFrame(
        {
            "omop_id": to_ids(raw["person_id"], table, "person_id", problems, labels),
            "end": to_dates(
                raw["payer_plan_period_end_date"],
                table,
                "payer_plan_period_end_date",
                problems,
                labels,
            ),
        }
    )
    for column, source in (("insurer", "payer_source_value"), ("regime", "plan_source_value")):
        if source in raw.columns:
            frame[column] = to_text(raw[source])
    latest = frame.sort_values(["omop_id", "end"], kind="stable").drop_duplicates(
        "omop_id", keep="last"
    )
    return latest.drop(columns="end")


def read_locations(
    store: Store, plan: Mapping[str, list[str] | None], options: PeopleOptions, problems: Problems
) -> pd.DataFrame | None:
    """Locations: ``location_id``, ``source`` id, ``territory_id``, ``lat``, ``lon``."""
    table = "location"
    raw = _read(store, plan, table, options.chunksize)
    if raw is None:
        return None
    labels = raw["location_id"]
    frame = pd.DataFrame(
        {"location_id": to_ids(raw["location_id"], table, "location_id", problems, labels)}
    )
    optional = {
        "source": "location_source_value",
        "territory_id": options.territory_column,
    }
    for name, column in optional.items():
        if column in raw.columns:
            frame[name] = to_text(raw[column])
    for name, column in (("lat", "latitude"), ("lon", "longitude")):
        if column in raw.columns:
            frame[name] = to_numbers(raw[column], table, column, problems, labels)
    problems.add_rows(
        table,
        "location_id",
        "duplicate id",
        frame["location_id"].duplicated(keep=False),
        ids=labels,
    )
    return frame


def build_households(
    persons: pd.DataFrame,
    locations: pd.DataFrame | None,
    options: PeopleOptions,
    problems: Problems,
    *,
    given: bool,
) -> tuple[pd.Series, pd.DataFrame | None]:
    """Each person's household id, and the households (``None`` when the caller gives them)."""
    labels = persons["omop_id"].rename("person_id")
    problems.add_rows(
        "person",
        "location_id",
        "missing value",
        persons["location_id"].isna(),
        ids=labels,
        detail="persons who share a location are a household; each needs one",
    )
    if locations is None:
        return persons["location_id"], None
    known = persons["location_id"].isin(locations["location_id"])
    problems.add_rows(
        "person",
        "location_id",
        "matches no location.location_id",
        persons["location_id"].notna() & ~known,
        ids=labels,
    )
    # a duplicate location id is reported by read_locations; keep one here so lookups work
    homes = locations[locations["location_id"].isin(persons["location_id"])]
    homes = homes.drop_duplicates("location_id")
    if options.ids == "source":
        ids = to_source_ids(homes["source"])
        problems.add_rows(
            "location",
            "location_source_value",
            "missing value",
            ids.isna(),
            ids=homes["location_id"],
            detail="ids='source' takes household ids from location_source_value",
        )
    else:
        ids = homes["location_id"]
    household = persons["location_id"].map(pd.Series(ids.to_numpy(), index=homes["location_id"]))
    if given:
        return household, None
    territory = homes.get("territory_id", pd.Series(pd.NA, index=homes.index, dtype="str"))
    problems.add_rows(
        "location",
        options.territory_column,
        "missing value",
        territory.isna(),
        ids=homes["location_id"],
        detail="each household needs a territory; or pass households=",
    )
    households = pd.DataFrame({"household_id": plain(ids).to_numpy(), "territory_id": territory})
    for column in ("lat", "lon"):
        if column in homes:
            households[column] = homes[column].to_numpy()
    return household, households


def build_territories(
    households: pd.DataFrame,
    person_households: pd.Series,
    facilities: pd.DataFrame | None,
    default_zone: str,
) -> pd.DataFrame:
    """Territories of the households (and facilities): zone, population, median lon/lat."""
    ids = pd.Index(households["territory_id"].dropna().unique())
    if facilities is not None and "territory_id" in facilities:
        ids = ids.union(pd.Index(facilities["territory_id"].dropna().unique()), sort=False)
    territory_of = pd.Series(
        households["territory_id"].to_numpy(), index=households["household_id"].to_numpy()
    )
    population = person_households.map(territory_of).value_counts()
    territories = pd.DataFrame(
        {
            "territory_id": ids,
            "zone": default_zone,
            "population": population.reindex(ids, fill_value=0).to_numpy(dtype="int64"),
        }
    )
    logger.warning(
        "territories: OMOP has no zone; all %d territories are %r (pass territories= to give "
        "zones, names and other columns)",
        len(ids),
        default_zone,
    )
    if {"lat", "lon"} <= set(households.columns):
        centre = households.groupby("territory_id")[["lon", "lat"]].median()
        centre = centre.reindex(ids)
        if centre.notna().all().all():
            territories[["lon", "lat"]] = centre.to_numpy()
    return territories


def read_facilities(
    store: Store,
    plan: Mapping[str, list[str] | None],
    locations: pd.DataFrame | None,
    options: PeopleOptions,
    problems: Problems,
    left_out: Counter,
) -> pd.DataFrame | None:
    """Care sites with coordinates and a level of care 1-3, or ``None`` if there are none."""
    table = "care_site"
    raw = _read(store, plan, table, options.chunksize)
    if raw is None or locations is None or not len(raw):
        return None
    labels = raw["care_site_id"]
    site = to_ids(raw["care_site_id"], table, "care_site_id", problems, labels)
    ids = to_source_ids(raw["care_site_source_value"]) if options.ids == "source" else site
    where = locations.drop_duplicates("location_id").set_index("location_id")
    location = to_ids(
        raw.get("location_id", pd.Series(pd.NA, index=raw.index)),
        table,
        "location_id",
        problems,
        labels,
    )
    level = pd.to_numeric(
        to_text(raw.get("place_of_service_source_value", pd.Series(pd.NA, index=raw.index))),
        errors="coerce",
    )
    facilities = pd.DataFrame({"facility_id": ids, "level": level})
    for column in ("lon", "lat", "territory_id"):
        if column in where:
            facilities[column] = location.map(where[column]).to_numpy()
    if "care_site_name" in raw.columns:
        facilities["name"] = to_text(raw["care_site_name"])
    usable = facilities["level"].isin([1, 2, 3]) & facilities["facility_id"].notna()
    for column in ("lon", "lat"):
        usable &= facilities[column].notna() if column in facilities else False
    left_out["care sites without coordinates or a level 1-3 (care_site)"] += int((~usable).sum())
    if not usable.any():
        return None
    kept = facilities[usable].astype({"level": "int64"}).reset_index(drop=True)
    return kept.assign(facility_id=plain(kept["facility_id"]))
