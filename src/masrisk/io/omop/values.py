"""Typed values out of OMOP columns, with every unreadable value reported, never dropped.

OMOP tables arrive typed (Parquet, databases) or as text (CSV). The converters here accept
both, and record each broken rule in a :class:`~masrisk.exceptions.Problems` collector -
table, column, rule, how many rows and a few example ids (``labels``: the rows' ids, named
by their column) - that raises one :class:`~masrisk.ValidationError` at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from masrisk.exceptions import Problems

__all__ = [
    "dates_from_parts",
    "plain",
    "to_dates",
    "to_ids",
    "to_numbers",
]


def to_ids(
    values: pd.Series, table: str, column: str, problems: Problems, labels: pd.Series
) -> pd.Series:
    """Integers (``Int64``, missing kept) out of an OMOP id or concept id column."""
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("Int64")  # no float on the way: ids may pass 2**53
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    bad |= numbers.notna() & (numbers % 1 != 0)
    problems.add_rows(table, column, "not an integer id", bad, ids=labels)
    return numbers.mask(bad).astype("Float64").astype("Int64")


def to_numbers(
    values: pd.Series, table: str, column: str, problems: Problems, labels: pd.Series
) -> pd.Series:
    """Floats out of a numeric column; text that is not a number is a problem."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    problems.add_rows(table, column, "not a number", numbers.isna() & values.notna(), ids=labels)
    return numbers


def to_dates(
    values: pd.Series, table: str, column: str, problems: Problems, labels: pd.Series
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
    problems.add_rows(table, column, "not a date", parsed.isna() & values.notna(), ids=labels)
    return parsed.dt.normalize().astype("datetime64[ns]")


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
        good = parts[valid].astype(np.int64)
        out[valid] = pd.to_datetime(good, errors="coerce")
    return out
