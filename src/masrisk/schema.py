"""Read a data directory and validate it against the data contract.

Validation collects *every* problem - table, column, rule, number of rows and a few example
ids or values - and raises a single :class:`~masrisk.exceptions.ValidationError`. Nothing is
dropped, imputed or coerced silently: a value that cannot be read as its column's type is a
problem, not a missing value.

Examples
--------
>>> import pandas as pd
>>> import masrisk
>>> frames = {
...     "territories": pd.DataFrame({"territory_id": ["T1"], "zone": ["urban"], "population": [3]}),
...     "households": pd.DataFrame({"household_id": [1], "territory_id": ["T1"]}),
...     "persons": pd.DataFrame({"person_id": [1, 2], "household_id": [1, 9],
...                              "birth_date": ["1980-02-29", "1990-13-01"], "sex": ["F", "M"]}),
...     "events": pd.DataFrame({"person_id": [1], "date": ["2024-01-05"], "kind": ["outpatient"]}),
... }
>>> masrisk.Tables.from_frames(frames)
Traceback (most recent call last):
...
masrisk.exceptions.ValidationError: 2 problems
  persons.birth_date: not a date in 1 row (e.g. '1990-13-01' (person_id 2))
  persons.household_id: value matches no households.household_id in 1 row (e.g. 9)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from masrisk.codes import EVENT_KINDS, SEXES
from masrisk.exceptions import Problem, ValidationError
from masrisk.tables import CONTRACT, ColumnSpec, Tables, TableSpec
from masrisk.vocabulary import ZONES

__all__ = [
    "load_tables",
    "normalize_and_validate",
    "read_frames",
    "read_table_file",
    "table_files",
    "validate",
]

logger = logging.getLogger(__name__)

_MAX_EXAMPLES = 5
_LEVELS = (1, 2, 3)
_EARLIEST, _LATEST = pd.Timestamp("1850-01-01"), pd.Timestamp("2200-01-01")
# Inclusive bounds of numeric columns: (table, column) -> (low, high).
_BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
    ("territories", "population"): (0, np.inf),
    ("territories", "area_km2"): (0, np.inf),
    ("territories", "lon"): (-180, 180),
    ("territories", "lat"): (-90, 90),
    ("adjacency", "weight"): (0, np.inf),
    ("persons", "age"): (0, 120),
    ("facilities", "lon"): (-180, 180),
    ("facilities", "lat"): (-90, 90),
    ("facilities", "capacity"): (0, np.inf),
}
_FLOAT32_COLUMNS = {("events", "value"), ("persons", "age")}


# --------------------------------------------------------------------------- reading


def read_frames(path: str | Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read every table file of a data directory as it is on disk, without validating.

    Parameters
    ----------
    path : str or pathlib.Path
        A directory holding ``<table>.parquet`` or ``<table>.csv`` for the tables of the
        contract. Other files are ignored. CSV cells are read as text (so ids such as
        ``"007"`` keep their zeros); only empty cells are missing.

    Returns
    -------
    frames : dict of str to pandas.DataFrame
        The tables found.
    problems : list of Problem
        Files that could not be read, or tables given twice.
    """
    files, problems = table_files(path)
    frames: dict[str, pd.DataFrame] = {}
    for name, file in files.items():
        try:
            frames[name] = read_table_file(file)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
            problems.append(Problem(name, None, "unreadable file", detail=f"{file.name}: {exc}"))
    return frames, problems


def table_files(path: str | Path) -> tuple[dict[str, Path], list[Problem]]:
    """Find the file of each table of a data directory: ``<table>.parquet`` or ``.csv``.

    Returns
    -------
    files : dict of str to pathlib.Path
        The tables found, in contract order.
    problems : list of Problem
        Tables given twice (as both ``.parquet`` and ``.csv``); they are left out of ``files``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a directory.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"data directory not found: {directory}")
    files: dict[str, Path] = {}
    problems: list[Problem] = []
    for name in CONTRACT:
        present = [directory / f"{name}.{ext}" for ext in ("parquet", "csv")]
        present = [p for p in present if p.is_file()]
        if len(present) > 1:
            problems.append(
                Problem(name, None, "table given twice", detail="keep either the .parquet or .csv")
            )
        elif present:
            files[name] = present[0]
    return files, problems


def read_table_file(path: str | Path, *, categories: Iterable[str] = ()) -> pd.DataFrame:
    """Read one table file as it is on disk: Parquet as typed, CSV cells as text.

    CSV cells are read as text so that ids such as ``"007"`` keep their zeros; only empty
    cells are missing. Nothing is validated.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv`` or ``.parquet`` file, or a folder of Parquet files.
    categories : iterable of str
        Parquet text columns to read straight into categoricals (Arrow dictionaries): for
        tens of millions of events, about 5 times faster than strings converted afterwards.
    """
    file = Path(path)
    if file.suffix == ".parquet" or file.is_dir():
        wanted = list(categories)
        if wanted:
            import pyarrow.parquet as pq

            first = file if file.is_file() else min(file.glob("*.parquet"), default=None)
            names = pq.read_schema(first).names if first is not None else []
            wanted = [c for c in wanted if c in names]
        return pd.read_parquet(file, read_dictionary=wanted) if wanted else pd.read_parquet(file)
    return pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")


def load_tables(path: str | Path, *, extra_kinds: Iterable[str] = ()) -> Tables:
    """Read and validate a data directory.

    Parameters
    ----------
    path : str or pathlib.Path
        Directory with one file per table, ``<table>.parquet`` or ``<table>.csv``.
    extra_kinds : iterable of str
        Event kinds accepted beside the built-in ones (see ``Config.extra_event_kinds``).

    Returns
    -------
    Tables
        Dates as datetimes, ``sex``, ``zone``, ``kind`` and ``code`` as categoricals, flags
        as int8, ids as given.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a directory.
    masrisk.ValidationError
        Listing every problem of every table.
    """
    frames, problems = read_frames(path)
    return normalize_and_validate(
        frames, source=str(path), extra_kinds=extra_kinds, problems=problems
    )


def validate(
    tables: Tables | Mapping[str, pd.DataFrame], *, extra_kinds: Iterable[str] = ()
) -> None:
    """Check tables against the data contract; raise listing every problem.

    Parameters
    ----------
    tables : Tables or mapping of str to pandas.DataFrame
        The tables to check. Frames are not modified.
    extra_kinds : iterable of str
        Event kinds accepted beside the built-in ones.

    Raises
    ------
    masrisk.ValidationError
        If any rule is broken.
    """
    frames = dict(tables.items()) if isinstance(tables, Tables) else dict(tables)
    normalize_and_validate(frames, extra_kinds=extra_kinds)


def normalize_and_validate(
    frames: Mapping[str, pd.DataFrame | None],
    *,
    source: str | None = None,
    extra_kinds: Iterable[str] = (),
    problems: list[Problem] | None = None,
) -> Tables:
    """Give each column its contract dtype, check every rule and return :class:`Tables`.

    The input frames are never modified. Columns the contract does not name are kept as
    they are.

    Raises
    ------
    masrisk.ValidationError
        If any problem was found (including those passed in ``problems``).
    """
    found = list(problems or [])
    kinds = tuple(dict.fromkeys([*EVENT_KINDS, *extra_kinds]))
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in CONTRACT.items():
        frame = frames.get(name)
        if frame is None:
            if spec.required and not any(p.table == name and p.column is None for p in found):
                found.append(
                    Problem(name, None, "missing table", detail=f"add {name}.parquet or .csv")
                )
            continue
        if not isinstance(frame, pd.DataFrame):
            found.append(Problem(name, None, "not a table", detail=f"got {type(frame).__name__}"))
            continue
        typed[name] = _normalize_table(frame, spec, found, kinds=kinds)
    _check_keys(typed, found)
    _check_persons_against_events(typed, found)
    if found:
        raise ValidationError(found, source=source)
    if "birth_date" not in typed["persons"].columns:
        typed["persons"] = _birth_dates_from_age(typed["persons"], typed["events"])
    return Tables(**typed)


def _birth_dates_from_age(persons: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Persons given by age: birth dates half a year before the age at the last event date."""
    reference = events["date"].max() if len(events) else pd.Timestamp.today().normalize()
    days = np.round((persons["age"].to_numpy(dtype="float64") + 0.5) * 365.25)
    birth = (reference - pd.to_timedelta(days, unit="D")).astype("datetime64[ns]")
    logger.info("persons: birth_date derived from age at %s", f"{reference:%Y-%m-%d}")
    return persons.assign(birth_date=birth)


# --------------------------------------------------------------------------- columns


def _normalize_table(
    frame: pd.DataFrame, spec: TableSpec, found: list[Problem], *, kinds: tuple[str, ...]
) -> pd.DataFrame:
    out = frame.copy(deep=False)
    if out.columns.duplicated().any():
        dup = out.columns[out.columns.duplicated()].astype(str)
        found.append(Problem(spec.name, None, "duplicate column names", examples=_quote(dup)))
        return out.loc[:, ~out.columns.duplicated()]
    rows = _RowNamer(out, spec.key)
    for column in spec.columns:
        if column.name not in out.columns:
            if column.required:
                found.append(Problem(spec.name, column.name, "missing column"))
            continue
        out[column.name] = _normalize_column(
            out[column.name], spec.name, column, rows, found, kinds
        )
    if spec.name == "persons":
        if not {"birth_date", "age"} & set(out.columns):
            found.append(
                Problem("persons", "birth_date", "missing column", detail="give birth_date or age")
            )
        for column in ("birth_date", "age"):
            other = "age" if column == "birth_date" else "birth_date"
            if column in out.columns and other not in out.columns:
                _report(found, "persons", column, "missing value", frame[column].isna(), rows)
    return out


def _normalize_column(
    values: pd.Series,
    table: str,
    column: ColumnSpec,
    rows: _RowNamer,
    found: list[Problem],
    kinds: tuple[str, ...],
) -> pd.Series:
    name = column.name
    if column.kind in ("date", "flag", "integer", "number"):
        values = _as_plain(values)
    if column.required and column.kind not in ("id", "ref"):
        _report(found, table, name, "missing value", values.isna(), rows)
    if column.kind == "date":
        return _to_dates(values, table, name, rows, found)
    if column.kind == "flag":
        return _to_flags(values, table, name, rows, found)
    if column.kind in ("integer", "number"):
        return _to_numbers(values, table, column, rows, found)
    if column.kind == "category":
        allowed = {"sex": SEXES, "zone": ZONES, "kind": kinds}.get(name)
        return _to_category(values, table, name, allowed, found)
    return values


def _to_dates(
    values: pd.Series, table: str, name: str, rows: _RowNamer, found: list[Problem]
) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values
    elif pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    else:
        parsed = pd.to_datetime(values.astype("str"), format="ISO8601", errors="coerce")
    _report(found, table, name, "not a date", parsed.isna() & values.notna(), rows, values)
    outside = (parsed < _EARLIEST) | (parsed > _LATEST)
    _report(found, table, name, "date out of range 1850-2200", outside, rows, values)
    return parsed.mask(outside).astype("datetime64[ns]")


def _to_numbers(
    values: pd.Series, table: str, column: ColumnSpec, rows: _RowNamer, found: list[Problem]
) -> pd.Series:
    name = column.name
    if pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.astype("float64")
    else:
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    _report(found, table, name, "not a number", numbers.isna() & values.notna(), rows, values)
    _report(found, table, name, "not a finite number", np.isinf(numbers), rows, values)
    numbers = numbers.mask(np.isinf(numbers))
    if column.kind == "integer":
        _report(
            found, table, name, "not an integer", numbers.notna() & (numbers % 1 != 0), rows, values
        )
    low, high = _BOUNDS.get((table, name), (-np.inf, np.inf))
    if name == "level":
        _report(
            found,
            table,
            name,
            "unknown facility level",
            numbers.notna() & ~numbers.isin(_LEVELS),
            rows,
            values,
            detail="levels of care are 1, 2 or 3",
        )
    elif low == 0 and high == np.inf:
        _report(found, table, name, "negative", numbers < 0, rows, values)
    elif name == "age":
        _report(
            found,
            table,
            name,
            "age outside 0-120",
            (numbers < low) | (numbers > high),
            rows,
            values,
        )
    else:
        _report(
            found,
            table,
            name,
            f"outside {low:g} to {high:g}",
            (numbers < low) | (numbers > high),
            rows,
            values,
        )
    if column.kind == "integer" and numbers.notna().all() and (numbers % 1 == 0).all():
        return numbers.astype("int8" if name == "level" else "int64")
    return numbers.astype("float32") if (table, name) in _FLOAT32_COLUMNS else numbers


def _to_flags(
    values: pd.Series, table: str, name: str, rows: _RowNamer, found: list[Problem]
) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.astype("float64")
    else:
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = values.notna() & ~numbers.isin((0, 1))
    _report(found, table, name, "not a 0/1 flag", bad, rows, values)
    if bad.any() or numbers.isna().any():
        return numbers.mask(bad).astype("Int8")
    return numbers.astype("int8")


def _to_category(
    values: pd.Series, table: str, name: str, allowed: tuple | None, found: list[Problem]
) -> pd.Series:
    text = _as_text_category(values)
    if allowed is None:
        return text
    unknown = text.notna() & ~text.isin(allowed)
    if unknown.any():
        counts = text[unknown].astype("str").value_counts()
        found.append(
            Problem(
                table,
                name,
                "unknown value",
                rows=int(unknown.sum()),
                examples=tuple(
                    f"{v!r} ({n:,} rows)" for v, n in counts.head(_MAX_EXAMPLES).items()
                ),
                detail=f"allowed: {', '.join(map(str, allowed))}",
            )
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
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(object)
    return values


# --------------------------------------------------------------------------- keys


def _check_keys(typed: dict[str, pd.DataFrame], found: list[Problem]) -> None:
    """Ids present and unique; every reference resolves to an id of its table."""
    for name, frame in typed.items():
        spec = CONTRACT[name]
        rows = _RowNamer(frame, None)
        for column in spec.columns:
            if column.name not in frame.columns or column.kind not in ("id", "ref"):
                continue
            values = frame[column.name]
            missing_rule = "missing id" if column.kind == "id" else "missing reference"
            if column.required:
                _report(found, name, column.name, missing_rule, values.isna(), rows)
            if column.kind == "id":
                dup = values.duplicated(keep=False) & values.notna()
                if dup.any():
                    found.append(
                        Problem(
                            name,
                            column.name,
                            "duplicate id",
                            rows=int(dup.sum()),
                            examples=_quote(values[dup].drop_duplicates()),
                        )
                    )
                continue
            parent = typed.get(column.references or "")
            parent_key = CONTRACT[column.references].key if column.references else None
            if parent is None or parent_key not in parent.columns:
                continue
            orphan = values.notna() & ~values.isin(parent[parent_key].dropna())
            if orphan.any():
                found.append(
                    Problem(
                        name,
                        column.name,
                        f"value matches no {column.references}.{parent_key}",
                        rows=int(orphan.sum()),
                        examples=_quote(values[orphan].drop_duplicates()),
                        detail=_dtype_hint(values, parent[parent_key]),
                    )
                )


def _check_persons_against_events(typed: dict[str, pd.DataFrame], found: list[Problem]) -> None:
    """Birth dates and ages must be possible given the events' dates."""
    persons, events = typed.get("persons"), typed.get("events")
    if persons is None or events is None or "birth_date" not in persons.columns:
        return
    if not pd.api.types.is_datetime64_any_dtype(persons["birth_date"].dtype):
        return
    if "date" not in events.columns or not pd.api.types.is_datetime64_any_dtype(
        events["date"].dtype
    ):
        return
    last = events["date"].max()
    if pd.isna(last):
        return
    rows = _RowNamer(persons, "person_id")
    birth = persons["birth_date"]
    _report(
        found,
        "persons",
        "birth_date",
        f"birth date after the last event date {last:%Y-%m-%d}",
        birth > last,
        rows,
        birth.dt.strftime("%Y-%m-%d"),
    )
    too_old = birth <= last - pd.DateOffset(years=121)
    _report(
        found,
        "persons",
        "birth_date",
        f"age outside 0-120 on {last:%Y-%m-%d}",
        too_old,
        rows,
        birth.dt.strftime("%Y-%m-%d"),
    )
    if "person_id" not in events.columns or "person_id" not in persons.columns:
        return
    if persons["person_id"].duplicated().any():
        return  # already reported; a birth date per person is ambiguous
    born = events["person_id"].map(
        pd.Series(birth.to_numpy(), index=persons["person_id"].to_numpy())
    )
    early = events["date"] < born
    if early.any():
        ids = events.loc[early, "person_id"].drop_duplicates()
        found.append(
            Problem(
                "events",
                "date",
                "event before the person's birth date",
                rows=int(early.sum()),
                examples=_quote(ids, prefix="person_id "),
            )
        )


# --------------------------------------------------------------------------- reporting


class _RowNamer:
    """Names offending rows by the table's id when it has one, else by row number."""

    def __init__(self, frame: pd.DataFrame, key: str | None) -> None:
        self.frame = frame
        self.key = key if key in frame.columns else None

    def name(self, mask: pd.Series) -> list[str]:
        positions = np.flatnonzero(mask.to_numpy(dtype=bool, na_value=False))[:_MAX_EXAMPLES]
        if self.key is None:
            return [f"row {p + 1}" for p in positions]
        ids = self.frame[self.key].iloc[positions]
        return [f"{self.key} {v!r}" if isinstance(v, str) else f"{self.key} {v}" for v in ids]


def _report(
    found: list[Problem],
    table: str,
    column: str,
    rule: str,
    mask: pd.Series,
    rows: _RowNamer,
    values: pd.Series | None = None,
    *,
    detail: str = "",
) -> None:
    mask = mask.fillna(False).astype(bool) if mask.dtype != bool else mask
    count = int(mask.sum())
    if not count:
        return
    names = rows.name(mask)
    if values is not None:
        shown = values[mask].iloc[:_MAX_EXAMPLES]
        names = [f"{_show(v)} ({n})" for v, n in zip(shown, names, strict=False)]
    found.append(Problem(table, column, rule, rows=count, examples=tuple(names), detail=detail))


def _quote(values: Iterable[object], prefix: str = "") -> tuple[str, ...]:
    out = []
    for value in values:
        out.append(prefix + _show(value))
        if len(out) == _MAX_EXAMPLES:
            break
    return tuple(out)


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _dtype_hint(child: pd.Series, parent: pd.Series) -> str:
    child_text = not pd.api.types.is_numeric_dtype(child.dtype)
    parent_text = not pd.api.types.is_numeric_dtype(parent.dtype)
    if child_text != parent_text:
        kinds = {True: "text", False: "numbers"}
        return f"ids here are {kinds[child_text]} but {parent.name} ids are {kinds[parent_text]}"
    return ""
