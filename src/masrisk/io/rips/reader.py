"""Stream RIPS JSON documents into columnar chunks, one file at a time.

:class:`RipsReader` holds, across files, one entry per person (keyed by document type and
number, with the values of their first user entry and votes when later entries disagree) and
the events as NumPy chunks; the JSON of a file is released once the file is read. Dates are
parsed per file with pandas, so no Python object outlives its file for each event.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from masrisk.exceptions import show
from masrisk.io.rips.codes import (
    DECEASED,
    DIAGNOSIS_FIELD,
    DOCUMENT_TYPES,
    EGRESS_GROUPS,
    KIND_CODE,
    SERVICE_GROUPS,
    Located,
    read_icd10,
)
from masrisk.io.rips.values import NO_DAY, USER_FIELDS, check_user_value, parse_days

__all__ = ["RipsProblem", "RipsReader"]

logger = logging.getLogger("masrisk.io.rips")

_GROUP_NAMES = tuple(SERVICE_GROUPS)
_GROUP_CODE = {name: g for g, name in enumerate(_GROUP_NAMES)}


@dataclass(frozen=True)
class RipsProblem:
    """One problem found in the RIPS files: where, which rule, which value.

    Attributes
    ----------
    file : str
        The file, relative to the folder read.
    path : str
        The JSON path in the file, e.g.
        ``usuarios[3].servicios.consultas[0].fechaInicioAtencion``; ``$`` for the document.
    rule : str
        What is wrong (``"not a date"``, ``"unknown service group"``, ...).
    value : str
        The offending value as written, or a detail such as the JSON parser's message.
    """

    file: str
    path: str
    rule: str
    value: str = ""

    def __str__(self) -> str:
        text = f"{self.file}: {self.path}: {self.rule}"
        return f"{text} ({self.value})" if self.value else text


def _plain(value: object) -> object:
    """Return ``value``, or its JSON text when it is a list or an object (to count it)."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


@dataclass
class _Batch:
    """The events (and deaths) of one file, as Python lists until the file ends."""

    person: list[int] = field(default_factory=list)
    date: list[object] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    code: list[int] = field(default_factory=list)
    user: list[int] = field(default_factory=list)
    group: list[int] = field(default_factory=list)
    item: list[int] = field(default_factory=list)
    birth: list[object] = field(default_factory=list)  # per user entry of the document
    deaths: list[tuple[int, object, int, int, int, int]] = field(default_factory=list)

    def add(self, person: int, date: object, kind: int, code: int, where: tuple[int, int, int]):
        """Add one event: its person, raw date, kind and code ids, and (user, group, item)."""
        self.person.append(person)
        self.date.append(date)
        self.kind.append(kind)
        self.code.append(code)
        self.user.append(where[0])
        self.group.append(where[1])
        self.item.append(where[2])


class RipsReader:
    """Read RIPS files one by one; keep persons, events and problems.

    Parameters
    ----------
    cups : mapping of str to (kind, code)
        CUPS procedure codes read as labs, vaccinations and screenings.
    """

    def __init__(self, cups: Mapping[str, tuple[str, str]]) -> None:
        self.files: list[str] = []
        self.problems: list[RipsProblem] = []
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
        self._cups = {
            cups_code: (KIND_CODE[kind], self._code_id(code))
            for cups_code, (kind, code) in cups.items()
        }
        # events, as chunks of arrays; deaths with where they were read
        self.chunks: list[tuple[np.ndarray, ...]] = []
        self.deaths: list[tuple[int, int, int, Located]] = []

    # ------------------------------------------------------------------ files

    def read(self, path: Path, name: str) -> None:
        """Read one file; every problem is recorded, none is raised."""
        fidx = len(self.files)
        self.files.append(name)
        self.counts["files"] += 1
        try:
            document = json.loads(path.read_bytes())
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
            self._problem(fidx, "$", "invalid JSON", where)
            return
        except RecursionError:
            self._problem(fidx, "$", "invalid JSON", "nested too deeply to be a RIPS document")
            return
        except (OSError, ValueError) as exc:  # UnicodeDecodeError, a 5,000-digit number
            self._problem(fidx, "$", "unreadable file", str(exc))
            return
        if not isinstance(document, dict):
            self._problem(fidx, "$", "not a RIPS document", type(document).__name__)
            return
        users = document.get("usuarios")
        if not isinstance(users, list):
            rule = "missing usuarios" if users is None else "usuarios is not a list"
            self._problem(fidx, "usuarios", rule, "" if users is None else show(users))
            return
        for name_ in ("numDocumentoIdObligado", "numFactura"):
            if not document.get(name_):
                self._problem(fidx, name_, "missing field")
        self.counts["documents"] += 1
        batch = _Batch()
        for ui, user in enumerate(users):
            self._read_user(fidx, ui, user, batch)
        self._finish(fidx, batch)

    def _problem(self, fidx: int, path: str, rule: str, value: str = "") -> None:
        self.problems.append(RipsProblem(self.files[fidx], path, rule, value))

    # ------------------------------------------------------------------ users

    def _read_user(self, fidx: int, ui: int, user: object, batch: _Batch) -> None:
        base = f"usuarios[{ui}]"
        batch.birth.append(None)
        if not isinstance(user, dict):
            self._problem(fidx, base, "not an object", show(user))
            return
        self.counts["user_entries"] += 1
        pidx = self._person(fidx, base, user)
        if pidx is None:
            return
        batch.birth[-1] = user.get("fechaNacimiento")
        services = user.get("servicios")
        if not isinstance(services, dict):
            rule = "missing servicios" if services is None else "servicios is not an object"
            self._problem(fidx, f"{base}.servicios", rule)
            return
        for group, items in services.items():
            self._read_group(fidx, (ui, pidx), str(group), items, batch)

    def _person(self, fidx: int, base: str, user: dict) -> int | None:
        """Return the person of a user entry (created on first sight); ``None`` without identity."""
        kind, number = (
            user.get("tipoDocumentoIdentificacion"),
            user.get("numDocumentoIdentificacion"),
        )
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        for name, value in (
            ("tipoDocumentoIdentificacion", kind),
            ("numDocumentoIdentificacion", number),
        ):
            if not isinstance(value, str) or not value.strip():
                self._problem(fidx, f"{base}.{name}", "missing identity document", show(value))
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
                self._problem(
                    fidx, f"{base}.tipoDocumentoIdentificacion", "unknown document type", show(kind)
                )
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
            self._problem(fidx, f"{base}.{USER_FIELDS[k]}", rule, show(value))

    # ------------------------------------------------------------------ services

    def _read_group(
        self, fidx: int, user: tuple[int, int], group: str, items: object, batch: _Batch
    ) -> None:
        path = f"usuarios[{user[0]}].servicios.{group}"
        spec = SERVICE_GROUPS.get(group)
        if spec is None:
            self._problem(fidx, path, "unknown service group", show(group))
            return
        if items is None:
            return
        if not isinstance(items, list):
            self._problem(fidx, path, "not a list", show(items))
            return
        self.counts["services"] += len(items)
        if group == "procedimientos":
            self._procedures(fidx, user, items, batch)
        elif spec[1] is None:
            self.not_imported[group] += len(items)
        else:
            self._clinical(fidx, user, group, items, batch)

    def _clinical(
        self, fidx: int, user: tuple[int, int], group: str, items: list, batch: _Batch
    ) -> None:
        """Consultations, emergencies, admissions, dispensations: kind from the group."""
        ui, pidx = user
        date_field, kind = SERVICE_GROUPS[group]
        g, kind_code = _GROUP_CODE[group], KIND_CODE[kind]
        egress = group in EGRESS_GROUPS
        for ii, item in enumerate(items):
            if not isinstance(item, dict):
                self._problem(fidx, f"usuarios[{ui}].servicios.{group}[{ii}]", "not an object")
                continue
            code = self._diagnosis(fidx, item, DIAGNOSIS_FIELD, (ui, g, ii))
            batch.add(pidx, item.get(date_field), kind_code, code, (ui, g, ii))
            if egress and item.get("condicionDestinoUsuarioEgreso") == DECEASED:
                cause = self._diagnosis(fidx, item, "codDiagnosticoCausaMuerte", (ui, g, ii))
                batch.deaths.append((pidx, item.get("fechaEgreso"), cause, ui, g, ii))

    def _procedures(self, fidx: int, user: tuple[int, int], items: list, batch: _Batch) -> None:
        """Procedures: labs, vaccinations and screenings by their CUPS code; others counted."""
        ui, pidx = user
        g = _GROUP_CODE["procedimientos"]
        for ii, item in enumerate(items):
            if not isinstance(item, dict):
                self._problem(
                    fidx, f"usuarios[{ui}].servicios.procedimientos[{ii}]", "not an object"
                )
                continue
            cups = item.get("codProcedimiento")
            mapped = self._cups.get(cups) if isinstance(cups, str) else None
            if mapped is None:
                self.unmapped_cups[show(cups)] += 1
                continue
            batch.add(pidx, item.get("fechaInicioAtencion"), mapped[0], mapped[1], (ui, g, ii))

    def _diagnosis(self, fidx: int, item: dict, name: str, where: tuple[int, int, int]) -> int:
        """Code id of an ICD-10 diagnosis; -1 (and a problem) when missing or not a code."""
        raw = item.get(name)
        code = self._icd.get(raw, -1) if isinstance(raw, str) else -1
        if code >= 0:
            return code
        if isinstance(raw, str) and raw not in self._icd:
            normal = read_icd10(raw)
            code = self._icd[raw] = -1 if normal is None else self._code_id(normal)
            if code >= 0:
                return code
        ui, g, ii = where
        rule = "not an ICD-10 code" if isinstance(raw, str) and raw.strip() else "missing diagnosis"
        path = f"usuarios[{ui}].servicios.{_GROUP_NAMES[g]}[{ii}].{name}"
        self._problem(fidx, path, rule, show(raw))
        return -1

    def _code_id(self, code: str) -> int:
        return self.codes.setdefault(code, len(self.codes))

    # ------------------------------------------------------------------ end of a file

    def _finish(self, fidx: int, batch: _Batch) -> None:
        """Parse the file's dates at once; keep the events that are dated and after birth."""
        birth, _ = parse_days(batch.birth)
        if batch.person:
            user = np.asarray(batch.user, dtype="int64")
            day, keep = self._dated(fidx, batch, batch.date, birth[user], None)
            self.chunks.append(
                (
                    np.asarray(batch.person, dtype="int32")[keep],
                    day[keep].astype("int32"),
                    np.asarray(batch.kind, dtype="int8")[keep],
                    np.asarray(batch.code, dtype="int32")[keep],
                )
            )
        if batch.deaths:
            pidx, raw, cause, ui, g, ii = (list(c) for c in zip(*batch.deaths, strict=True))
            located = _Batch(user=ui, group=g, item=ii)
            day, keep = self._dated(fidx, located, raw, birth[np.asarray(ui)], "fechaEgreso")
            for k in np.flatnonzero(keep):
                path = f"usuarios[{ui[k]}].servicios.{_GROUP_NAMES[g[k]]}[{ii[k]}].fechaEgreso"
                self.deaths.append((pidx[k], int(day[k]), cause[k], Located(fidx, path)))

    def _dated(
        self, fidx: int, batch: _Batch, raw: list, birth: np.ndarray, name: str | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Days of ``raw`` dates and which to keep; a problem for each date left out.

        ``name`` is the date's field, or ``None`` for the date field of each event's group.
        """
        day, status = parse_days(raw)
        early = (status == 0) & (birth != NO_DAY) & (day < birth)
        status = np.where(early, len(_DATE_RULES) - 1, status)
        for k in np.flatnonzero(status):
            group = _GROUP_NAMES[batch.group[k]]
            field_ = name or SERVICE_GROUPS[group][0]
            path = f"usuarios[{batch.user[k]}].servicios.{group}[{batch.item[k]}].{field_}"
            self._problem(fidx, path, _DATE_RULES[status[k]], show(raw[k]))
        return day, status == 0


_DATE_RULES = (
    "",
    "missing date",
    "not a date",
    "date out of range 1850-2200",
    "service before the user's fechaNacimiento",
)


def events_frame(reader: RipsReader) -> pd.DataFrame:
    """Return the reader's events as one frame: person index, day, kind code and code id."""
    if reader.chunks:
        columns = [np.concatenate(parts) for parts in zip(*reader.chunks, strict=True)]
    else:
        columns = [np.zeros(0, dtype=t) for t in ("int32", "int32", "int8", "int32")]
    return pd.DataFrame(dict(zip(("person", "day", "kind", "code"), columns, strict=True)))
