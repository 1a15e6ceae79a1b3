"""Checks and JSON form of the fields of the records in :mod:`masrisk.planning.documents`.

Each check takes the field's name and value and returns the value converted, or raises
``ValueError`` (``TypeError`` for objects of the wrong kind) naming the field and the value.
"""

from __future__ import annotations

import json
import math
import numbers
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from functools import partial
from typing import Any

from masrisk.exceptions import ParameterError
from masrisk.planning.catalog import AXES
from masrisk.tiers import TIERS


def threshold(value: Any) -> int:
    """Check a small-cell threshold: an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"suppress_below must be an integer >= 1, got {value!r}")
    return int(value)


def count(name: str, value: Any) -> int:
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if real and float(value).is_integer() and value >= 0:
        return int(value)
    raise ParameterError(f"{name} must be a whole number >= 0, got {value!r}")


def rank(name: str, value: Any) -> int:
    if count(name, value) < 1:
        raise ParameterError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def amount(name: str, value: Any, *, signed: bool = False) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and (signed or number >= 0):
            return number
    kind = "a finite number" if signed else "a finite number >= 0"
    raise ParameterError(f"{name} must be {kind}, got {value!r}")


def string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ParameterError(f"{name} must be a string, got {value!r}")
    return value


def text(name: str, value: Any, *, optional: bool = False) -> str | None:
    if optional and (value is None or (isinstance(value, float) and math.isnan(value))):
        return None  # NaN: a missing name in a pandas column
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(value)  # integer ids are allowed by the data contract
    if isinstance(value, str) and value:
        return value
    raise ParameterError(f"{name} must be a non-empty string, got {value!r}")


def ids(name: str, value: Any) -> tuple[str, ...]:
    return tuple(text(name, v) for v in value)


def choice(name: str, value: Any, options: Sequence[str]) -> str:
    if value not in options:
        raise ParameterError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def items(name: str, value: Any, kind: type) -> tuple:
    found = tuple(value)
    wrong = [item for item in found if not isinstance(item, kind)]
    if wrong:
        raise TypeError(f"{name} must hold {kind.__name__} objects, got {wrong[0]!r}")
    return found


def tiers(name: str, value: Mapping[str, Any]) -> dict[str, int]:
    unknown = sorted(set(value) - set(TIERS))
    if unknown:
        raise ParameterError(f"unknown {name} {unknown}; tiers are {', '.join(TIERS)}")
    return {tier: count(f"{name}[{tier!r}]", value.get(tier, 0)) for tier in TIERS}


def territories(name: str, value: Any) -> tuple[tuple[str, int], ...]:
    pairs = tuple((text("territory_id", t), rank("phase", p)) for t, p in value)
    repeated = sorted(t for t, n in Counter(t for t, _ in pairs).items() if n > 1)
    if repeated:
        raise ParameterError(f"{name} listed more than once: {', '.join(repeated[:5])}")
    return pairs


def by_axis(name: str, value: Mapping[str, Any]) -> dict[str, dict]:
    unknown = sorted(set(value) - set(AXES))
    if unknown:
        raise ParameterError(f"unknown {name} keys {unknown}; axes are {', '.join(AXES)}")
    return {
        axis: {
            "persons": count(f"{name}[{axis!r}] persons", value.get(axis, {}).get("persons", 0)),
            "hours": amount(f"{name}[{axis!r}] hours", value.get(axis, {}).get("hours", 0.0)),
        }
        for axis in AXES
    }


def phases(name: str, value: Mapping[Any, Any]) -> dict[int, int]:
    checked = {rank(f"{name} key", k): count(f"{name}[{k!r}]", v) for k, v in value.items()}
    return dict(sorted(checked.items()))


def solver(name: str, value: Mapping[str, Any]) -> dict[str, Any]:
    return plain(dict(sorted(value.items())))


#: The check of a field by its annotation, unless the record names another.
_BY_TYPE = {"str": text, "str | None": partial(text, optional=True), "int": count, "float": amount}


def check_fields(record: Any, label: str = "", **checks: Callable[[str, Any], Any]) -> None:
    """Set each field of a frozen record to what its check returns (``label`` + name in errors)."""
    for f in fields(record):
        check = checks.get(f.name) or _BY_TYPE[f.type]
        object.__setattr__(record, f.name, check(f"{label}{f.name}", getattr(record, f.name)))


def rounded(value: float, digits: int) -> float:
    return round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-safe Python (numpy scalars unwrapped, non-finite as None)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return rounded(value, 6) if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int)):
        return value
    raise TypeError(f"solver details must be JSON-like, got {value!r}")


def as_data(record: Any, digits: Mapping[str, int]) -> dict[str, Any]:
    """Return a record's fields as JSON-safe data, the floats of ``digits`` rounded."""
    data = {}
    for field in fields(record):
        value = getattr(record, field.name)
        if field.name in digits:
            value = rounded(value, digits[field.name])
        elif isinstance(value, tuple):
            value = [v.to_dict() if hasattr(v, "to_dict") else v for v in value]
        elif isinstance(value, dict):
            value = dict(value)
        data[field.name] = value
    return data


def dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def from_data(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = [f.name for f in fields(cls)]
    missing = [name for name in names if name not in data]
    if missing:
        raise ParameterError(f"{cls.__name__}: missing keys {', '.join(missing)}")
    return {name: data[name] for name in names}
