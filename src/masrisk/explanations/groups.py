"""Which level and which group of features each feature belongs to.

Levels follow the prefixes (``ind_``, ``fam_``, ``ter_``). Groups gather features that say one
thing, so that a community's drivers read as "use of services" or "household deprivation"
rather than as fifteen separate flags.
"""

from __future__ import annotations

import re

import pandas as pd

from masrisk.vocabulary import LEVEL_NAMES, LEVELS, feature_level

__all__ = ["FEATURE_GROUPS", "LEVELS", "feature_group", "feature_level", "level_shares"]


#: Groups of features, by a pattern of their names; the first match wins.
FEATURE_GROUPS: tuple[tuple[str, str], ...] = (
    ("demographics", r"ind_(age|sex|life_stage|regime|insurer)"),
    ("disability and pregnancy", r"ind_(disability|pregnant)"),
    ("chronic conditions", r"ind_(cond_\w+|n_chronic|charlson)"),
    ("use of services", r"ind_(n_\w+|days_since_last_contact)"),
    ("preventive-care gaps", r"ind_(gap_\w+|vaccine_doses_missing)"),
    ("lab results", r"ind_lab_\w+"),
    ("household use of services", r"fam_(emergencies|hospitalizations)_365d"),
    ("household deprivation", r"fam_(dep_\w+|deprivation_score|mpi_poor)"),
    ("household composition", r"fam_\w+"),
    ("territorial deprivation", r"ter_svi_\w+"),
    ("territorial outcome rates", r"ter_(rate|eb_rate|seb_rate|lag_rate|gistar)_\w+"),
    ("access to care", r"ter_(km_to_\w+|facilities_per_10k)"),
    ("urbanisation", r"ter_(zone|population|density)"),
)
_COMPILED = tuple((name, re.compile(pattern)) for name, pattern in FEATURE_GROUPS)


def feature_group(name: str) -> str:
    """Return the group of a feature (``"other <level>"`` when none matches).

    >>> feature_group("ind_n_hospitalization_365d"), feature_group("ter_svi_overall")
    ('use of services', 'territorial deprivation')
    """
    for group, pattern in _COMPILED:
        if pattern.fullmatch(name):
            return group
    return f"other {feature_level(name)}"


def level_shares(absolute: pd.Series) -> pd.Series:
    """Share of each level in the total absolute contribution, from sums per feature.

    ``absolute`` holds, per feature, the sum of the absolute contributions over everyone (or
    over a part: sums of parts add up before the shares are taken).
    """
    level = pd.Index([feature_level(c) for c in absolute.index])
    totals = absolute.groupby(level).sum().reindex(list(LEVEL_NAMES))
    return (totals / totals.sum()).rename("share")
