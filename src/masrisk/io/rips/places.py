"""The user's households, territories and membership table, read and checked for an import."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from masrisk.exceptions import Problems
from masrisk.io.user_tables import TableInput, align_ids, read_user_table

__all__ = ["MEMBER_KEY", "Places", "new_ids", "read_places"]

#: Columns of the membership table that identify a person as RIPS does.
MEMBER_KEY: tuple[str, str] = ("document_type", "document_number")


@dataclass(frozen=True)
class Places:
    """Households, territories and members given by the user (``None`` when not given)."""

    households: pd.DataFrame | None
    territories: pd.DataFrame | None
    members: pd.DataFrame | None


def read_places(households: TableInput, territories: TableInput, members: TableInput) -> Places:
    """Read the tables (frames, or ``.parquet``/``.csv`` paths); raise if they do not fit."""
    given = {"households": households, "territories": territories, "members": members}
    frames = {name: read_user_table(value, name) for name, value in given.items()}
    found = Problems("RIPS import: households, territories, members")
    if frames["members"] is not None and frames["households"] is None:
        found.add("members", None, "members given without households")
    if frames["households"] is not None and frames["territories"] is None:
        found.add("households", None, "households given without territories")
    for name, key in (("households", "household_id"), ("territories", "territory_id")):
        if frames[name] is not None and key not in frames[name].columns:
            found.add(name, key, "missing column")
    if frames["members"] is not None:
        frames["members"] = _check_members(frames["members"], frames["households"], found)
    found.raise_if_any()
    return Places(**frames)


def _check_members(
    members: pd.DataFrame, households: pd.DataFrame | None, found: Problems
) -> pd.DataFrame:
    missing = [c for c in (*MEMBER_KEY, "household_id") if c not in members.columns]
    for column in missing:
        found.add("members", column, "missing column")
    if missing:
        return members
    members = members.assign(
        document_type=members["document_type"].astype("str").str.strip().str.upper(),
        document_number=members["document_number"].astype("str").str.strip(),
    )
    dup = members.duplicated(list(MEMBER_KEY), keep=False)
    documents = members["document_type"] + "-" + members["document_number"]
    found.add_values("members", None, "duplicate document", dup, documents)
    if "person_id" in members.columns:
        dup = members["person_id"].duplicated(keep=False)
        found.add_values("members", None, "duplicate person_id", dup, members["person_id"])
    if households is None or "household_id" not in households.columns:
        return members
    household = align_ids(members["household_id"], households["household_id"])
    unknown = ~household.isin(households["household_id"])
    rule = "value matches no households.household_id"
    found.add_values("members", "household_id", rule, unknown, members["household_id"])
    return members.assign(household_id=household)


def new_ids(given: pd.DataFrame | None, table: str, column: str, labels: pd.Series) -> pd.Series:
    """Return ids for new rows: ``labels``, or integers after the largest integer id given.

    A label that is already an id of the user's ``table`` (``given[column]``) raises.
    """
    existing = None if given is None else given[column]
    if existing is not None and pd.api.types.is_integer_dtype(existing.dtype):
        start = int(existing.max()) + 1 if len(existing) else 1
        codes, _ = pd.factorize(labels)
        return pd.Series(codes + start, index=labels.index, dtype=existing.dtype)
    if existing is not None:
        found = Problems("RIPS import")
        rule = "id already in use by an id the import makes"
        found.add_values(table, existing.name, rule, labels.isin(existing.astype("str")), labels)
        found.raise_if_any()
    return labels
