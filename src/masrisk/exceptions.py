"""Exception types raised by masrisk.

Every error a user can act on has its own type, and its message names what is wrong and
where: the table, column and rule for data, the key for configs, the file for bundles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

__all__ = [
    "BundleError",
    "BundleExistsError",
    "ConfigError",
    "CutoffError",
    "MasriskError",
    "MissingExtraError",
    "OutputExistsError",
    "ParameterError",
    "Problem",
    "Problems",
    "ValidationError",
    "show",
]

#: Examples kept per problem.
MAX_EXAMPLES = 5


class MasriskError(Exception):
    """Base class of the errors masrisk raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One broken rule of the data contract.

    Parameters
    ----------
    table, column : str
        Where the problem is; ``column`` is ``None`` for a problem of the whole table.
    rule : str
        Short name of the rule (``"duplicate id"``, ``"not a date"``, ...).
    rows : int
        How many rows break the rule (0 for a missing table or column).
    examples : tuple of str
        Up to five offending ids or values, formatted for display.
    detail : str
        Optional free text that says what to do.
    """

    table: str
    column: str | None
    rule: str
    rows: int = 0
    examples: tuple[str, ...] = ()
    detail: str = ""

    def __str__(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        text = f"{where}: {self.rule}"
        if self.rows:
            text += f" in {self.rows:,} row{'s' if self.rows != 1 else ''}"
        if self.examples:
            text += f" (e.g. {', '.join(self.examples)})"
        if self.detail:
            text += f" - {self.detail}"
        return text


class ValidationError(MasriskError, ValueError):
    """Input tables break the data contract; lists every problem found at once.

    Parameters
    ----------
    problems : sequence of Problem
        Everything that is wrong, in the order the checks found it; kept as a tuple.
    source : str, optional
        Where the tables came from (a data directory), shown in the message.
    """

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''}" + (f" in {source}" if source else "")
        super().__init__("\n  ".join([head, *map(str, self.problems)]))

    def to_frame(self):  # noqa: ANN201 - pandas is imported lazily
        """Return the problems as a DataFrame (one row per problem)."""
        import pandas as pd

        rows = [{**asdict(p), "examples": list(p.examples)} for p in self.problems]
        return pd.DataFrame(rows, columns=[f.name for f in fields(Problem)])


def show(value: object, width: int = 40) -> str:
    """Show a value in a problem: text quoted, a date as ``'YYYY-MM-DD'``, at most ``width``.

    Examples
    --------
    >>> show("P1"), show(4), show("x" * 50)
    ("'P1'", '4', "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...")
    """
    if hasattr(value, "normalize") and hasattr(value, "date") and value == value.normalize():
        value = value.date().isoformat()  # a pandas Timestamp at midnight
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


class Problems:
    """Collects broken rules - by table, column and rule - and raises them all at once.

    A problem added again adds its rows to the first and fills its examples up to five.
    Examples name a row by its id (``person_id 'P1'``) or number (``row 7``), after the
    offending value when there is one: ``'1990-13-01' (person_id 2)``.

    Parameters
    ----------
    source : str, optional
        Where the data came from, shown in the error.

    Examples
    --------
    >>> import pandas as pd
    >>> persons = pd.DataFrame({"person_id": ["P1", "P2"], "sex": ["F", "X"]})
    >>> problems = Problems("persons.csv")
    >>> problems.add_rows("persons", "sex", "unknown value", persons["sex"] == "X",
    ...                   ids=persons["person_id"], values=persons["sex"])
    >>> problems.raise_if_any()
    Traceback (most recent call last):
    ...
    masrisk.exceptions.ValidationError: 1 problem in persons.csv
      persons.sex: unknown value in 1 row (e.g. 'X' (person_id 'P2'))
    """

    def __init__(self, source: str | None = None) -> None:
        self.source = source
        self._found: dict[tuple[str, str | None, str], Problem] = {}

    def add(
        self,
        table: str,
        column: str | None,
        rule: str,
        *,
        rows: int = 0,
        examples: Iterable[str] = (),
        detail: str = "",
    ) -> None:
        """Record ``rows`` rows breaking a rule, with examples already shown (see :func:`show`)."""
        old = self._found.get((table, column, rule)) or Problem(table, column, rule, detail=detail)
        shown = tuple(dict.fromkeys([*old.examples, *examples]))[:MAX_EXAMPLES]
        self._found[table, column, rule] = replace(old, rows=old.rows + rows, examples=shown)

    def add_rows(
        self,
        table: str,
        column: str | None,
        rule: str,
        mask: Any,
        *,
        ids: Any = None,
        values: Any = None,
        first_row: int = 1,
        detail: str = "",
    ) -> None:
        """Record the rows where ``mask`` holds (boolean pandas Series; missing counts as false).

        Parameters
        ----------
        ids : pandas.Series, optional
            The rows' ids, named by their column; without them, rows are named by number.
        values : pandas.Series, optional
            The offending values, shown before each row's name; without them, each distinct
            row name is shown once.
        first_row : int
            Number of the mask's first row (for a chunk of a longer table).
        """
        hit = _positions(mask)
        if not len(hit):
            return
        room = self._room(table, column, rule)
        if ids is not None and values is None:
            shown = [f"{ids.name} {show(v)}" for v in _distinct(ids, hit, room)]
        else:
            at = hit[:room]
            shown = [
                f"row {first_row + p}" if ids is None else f"{ids.name} {show(ids.iloc[p])}"
                for p in at
            ]
            if values is not None:
                shown = [f"{show(values.iloc[p])} ({n})" for p, n in zip(at, shown, strict=True)]
        self.add(table, column, rule, rows=len(hit), examples=shown, detail=detail)

    def add_values(
        self, table: str, column: str | None, rule: str, mask: Any, values: Any, *, detail: str = ""
    ) -> None:
        """Record the rows where ``mask`` holds, showing each distinct offending value once."""
        hit = _positions(mask)
        if len(hit):
            shown = [show(v) for v in _distinct(values, hit, self._room(table, column, rule))]
            self.add(table, column, rule, rows=len(hit), examples=shown, detail=detail)

    def _room(self, table: str, column: str | None, rule: str) -> int:
        found = self._found.get((table, column, rule))
        return MAX_EXAMPLES - (len(found.examples) if found else 0)

    def extend(self, problems: Iterable[Problem]) -> None:
        """Add problems found elsewhere."""
        for p in problems:
            self.add(p.table, p.column, p.rule, rows=p.rows, examples=p.examples, detail=p.detail)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._found.values())

    def __bool__(self) -> bool:
        return bool(self._found)

    def raise_if_any(self, source: str | None = None) -> None:
        """Raise a :class:`ValidationError` listing every problem recorded, if there is one."""
        if self._found:
            raise ValidationError(list(self), source=source or self.source)


def _positions(mask: Any) -> Any:
    """Positions where a boolean pandas Series (or array) holds; missing counts as false."""
    import numpy as np

    if hasattr(mask, "fillna") and str(mask.dtype) != "bool":
        mask = mask.fillna(False)
    return np.flatnonzero(np.asarray(mask, dtype=bool))


def _distinct(values: Any, positions: Any, room: int) -> list:
    """Return the first ``room`` distinct values at ``positions``, in order."""
    return [] if room <= 0 else values.iloc[positions].drop_duplicates().iloc[:room].tolist()


class ConfigError(MasriskError, ValueError):
    """A configuration file has an unknown key or a bad value; the message names the key."""

    def __init__(self, messages: str | Iterable[str], source: str | None = None) -> None:
        lines = [messages] if isinstance(messages, str) else list(messages)
        self.messages = tuple(lines)
        self.source = source
        head = f"invalid configuration{f' {source}' if source else ''}"
        super().__init__("\n  ".join([head, *lines]))


class ParameterError(MasriskError, ValueError):
    """A function got an argument it does not accept; the message names it and the value.

    Examples
    --------
    >>> raise ParameterError("chunk_size", "an integer >= 1", 0)
    Traceback (most recent call last):
    ...
    masrisk.exceptions.ParameterError: chunk_size must be an integer >= 1, got 0

    A message already written whole is given alone: ``ParameterError("n_jobs must be ...")``.
    """

    def __init__(self, name: str, expected: str | None = None, value: object = None) -> None:
        self.name, self.value = name, value
        super().__init__(name if expected is None else f"{name} must be {expected}, got {value!r}")


class OutputExistsError(MasriskError, FileExistsError):
    """An output would replace files: without ``overwrite``, or files masrisk did not write."""


class MissingExtraError(MasriskError, ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""


class BundleError(MasriskError):
    """A model bundle is missing a file, was tampered with, or does not match the data."""


class BundleExistsError(BundleError, OutputExistsError):
    """A bundle's path is taken: a BundleError, as before the output policy, and its error."""


class CutoffError(MasriskError, ValueError):
    """Cut-off dates that do not fit each other or the data (e.g. overlapping label windows)."""
