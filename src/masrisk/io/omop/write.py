"""masrisk tables -> OMOP CDM v5.4 tables (the frames :func:`masrisk.io.to_omop` writes).

Each frame holds only the columns masrisk fills; the store adds the other CDM columns as nulls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from masrisk.codes import LAB_CODES
from masrisk.exceptions import Problems
from masrisk.io.omop.cdm import (
    EHR,
    FEMALE,
    MALE,
    NO_CONCEPT,
    PRIMARY_DIAGNOSIS,
    VISIT_CONCEPTS,
)
from masrisk.tables import Tables

__all__ = ["omop_frames"]

_CODED_KINDS = ("vaccination", "screening")
_KNOWN_KINDS = (*VISIT_CONCEPTS, *_CODED_KINDS, "lab", "death")


def omop_ids(values: pd.Series) -> pd.Series:
    """OMOP ids of masrisk ids (also kept as ``*_source_value``): integers kept, text numbered.

    Text ids are numbered 1, 2, ... in sorted order.
    """
    unique = pd.Index(values.dropna().unique())
    if pd.api.types.is_integer_dtype(unique.dtype):
        return pd.Series(unique.to_numpy(dtype="int64"), index=unique)
    ordered = unique.sort_values()
    return pd.Series(np.arange(1, len(ordered) + 1, dtype="int64"), index=ordered)


def omop_frames(tables: Tables) -> dict[str, pd.DataFrame]:
    """Return the OMOP tables of ``tables``, keyed by CDM table name."""
    events = tables.events
    if "code" not in events.columns:  # the contract's code is optional: no event coded
        events = events.assign(code=pd.Categorical([None] * len(events)))
    _check_events(events)
    person_ids = omop_ids(tables.persons["person_id"])
    person = person_ids.reindex(events["person_id"]).to_numpy()
    code = _codes(events)
    frames = {
        **_places(tables),
        "person": _person(tables, person_ids),
        **_periods(tables, person_ids),
        **_visits(events, person, code),
    }
    frames["drug_exposure"] = _drugs(events, person, code, frames["visit_occurrence"])
    frames["procedure_occurrence"] = _procedures(events, person, code)
    frames["measurement"] = _measurements(events, person, code)
    frames["death"] = _deaths(events, person, code)
    return frames


def _check_events(events: pd.DataFrame) -> None:
    found = Problems("OMOP export")
    kinds = events["kind"].astype("str")
    found.add_values("events", "kind", "kind with no OMOP table", ~kinds.isin(_KNOWN_KINDS), kinds)
    uncoded = kinds.isin(_CODED_KINDS) & events["code"].isna()
    detail = "OMOP tells them from other drugs and procedures only by their code"
    rule = "vaccination or screening without a code"
    found.add_rows("events", "code", rule, uncoded, ids=events["person_id"], detail=detail)
    found.raise_if_any()


def _codes(events: pd.DataFrame) -> pd.Categorical:
    """``events.code`` as a categorical of text: subsets stay cheap at millions of rows."""
    values = events["code"]
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    categories = values.cat.categories.astype("str")
    return pd.Categorical.from_codes(values.cat.codes.to_numpy(), categories)


def _text(values: pd.Series) -> np.ndarray:
    return values.astype("str").where(values.notna()).to_numpy()


def _places(tables: Tables) -> dict[str, pd.DataFrame]:
    """Households (and facilities) as locations; facilities as care sites."""
    households, facilities = tables.households, tables.facilities
    centre = tables.territories.set_index("territory_id")
    home = households["household_id"]
    homes = pd.DataFrame(
        {
            "location_id": omop_ids(home).reindex(home).to_numpy(),
            "county": _text(households["territory_id"]),
            "location_source_value": _text(home),
        }
    )
    if {"lon", "lat"} <= set(centre.columns):
        homes["latitude"] = households["territory_id"].map(centre["lat"]).to_numpy()
        homes["longitude"] = households["territory_id"].map(centre["lon"]).to_numpy()
    if facilities is None or not len(facilities):
        return {"location": homes}
    first = int(homes["location_id"].max()) + 1 if len(homes) else 1
    site = np.arange(first, first + len(facilities), dtype="int64")
    none = pd.Series(pd.NA, index=facilities.index)
    facility = facilities["facility_id"]
    sites = pd.DataFrame(
        {
            "location_id": site,
            "latitude": facilities["lat"].to_numpy(dtype="float64"),
            "longitude": facilities["lon"].to_numpy(dtype="float64"),
            "location_source_value": _text(facility),
            "county": _text(facilities.get("territory_id", none)),
        }
    )
    care_site = pd.DataFrame(
        {
            "care_site_id": omop_ids(facility).reindex(facility).to_numpy(),
            "care_site_name": _text(facilities.get("name", none)),
            "location_id": site,
            "care_site_source_value": _text(facility),
            "place_of_service_source_value": facilities["level"].astype("str").to_numpy(),
        }
    )
    return {"location": pd.concat([homes, sites], ignore_index=True), "care_site": care_site}


def _person(tables: Tables, person_ids: pd.Series) -> pd.DataFrame:
    persons = tables.persons
    birth = persons["birth_date"]
    home = omop_ids(tables.households["household_id"])
    sex = persons["sex"].astype("str")
    return pd.DataFrame(
        {
            "person_id": person_ids.reindex(persons["person_id"]).to_numpy(),
            "gender_concept_id": sex.map({"F": FEMALE, "M": MALE}).to_numpy(dtype="int64"),
            "year_of_birth": birth.dt.year.to_numpy(),
            "month_of_birth": birth.dt.month.to_numpy(),
            "day_of_birth": birth.dt.day.to_numpy(),
            "birth_datetime": birth.to_numpy(),
            "race_concept_id": NO_CONCEPT,
            "ethnicity_concept_id": NO_CONCEPT,
            "location_id": home.reindex(persons["household_id"]).to_numpy(),
            "person_source_value": _text(persons["person_id"]),
            "gender_source_value": sex.to_numpy(),
        }
    )


def _periods(tables: Tables, person_ids: pd.Series) -> dict[str, pd.DataFrame]:
    """Observation periods: the data's span, from birth and up to death; payer plans alike."""
    events, persons = tables.events, tables.persons
    if not len(events):
        return {}
    first, last = events["date"].min(), events["date"].max()
    died = events.loc[events["kind"] == "death"].groupby("person_id")["date"].min()
    start = persons["birth_date"].clip(lower=first)
    # reindex, not map: Series.map fails on an empty datetime mapper (no deaths)
    death = pd.Series(died.reindex(persons["person_id"]).to_numpy(), index=persons.index)
    end = death.fillna(last).clip(upper=last)
    ids = person_ids.reindex(persons["person_id"]).to_numpy()

    def period(name: str, **more: Any) -> pd.DataFrame:
        return pd.DataFrame(
            {
                f"{name}_id": np.arange(1, len(persons) + 1, dtype="int64"),
                "person_id": ids,
                f"{name}_start_date": start.to_numpy(),
                f"{name}_end_date": end.to_numpy(),
                **more,
            }
        )

    frames = {"observation_period": period("observation_period", period_type_concept_id=EHR)}
    plans = {
        source: _text(persons[column])
        for column, source in (("insurer", "payer_source_value"), ("regime", "plan_source_value"))
        if column in persons.columns
    }
    if plans:
        insured = pd.DataFrame(plans).notna().any(axis=1).to_numpy()
        frames["payer_plan_period"] = period("payer_plan_period", **plans)[insured]
    return frames


def _visits(events: pd.DataFrame, person: np.ndarray, code: pd.Categorical) -> dict:
    """Visits, and each visit's code as its primary diagnosis."""
    concept = events["kind"].map(VISIT_CONCEPTS).to_numpy(dtype="float64")
    mask = ~np.isnan(concept)
    dates = events["date"].to_numpy()[mask]
    visits = pd.DataFrame(
        {
            "visit_occurrence_id": np.arange(1, int(mask.sum()) + 1, dtype="int64"),
            "person_id": person[mask],
            "visit_concept_id": concept[mask].astype("int64"),
            "visit_start_date": dates,
            "visit_end_date": dates,
            "visit_type_concept_id": EHR,
        }
    )
    visit_code = code[mask]
    coded = visit_code.codes >= 0
    conditions = _clinical(
        "condition_occurrence",
        "condition_start_date",
        visits["person_id"].to_numpy()[coded],
        dates[coded],
        visit_code[coded],
        condition_status_concept_id=PRIMARY_DIAGNOSIS,
        visit_occurrence_id=visits["visit_occurrence_id"].to_numpy()[coded],
    )
    return {"visit_occurrence": visits, "condition_occurrence": pd.DataFrame(conditions)}


def _clinical(table: str, date: str, person: Any, dates: Any, source: Any, **more: Any) -> dict:
    """Columns of OMOP clinical records: numbered, no standard concept, type EHR, source value."""
    stem = table.split("_")[0]
    return {
        f"{table}_id": np.arange(1, len(person) + 1, dtype="int64"),
        "person_id": person,
        f"{stem}_concept_id": NO_CONCEPT,
        date: dates,
        f"{stem}_type_concept_id": EHR,
        f"{stem}_source_value": source,
        **more,
    }


def _drugs(
    events: pd.DataFrame, person: np.ndarray, code: pd.Categorical, visits: pd.DataFrame
) -> pd.DataFrame:
    """Dispensations (in their pharmacy visit), then vaccinations (coded by source value)."""
    pharmacy = visits[visits["visit_concept_id"] == VISIT_CONCEPTS["pharmacy"]]
    vaccine = (events["kind"] == "vaccination").to_numpy()
    dates = np.concatenate(
        [pharmacy["visit_start_date"].to_numpy(), events["date"].to_numpy()[vaccine]]
    )
    none = np.full(len(pharmacy), -1, dtype=code.codes.dtype)
    visit = np.concatenate(
        [pharmacy["visit_occurrence_id"].to_numpy(dtype="float64"), np.full(vaccine.sum(), np.nan)]
    )
    source = pd.Categorical.from_codes(np.concatenate([none, code.codes[vaccine]]), code.categories)
    person = np.concatenate([pharmacy["person_id"].to_numpy(), person[vaccine]])
    columns = _clinical(
        "drug_exposure",
        "drug_exposure_start_date",
        person,
        dates,
        source,
        drug_exposure_end_date=dates,
        visit_occurrence_id=pd.array(visit).astype("Int64"),
    )
    return pd.DataFrame(columns)


def _procedures(events: pd.DataFrame, person: np.ndarray, code: pd.Categorical) -> pd.DataFrame:
    mask = (events["kind"] == "screening").to_numpy()
    dates = events["date"].to_numpy()[mask]
    return pd.DataFrame(
        _clinical("procedure_occurrence", "procedure_date", person[mask], dates, code[mask])
    )


def _measurements(events: pd.DataFrame, person: np.ndarray, code: pd.Categorical) -> pd.DataFrame:
    mask = (events["kind"] == "lab").to_numpy()
    value = events["value"] if "value" in events.columns else pd.Series(np.nan, index=events.index)
    units = {k: unit for k, (_, unit) in LAB_CODES.items()}
    lab, dates = code[mask], events["date"].to_numpy()[mask]
    columns = _clinical(
        "measurement",
        "measurement_date",
        person[mask],
        dates,
        lab,
        value_as_number=value.to_numpy(dtype="float64")[mask],
        unit_source_value=lab.map(units, na_action="ignore"),
    )
    return pd.DataFrame(columns)


def _deaths(events: pd.DataFrame, person: np.ndarray, code: pd.Categorical) -> pd.DataFrame:
    mask = (events["kind"] == "death").to_numpy()
    return pd.DataFrame(
        {
            "person_id": person[mask],
            "death_date": events["date"].to_numpy()[mask],
            "death_type_concept_id": EHR,
            "cause_source_value": code[mask],
        }
    )
