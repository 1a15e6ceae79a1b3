"""Checks of the interventions catalogue, and the messages of :mod:`masrisk.planning.catalog`."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from masrisk.codes import MPI_DIMENSIONS, MPI_INDICATORS
from masrisk.features import describe_column, feature_catalog

if TYPE_CHECKING:
    from masrisk.planning.catalog import Intervention

#: Values a fixed placeholder of the feature catalogue can take (``fam_{indicator}`` is
#: ``fam_dep_...``, ``ter_svi_{indicator}`` drops the ``dep_``).
_KNOWN_FILLS: dict[str, frozenset[str]] = {
    "indicator": frozenset([*MPI_INDICATORS, *(i.removeprefix("dep_") for i in MPI_INDICATORS)]),
    "dimension": frozenset(MPI_DIMENSIONS),
}


def _subset(values: tuple[str, ...], known: tuple[str, ...], what: str) -> tuple[str, ...]:
    if not values:
        raise ValueError(f"give at least one {what}, or leave the key out for all")
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"unknown {what} {unknown} (known: {', '.join(known)})")
    return tuple(v for v in known if v in values)  # canonical order, no repeats


@lru_cache(maxsize=1)
def _feature_names() -> tuple[str, ...]:
    return tuple(n for n in feature_catalog()["name"] if "{" not in n)


def _feature_problem(name: str) -> str | None:
    """Say what is wrong with a feature named in ``requires_any``, or return ``None``."""
    if "{" in name or "}" in name:
        return f"{name!r} is a placeholder; name one feature (e.g. ind_lab_hba1c_last)"
    spec = describe_column(name)
    if spec is None or not _fills_a_known_value(name, spec.name):
        close = difflib.get_close_matches(name, _feature_names(), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        return f"unknown feature {name!r}{hint} (see masrisk.feature_catalog())"
    if spec.unit == "category":
        return f"{name!r} is a category, not a number that can be 0.5 or more"
    return None


def _features(names: tuple[str, ...]) -> tuple[str, ...]:
    problems = [p for name in names if (p := _feature_problem(name))]
    if problems:
        raise ValueError("; ".join(problems))
    if len(set(names)) < len(names):
        raise ValueError("a feature is listed twice")
    return names


def _fills_a_known_value(name: str, spec_name: str) -> bool:
    """Whether ``name`` fills its placeholder with a known value (any lab code or outcome)."""
    if "{" not in spec_name:
        return True
    prefix, placeholder, suffix = re.split(r"\{([a-z_]+)\}", spec_name)
    known = _KNOWN_FILLS.get(placeholder)
    return known is None or name[len(prefix) : len(name) - len(suffix)] in known


def _duplicate_names(items: tuple[Intervention, ...]) -> list[str]:
    first: dict[str, int] = {}
    problems = []
    for k, item in enumerate(items):
        if item.name in first:
            problems.append(
                f"interventions[{k}].name: {item.name!r} is already the name of "
                f"interventions[{first[item.name]}]"
            )
        first.setdefault(item.name, k)
    return problems


def _uncovered(what: str, known: tuple[str, ...], present: set[str]) -> list[str]:
    key = "stages" if what == "stage" else what
    return [
        f"interventions: no intervention for {what} {value!r} (every {what} needs one; "
        f"see each intervention's `{key}`)"
        for value in known
        if value not in present
    ]


def _which(loc: tuple[str | int, ...], data: Mapping[str, Any]) -> str:
    """Name the intervention a key of a validation error belongs to, when it has a name."""
    if len(loc) < 2 or loc[0] != "interventions" or not isinstance(loc[1], int):
        return ""
    items = data.get("interventions")
    item = items[loc[1]] if isinstance(items, list | tuple) and loc[1] < len(items) else None
    name = item.get("name") if isinstance(item, Mapping) else None
    return f" [in {name!r}]" if isinstance(name, str) else ""
