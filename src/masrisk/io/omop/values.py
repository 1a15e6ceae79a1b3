"""Typed values out of OMOP columns; every unreadable value is reported, never dropped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from masrisk.exceptions import Problems
from masrisk.io.omop.cdm import Plan
from masrisk.io.omop.store import Store
from masrisk.io.user_tables import to_text

__all__ = ["Cells", "Source", "dates_from_parts", "plain"]


@dataclass(frozen=True)
class Cells:
    """The columns of one chunk of an OMOP table; a column the chunk lacks reads as missing."""

    frame: pd.DataFrame
    table: str
    problems: Problems
    labels: pd.Series

    def raw(self, column: str) -> pd.Series:
        """Return the column as read (all missing when absent)."""
        if column in self.frame.columns:
            return self.frame[column]
        return pd.Series(pd.NA, index=self.frame.index, dtype=object)

    def flag(
        self, column: str | None, rule: str, mask: pd.Series, *, ids: Any = None, detail: str = ""
    ) -> None:
        """Record the rows where ``mask`` holds, named by ``ids`` (by default the labels)."""
        ids = self.labels if ids is None else ids
        self.problems.add_rows(self.table, column, rule, mask, ids=ids, detail=detail)

    def ids(self, column: str) -> pd.Series:
        """Return integers (``Int64``, missing kept) out of an OMOP id or concept id column."""
        values = self.raw(column)
        if pd.api.types.is_integer_dtype(values.dtype):
            return values.astype("Int64")  # no float on the way: ids may pass 2**53
        numbers = pd.to_numeric(values, errors="coerce")
        bad = (numbers.isna() & values.notna()) | (numbers.notna() & (numbers % 1 != 0))
        self.flag(column, "not an integer id", bad)
        return numbers.mask(bad).astype("Float64").astype("Int64")

    def numbers(self, column: str) -> pd.Series:
        """Return floats out of a numeric column; text that is not a number is a problem."""
        values = self.raw(column)
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        self.flag(column, "not a number", numbers.isna() & values.notna())
        return numbers

    def dates(self, column: str) -> pd.Series:
        """Return dates (midnight timestamps) out of DATE, TIMESTAMP or ISO 8601 text."""
        values = self.raw(column)
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            parsed = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
        elif pd.api.types.infer_dtype(values, skipna=True) in ("date", "datetime"):
            parsed = pd.to_datetime(values, errors="coerce")
        else:
            parsed = pd.to_datetime(values.astype("str"), format="ISO8601", errors="coerce")
            parsed = parsed.where(values.notna())
        self.flag(column, "not a date", parsed.isna() & values.notna())
        return parsed.dt.normalize().astype("datetime64[ns]")

    def text(self, column: str) -> pd.Series:
        """Return the column as text, spaces stripped; empty text is missing."""
        return to_text(self.raw(column))


@dataclass(frozen=True)
class Source:
    """A store, the columns to read of each table (``plan``), and where problems go."""

    store: Store
    plan: Plan
    problems: Problems
    chunksize: int

    def chunks(self, table: str, key: str) -> Iterator[Cells]:
        """Yield chunks of ``table`` (none if absent), rows named by ``key`` (else person_id)."""
        columns = self.plan.get(table)
        if columns is None:
            return
        for chunk in self.store.read(table, columns, self.chunksize):
            yield Cells(chunk, table, self.problems, chunk[key if key in chunk else "person_id"])

    def whole(self, table: str, key: str) -> Cells | None:
        """Return the whole of ``table`` (``None`` if absent), rows named by ``key``."""
        columns = self.plan.get(table)
        if columns is None:
            return None
        chunks = [cells.frame for cells in self.chunks(table, key)]
        frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)
        return Cells(frame, table, self.problems, frame[key])


def plain(values: pd.Series) -> pd.Series:
    """``Int64`` ids with no missing value as plain ``int64``; other series unchanged."""
    if isinstance(values.dtype, pd.Int64Dtype) and not values.isna().any():
        return values.astype("int64")
    return values


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
        out[valid] = pd.to_datetime(parts[valid].astype(np.int64), errors="coerce")
    return out
