"""Explanations: why a person, a household or a community is at risk.

>>> from masrisk.explanations import feature_group
>>> feature_group("fam_dep_informal_work")
'household deprivation'
"""

from masrisk.explanations.contributions import DEFAULT_CHUNK_SIZE, iter_contributions
from masrisk.explanations.explanation import (
    LEVEL_COLUMNS,
    Explanation,
    contributions_frame,
    explain,
    prepare,
)
from masrisk.explanations.groups import FEATURE_GROUPS, LEVELS, feature_group, feature_level
from masrisk.explanations.words import describe

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FEATURE_GROUPS",
    "LEVELS",
    "LEVEL_COLUMNS",
    "Explanation",
    "contributions_frame",
    "describe",
    "explain",
    "feature_group",
    "feature_level",
    "iter_contributions",
    "prepare",
]
