"""Exception types raised by masrisk.

Every error a user can act on has its own type, and its message names what is wrong and
where: the table, column and rule for data, the key for configs, the file for bundles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "BundleError",
    "ConfigError",
    "CutoffError",
    "MasriskError",
    "ParameterError",
    "Problem",
    "ValidationError",
]


class MasriskError(Exception):
    """Base class of the errors masrisk raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One broken rule of the data contract.

    Parameters
    ----------
    table : str
        Table where the problem is (``"persons"``, ``"events"``, ...).
    column : str or None
        Column concerned, or ``None`` for a problem of the whole table.
    rule : str
        Short name of the rule (``"duplicate id"``, ``"not a date"``, ...).
    rows : int
        How many rows break the rule (0 for a missing table or column).
    examples : tuple of str
        Up to five offending ids or values, already formatted for display.
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
        Everything that is wrong, in the order the checks found it.
    source : str, optional
        Where the tables came from (a data directory), shown in the message.

    Attributes
    ----------
    problems : tuple of Problem
    """

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''}"
        if self.source:
            head += f" in {self.source}"
        return "\n  ".join([head, *(str(p) for p in self.problems)])

    def to_frame(self):  # noqa: ANN201 - pandas is imported lazily
        """Return the problems as a DataFrame (one row per problem)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "table": p.table,
                    "column": p.column,
                    "rule": p.rule,
                    "rows": p.rows,
                    "examples": list(p.examples),
                    "detail": p.detail,
                }
                for p in self.problems
            ],
            columns=["table", "column", "rule", "rows", "examples", "detail"],
        )


class ConfigError(MasriskError, ValueError):
    """A configuration file has an unknown key or a bad value; the message names the key."""

    def __init__(self, messages: str | Iterable[str], source: str | None = None) -> None:
        lines = [messages] if isinstance(messages, str) else list(messages)
        self.messages = tuple(lines)
        self.source = source
        head = f"invalid configuration{f' {source}' if source else ''}"
        super().__init__("\n  ".join([head, *lines]))


class BundleError(MasriskError):
    """A model bundle is missing a file, was tampered with, or does not match the data."""


class CutoffError(MasriskError, ValueError):
    """Cut-off dates that do not fit each other or the data (e.g. overlapping label windows)."""


class ParameterError(MasriskError, ValueError):
    """An option is of the wrong type or out of bounds; the message names it and its value."""
