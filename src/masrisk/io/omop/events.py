"""OMOP clinical tables -> masrisk events, chunk by chunk, reading only the columns needed.

How each table maps is told in :mod:`masrisk.io.omop`. A visit's primary diagnosis is its
condition of status 32902, else its condition with the smallest ``condition_occurrence_id``.
What is not imported is counted in ``left_out`` (and logged by the caller).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from masrisk.io.omop.values import Cells, Source

__all__ = ["EventOptions", "read_events"]

_COLUMNS = ["person_id", "date", "kind", "code", "value"]


@dataclass(frozen=True)
class EventOptions:
    """How OMOP records become events (see :func:`masrisk.io.from_omop`)."""

    visit_kinds: Mapping[int, str | None]
    preventive_codes: Mapping[str, str | None]
    diagnoses: str


@dataclass
class _Reader:
    source: Source
    persons: pd.Index
    options: EventOptions
    left_out: Counter

    def chunks(self, table: str, key: str) -> Iterator[tuple[Cells, pd.Series]]:
        """Chunks of ``table``, rows named by ``key`` in problems, and their person ids."""
        for cells in self.source.chunks(table, key):
            person = cells.ids("person_id")
            unknown = person.isna() | ~person.isin(self.persons)
            cells.flag("person_id", "matches no person.person_id", unknown)
            yield cells, person


def read_events(
    source: Source, persons: pd.Index, options: EventOptions, left_out: Counter
) -> pd.DataFrame:
    """Return the events of every OMOP clinical table present, ``person_id`` as in OMOP."""
    reader = _Reader(source, persons, options, left_out)
    diagnoses = _conditions(reader)
    first = diagnoses.drop_duplicates("visit")  # sorted: each visit's primary diagnosis
    primary = pd.Series(first["code"].to_numpy(), index=first["visit"].to_numpy())
    visits, visit_ids, skipped = _visit_events(reader, diagnoses, primary)
    drugs, drug_visit_ids = _drug_events(reader, primary)
    left_out["visits that are no event and hold no dispensation (visit_occurrence)"] += int(
        (~skipped.isin(drug_visit_ids)).sum()
    )
    # A visit's first diagnosis codes its event, or the dispensations that belong to it.
    used = int(first["visit"].isin(pd.concat([visit_ids, drug_visit_ids])).sum())
    if options.diagnoses == "all":
        secondary = diagnoses[diagnoses.duplicated("visit")]
        used += int(secondary["visit"].isin(visit_ids).sum())
    left_out["diagnoses that code no event (condition_occurrence)"] += len(diagnoses) - used
    parts = [
        visits,
        *drugs,
        *_procedure_events(reader),
        *_measurement_events(reader),
        *_death_events(reader),
    ]
    events = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=_COLUMNS)])
    return events.reindex(columns=_COLUMNS).reset_index(drop=True)


def _frame(person: pd.Series, date: pd.Series, kind: object, code: pd.Series | None) -> dict:
    return {"person_id": person, "date": date, "kind": kind, "code": code}


def _conditions(reader: _Reader) -> pd.DataFrame:
    """Every diagnosis linked to a visit: visit id, condition id, code, primary (bool)."""
    parts = []
    for cells, _ in reader.chunks("condition_occurrence", "condition_occurrence_id"):
        visit = cells.ids("visit_occurrence_id")
        order = cells.ids("condition_occurrence_id")
        primary = cells.ids("condition_status_concept_id").eq(32902).fillna(False)
        reader.left_out["conditions without a visit (condition_occurrence)"] += int(
            visit.isna().sum()
        )
        code = cells.text("condition_source_value")
        frame = {"visit": visit, "order": order, "code": code, "primary": primary.astype(bool)}
        parts.append(pd.DataFrame(frame)[visit.notna()])
    if not parts:
        return pd.DataFrame({"visit": [], "order": [], "code": [], "primary": []})
    found = pd.concat(parts, ignore_index=True)
    found["visit"] = found["visit"].astype("int64")
    # by visit, primary diagnoses first, then by condition id (numpy: faster than pandas here)
    order = found["order"].to_numpy(dtype="float64", na_value=np.inf)
    rank = np.lexsort((order, ~found["primary"].to_numpy(dtype=bool), found["visit"].to_numpy()))
    return found.iloc[rank].reset_index(drop=True)


def _visit_events(
    reader: _Reader, diagnoses: pd.DataFrame, primary: pd.Series
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Events of visits; ids of the visits that became events, and of those left out."""
    parts, skipped = [], []
    kinds = reader.options.visit_kinds
    for cells, person in reader.chunks("visit_occurrence", "visit_occurrence_id"):
        concept = cells.ids("visit_concept_id")
        unmapped = concept.isna() | ~concept.isin(list(kinds))
        rule = "visit concept with no event kind"
        detail = "map it with visit_kinds={concept_id: kind}, or None to leave such visits out"
        cells.flag("visit_concept_id", rule, unmapped, ids=concept.rename("concept"), detail=detail)
        kind = concept.map(pd.Series(kinds, dtype=object))
        keep = kind.notna()
        ids = cells.ids("visit_occurrence_id")
        skipped.append(ids[~keep & ~unmapped])
        date = cells.dates("visit_start_date")
        parts.append(pd.DataFrame({"visit": ids, **_frame(person, date, kind, None)})[keep])
    none = pd.Series([], dtype="Int64")
    if not parts:
        return pd.DataFrame(columns=_COLUMNS), none, none
    visits = pd.concat(parts, ignore_index=True)
    left = pd.concat(skipped)
    if reader.options.diagnoses == "all":
        coded = visits.drop(columns="code").merge(
            diagnoses[["visit", "code"]], on="visit", how="left", sort=False
        )
        return coded.drop(columns="visit"), visits["visit"], left
    code = visits["visit"].map(primary)
    return visits.assign(code=code).drop(columns="visit"), visits["visit"], left


def _drug_events(reader: _Reader, indication: pd.Series) -> tuple[list[pd.DataFrame], pd.Series]:
    """Chunks of vaccinations and dispensations, and the ids of the visits of dispensations."""
    parts, visits = [], []
    for cells, person in reader.chunks("drug_exposure", "drug_exposure_id"):
        date = cells.dates("drug_exposure_start_date")
        source = cells.text("drug_source_value")
        kind = source.map(reader.options.preventive_codes).fillna("pharmacy")
        code = source.where(kind != "pharmacy")
        if "visit_occurrence_id" in cells.frame:
            visit = cells.ids("visit_occurrence_id").where(kind == "pharmacy")
            code = code.where(kind != "pharmacy", visit.map(indication))
            visits.append(visit.dropna())
        parts.append(pd.DataFrame(_frame(person, date, kind, code)))
    used = pd.concat(visits) if visits else pd.Series([], dtype="Int64")
    return parts, used


def _procedure_events(reader: _Reader) -> Iterator[pd.DataFrame]:
    for cells, person in reader.chunks("procedure_occurrence", "procedure_occurrence_id"):
        date = cells.dates("procedure_date")
        source = cells.text("procedure_source_value")
        kind = source.map(reader.options.preventive_codes)
        reader.left_out["procedures that are not screenings (procedure_occurrence)"] += int(
            kind.isna().sum()
        )
        yield pd.DataFrame(_frame(person, date, kind, source))[kind.notna()]


def _measurement_events(reader: _Reader) -> Iterator[pd.DataFrame]:
    for cells, person in reader.chunks("measurement", "measurement_id"):
        date = cells.dates("measurement_date")
        value = cells.numbers("value_as_number")
        code = cells.text("measurement_source_value")
        yield pd.DataFrame({**_frame(person, date, "lab", code), "value": value})


def _death_events(reader: _Reader) -> Iterator[pd.DataFrame]:
    for cells, person in reader.chunks("death", "person_id"):
        date = cells.dates("death_date")
        yield pd.DataFrame(_frame(person, date, "death", cells.text("cause_source_value")))
