"""Typed values out of OMOP columns, with every unreadable value reported, never dropped.

OMOP tables arrive typed (Parquet, databases) or as text (CSV). The converters here accept
both, and record each broken rule in a :class:`Problems` collector - table, column, rule, how
many rows and a few example ids - that raises one :class:`~masrisk.ValidationError` at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from masrisk.exceptions import Problem, ValidationError

__all__ = [
    "Labels",
    "Problems",
    "dates_from_parts",
    "labelled",
    "plain",
    "to_dates",
    "to_ids",
    "to_numbers",
    "to_source_ids",
    "to_text",
]

_MAX_EXAMPLES = 5
_CANONICAL_INTEGER = re.compile(r"-?[1-9][0-9]{0,17}|0")


@dataclass
class _Entry:
    rows: int = 0
    examples: list[str] = field(default_factory=list)
    detail: str = ""


class Problems:
    """Collects broken rules over many chunks, then raises them all at once."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str | None, str], _Entry] = {}

    def add(
        self,
        table: str,
        column: str | None,
        rule: str,
        mask: pd.Series | None = None,
        labels: pd.Series | Labels | None = None,
        *,
        detail: str = "",
    ) -> None:
        """Record rows of ``table`` where ``mask`` holds (or the whole table or column)."""
        if mask is not None:
            mask = mask.fillna(False).astype(bool)
            if not mask.any():
                return
        entry = self._entries.setdefault((table, column, rule), _Entry(detail=detail))
        if mask is None:
            return
        entry.rows += int(mask.sum())
        room = _MAX_EXAMPLES - len(entry.examples)
        if room > 0 and labels is not None:
            entry.examples.extend(_show(v) for v in labels[mask].drop_duplicates().iloc[:room])

    def __bool__(self) -> bool:
        return bool(self._entries)

    def raise_if_any(self, source: str) -> None:
        """Raise a :class:`~masrisk.ValidationError` listing every problem recorded."""
        if not self._entries:
            return
        problems = [
            Problem(table, column, rule, e.rows, tuple(e.examples), e.detail)
            for (table, column, rule), e in self._entries.items()
        ]
        raise ValidationError(problems, source=source)


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Labels:
    """Example labels ``"<name> <value>"`` of rows, made only for the rows asked for."""

    def __init__(self, values: pd.Series, name: str) -> None:
        self.values = values
        self.name = name

    def __getitem__(self, mask: pd.Series) -> pd.Series:
        return self.name + " " + self.values[mask].astype("str")


def labelled(frame: pd.DataFrame, key: str) -> Labels:
    """Labels rows of ``frame`` by their ``key`` column (e.g. ``"person_id 12"``)."""
    return Labels(frame[key], key)


def to_ids(
    values: pd.Series, table: str, column: str, problems: Problems, labels: pd.Series | Labels
) -> pd.Series:
    """Integers (``Int64``, missing kept) out of an OMOP id or concept id column."""
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("Int64")  # no float on the way: ids may pass 2**53
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    bad |= numbers.notna() & (numbers % 1 != 0)
    problems.add(table, column, "not an integer id", bad, labels)
    return numbers.mask(bad).astype("Float64").astype("Int64")


def to_numbers(
    values: pd.Series, table: str, column: str, problems: Problems, labels: pd.Series | Labels
) -> pd.Series:
    """Floats out of a numeric column; text that is not a number is a problem."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    problems.add(table, column, "not a number", numbers.isna() & values.notna(), labels)
    return numbers


def to_dates(
    values: pd.Series, table: str, column: str, problems: Problems, labels: pd.Series | Labels
) -> pd.Series:
    """Dates (midnight timestamps) out of DATE, TIMESTAMP or ISO 8601 text columns."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = (
            values.dt.tz_localize(None) if hasattr(values.dt, "tz") and values.dt.tz else values
        )
    elif pd.api.types.infer_dtype(values, skipna=True) in ("date", "datetime"):
        parsed = pd.to_datetime(values, errors="coerce")
    else:
        parsed = pd.to_datetime(values.astype("str"), format="ISO8601", errors="coerce")
        parsed = parsed.where(values.notna())
    problems.add(table, column, "not a date", parsed.isna() & values.notna(), labels)
    return parsed.dt.normalize().astype("datetime64[ns]")


def plain(values: pd.Series) -> pd.Series:
    """``Int64`` ids with no missing value as plain ``int64``; other series unchanged."""
    if isinstance(values.dtype, pd.Int64Dtype) and not values.isna().any():
        return values.astype("int64")
    return values


def to_text(values: pd.Series) -> pd.Series:
    """Text with surrounding spaces removed; empty text is missing."""
    text = values.astype("str").str.strip().where(values.notna())
    return text.mask(text == "")


def to_source_ids(values: pd.Series) -> pd.Series:
    """Source values as ids: integers when every one is an integer written plainly, else text.

    Integer ids written out by :func:`masrisk.io.to_omop` come back as integers, while ids
    such as ``"007"`` keep their zeros.
    """
    text = to_text(values)
    present = text.dropna()
    if len(present) and present.str.fullmatch(_CANONICAL_INTEGER.pattern).all():
        return pd.to_numeric(text).astype("Int64" if text.isna().any() else "int64")
    return text


def dates_from_parts(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    """Dates from year, month and day numbers; a missing month or day counts as 1."""
    parts = pd.DataFrame(
        {
            "year": year.astype("float64"),
            "month": month.astype("float64").fillna(1),
            "day": day.astype("float64").fillna(1),
        }
    )
    valid = parts.notna().all(axis=1) & parts["month"].between(1, 12) & parts["day"].between(1, 31)
    out = pd.Series(pd.NaT, index=year.index, dtype="datetime64[ns]")
    if valid.any():
        good = parts[valid].astype(np.int64)
        out[valid] = pd.to_datetime(good, errors="coerce")
    return out
