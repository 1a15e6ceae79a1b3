"""Read a data directory and validate it against the data contract.

:mod:`masrisk.schema.rules` applies the rules of the contract's column specs
(:class:`~masrisk.tables.ColumnSpec`), then checks keys and birth dates against events. It
collects *every* problem (table, column, rule, rows, a few example ids or values) into one
:class:`~masrisk.exceptions.ValidationError`. Nothing is dropped, imputed or coerced silently.

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
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from masrisk.codes import MPI_INDICATORS
from masrisk.exceptions import Problem, Problems
from masrisk.schema.columns import describe_unused, rename_columns, unused_columns
from masrisk.schema.rules import check_tables
from masrisk.tables import CONTRACT, Tables

__all__ = [
    "load_tables",
    "normalize_and_validate",
    "read_table_file",
    "table_files",
    "validate",
]

logger = logging.getLogger(__name__)

_MANGLED = re.compile(r".+\.[0-9]+")


def table_files(path: str | Path) -> tuple[dict[str, Path], list[Problem]]:
    """Find the file of each table of a data directory, ``<table>.parquet`` or ``.csv``.

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
        present = [p for ext in ("parquet", "csv") if (p := directory / f"{name}.{ext}").is_file()]
        if len(present) > 1:
            problems.append(
                Problem(name, None, "table given twice", detail="keep either the .parquet or .csv")
            )
        elif present:
            files[name] = present[0]
    return files, problems


def read_table_file(path: str | Path, *, categories: Iterable[str] = ()) -> pd.DataFrame:
    """Read one table file as it is on disk, without validating: Parquet as typed, CSV as text.

    CSV cells are read as text so that ids such as ``"007"`` keep their zeros; only empty
    cells are missing.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv`` or ``.parquet`` file, or a folder of Parquet files.
    categories : iterable of str
        Parquet text columns to read straight into categoricals (Arrow dictionaries): for
        tens of millions of events, about 5 times faster than strings converted afterwards.
    """
    file = Path(path)
    if file.suffix.lower() == ".parquet" or file.is_dir():
        wanted = list(categories)
        if wanted:
            import pyarrow.parquet as pq

            first = file if file.is_file() else min(file.glob("*.parquet"), default=None)
            names = pq.read_schema(first).names if first is not None else []
            wanted = [c for c in wanted if c in names]
        return pd.read_parquet(file, read_dictionary=wanted) if wanted else pd.read_parquet(file)
    frame = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    if any(_MANGLED.fullmatch(str(c)) for c in frame.columns):  # "a", "a" read as "a", "a.1"
        header = pd.read_csv(file, header=None, nrows=1, dtype=str, keep_default_na=False)
        frame.columns = header.iloc[0].tolist()
    return frame


def load_tables(
    path: str | Path,
    *,
    extra_kinds: Iterable[str] = (),
    columns: Mapping[str, Mapping[str, str]] | None = None,
) -> Tables:
    """Read and validate a data directory.

    Parameters
    ----------
    path : str or pathlib.Path
        Directory with one file per table, ``<table>.parquet`` or ``<table>.csv``.
    extra_kinds : iterable of str
        Event kinds accepted beside the built-in ones (see ``Config.extra_event_kinds``).
    columns : mapping, optional
        Users' own column names, table -> {their name: contract name}
        (``Config.columns``); DANE's names of the poverty-index flags are known without it
        (:mod:`masrisk.schema.columns`).

    Returns
    -------
    Tables
        Typed as :class:`~masrisk.tables.Tables` describes (flags as int8).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a directory.
    masrisk.ValidationError
        Listing every problem of every table, unreadable files included.
    """
    files, problems = table_files(path)
    frames: dict[str, pd.DataFrame] = {}
    for name, file in files.items():
        try:
            frames[name] = read_table_file(file)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
            problems.append(Problem(name, None, "unreadable file", detail=f"{file.name}: {exc}"))
    return normalize_and_validate(
        frames, source=str(path), extra_kinds=extra_kinds, problems=problems, columns=columns
    )


def validate(
    tables: Tables | Mapping[str, pd.DataFrame],
    *,
    extra_kinds: Iterable[str] = (),
    columns: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Check tables against the data contract; raise listing every problem.

    Parameters
    ----------
    tables : Tables or mapping of str to pandas.DataFrame
        The tables to check. Frames are not modified.
    extra_kinds : iterable of str
        Event kinds accepted beside the built-in ones.
    columns : mapping, optional
        Users' own column names, as :func:`load_tables`.

    Raises
    ------
    masrisk.ValidationError
        If any rule is broken.
    """
    frames = dict(tables.items()) if isinstance(tables, Tables) else dict(tables)
    normalize_and_validate(frames, extra_kinds=extra_kinds, columns=columns)


def normalize_and_validate(
    frames: Mapping[str, pd.DataFrame | None],
    *,
    source: str | None = None,
    extra_kinds: Iterable[str] = (),
    problems: Iterable[Problem] = (),
    columns: Mapping[str, Mapping[str, str]] | None = None,
) -> Tables:
    """Give each column its contract dtype, check every rule and return :class:`Tables`.

    Users' names are first read as the contract's (``columns``, then the names masrisk
    knows: :func:`masrisk.schema.columns.rename_columns`). The input frames are never
    modified; columns the contract does not name are kept, and logged once per table as
    kept, not used.

    Raises
    ------
    masrisk.ValidationError
        If any problem was found (including those passed in ``problems``).
    """
    found = Problems(source)
    found.extend(problems)
    frames = rename_columns(frames, columns or {}, found)
    typed = check_tables(frames, found, tuple(extra_kinds))
    found.raise_if_any()
    for table, unused in unused_columns(typed).items():
        logger.warning("%s", describe_unused(table, unused))
    _say_partial_flags(typed["households"])
    if "birth_date" not in typed["persons"].columns:
        typed["persons"] = _birth_dates_from_age(typed["persons"], typed["events"])
    return Tables(**typed)


def _say_partial_flags(households: pd.DataFrame) -> None:
    """Warn when some but not all 15 deprivation flags are given: no household gets a score."""
    given = [c for c in MPI_INDICATORS if c in households.columns]
    if 0 < len(given) < len(MPI_INDICATORS):
        lacking = [c for c in MPI_INDICATORS if c not in households.columns]
        logger.warning(
            "households: %d of the %d deprivation flags given (missing: %s); the deprivation "
            "score and poverty (fam_deprivation_score, fam_mpi_poor) need all of them and are "
            "missing for every household",
            len(given),
            len(MPI_INDICATORS),
            ", ".join(lacking),
        )


def _birth_dates_from_age(persons: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Persons given by age: birth dates half a year before the age at the last event date."""
    reference = events["date"].max() if len(events) else pd.Timestamp.today().normalize()
    days = np.round((persons["age"].to_numpy(dtype="float64") + 0.5) * 365.25)
    birth = (reference - pd.to_timedelta(days, unit="D")).astype("datetime64[ns]")
    logger.info("persons: birth_date derived from age at %s", f"{reference:%Y-%m-%d}")
    return persons.assign(birth_date=birth)
