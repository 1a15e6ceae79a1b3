"""A population's events as arrays, looked up by kind and by code category.

ICD-10 groups, lab and vaccine codes are matched once per *category* of ``events.code``;
per-person results come from :func:`numpy.bincount` and ``ufunc.at`` over ``pos``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from masrisk.codes import normalize_icd10

__all__ = ["NON_ICD_KINDS", "NO_EVENT", "EventArrays", "icd_categories"]

#: Kinds whose code is a lab, vaccine or screening code; every other kind carries ICD-10.
NON_ICD_KINDS: frozenset[str] = frozenset({"lab", "vaccination", "screening"})
#: "No such event" in arrays of days before ``as_of``.
NO_EVENT = np.iinfo(np.int32).max


class EventArrays:
    """The arrays of ``Population.events``, and masks of events by kind and by ICD-10 code."""

    def __init__(self, events: pd.DataFrame) -> None:
        self.size = len(events)
        self.pos = events["pos"].to_numpy(dtype=np.int32)
        self.days = events["days_before"].to_numpy(dtype=np.int32)
        kind = events["kind"].astype("category")
        self.kind_codes = kind.cat.codes.to_numpy()
        self.kind_names = [str(k) for k in kind.cat.categories]
        code = events["code"] if "code" in events.columns else pd.Series(np.nan, events.index)
        code = code.astype("category")  # without codes: no category, every code -1
        self.code_codes = code.cat.codes.to_numpy()
        self.categories = [str(c) for c in code.cat.categories]
        if "value" not in events.columns:
            self.values = np.full(self.size, np.nan, dtype=np.float32)
        elif events["value"].dtype == np.float32:
            self.values = events["value"].to_numpy()
        else:
            self.values = events["value"].to_numpy(dtype=np.float32, na_value=np.nan)
        self.normal = np.array([normalize_icd10(c) for c in self.categories], dtype=str)
        self.upper = [c.strip().upper() for c in self.categories]
        self.icd_kinds = self.kinds(set(self.kind_names) - NON_ICD_KINDS)

    def kinds(self, names: Iterable[str]) -> np.ndarray:
        """Boolean mask of the events of the given kinds."""
        lut = np.append(np.isin(self.kind_names, list(names)), False)
        return lut[self.kind_codes]

    def icd(self, specs: Sequence[str]) -> np.ndarray:
        """Boolean mask of the events of an ICD-10 kind whose code falls in ``specs``."""
        lut = np.append(icd_categories(self.normal, specs), False)
        return lut[self.code_codes] & self.icd_kinds

    def last_days(self, mask: np.ndarray, n: int) -> np.ndarray:
        """Per person, the days before as_of of the latest event in ``mask`` (else NO_EVENT)."""
        out = np.full(n, NO_EVENT, dtype=np.int32)
        if np.count_nonzero(mask) > self.size // 4:  # cheaper than copying most events
            np.minimum.at(out, self.pos, np.where(mask, self.days, NO_EVENT))
        else:
            np.minimum.at(out, self.pos[mask], self.days[mask])
        return out


def icd_categories(normal: np.ndarray, specs: Sequence[str]) -> np.ndarray:
    """Vectorised :func:`masrisk.codes.icd10_matches` over normalised code categories."""
    hit = np.zeros(len(normal), dtype=bool)
    for spec in specs:
        low, _, high = spec.partition("-")
        low, high = normalize_icd10(low), normalize_icd10(high or low)
        prefix = normal.astype(f"<U{len(low)}")
        hit |= (prefix >= low) & (prefix <= high)
    return hit
