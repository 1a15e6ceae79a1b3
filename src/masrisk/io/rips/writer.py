"""Tables as RIPS JSON documents, to test round trips through :func:`masrisk.io.from_rips`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from masrisk.exceptions import OutputExistsError, ParameterError
from masrisk.io.rips.codes import (
    CUPS_CODES,
    DECEASED,
    NO_REGIME_USER_TYPE,
    REGIME_USER_TYPE,
    SERVICE_GROUPS,
    ZONES,
    read_icd10,
    write_icd10,
)
from masrisk.io.rips.records import RECORD_BUILDERS, record
from masrisk.outputs import write_table
from masrisk.outputs.policy import replace_file
from masrisk.tables import Tables

__all__ = ["RipsExport", "to_rips"]

# event kind -> service group it is written in (deaths ride on emergencies and admissions)
_GROUP_OF_KIND = {
    **{kind: group for group, (_, kind) in SERVICE_GROUPS.items() if kind},
    **dict.fromkeys(("lab", "vaccination", "screening"), "procedimientos"),
}
_GROUPS = tuple(RECORD_BUILDERS)
_ZONE_CODE = {zone: code for code, zone in ZONES.items()}
_NIT = 900_000_000  # placeholder tax ids of the providers, 900000001 onwards


@dataclass(frozen=True)
class RipsExport:
    """What :func:`to_rips` wrote.

    Attributes
    ----------
    files : tuple of pathlib.Path
        The JSON documents, one per invoice.
    members : pandas.DataFrame
        The membership table to give :func:`masrisk.io.from_rips`: ``document_type,
        document_number, household_id, person_id, birth_date, sex``.
    added_events : pandas.DataFrame
        Events that reading the documents back gives and the tables do not hold: the
        emergency records that carry deaths without an emergency visit or admission before
        them (``person_id, date, kind, code``).
    not_carried : dict of str to int
        What RIPS could not carry (:mod:`masrisk.io.rips`), by field: ``value``, ``insurer``,
        ``pregnant``, ``disability``, ``regime`` and ``events`` (kinds or codes).
    """

    files: tuple[Path, ...]
    members: pd.DataFrame
    added_events: pd.DataFrame
    not_carried: dict[str, int]


def to_rips(
    tables: Tables,
    out_dir: str | os.PathLike,
    *,
    providers: int = 4,
    municipality: str | Mapping[str, str] = "11001",
    cups: Mapping[str, tuple[str, str]] | None = None,
    members_path: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> RipsExport:
    """Write tables as RIPS JSON documents: one per provider and month of service.

    Each person is billed by one of ``providers`` providers (by territory); each provider
    sends one invoice a month, listing every person served that month with their services,
    so a person appears in many documents. Identity documents are made up: the type by age
    at the last event date (``RC`` under 7, ``TI`` under 18, else ``CC``), the number from the
    person's rank. Dates are written ``YYYY-MM-DD 08:00``; egresses end on the day of the
    service at 20:00, or on the day of death for the record that carries a death.

    Parameters
    ----------
    tables : Tables
        The population, e.g. ``synthesize(...).tables``.
    out_dir : str or path-like
        Folder for the JSON files; created if missing.
    providers : int
        Number of providers billing (at least 1).
    municipality : str or mapping of territory_id to str
        DIVIPOLA code of the municipality of residence (Bogotá is ``"11001"``), for all
        territories or per territory.
    cups : mapping of str to (kind, code), optional
        CUPS codes added to (and overriding) :data:`masrisk.io.rips.CUPS_CODES`.
    members_path : str or path-like, optional
        Also write the membership table there (``.parquet`` or ``.csv``).
    overwrite : bool
        Remove the JSON files already in ``out_dir`` first; without it, a folder holding JSON
        files is refused (an import would read them with the new ones).

    Returns
    -------
    RipsExport
        The files, the membership table, the events the documents add and what was dropped.

    Raises
    ------
    masrisk.exceptions.OutputExistsError
        If ``out_dir`` holds JSON files and ``overwrite`` is false.
    """
    if providers < 1:
        raise ParameterError("providers", "an integer >= 1", providers)
    out = Path(out_dir)
    old = sorted(out.glob("*.json")) if out.is_dir() else []
    if old and not overwrite:
        raise OutputExistsError(f"{out} holds JSON files; pass overwrite=True to replace them")
    out.mkdir(parents=True, exist_ok=True)
    for path in old:
        path.unlink()
    people = _people(tables, providers, municipality)
    codes = {pair: code for code, pair in reversed(list({**CUPS_CODES, **(cups or {})}.items()))}
    records, added, dropped = _records(tables.events, people, codes)
    files = tuple(_write_invoices(records, people, out))
    members = people[
        ["document_type", "document_number", "household_id", "person_id", "birth_date", "sex"]
    ]
    if members_path is not None:
        write_table(members, members_path)
    return RipsExport(
        files=files,
        members=members.reset_index(drop=True),
        added_events=added,
        not_carried=_not_carried(tables, dropped),
    )


def _people(tables: Tables, providers: int, municipality: str | Mapping[str, str]) -> pd.DataFrame:
    """One row per person with everything a RIPS user entry needs."""
    persons = tables.persons.sort_values("person_id", kind="stable", ignore_index=True)
    events = tables.events
    reference = events["date"].max() if len(events) else pd.Timestamp.today().normalize()
    age = (reference - persons["birth_date"]).dt.days / 365.25
    kind = np.select([age < 7, age < 18], ["RC", "TI"], "CC")
    territory = persons["household_id"].map(
        tables.households.set_index("household_id")["territory_id"]
    )
    territories = tables.territories.set_index("territory_id")
    position = pd.Series(np.arange(len(territories)), index=territories.index)
    if not isinstance(municipality, str):
        municipality = territory.map(municipality).fillna("00000").astype("str")
    regime = persons.get("regime", pd.Series(None, index=persons.index, dtype=object))
    return pd.DataFrame(
        {
            "person_id": persons["person_id"],
            "household_id": persons["household_id"],
            "birth_date": persons["birth_date"],
            "birth": persons["birth_date"].dt.strftime("%Y-%m-%d"),
            "sex": persons["sex"].astype("str"),
            "document_type": kind,
            "document_number": [str(1_000_000_000 + k) for k in range(len(persons))],
            "user_type": regime.map(REGIME_USER_TYPE).fillna(NO_REGIME_USER_TYPE).astype("str"),
            "municipality": municipality,
            "zone": territory.map(territories["zone"].astype("str")).map(_ZONE_CODE).astype("str"),
            "provider": territory.map(position).to_numpy() % providers,
        }
    )


def _records(
    events: pd.DataFrame, people: pd.DataFrame, codes: Mapping[tuple[str, str], str]
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """One row per RIPS service record; the emergencies added for deaths; events dropped."""
    rank = pd.Series(np.arange(len(people)), index=people["person_id"])
    frame = pd.DataFrame(
        {
            "person": events["person_id"].map(rank).to_numpy(),
            "date": events["date"].to_numpy(),
            "kind": events["kind"].astype("str").to_numpy(),
            "code": events["code"].astype(object).to_numpy() if "code" in events else None,
        }
    )
    frame["group"] = frame["kind"].map(_GROUP_OF_KIND)
    procedure = (frame["group"] == "procedimientos").to_numpy()
    pairs = zip(frame["kind"][procedure], frame["code"][procedure], strict=True)
    frame["cups"] = None
    frame.loc[procedure, "cups"] = [codes.get(pair) for pair in pairs]
    frame["icd"] = _map_unique(frame["code"], _icd_or_none)
    carried = frame["group"].notna() & (~procedure | frame["cups"].notna())
    deaths = frame[frame["kind"] == "death"]
    frame = frame[carried].assign(egress=frame["date"], condition="01", cause=None)
    frame, added = _carry_deaths(frame, deaths)
    dropped = int((~carried).sum()) - len(deaths)
    added_events = pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy()[added["person"].to_numpy(dtype="int64")],
            "date": added["date"].to_numpy(),
            "kind": "emergency",
            "code": _map_unique(added["code"], read_icd10),
        }
    )
    return frame, added_events, dropped


def _map_unique(values: pd.Series, function) -> np.ndarray:
    """Apply ``function`` to each distinct value once (missing values give ``None``)."""
    position, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([function(v) for v in uniques] + [None], dtype=object)
    return mapped[position]


def _icd_or_none(code: object) -> str | None:
    return write_icd10(code) if isinstance(code, str) and code else None


def _carry_deaths(frame: pd.DataFrame, deaths: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Put each death on the person's last emergency or admission before it, else a new one."""
    carriers = frame[frame["group"].isin(["urgencias", "hospitalizacion"])]
    carriers = carriers.assign(row=carriers.index).sort_values("date")
    deaths = deaths.assign(death_row=deaths.index).sort_values("date")
    if len(deaths) and len(carriers):
        found = pd.merge_asof(
            deaths,
            carriers[["person", "date", "row"]],
            on="date",
            by="person",
            direction="backward",
        )
        found.loc[found["row"].duplicated() & found["row"].notna(), "row"] = np.nan
    else:
        found = deaths.assign(row=np.nan)
    on = found[found["row"].notna()]
    rows = on["row"].astype("int64").to_numpy()
    frame.loc[rows, "egress"] = on["date"].to_numpy()
    frame.loc[rows, "condition"] = DECEASED
    frame.loc[rows, "cause"] = on["icd"].to_numpy()
    alone = found[found["row"].isna()]
    new = alone[["person", "date", "icd"]].assign(
        kind="emergency",
        code=alone["code"],
        group="urgencias",
        cups=None,
        egress=alone["date"],
        condition=DECEASED,
        cause=alone["icd"],
    )
    return pd.concat([frame, new], ignore_index=True), alone


def _write_invoices(records: pd.DataFrame, people: pd.DataFrame, out: Path):
    """Write one document per provider and month; yield each file's path."""
    records = records.assign(
        provider=people["provider"].to_numpy()[records["person"].to_numpy(dtype="int64")],
        month=records["date"].to_numpy().astype("datetime64[M]"),
        group_rank=records["group"].map({g: k for k, g in enumerate(_GROUPS)}),
    ).sort_values(["provider", "month", "person", "group_rank", "date"], kind="stable")
    key = records["provider"].to_numpy() * 100_000 + records["month"].to_numpy().astype("int64")
    bounds = np.flatnonzero(np.diff(key)) + 1
    users = people.to_dict("records")
    for start, stop in zip([0, *bounds], [*bounds, len(records)], strict=True):
        invoice = records.iloc[start:stop]
        provider = int(invoice["provider"].iloc[0])
        number = f"FE{provider + 1:03d}{pd.Timestamp(invoice['month'].iloc[0]):%Y%m}"
        nit = str(_NIT + provider + 1)
        document = {
            "numDocumentoIdObligado": nit,
            "numFactura": number,
            "tipoNota": None,
            "numNota": None,
            "usuarios": _users(invoice, users, nit),
        }
        yield _dump(document, out / f"{nit}_{number}.json")


def _users(invoice: pd.DataFrame, users: list[dict], nit: str) -> list[dict]:
    """Return the user entries of one invoice, whose records are sorted by person and group."""
    names = ("person", "group", "kind", "icd", "cups", "condition", "cause")
    rows = {name: invoice[name].tolist() for name in names}
    rows |= {"start": _stamps(invoice["date"], "08:00"), "end": _stamps(invoice["egress"], "20:00")}
    entries: list[dict] = []
    person = None
    for values in zip(*rows.values(), strict=True):
        row = dict(zip(rows, values, strict=True))
        if row["person"] != person:
            person = row["person"]
            entries.append(_user(users[person], len(entries) + 1))
        records = entries[-1]["servicios"].setdefault(row["group"], [])
        records.append(record(row["group"], row, len(records) + 1, nit))
    return entries


def _stamps(dates: pd.Series, time: str) -> list[str]:
    days = np.datetime_as_string(dates.to_numpy().astype("datetime64[D]"), unit="D")
    return [f"{day} {time}" for day in days.tolist()]


def _user(person: dict, consecutive: int) -> dict:
    return {
        "tipoDocumentoIdentificacion": person["document_type"],
        "numDocumentoIdentificacion": person["document_number"],
        "tipoUsuario": person["user_type"],
        "fechaNacimiento": person["birth"],
        "codSexo": person["sex"],
        "codPaisResidencia": "170",
        "codMunicipioResidencia": person["municipality"],
        "codZonaTerritorialResidencia": person["zone"],
        "incapacidad": "NO",
        "consecutivo": consecutive,
        "codPaisOrigen": "170",
        "servicios": {},
    }


def _dump(document: dict, path: Path) -> Path:
    """Write JSON to a temporary file in the folder, then rename it into place."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))  # dumps: C encoder
    with replace_file(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def _not_carried(tables: Tables, dropped_events: int) -> dict[str, int]:
    persons, events, none = tables.persons, tables.events, pd.Series(dtype=object)
    counts = {
        "value": events.get("value", none).notna().sum(),
        **{c: persons.get(c, none).notna().sum() for c in ("insurer", "pregnant", "disability")},
    }
    regime = persons.get("regime", none)
    counts["regime"] = (regime.notna() & ~regime.isin(list(REGIME_USER_TYPE))).sum()
    return {**{k: int(n) for k, n in counts.items()}, "events": dropped_events}
