"""The words masrisk gives fixed meanings, each defined once: zones, sexes, levels, tiers.

Every module that checks, builds or shows one of these reads it from here, so a value is
spelled in one place only.

Examples
--------
>>> from masrisk.vocabulary import LEVELS, feature_level
>>> LEVELS["fam_"], feature_level("ter_density")
('family', 'territorial')
"""

from __future__ import annotations

__all__ = [
    "LEVELS",
    "LEVEL_NAMES",
    "LEVEL_PREFIXES",
    "SEXES",
    "TIERS",
    "ZONES",
    "feature_level",
]

#: A territory's zone.
ZONES: tuple[str, ...] = ("urban", "rural")

#: A person's sex, as the data contract spells it.
SEXES: tuple[str, ...] = ("F", "M")

#: Feature level of each column prefix: every feature's name says its level.
LEVELS: dict[str, str] = {"ind_": "individual", "fam_": "family", "ter_": "territorial"}
LEVEL_PREFIXES: tuple[str, ...] = tuple(LEVELS)
LEVEL_NAMES: tuple[str, ...] = tuple(LEVELS.values())

#: The tiers of the risk pyramid, from the highest risk down.
TIERS: tuple[str, ...] = ("case_management", "disease_management", "promotion_prevention")


def feature_level(name: str) -> str:
    """Return the level (``individual``, ``family``, ``territorial``) a feature's prefix says.

    Raises
    ------
    ValueError
        If ``name`` has none of :data:`LEVEL_PREFIXES`.
    """
    level = LEVELS.get(name[:4])
    if level is None:
        prefixes = ", ".join(LEVEL_PREFIXES)
        raise ValueError(f"{name!r} has no level prefix: a feature name starts with {prefixes}")
    return level
