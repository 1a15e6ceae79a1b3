"""Check and parse the values of RIPS user entries and service dates."""

from __future__ import annotations

import datetime
import re
from collections import Counter

import numpy as np
import pandas as pd

from masrisk.io.rips.codes import SEXES, ZONES
from masrisk.tables import DATE_RANGE

__all__ = ["NO_DAY", "USER_FIELDS", "best_value", "check_user_value", "parse_days"]

#: Fields of a user entry that describe the person, in the order the reader keeps them.
USER_FIELDS: tuple[str, ...] = (
    "fechaNacimiento",
    "codSexo",
    "tipoUsuario",
    "codMunicipioResidencia",
    "codZonaTerritorialResidencia",
)
BIRTH, SEX, USER_TYPE, MUNICIPALITY, ZONE = range(len(USER_FIELDS))

#: Day number of a date that is missing or could not be read.
NO_DAY = np.iinfo("int64").min

_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)?"
_DATE_PATTERN = re.compile(_DATE)
_MUNICIPALITY = re.compile(r"\d{5}")
_USER_TYPES = frozenset(f"{k:02d}" for k in range(1, 16))
_EARLIEST, _LATEST = (pd.Timestamp(d) for d in DATE_RANGE)

# status codes of parse_days
OK, MISSING, NOT_A_DATE, OUT_OF_RANGE = range(4)


def parse_days(raw: list[object]) -> tuple[np.ndarray, np.ndarray]:
    """Parse RIPS dates (``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM``) to days since 1970-01-01.

    Parameters
    ----------
    raw : list
        Values as the JSON holds them: text, ``None`` or anything else.

    Returns
    -------
    days : numpy.ndarray of int64
        The day of each value, :data:`NO_DAY` where it could not be read.
    status : numpy.ndarray of int8
        0 read, 1 missing, 2 not a date, 3 outside 1850-2200.

    Examples
    --------
    >>> days, status = parse_days(["2024-01-31 08:10", "2024-02-30", None, "31/01/2024", 7])
    >>> status.tolist(), int(days[0])
    ([0, 2, 1, 2, 2], 19753)
    """
    values = pd.Series(raw, dtype=object)
    text = values.where(values.map(type) == str)  # noqa: E721 - exact type, not subclasses
    shaped = text.str.fullmatch(_DATE).fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(shaped).str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    read = parsed.notna().to_numpy()
    inside = read & ((parsed >= _EARLIEST) & (parsed < _LATEST)).to_numpy()
    missing = (values.isna() | values.eq("")).to_numpy()
    status = np.where(
        inside, OK, np.where(read, OUT_OF_RANGE, np.where(missing, MISSING, NOT_A_DATE))
    )
    days = parsed.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")
    return np.where(inside, days, NO_DAY), status.astype("int8")


def check_user_value(k: int, value: object) -> str:
    """Return the rule a value of user field ``USER_FIELDS[k]`` breaks, or ``""``."""
    if value is None or value == "":
        return f"missing {USER_FIELDS[k]}"
    if k == BIRTH:
        return _date_rule(value)
    if k == SEX:
        return "" if value in SEXES else "sex not F or M"
    if k == USER_TYPE:
        return "" if value in _USER_TYPES else "unknown tipoUsuario"
    if k == MUNICIPALITY:
        ok = isinstance(value, str) and _MUNICIPALITY.fullmatch(value)
        return "" if ok else "not a DIVIPOLA municipality code"
    return "" if value in ZONES else "unknown codZonaTerritorialResidencia"


def _date_rule(value: object) -> str:
    """Return the rule a RIPS date breaks (as :func:`parse_days` reads it), or ``""``."""
    if not isinstance(value, str) or not _DATE_PATTERN.fullmatch(value):
        return "not a date"
    try:
        day = datetime.date.fromisoformat(value[:10])
    except ValueError:
        return "not a date"
    return "" if _EARLIEST.year <= day.year < _LATEST.year else "date out of range 1850-2200"


def best_value(k: int, votes: Counter) -> object:
    """Return the most frequent valid value of field ``k``, else the most frequent value.

    Ties go to the value seen first.
    """
    ranked = [value for value, _ in votes.most_common()]
    valid = [value for value in ranked if not check_user_value(k, value)]
    return (valid or ranked)[0]
