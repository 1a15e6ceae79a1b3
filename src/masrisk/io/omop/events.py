"""OMOP clinical tables -> masrisk events, chunk by chunk, reading only the columns needed.

* ``visit_occurrence``: one event per visit, its kind from ``visit_concept_id``; its code is
  the visit's primary diagnosis (``condition_status_concept_id`` 32902, else the visit's
  condition with the smallest ``condition_occurrence_id``), or every diagnosis with
  ``diagnoses="all"`` (one event each);
* ``drug_exposure``: a vaccination when ``drug_source_value`` is a vaccine code, else a
  pharmacy event coded with the primary diagnosis of the visit it belongs to (OMOP has no
  indication field);
* ``procedure_occurrence``: a screening when ``procedure_source_value`` is a screening code;
* ``measurement``: a lab event, code ``measurement_source_value``, value ``value_as_number``;
* ``death``: a death event, code ``cause_source_value``.

What is not imported is counted in ``left_out`` (and logged by the caller), never dropped
unseen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from masrisk.exceptions import Problems
from masrisk.io.omop.store import Store
from masrisk.io.omop.values import (
    to_dates,
    to_ids,
    to_numbers,
)
from masrisk.io.user_tables import to_text

__all__ = ["EventOptions", "read_events"]

_COLUMNS = ["person_id", "date", "kind", "code", "value"]


@dataclass(frozen=True)
class EventOptions:
    """How OMOP records become events (see :func:`masrisk.io.from_omop`)."""

    visit_kinds: Mapping[int, str | None]
    preventive_codes: Mapping[str, str | None]
    diagnoses: str
    chunksize: int


@dataclass
class _Reader:
    store: Store
    plan: Mapping[str, list[str] | None]
    persons: pd.Index
    options: EventOptions
    problems: Problems
    left_out: Counter

    def chunks(self, table: str, key: str) -> Iterator[tuple[pd.DataFrame, pd.Series]]:
        """Chunks of ``table`` whose person is known, and example labels by ``key``."""
        columns = self.plan.get(table)
        if columns is None:
            return
        for chunk in self.store.read(table, columns, self.options.chunksize):
            labels = chunk[key if key in chunk.columns else "person_id"]
            person = to_ids(chunk["person_id"], table, "person_id", self.problems, labels)
            unknown = person.isna() | ~person.isin(self.persons)
            self.problems.add_rows(
                table, "person_id", "matches no person.person_id", unknown, ids=labels
            )
            yield chunk.assign(person_id=person), labels


def read_events(
    store: Store,
    plan: Mapping[str, list[str] | None],
    persons: pd.Index,
    options: EventOptions,
    problems: Problems,
    left_out: Counter,
) -> pd.DataFrame:
    """Return the events of every OMOP clinical table present, ``person_id`` as in OMOP."""
    reader = _Reader(store, plan, persons, options, problems, left_out)
    diagnoses = _conditions(reader)
    primary = _primary(diagnoses)
    visits, visit_ids, skipped = _visit_events(reader, diagnoses, primary)
    drugs, drug_visit_ids = _drug_events(reader, primary)
    left_out["visits that are no event and hold no dispensation (visit_occurrence)"] += int(
        (~skipped.isin(drug_visit_ids)).sum()
    )
    # A visit's first diagnosis codes its event, or the dispensations that belong to it.
    firsts = diagnoses.drop_duplicates("visit")["visit"]
    used = int(firsts.isin(pd.concat([visit_ids, drug_visit_ids])).sum())
    if options.diagnoses == "all":
        secondary = diagnoses[diagnoses.duplicated("visit")]
        used += int(secondary["visit"].isin(visit_ids).sum())
    left_out["diagnoses that code no event (condition_occurrence)"] += len(diagnoses) - used
    parts = [
        visits,
        drugs,
        _procedure_events(reader),
        _measurement_events(reader),
        _death_events(reader),
    ]
    events = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=_COLUMNS)])
    return events.reindex(columns=_COLUMNS).reset_index(drop=True)


def _frame(person: pd.Series, date: pd.Series, kind: object, code: pd.Series | None) -> dict:
    return {"person_id": person, "date": date, "kind": kind, "code": code}


# --------------------------------------------------------------------------- visits


def _conditions(reader: _Reader) -> pd.DataFrame:
    """Every diagnosis linked to a visit: visit id, condition id, code, primary (bool)."""
    table, parts = "condition_occurrence", []
    for chunk, labels in reader.chunks(table, "condition_occurrence_id"):
        visit = to_ids(
            chunk["visit_occurrence_id"], table, "visit_occurrence_id", reader.problems, labels
        )
        order = to_ids(
            chunk["condition_occurrence_id"],
            table,
            "condition_occurrence_id",
            reader.problems,
            labels,
        )
        status = chunk.get("condition_status_concept_id")
        primary = (
            pd.Series(False, index=chunk.index)
            if status is None
            else to_ids(status, table, "condition_status_concept_id", reader.problems, labels)
            .eq(32902)
            .fillna(False)
        )
        reader.left_out["conditions without a visit (condition_occurrence)"] += int(
            visit.isna().sum()
        )
        parts.append(
            pd.DataFrame(
                {
                    "visit": visit,
                    "order": order,
                    "code": to_text(chunk["condition_source_value"]),
                    "primary": primary.astype(bool),
                }
            )[visit.notna()]
        )
    if not parts:
        return pd.DataFrame({"visit": [], "order": [], "code": [], "primary": []})
    found = pd.concat(parts, ignore_index=True)
    found["visit"] = found["visit"].astype("int64")
    # by visit, primary diagnoses first, then by condition id (numpy: faster than pandas here)
    order = found["order"].to_numpy(dtype="float64", na_value=np.inf)
    rank = np.lexsort((order, ~found["primary"].to_numpy(dtype=bool), found["visit"].to_numpy()))
    return found.iloc[rank].reset_index(drop=True)


def _primary(diagnoses: pd.DataFrame) -> pd.Series:
    """Visit id -> the code of its primary diagnosis."""
    first = diagnoses.drop_duplicates("visit")
    return pd.Series(first["code"].to_numpy(), index=first["visit"].to_numpy())


def _visit_events(
    reader: _Reader, diagnoses: pd.DataFrame, primary: pd.Series
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Events of visits; ids of the visits that became events, and of those left out."""
    table, parts, skipped = "visit_occurrence", [], []
    kinds = reader.options.visit_kinds
    for chunk, labels in reader.chunks(table, "visit_occurrence_id"):
        problems = reader.problems
        concept = to_ids(chunk["visit_concept_id"], table, "visit_concept_id", problems, labels)
        unmapped = concept.isna() | ~concept.isin(list(kinds))
        problems.add_rows(
            table,
            "visit_concept_id",
            "visit concept with no event kind",
            unmapped,
            ids=concept.rename("concept"),
            detail="map it with visit_kinds={concept_id: kind}, or None to leave such visits out",
        )
        kind = concept.map(pd.Series(kinds, dtype=object))
        keep = kind.notna()
        ids = to_ids(chunk["visit_occurrence_id"], table, "visit_occurrence_id", problems, labels)
        skipped.append(ids[~keep & ~unmapped])
        date = to_dates(chunk["visit_start_date"], table, "visit_start_date", problems, labels)
        parts.append(
            pd.DataFrame({"visit": ids, **_frame(chunk["person_id"], date, kind, None)})[keep]
        )
    none = pd.Series([], dtype="Int64")
    if not parts:
        return pd.DataFrame(columns=_COLUMNS), none, none
    visits = pd.concat(parts, ignore_index=True)
    left = pd.concat(skipped) if skipped else none
    if reader.options.diagnoses == "all":
        coded = visits.drop(columns="code").merge(
            diagnoses[["visit", "code"]], on="visit", how="left", sort=False
        )
        return coded.drop(columns="visit"), visits["visit"], left
    code = visits["visit"].map(primary)
    return visits.assign(code=code).drop(columns="visit"), visits["visit"], left


# --------------------------------------------------------------------------- other tables


def _drug_events(reader: _Reader, indication: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Vaccinations and dispensations, and the ids of the visits dispensations belong to."""
    table, parts, visits = "drug_exposure", [], []
    for chunk, labels in reader.chunks(table, "drug_exposure_id"):
        problems = reader.problems
        date = to_dates(
            chunk["drug_exposure_start_date"], table, "drug_exposure_start_date", problems, labels
        )
        source = to_text(chunk["drug_source_value"])
        kind = source.map(reader.options.preventive_codes).fillna("pharmacy")
        code = source.where(kind != "pharmacy")
        if "visit_occurrence_id" in chunk.columns:
            visit = to_ids(
                chunk["visit_occurrence_id"], table, "visit_occurrence_id", problems, labels
            ).where(kind == "pharmacy")
            code = code.where(kind != "pharmacy", visit.map(indication))
            visits.append(visit.dropna())
        parts.append(pd.DataFrame(_frame(chunk["person_id"], date, kind, code)))
    if not parts:
        return pd.DataFrame(columns=_COLUMNS), pd.Series([], dtype="Int64")
    used = pd.concat(visits) if visits else pd.Series([], dtype="Int64")
    return pd.concat(parts, ignore_index=True), used


def _procedure_events(reader: _Reader) -> pd.DataFrame:
    table, parts = "procedure_occurrence", []
    for chunk, labels in reader.chunks(table, "procedure_occurrence_id"):
        date = to_dates(chunk["procedure_date"], table, "procedure_date", reader.problems, labels)
        source = to_text(chunk["procedure_source_value"])
        kind = source.map(reader.options.preventive_codes)
        keep = kind.notna()
        reader.left_out["procedures that are not screenings (procedure_occurrence)"] += int(
            (~keep).sum()
        )
        parts.append(pd.DataFrame(_frame(chunk["person_id"], date, kind, source))[keep])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)


def _measurement_events(reader: _Reader) -> pd.DataFrame:
    table, parts = "measurement", []
    for chunk, labels in reader.chunks(table, "measurement_id"):
        problems = reader.problems
        date = to_dates(chunk["measurement_date"], table, "measurement_date", problems, labels)
        value = to_numbers(chunk["value_as_number"], table, "value_as_number", problems, labels)
        code = to_text(chunk["measurement_source_value"])
        parts.append(
            pd.DataFrame({**_frame(chunk["person_id"], date, "lab", code), "value": value})
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)


def _death_events(reader: _Reader) -> pd.DataFrame:
    table, parts = "death", []
    for chunk, labels in reader.chunks(table, "person_id"):
        date = to_dates(chunk["death_date"], table, "death_date", reader.problems, labels)
        cause = chunk.get("cause_source_value")
        code = None if cause is None else to_text(cause)
        parts.append(pd.DataFrame(_frame(chunk["person_id"], date, "death", code)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)
