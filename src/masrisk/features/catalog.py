"""The feature catalogue: every feature's name, level, description and unit.

Each level's module declares a ``CATALOG`` of :class:`FeatureSpec`. A name may hold one
placeholder in braces - ``ind_lab_{lab}_last``, ``ter_eb_rate_{outcome}`` - for features made
per lab code, outcome, condition, event kind or deprivation indicator found in the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from masrisk.vocabulary import LEVELS, feature_level

__all__ = ["FeatureSpec", "feature", "matches"]


@dataclass(frozen=True)
class FeatureSpec:
    """One feature, or one family of features when ``name`` holds a ``{placeholder}``."""

    name: str
    level: Literal["individual", "family", "territorial"]
    description: str
    unit: str

    def __post_init__(self) -> None:
        if LEVELS.get(self.name[:4]) != self.level:
            prefix = next(p for p, level in LEVELS.items() if level == self.level)
            raise ValueError(f"{self.name}: {self.level} features start with {prefix}")

    @property
    def pattern(self) -> re.Pattern[str]:
        """Regular expression of the column names this spec documents."""
        parts = re.split(r"\{[a-z_]+\}", self.name)
        return re.compile("^" + "[a-z0-9_]+".join(map(re.escape, parts)) + "$")


def feature(name: str, description: str, unit: str) -> FeatureSpec:
    """Declare a feature of the level its name's prefix says (``ind_``, ``fam_``, ``ter_``)."""
    return FeatureSpec(name, feature_level(name), description, unit)


def matches(column: str, specs: tuple[FeatureSpec, ...]) -> FeatureSpec | None:
    """Return the spec that documents ``column``, or ``None``."""
    exact = next((s for s in specs if s.name == column), None)
    return exact or next((s for s in specs if "{" in s.name and s.pattern.match(column)), None)
