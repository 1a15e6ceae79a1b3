"""Users' own column names, read as the contract's: the one place data are renamed.

Two sources of names, in this order: a configuration's ``columns:`` mapping (table -> {their
name: contract name}, :attr:`masrisk.Config.columns`) and the names masrisk knows out of the
box (``column_names.yaml`` beside this module: DANE's names of the poverty-index flags, with
their source). A name is renamed only when the contract does not name it already; two names
of one contract column in the same table are refused. Columns that remain outside the
contract are kept, and :func:`unused_columns` names them (``masrisk validate`` and the log
say "kept, not used").

Examples
--------
>>> import pandas as pd
>>> from masrisk.exceptions import Problems
>>> from masrisk.schema.columns import rename_columns
>>> frames = {"households": pd.DataFrame({"household_id": [1], "territory_id": ["T1"],
...                                       "PISOS": [1], "hogar_estrato": [2]})}
>>> renamed = rename_columns(frames, {}, Problems())
>>> list(renamed["households"].columns)
['household_id', 'territory_id', 'dep_inadequate_floors', 'hogar_estrato']
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from masrisk.exceptions import Problems, show
from masrisk.tables import CONTRACT

__all__ = ["NAMES_FILE", "describe_unused", "known_names", "rename_columns", "unused_columns"]

logger = logging.getLogger(__name__)

#: The names masrisk recognises out of the box, with their sources.
NAMES_FILE = Path(__file__).with_name("column_names.yaml")


@lru_cache(maxsize=1)
def known_names() -> dict[str, dict[str, tuple[str, str]]]:
    """Return table -> {name, case-folded: (contract column, source)} of :data:`NAMES_FILE`."""
    with NAMES_FILE.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    known: dict[str, dict[str, tuple[str, str]]] = {}
    for table, sources in raw.items():
        for source, names in sources.items():
            for name, column in names.items():
                known.setdefault(table, {})[str(name).casefold()] = (column, source)
    return known


def rename_columns(
    frames: Mapping[str, pd.DataFrame | None],
    mapping: Mapping[str, Mapping[str, str]],
    found: Problems,
) -> dict[str, pd.DataFrame | None]:
    """Return the frames with users' names read as the contract's; problems go to ``found``.

    Parameters
    ----------
    frames : mapping of str to pandas.DataFrame
        Tables by contract name; frames are not modified (renamed ones are new frames).
    mapping : mapping of str to mapping of str to str
        A configuration's ``columns:``: table -> {their name: contract name}.
    found : Problems
        Receives a mapping to a column the contract does not have, and a contract column
        given twice (under two names, or under its own and another).
    """
    out = dict(frames)
    valid: dict[str, dict[str, str]] = {}
    for table, names in mapping.items():
        spec = CONTRACT.get(table)
        for theirs, ours in names.items():
            if spec is not None and spec.column(ours) is not None:
                valid.setdefault(table, {})[theirs] = ours
                continue
            where = f"columns.{table}.{theirs}"
            known = ", ".join(c.name for c in spec.columns) if spec else ", ".join(CONTRACT)
            rule = "maps to no column of the contract"
            found.add("config", where, rule, examples=[show(ours)], detail=f"known: {known}")
    for table, frame in frames.items():
        if isinstance(frame, pd.DataFrame) and table in CONTRACT:
            out[table] = _renamed(table, frame, valid.get(table, {}), found)
    return out


def _renamed(
    table: str, frame: pd.DataFrame, names: Mapping[str, str], found: Problems
) -> pd.DataFrame:
    spec, known = CONTRACT[table], known_names().get(table, {})
    renames: dict[str, str] = {}
    sources: dict[str, str] = {}
    for column in map(str, frame.columns):
        if column in names:
            renames[column], sources[column] = names[column], "the config's columns:"
        elif spec.column(column) is None and column.casefold() in known:
            ours, source = known[column.casefold()]
            renames[column], sources[column] = ours, f"{source.upper()}'s name"
    if not renames:
        return frame
    targets = pd.Series([renames.get(str(c), str(c)) for c in frame.columns])
    for ours in targets[targets.duplicated()].unique():
        given = [str(c) for c, t in zip(frame.columns, targets, strict=True) if t == ours]
        found.add(
            table, ours, "column given twice, under several names",
            examples=map(show, given), detail="keep one of them, or map only one",
        )  # fmt: skip
        renames = {t: o for t, o in renames.items() if o != ours}  # reported, not renamed
    for theirs, ours in renames.items():
        logger.info("%s: read %r as %s (%s)", table, theirs, ours, sources[theirs])
    return frame.rename(columns=renames)


def unused_columns(frames: Mapping[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Return table -> the columns the contract does not name (kept, not used), in order."""
    unused = {}
    for table, frame in frames.items():
        spec = CONTRACT.get(table)
        extra = [str(c) for c in frame.columns if spec is not None and spec.column(str(c)) is None]
        if extra:
            unused[table] = extra
    return unused


def describe_unused(table: str, columns: list[str]) -> str:
    """Say that ``columns`` of ``table`` are kept and not used, with a likely intended name."""
    names = [c.name for c in CONTRACT[table].columns]
    shown = []
    for column in columns:
        close = difflib.get_close_matches(column, names, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}? map it under columns: in the config)" if close else ""
        shown.append(f"{column!r}{hint}")
    return f"{table}: {len(columns)} column{'s' if len(columns) != 1 else ''} kept, not used: " + (
        ", ".join(shown)
    )
