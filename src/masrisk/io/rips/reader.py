"""Stream RIPS JSON documents into columnar chunks, one file at a time.

:class:`RipsReader` holds, across files, one entry per person (keyed by document type and
number, with the values of their first user entry and votes when later entries disagree) and
the events as NumPy chunks; the JSON of a file is released once the file is read. Dates are
parsed per file with pandas, so no Python object outlives its file for each event.

A file holds one RIPS document, or MinSalud's submission envelope around one
(``{"rips": {...}, "xmlFevFile": "<base64 electronic invoice>"}``, as sent to the validation
service): the document inside is read, the invoice's XML is not, and JSON paths in problems
start ``rips.``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from masrisk.exceptions import Problems, show
from masrisk.io.rips.codes import (
    DECEASED,
    DIAGNOSIS_FIELD,
    DOCUMENT_TYPES,
    EGRESS_DIAGNOSIS_FIELD,
    EGRESS_GROUPS,
    KIND_CODE,
    NO_DAY,
    PRODUCT_FIELDS,
    RELATED_DIAGNOSIS_FIELDS,
    SERVICE_GROUPS,
    USER_FIELDS,
    Located,
    check_user_value,
    parse_days,
    read_icd10,
)

__all__ = ["RipsReader", "events_frame"]

_GROUP_NAMES = tuple(SERVICE_GROUPS)
_GROUP_CODE = {name: g for g, name in enumerate(_GROUP_NAMES)}
_IDENTITY = ("tipoDocumentoIdentificacion", "numDocumentoIdentificacion")
# event chunks; code and product are ids (-1: none)
_CHUNK = {"person": "int32", "day": "int32", "kind": "int8", "code": "int32", "product": "int32"}
_DIAGNOSIS = KIND_CODE["diagnosis"]
#: Key of MinSalud's submission envelope around a RIPS document.
ENVELOPE_KEY = "rips"
_DATE_RULES = (
    "",
    "missing date",
    "not a date",
    "date out of range 1850-2200",
    "service before the user's fechaNacimiento",
)


def _plain(value: object) -> object:
    """Return ``value``, or its JSON text when it is a list or an object (to count it)."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _service_path(user: int, group: int, item: int, name: str) -> str:
    return f"usuarios[{user}].servicios.{_GROUP_NAMES[group]}[{item}].{name}"


@dataclass
class _Batch:
    """One file's birth dates (per user entry), events and deaths, until the file ends."""

    birth: list[object] = field(default_factory=list)
    # (person, raw date, kind, code, product, user, group, item); deaths: (person, raw date,
    # cause, user, group, item)
    events: list[tuple] = field(default_factory=list)
    deaths: list[tuple] = field(default_factory=list)


class RipsReader:
    """Read RIPS files one by one; keep persons, events and problems (by file and JSON path).

    ``cups`` maps the CUPS codes read as labs, vaccinations and screenings to (kind, code).
    """

    def __init__(self, cups: Mapping[str, tuple[str, str]]) -> None:
        self.files: list[str] = []
        self.problems = Problems("RIPS import")
        self.counts: Counter[str] = Counter()
        self.not_imported: Counter[str] = Counter()  # records of groups that give no events
        self.unmapped_cups: Counter[str] = Counter()
        # persons
        self.keys: dict[tuple[str, str], int] = {}
        self.first: list[tuple[object, ...]] = []
        self.where: list[Located] = []
        self.votes: dict[tuple[int, int], Counter] = {}
        self.conflict_at: dict[tuple[int, int], Located] = {}
        self._seen: list[int] = []
        self._voting: set[int] = set()  # persons with votes: every later entry votes too
        # codes: final code string -> id; raw ICD-10 text -> id (-1 when not a code)
        self.codes: dict[str, int] = {}
        self._icd: dict[str, int] = {}
        # what was done or dispensed, as written -> id
        self.products: dict[str, int] = {}
        self._enveloped: set[int] = set()  # files whose document sits in the envelope
        self._cups = {
            cups_code: (KIND_CODE[kind], self._code_id(code), self._product_id(cups_code))
            for cups_code, (kind, code) in cups.items()
        }
        # events, as chunks of arrays; deaths with where they were read
        self.chunks: list[tuple[np.ndarray, ...]] = []
        self.deaths: list[tuple[int, int, int, Located]] = []

    def read(self, path: Path, name: str) -> None:
        """Read one file; every problem is recorded, none is raised."""
        fidx = len(self.files)
        self.files.append(name)
        self.counts["files"] += 1
        try:
            document = json.loads(path.read_bytes())
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
            self.report(fidx, None, "invalid JSON", detail=where)
            return
        except RecursionError:
            self.report(fidx, None, "invalid JSON", detail="nested too deeply for a RIPS document")
            return
        except (OSError, ValueError) as exc:  # UnicodeDecodeError, a 5,000-digit number
            self.report(fidx, None, "unreadable file", detail=str(exc))
            return
        document = self._unwrap(fidx, document)
        if document is None:
            return
        users = document.get("usuarios")
        if not isinstance(users, list):
            if users is None:
                self.report(fidx, "usuarios", "missing usuarios")
            else:
                self.report(fidx, "usuarios", "usuarios is not a list", users)
            return
        for name_ in ("numDocumentoIdObligado", "numFactura"):
            if not document.get(name_):
                self.report(fidx, name_, "missing field")
        self.counts["documents"] += 1
        batch = _Batch()
        for ui, user in enumerate(users):
            self._read_user(fidx, ui, user, batch)
        self._finish(fidx, batch)

    def _unwrap(self, fidx: int, document: object) -> dict | None:
        """Return the RIPS document of a file: itself, or the one in MinSalud's envelope."""
        if not isinstance(document, dict):
            self.report(fidx, None, "not a RIPS document", detail=type(document).__name__)
            return None
        if ENVELOPE_KEY not in document or "usuarios" in document:
            return document
        inner = document[ENVELOPE_KEY]
        if not isinstance(inner, dict):
            self.report(fidx, ENVELOPE_KEY, "not a RIPS document", inner)
            return None
        self._enveloped.add(fidx)
        self.counts["documents_in_envelope"] += 1
        return inner

    def report(
        self, fidx: int, path: str | None, rule: str, *values: object, detail: str = ""
    ) -> None:
        """Record a problem of file ``fidx`` at a JSON path, showing the offending values."""
        shown = [show(v) for v in values]
        if fidx in self._enveloped and path is not None and path != ENVELOPE_KEY:
            path = f"{ENVELOPE_KEY}.{path}"
        self.problems.add(self.files[fidx], path, rule, examples=shown, detail=detail)

    def _read_user(self, fidx: int, ui: int, user: object, batch: _Batch) -> None:
        base = f"usuarios[{ui}]"
        batch.birth.append(None)
        if not isinstance(user, dict):
            self.report(fidx, base, "not an object", user)
            return
        self.counts["user_entries"] += 1
        pidx = self._person(fidx, base, user)
        if pidx is None:
            return
        batch.birth[-1] = user.get("fechaNacimiento")
        services = user.get("servicios")
        if not isinstance(services, dict):
            rule = "missing servicios" if services is None else "servicios is not an object"
            self.report(fidx, f"{base}.servicios", rule)
            return
        for group, items in services.items():
            self._read_group(fidx, (ui, pidx), str(group), items, batch)

    def _person(self, fidx: int, base: str, user: dict) -> int | None:
        """Return the person of a user entry (created on first sight); ``None`` without identity."""
        kind, number = (user.get(name) for name in _IDENTITY)
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        for name, value in zip(_IDENTITY, (kind, number), strict=True):
            if not isinstance(value, str) or not value.strip():
                self.report(fidx, f"{base}.{name}", "missing identity document", value)
                self.counts["user_entries_skipped"] += 1
                return None
        key = (kind.strip().upper(), number.strip())
        values = tuple(user.get(name) for name in USER_FIELDS)
        pidx = self.keys.get(key)
        if pidx is None:
            pidx = self.keys[key] = len(self.first)
            values = tuple(map(_plain, values))
            self.first.append(values)
            self.where.append(Located(fidx, base))
            self._seen.append(1)
            if key[0] not in DOCUMENT_TYPES:
                self.report(fidx, f"{base}.{_IDENTITY[0]}", "unknown document type", kind)
            for k, value in enumerate(values):
                self._check(fidx, base, k, value)
            return pidx
        if pidx in self._voting or values != self.first[pidx]:
            self._vote(fidx, base, pidx, values)
        self._seen[pidx] += 1
        return pidx

    def _vote(self, fidx: int, base: str, pidx: int, values: tuple[object, ...]) -> None:
        """Count the values of a user entry once a field of the person has disagreed."""
        first = self.first[pidx]
        for k, value in enumerate(map(_plain, values)):
            votes = self.votes.get((pidx, k))
            if votes is None:
                if value == first[k]:
                    continue
                # every earlier entry agreed with the first one
                votes = self.votes[pidx, k] = Counter({first[k]: self._seen[pidx]})
                self.conflict_at[pidx, k] = Located(fidx, f"{base}.{USER_FIELDS[k]}")
                self._voting.add(pidx)
            votes[value] += 1
            if value != first[k]:
                self._check(fidx, base, k, value)

    def _check(self, fidx: int, base: str, k: int, value: object) -> None:
        rule = check_user_value(k, value)
        if rule:
            self.report(fidx, f"{base}.{USER_FIELDS[k]}", rule, value)

    def _read_group(
        self, fidx: int, user: tuple[int, int], group: str, items: object, batch: _Batch
    ) -> None:
        ui, pidx = user
        path = f"usuarios[{ui}].servicios.{group}"
        spec = SERVICE_GROUPS.get(group)
        if spec is None:
            self.report(fidx, path, "unknown service group", group)
            return
        if items is None:
            return
        if not isinstance(items, list):
            self.report(fidx, path, "not a list", items)
            return
        self.counts["services"] += len(items)
        if spec[1] is None and group != "procedimientos":
            self.not_imported[group] += len(items)
            return
        g = _GROUP_CODE[group]
        for ii, item in enumerate(items):
            if not isinstance(item, dict):
                self.report(fidx, f"{path}[{ii}]", "not an object")
            elif group == "procedimientos":
                self._procedure(fidx, pidx, item, (ui, g, ii), batch)
            else:
                self._clinical(fidx, pidx, item, (ui, g, ii), batch)

    def _clinical(
        self, fidx: int, pidx: int, item: dict, where: tuple[int, int, int], batch: _Batch
    ) -> None:
        """Add a consultation, emergency, admission or dispensation: kind from the group."""
        group = _GROUP_NAMES[where[1]]
        date_field, kind = SERVICE_GROUPS[group]
        code = self._diagnosis(fidx, item, DIAGNOSIS_FIELD, where)
        product = self._product(fidx, item, group, where)
        date = item.get(date_field)
        batch.events.append((pidx, date, KIND_CODE[kind], code, product, *where))
        self._related(fidx, pidx, item, where, batch, principal=code)
        if group in EGRESS_GROUPS and item.get("condicionDestinoUsuarioEgreso") == DECEASED:
            cause = self._diagnosis(fidx, item, "codDiagnosticoCausaMuerte", where)
            batch.deaths.append((pidx, item.get("fechaEgreso"), cause, *where))

    def _procedure(
        self, fidx: int, pidx: int, item: dict, where: tuple[int, int, int], batch: _Batch
    ) -> None:
        """Add a lab, vaccination or screening by its CUPS code; count other procedures.

        The related diagnoses of every procedure are read, mapped or not.
        """
        cups = item.get("codProcedimiento")
        mapped = self._cups.get(cups) if isinstance(cups, str) else None
        if mapped is None:
            self.unmapped_cups[show(cups)] += 1
        else:
            batch.events.append((pidx, item.get("fechaInicioAtencion"), *mapped, *where))
        self._related(fidx, pidx, item, where, batch, principal=-1)

    def _related(
        self,
        fidx: int,
        pidx: int,
        item: dict,
        where: tuple[int, int, int],
        batch: _Batch,
        *,
        principal: int,
    ) -> None:
        """Add a ``diagnosis`` event per further diagnosis of a service (missing ones: none)."""
        group = _GROUP_NAMES[where[1]]
        date = item.get(SERVICE_GROUPS[group][0])
        for name in RELATED_DIAGNOSIS_FIELDS.get(group, ()):
            raw = item.get(name)
            if raw is None or raw == "":
                continue
            code = self._diagnosis(fidx, item, name, where)
            if code < 0 or (name == EGRESS_DIAGNOSIS_FIELD and code == principal):
                continue
            batch.events.append((pidx, date, _DIAGNOSIS, code, -1, *where))
            self.counts["related_diagnoses"] += 1

    def _product(self, fidx: int, item: dict, group: str, where: tuple[int, int, int]) -> int:
        """Id of what a consultation or dispensation names (-1: none), kept as written."""
        name = PRODUCT_FIELDS.get(group)
        raw = None if name is None else item.get(name)
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)  # a CUM or CUPS written as a JSON number
        if isinstance(raw, str) and raw.strip():
            return self._product_id(raw.strip())
        if raw not in (None, ""):
            self.report(fidx, _service_path(*where, name), "not a code", raw)
        elif group == "medicamentos":
            self.counts["dispensations_without_product"] += 1
        return -1

    def _product_id(self, product: str) -> int:
        return self.products.setdefault(product, len(self.products))

    def _diagnosis(self, fidx: int, item: dict, name: str, where: tuple[int, int, int]) -> int:
        """Code id of an ICD-10 diagnosis; -1 (and a problem) when missing or not a code."""
        raw = item.get(name)
        if isinstance(raw, str):
            code = self._icd.get(raw)
            if code is None:
                normal = read_icd10(raw)
                code = self._icd[raw] = -1 if normal is None else self._code_id(normal)
            if code >= 0:
                return code
        rule = "not an ICD-10 code" if isinstance(raw, str) and raw.strip() else "missing diagnosis"
        self.report(fidx, _service_path(*where, name), rule, raw)
        return -1

    def _code_id(self, code: str) -> int:
        return self.codes.setdefault(code, len(self.codes))

    def _finish(self, fidx: int, batch: _Batch) -> None:
        """Parse the file's dates at once; keep the events that are dated and after birth."""
        birth, _ = parse_days(batch.birth)
        if batch.events:
            person, raw, kind, code, product, *where = zip(*batch.events, strict=True)
            day, keep = self._dated(fidx, raw, where, birth, None)
            columns = zip((person, day, kind, code, product), _CHUNK.values(), strict=True)
            self.chunks.append(tuple(np.asarray(c)[keep].astype(t) for c, t in columns))
        if batch.deaths:
            person, raw, cause, *where = zip(*batch.deaths, strict=True)
            day, keep = self._dated(fidx, raw, where, birth, "fechaEgreso")
            for k in np.flatnonzero(keep):
                at = Located(fidx, _service_path(*(w[k] for w in where), "fechaEgreso"))
                self.deaths.append((person[k], int(day[k]), cause[k], at))

    def _dated(
        self, fidx: int, raw: tuple, where: list[tuple], birth: np.ndarray, name: str | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Days of ``raw`` dates and which to keep; a problem for each date left out."""
        day, status = parse_days(list(raw))
        born = birth[np.asarray(where[0])]
        early = (status == 0) & (born != NO_DAY) & (day < born)
        status = np.where(early, len(_DATE_RULES) - 1, status)
        reported = set()  # a service's related diagnoses share its date: one problem
        for k in np.flatnonzero(status):
            ui, g, ii = (w[k] for w in where)
            if (ui, g, ii) in reported:
                continue
            reported.add((ui, g, ii))
            field_ = name or SERVICE_GROUPS[_GROUP_NAMES[g]][0]
            self.report(fidx, _service_path(ui, g, ii, field_), _DATE_RULES[status[k]], raw[k])
        return day, status == 0


def events_frame(reader: RipsReader) -> pd.DataFrame:
    """Return the reader's events as one frame: person, day, kind, and code and product ids."""
    if reader.chunks:
        columns = [np.concatenate(parts) for parts in zip(*reader.chunks, strict=True)]
    else:
        columns = [np.zeros(0, dtype=t) for t in _CHUNK.values()]
    return pd.DataFrame(dict(zip(_CHUNK, columns, strict=True)))
