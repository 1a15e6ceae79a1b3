"""The contract's rules applied to frames: each column spec, then the keys and birth dates."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

from masrisk.exceptions import Problems, show
from masrisk.tables import CONTRACT, ColumnSpec, TableSpec

__all__ = ["check_tables"]


def check_tables(
    frames: Mapping[str, pd.DataFrame | None], found: Problems, extra_kinds: tuple[str, ...]
) -> dict[str, pd.DataFrame]:
    """Check frames against the contract into ``found``; return them with their dtypes."""
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in CONTRACT.items():
        frame = frames.get(name)
        if frame is None:
            if spec.required and not any(p.table == name and p.column is None for p in found):
                found.add(name, None, "missing table", detail=f"add {name}.parquet or .csv")
            continue
        if not isinstance(frame, pd.DataFrame):
            found.add(name, None, "not a table", detail=f"got {type(frame).__name__}")
            continue
        typed[name] = _check_table(frame, spec, found, extra_kinds)
    _check_keys(typed, found)
    _check_persons_against_events(typed, found)
    return typed


class _Column:
    """Where a column's problems go: its table, its name and the table's ids."""

    def __init__(self, found: Problems, table: str, name: str, ids: pd.Series | None) -> None:
        self.found, self.table, self.name, self.ids = found, table, name, ids

    def report(
        self, rule: str, mask: pd.Series, values: pd.Series | None = None, detail: str = ""
    ) -> None:
        self.found.add_rows(
            self.table, self.name, rule, mask, ids=self.ids, values=values, detail=detail
        )


def _check_table(
    frame: pd.DataFrame, spec: TableSpec, found: Problems, extra_kinds: tuple[str, ...]
) -> pd.DataFrame:
    """Check each column against its spec and give it its dtype: one loop over the specs."""
    out = frame.copy(deep=False)
    if out.columns.duplicated().any():
        twice = out.columns[out.columns.duplicated()].astype(str)
        found.add(spec.name, None, "duplicate column names", examples=map(show, twice))
        return out.loc[:, ~out.columns.duplicated()]
    ids = out[spec.key] if spec.key in out.columns else None
    for column in spec.columns:
        if column.name not in out.columns:
            if column.required:
                found.add(spec.name, column.name, "missing column")
            continue
        where = _Column(found, spec.name, column.name, ids)
        if column.required and column.kind not in ("id", "ref"):
            where.report("missing value", out[column.name].isna())
        out[column.name] = _check_column(out[column.name], column, where, extra_kinds)
    given = [c for c in spec.either if c in out.columns]
    if spec.either and not given:
        either = " or ".join(spec.either)
        found.add(spec.name, spec.either[0], "missing column", detail=f"give {either}")
    elif len(given) == 1:
        found.add_rows(spec.name, given[0], "missing value", frame[given[0]].isna(), ids=ids)
    return out


def _check_column(
    values: pd.Series, column: ColumnSpec, where: _Column, extra_kinds: tuple[str, ...]
) -> pd.Series:
    if column.kind == "date":
        return _check_dates(_as_plain(values), column, where)
    if column.kind in ("flag", "integer", "number"):
        return _check_numbers(_as_plain(values), column, where)
    if column.kind == "category":
        extra = extra_kinds if column.extensible else ()
        return _check_category(values, column.allowed, extra, where)
    return values


#: The end of an ISO 8601 time with a time-zone offset (``Z``, ``+01:00``, ``-0500``).
_OFFSET = r"T.*(?:Z|[+-]\d{2}:?\d{2})$"


def _check_dates(values: pd.Series, column: ColumnSpec, where: _Column) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_localize(None)
    elif is_datetime64_any_dtype(values.dtype):
        parsed = values
    elif is_numeric_dtype(values.dtype) or is_bool_dtype(values.dtype):
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    else:
        text = values.astype("str")
        zoned = values.notna() & text.str.contains(_OFFSET, regex=True)
        where.report("date with a time-zone offset", zoned, values, "write local dates")
        parsed = pd.to_datetime(text.mask(zoned), format="ISO8601", errors="coerce")
        values = values.mask(zoned)  # reported once
    where.report("not a date", parsed.isna() & values.notna(), values)
    parsed = _in_ranges(parsed, column, where, values)
    return parsed.astype("datetime64[ns]")


def _check_numbers(values: pd.Series, column: ColumnSpec, where: _Column) -> pd.Series:
    if is_bool_dtype(values.dtype):
        numbers = values.astype("float64")
    else:
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    if column.kind == "flag":
        bad = values.notna() & ~numbers.isin((0, 1))
        where.report("not a 0/1 flag", bad, values)
        if bad.any() or numbers.isna().any():
            return numbers.mask(bad).astype("Int8")
        return numbers.astype(column.dtype or "int8")
    where.report("not a number", numbers.isna() & values.notna(), values)
    where.report("not a finite number", np.isinf(numbers), values)
    numbers = numbers.mask(np.isinf(numbers))
    fraction = None
    if column.kind == "integer" and not pd.api.types.is_integer_dtype(values.dtype):
        fraction = numbers.notna() & (np.trunc(numbers) != numbers)
        where.report("not an integer", fraction, values)
    if column.allowed is not None:
        bad = numbers.notna() & ~numbers.isin(column.allowed)
        detail = f"allowed: {', '.join(map(str, column.allowed))}"
        where.report(column.violation or "unknown value", bad, values, detail)
    numbers = _in_ranges(numbers, column, where, values)
    if column.kind == "integer":
        whole = numbers.notna().all() and (fraction is None or not fraction.any())
        return numbers.astype(column.dtype or "int64") if whole else numbers
    return numbers.astype(column.dtype or "float64")


def _in_ranges(parsed: pd.Series, column: ColumnSpec, where: _Column, values: pd.Series):
    """Report the values outside the column's ranges and blank them, so none is cast."""
    for rule, low, high in column.ranges():
        outside = (parsed < low) | (parsed > high)
        where.report(rule, outside, values)
        parsed = parsed.mask(outside) if outside.any() else parsed
    return parsed


def _check_category(
    values: pd.Series, allowed: tuple | None, extra: tuple[str, ...], where: _Column
) -> pd.Series:
    text = _as_text_category(values)
    if allowed is None:
        return text
    allowed = tuple(dict.fromkeys([*allowed, *extra]))
    unknown = text.notna() & ~text.isin(allowed)
    if unknown.any():  # one example per distinct value, with its count: a misspelling repeats
        counts = text[unknown].astype("str").value_counts()
        examples = [f"{show(v)} ({n:,} rows)" for v, n in counts.items()]
        detail = f"allowed: {', '.join(map(str, allowed))}"
        rows = int(unknown.sum())
        where.found.add(
            where.table, where.name, "unknown value", rows=rows, examples=examples, detail=detail
        )
    return text.cat.set_categories(list(allowed))


def _as_text_category(values: pd.Series) -> pd.Series:
    """Categorical of strings; fast when the column already is one (Parquet written by us)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.cat.categories
        if all(isinstance(c, str) for c in categories):
            return values
        as_text = categories.astype("str")
        if as_text.is_unique:
            return values.cat.rename_categories(as_text)
        values = values.astype(object)
    return values.astype("str").where(values.notna()).astype("category")


def _as_plain(values: pd.Series) -> pd.Series:
    """Undo a categorical so numbers and dates parse from its values."""
    return values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values


def _check_keys(typed: dict[str, pd.DataFrame], found: Problems) -> None:
    """Ids present and unique; every reference resolves to an id of its table."""
    for name, frame in typed.items():
        for column in CONTRACT[name].columns:
            if column.name not in frame.columns or column.kind not in ("id", "ref"):
                continue
            values = frame[column.name]
            if column.required:
                rule = "missing id" if column.kind == "id" else "missing reference"
                found.add_rows(name, column.name, rule, values.isna())
            if column.kind == "id":
                twice = values.duplicated(keep=False) & values.notna()
                found.add_values(name, column.name, "duplicate id", twice, values)
                continue
            parent = typed.get(column.references or "")
            key = CONTRACT[column.references].key if column.references else None
            if parent is None or key not in parent.columns:
                continue
            orphan = values.notna() & ~values.isin(parent[key].dropna())
            rule = f"value matches no {column.references}.{key}"
            hint = _dtype_hint(values, parent[key])
            found.add_values(name, column.name, rule, orphan, values, detail=hint)


def _check_persons_against_events(typed: dict[str, pd.DataFrame], found: Problems) -> None:
    """Birth dates and ages must be possible given the events' dates."""
    persons, events = (typed.get(name, pd.DataFrame()) for name in ("persons", "events"))
    birth, dates, ids = persons.get("birth_date"), events.get("date"), persons.get("person_id")
    dated = [d is not None and is_datetime64_any_dtype(d.dtype) for d in (birth, dates)]
    if not all(dated) or pd.isna(last := dates.max()):
        return
    where = _Column(found, "persons", "birth_date", ids)
    shown = birth.dt.strftime("%Y-%m-%d")
    where.report(f"birth date after the last event date {last:%Y-%m-%d}", birth > last, shown)
    oldest = CONTRACT["persons"].column("age").bounds[1]
    too_old = birth <= last - pd.DateOffset(years=oldest + 1)
    where.report(f"age outside 0-{oldest:g} on {last:%Y-%m-%d}", too_old, shown)
    if ids is None or "person_id" not in events.columns or ids.duplicated().any():
        return  # a duplicate id is already reported; a birth date per person is ambiguous
    born = events["person_id"].map(pd.Series(birth.to_numpy(), index=ids.to_numpy()))
    rule = "event before the person's birth date"
    found.add_rows("events", "date", rule, dates < born, ids=events["person_id"])


def _dtype_hint(child: pd.Series, parent: pd.Series) -> str:
    """Say when ids here are text and the parent's numbers, or the other way round."""
    here, there = ("numbers" if is_numeric_dtype(s.dtype) else "text" for s in (child, parent))
    return f"ids here are {here} but {parent.name} ids are {there}" if here != there else ""
