"""The risk pyramid: case management, disease management, promotion and prevention.

Examples
--------
>>> import numpy as np
>>> from masrisk.config import TiersConfig
>>> from masrisk.tiers import assign_tiers
>>> risk = np.linspace(0.01, 0.5, 100)
>>> assign_tiers(risk, TiersConfig()).value_counts(sort=False).to_dict()
{'case_management': 3, 'disease_management': 17, 'promotion_prevention': 80}
>>> assign_tiers(np.array([0.4, 0.2, 0.05]), TiersConfig(method="absolute",
...     case_management=0.3, disease_management=0.1)).tolist()
['case_management', 'disease_management', 'promotion_prevention']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from masrisk.config import TiersConfig
from masrisk.vocabulary import TIERS

__all__ = ["TIERS", "assign_tiers"]


def assign_tiers(
    risk: np.ndarray, tiers: TiersConfig, *, ties: pd.Index | np.ndarray | None = None
) -> pd.Series:
    """Return each person's tier, a categorical with the categories of :data:`TIERS`.

    With percentile cut-offs the ``round(share * n)`` highest risks form each tier; equal
    risks are ordered by ``ties`` (e.g. the person ids, so that the tiers do not depend on
    the order of the rows), else by position: the result is deterministic.
    """
    risk = np.asarray(risk, dtype="float64")
    codes = np.full(len(risk), 2, dtype="int8")
    if tiers.method == "absolute":
        codes[risk >= tiers.disease_management] = 1
        codes[risk >= tiers.case_management] = 0
    else:
        if ties is None:
            order = np.argsort(-risk, kind="stable")
        else:
            order = np.lexsort((pd.factorize(np.asarray(ties), sort=True)[0], -risk))
        top = round(tiers.case_management * len(risk))
        nxt = top + round(tiers.disease_management * len(risk))
        codes[order[:top]] = 0
        codes[order[top:nxt]] = 1
    return pd.Series(pd.Categorical.from_codes(codes, categories=list(TIERS)))
