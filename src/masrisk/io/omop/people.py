"""OMOP persons and places -> masrisk persons, households, territories and facilities.

Read from ``person``, ``location``, ``care_site`` and ``payer_plan_period`` as
:mod:`masrisk.io.omop` tells; a territory's population is the number of its persons.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from masrisk.exceptions import Problems
from masrisk.io.omop.cdm import FEMALE, MALE
from masrisk.io.omop.values import Cells, Source, dates_from_parts, plain
from masrisk.io.user_tables import to_source_ids

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


def read_persons(source: Source, options: PeopleOptions) -> pd.DataFrame:
    """Persons: ``omop_id``, ``person_id``, ``location_id``, ``birth_date``, ``sex``."""
    cells = source.whole("person", "person_id")
    omop = ids = cells.ids("person_id")
    cells.flag("person_id", "missing id", omop.isna())
    cells.flag("person_id", "duplicate id", omop.duplicated(keep=False) & omop.notna())
    if options.ids == "source":
        ids = to_source_ids(cells.raw("person_source_value"))
        detail = "ids='source' takes each person's id from person_source_value"
        cells.flag("person_source_value", "missing value", ids.isna(), detail=detail)
        cells.flag("person_source_value", "duplicate id", ids.duplicated(keep=False) & ids.notna())
    return pd.DataFrame(
        {
            "omop_id": omop,
            "person_id": ids,
            "location_id": cells.ids("location_id"),
            "birth_date": _birth_dates(cells),
            "sex": _sexes(cells),
        }
    )


def _birth_dates(cells: Cells) -> pd.Series:
    """``birth_datetime`` where given, else year, month and day of birth (missing parts: 1)."""
    parts = dates_from_parts(
        *(cells.numbers(f"{part}_of_birth") for part in ("year", "month", "day"))
    )
    if "birth_datetime" in cells.frame:
        parts = cells.dates("birth_datetime").fillna(parts)
    cells.flag("year_of_birth", "no valid birth date", parts.isna())
    return parts


def _sexes(cells: Cells) -> pd.Series:
    """``F``/``M`` from the gender concept, else from ``gender_source_value``."""
    sex = cells.ids("gender_concept_id").map(_SEX)
    source = cells.text("gender_source_value").str.upper()
    sex = sex.fillna(source.where(source.isin(["F", "M"])))
    rule = "neither female (8532) nor male (8507)"
    detail = "masrisk needs sex F or M (gender_source_value 'F'/'M' is also read)"
    cells.flag("gender_concept_id", rule, sex.isna(), detail=detail)
    return sex


def read_payers(source: Source) -> pd.DataFrame | None:
    """Each person's latest payer plan period: ``omop_id``, ``insurer``, ``regime``."""
    cells = source.whole("payer_plan_period", "person_id")
    if cells is None:
        return None
    frame = pd.DataFrame(
        {
            "omop_id": cells.ids("person_id"),
            "end": cells.dates("payer_plan_period_end_date"),
            "insurer": cells.text("payer_source_value"),
            "regime": cells.text("plan_source_value"),
        }
    )
    latest = frame.sort_values(["omop_id", "end"], kind="stable")
    return latest.drop_duplicates("omop_id", keep="last").drop(columns="end")


def read_locations(source: Source, options: PeopleOptions) -> pd.DataFrame | None:
    """Locations: ``location_id``, ``source`` id, ``territory_id``, ``lat``, ``lon``."""
    cells = source.whole("location", "location_id")
    if cells is None:
        return None
    frame = pd.DataFrame(
        {"location_id": cells.ids("location_id"), "source": cells.text("location_source_value")}
    )
    if options.territory_column in cells.frame.columns:
        frame["territory_id"] = cells.text(options.territory_column)
    frame["lat"], frame["lon"] = cells.numbers("latitude"), cells.numbers("longitude")
    cells.flag("location_id", "duplicate id", frame["location_id"].duplicated(keep=False))
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
    person = Cells(persons, "person", problems, persons["omop_id"].rename("person_id"))
    location = persons["location_id"]
    detail = "persons who share a location are a household; each needs one"
    person.flag("location_id", "missing value", location.isna(), detail=detail)
    if locations is None:
        return location, None
    known = location.isin(locations["location_id"])
    person.flag("location_id", "matches no location.location_id", location.notna() & ~known)
    # a duplicate location id is reported by read_locations; keep one here so lookups work
    homes = locations[locations["location_id"].isin(location)].drop_duplicates("location_id")
    home = Cells(homes, "location", problems, homes["location_id"])
    ids = homes["location_id"]
    if options.ids == "source":
        ids = to_source_ids(homes["source"])
        detail = "ids='source' takes household ids from location_source_value"
        home.flag("location_source_value", "missing value", ids.isna(), detail=detail)
    household = location.map(pd.Series(ids.to_numpy(), index=homes["location_id"]))
    if given:
        return household, None
    territory = home.text("territory_id")
    detail = "each household needs a territory; or pass households="
    home.flag(options.territory_column, "missing value", territory.isna(), detail=detail)
    households = pd.DataFrame({"household_id": plain(ids).to_numpy(), "territory_id": territory})
    households[["lat", "lon"]] = homes[["lat", "lon"]].to_numpy()
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
        centre = households.groupby("territory_id")[["lon", "lat"]].median().reindex(ids)
        if centre.notna().all().all():
            territories[["lon", "lat"]] = centre.to_numpy()
    return territories


def read_facilities(
    source: Source, locations: pd.DataFrame | None, options: PeopleOptions, left_out: Counter
) -> pd.DataFrame | None:
    """Care sites with coordinates and a level of care 1-3, or ``None`` if there are none."""
    cells = source.whole("care_site", "care_site_id")
    if cells is None or locations is None or not len(cells.frame):
        return None
    site = cells.ids("care_site_id")
    ids = to_source_ids(cells.raw("care_site_source_value")) if options.ids == "source" else site
    where = locations.drop_duplicates("location_id").set_index("location_id")
    location = cells.ids("location_id")
    level = pd.to_numeric(cells.text("place_of_service_source_value"), errors="coerce")
    facilities = pd.DataFrame({"facility_id": ids, "level": level})
    for column in ("lon", "lat", "territory_id"):
        if column in where:
            facilities[column] = location.map(where[column]).to_numpy()
    if "care_site_name" in cells.frame.columns:
        facilities["name"] = cells.text("care_site_name")
    usable = facilities["level"].isin([1, 2, 3]) & facilities["facility_id"].notna()
    usable &= facilities["lon"].notna() & facilities["lat"].notna()
    left_out["care sites without coordinates or a level 1-3 (care_site)"] += int((~usable).sum())
    if not usable.any():
        return None
    kept = facilities[usable].astype({"level": "int64"}).reset_index(drop=True)
    return kept.assign(facility_id=plain(kept["facility_id"]))
