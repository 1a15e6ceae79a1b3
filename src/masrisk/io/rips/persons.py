"""The persons of a RIPS import, one per identity document, placed in their households."""

from __future__ import annotations

import numpy as np
import pandas as pd

from masrisk.exceptions import show
from masrisk.io.rips.codes import (
    BIRTH,
    MUNICIPALITY,
    SEX,
    SEXES,
    USER_FIELDS,
    USER_TYPE,
    USER_TYPE_REGIME,
    ZONE,
    ZONES,
    check_user_value,
    parse_days,
)
from masrisk.io.rips.places import MEMBER_KEY, Places, new_ids
from masrisk.io.rips.reader import RipsReader

__all__ = ["PERSON_EXTRAS", "resolve_persons", "place_persons", "members_without_services"]

#: Optional persons columns that a membership table may carry (RIPS carries only the regime).
PERSON_EXTRAS: tuple[str, ...] = ("regime", "insurer", "pregnant", "disability")


def resolve_persons(reader: RipsReader) -> pd.DataFrame:
    """One row per person the reader saw, in reader order; problems go to ``reader.problems``.

    Columns: ``document_type, document_number, birth_date, sex, regime, municipality, zone,
    left_out`` (why the person cannot be imported, or ``""``).
    """
    values = pd.DataFrame.from_records(reader.first, columns=list(USER_FIELDS))
    values = values.astype(object) if len(values) else values
    for (pidx, k), votes in reader.votes.items():
        ranked = votes.most_common()  # the first seen first on ties
        valid = [value for value, _ in ranked if not check_user_value(k, value)]
        chosen = values.iat[pidx, k] = valid[0] if valid else ranked[0][0]
        if k in (BIRTH, SEX) and len(valid) > 1:
            at = reader.conflict_at[pidx, k]
            counts = ", ".join(f"{show(v)} in {n}" for v, n in ranked)
            rule = f"{USER_FIELDS[k]} differs across invoices"
            reader.report(*at, rule, detail=f"{counts}; kept {show(chosen)}")
    days, status = parse_days(values[USER_FIELDS[BIRTH]].tolist())
    sex = values[USER_FIELDS[SEX]]
    left_out = np.where(
        status != 0, "no valid fechaNacimiento", np.where(sex.isin(SEXES), "", "sex not F or M")
    )
    municipality = values[USER_FIELDS[MUNICIPALITY]]
    valid_municipality = municipality.map(lambda v: not check_user_value(MUNICIPALITY, v))
    keys = list(reader.keys)
    people = pd.DataFrame(
        {
            "document_type": pd.Series([k[0] for k in keys], dtype="str"),
            "document_number": pd.Series([k[1] for k in keys], dtype="str"),
            "birth_date": days.astype("datetime64[D]").astype("datetime64[ns]"),
            "sex": sex.where(sex.isin(SEXES)).astype("str"),
            "regime": values[USER_FIELDS[USER_TYPE]].map(USER_TYPE_REGIME).astype("str"),
            "municipality": municipality.where(valid_municipality, "00000").astype("str"),
            "zone": values[USER_FIELDS[ZONE]].map(ZONES).fillna(ZONES["02"]).astype("str"),
            "left_out": left_out,
        }
    )
    for pidx in np.flatnonzero(left_out != ""):
        label = f"{keys[pidx][0]}-{keys[pidx][1]}"
        reader.report(*reader.where[pidx], f"person left out: {left_out[pidx]}", label)
    return people


def place_persons(people: pd.DataFrame, places: Places) -> pd.DataFrame:
    """Add ``person_id``, ``household_id``, ``matched`` and the members' extra columns.

    ``person_id`` is the membership table's when it has one, else ``"<type>-<number>"``;
    unmatched persons get new ids (see :func:`masrisk.io.rips.places.new_ids`).
    """
    labels = people["document_type"] + "-" + people["document_number"]
    members = places.members
    if members is None:
        return people.assign(person_id=labels, household_id=None, matched=False)
    key = pd.MultiIndex.from_arrays([people["document_type"], people["document_number"]])
    aligned = members.set_index(list(MEMBER_KEY)).reindex(key)
    matched = aligned["household_id"].notna().to_numpy()
    out = people.assign(matched=matched, person_id=labels)
    if "person_id" in members.columns:
        ids = pd.Series(aligned["person_id"].to_numpy(), dtype=object)
        ids[~matched] = new_ids(members, "members", "person_id", labels[~matched]).to_numpy()
        integer = pd.api.types.is_integer_dtype(members["person_id"].dtype)
        out["person_id"] = ids.astype(members["person_id"].dtype) if integer else ids
    out["household_id"] = aligned["household_id"].to_numpy()
    for column in PERSON_EXTRAS:
        if column in aligned.columns:
            extra = aligned[column].to_numpy()
            out[column] = out[column].where(out[column].notna(), extra) if column in out else extra
    return out


def members_without_services(places: Places, people: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Members that no RIPS user matches, as persons, and how many were left out.

    Members become persons when the membership table gives a valid ``birth_date`` (ISO 8601)
    and ``sex`` (``F``/``M``); the others are left out and counted.
    """
    members = places.members
    if members is None:
        return people.iloc[:0], 0
    seen = pd.MultiIndex.from_arrays([people["document_type"], people["document_number"]])
    rest = members[~pd.MultiIndex.from_frame(members[list(MEMBER_KEY)]).isin(seen)]
    if not {"birth_date", "sex"} <= set(rest.columns):
        return people.iloc[:0], len(rest)
    birth = pd.to_datetime(rest["birth_date"], format="ISO8601", errors="coerce")
    usable = (birth.notna() & rest["sex"].isin(SEXES)).to_numpy()
    rest = rest[usable]
    labels = rest["document_type"] + "-" + rest["document_number"]
    out = pd.DataFrame(
        {
            "person_id": rest["person_id"] if "person_id" in rest.columns else labels,
            "household_id": rest["household_id"],
            "birth_date": birth[usable].astype("datetime64[ns]"),
            "sex": rest["sex"].astype("str"),
            "document_type": rest["document_type"],
            "document_number": rest["document_number"],
        }
    )
    extras = rest[[c for c in PERSON_EXTRAS if c in rest.columns]]
    return pd.concat([out, extras], axis=1).reset_index(drop=True), int((~usable).sum())
