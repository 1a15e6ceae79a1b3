"""Lab features: per lab code, a person's last result before ``as_of`` and its change.

Lab codes become column-safe names (:func:`lab_name`); by default the codes described are
those that enough of the persons present have had (:func:`lab_persons` counts them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from masrisk.features.catalog import FeatureSpec, feature
from masrisk.features.events import EventArrays
from masrisk.features.population import Population

__all__ = [
    "CATALOG",
    "LAB_PREFIX",
    "frequent_labs",
    "lab_column_names",
    "lab_columns",
    "lab_name",
    "lab_persons",
]

#: The prefix of every lab column.
LAB_PREFIX = "ind_lab_"

#: The lab columns; ``{lab}`` stands for a lab code.
CATALOG: tuple[FeatureSpec, ...] = (
    feature(
        "ind_lab_{lab}_last",
        "Last result of lab test {lab} before as_of (lower-case code, other characters as "
        "'_'); NaN if none.",
        "unit of the lab",
    ),
    feature(
        "ind_lab_{lab}_change",
        "Last minus previous result of lab test {lab}; NaN with fewer than two results.",
        "unit of the lab",
    ),
)


def lab_column_names(names: Iterable[str]) -> list[str]:
    """Return the columns of lab names, in order: ``ind_lab_{name}_last``, ``..._change``."""
    return [f"{LAB_PREFIX}{name}_{kind}" for name in names for kind in ("last", "change")]


def lab_name(code: str) -> str:
    """Column-safe form of a lab code: lower case, other characters as '_'."""
    return re.sub(r"[^a-z0-9]+", "_", code.strip().lower()).strip("_")


def lab_persons(population: Population) -> pd.Series:
    """Count, per lab code, the persons present who have had it before ``as_of``.

    Parts' counts add up to the whole's; :func:`frequent_labs` picks the codes described.

    Returns
    -------
    pandas.Series
        int64, indexed by the column-safe lab name (``ind_lab_{name}_last``), sorted.
    """
    names, _, pair = _lab_pairs(EventArrays(population.events), population.size)
    return _persons_with(pair, population.size, names)


def frequent_labs(by_code: pd.Series, persons: int, min_share: float) -> list[str]:
    """Return the lab names that at least ``min_share`` of ``persons`` have had, sorted."""
    return sorted(by_code.index[(by_code > 0) & (by_code >= min_share * persons)])


def _lab_pairs(events: EventArrays, n: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Lab names (sorted), the lab events' rows and their ``lab * n + person`` pairs."""
    names = sorted({lab_name(c) for c in events.categories} - {""})
    lut = np.append(pd.Index(names).get_indexer([lab_name(c) for c in events.categories]), -1)
    sel = np.flatnonzero(events.kinds(["lab"]))
    lab = lut[events.code_codes[sel]]
    sel, lab = sel[lab >= 0], lab[lab >= 0]
    return names, sel, lab.astype(np.int64) * max(n, 1) + events.pos[sel]


def _persons_with(pair: np.ndarray, n: int, names: list[str]) -> pd.Series:
    """Per lab name, the persons with at least one of the ``lab * n + person`` pairs."""
    persons = np.bincount(np.unique(pair) // max(n, 1), minlength=len(names)).astype(np.int64)
    return pd.Series(persons, index=pd.Index(names, name="lab"))


def lab_columns(
    events: EventArrays, n: int, *, lab_codes: Sequence[str] | None, min_lab_share: float
) -> dict[str, np.ndarray]:
    """Return the last result and change of each lab code asked, or frequent in the data.

    ``events`` are those of ``n`` persons; ``lab_codes`` and ``min_lab_share`` are as in
    :func:`masrisk.features.individual.individual_features`.
    """
    names, sel, pair = _lab_pairs(events, n)
    if lab_codes is None:
        chosen = frequent_labs(_persons_with(pair, n, names), n, min_lab_share)
    else:
        chosen = list(dict.fromkeys(lab_name(c) for c in lab_codes))
        if "" in chosen:
            raise ValueError(f"lab_codes: a code has no letter or digit: {list(lab_codes)!r}")
    # By pair, date (oldest first) and value (same-day ties): events are not sorted.
    order = np.lexsort((events.values[sel], -events.days[sel], pair))
    pair, value = pair[order], events.values[sel[order]]
    finite = np.isfinite(value)
    pair, value = pair[finite], value[finite]
    ends = np.ones(len(pair), dtype=bool)
    ends[:-1] = pair[1:] != pair[:-1]
    last = np.flatnonzero(ends)
    prev = np.maximum(last - 1, 0)
    has_prev = (last > 0) & (pair[prev] == pair[last])
    column = pd.Index(chosen).get_indexer(names)  # -1: a lab not asked for
    pos, col = pair[last] % max(n, 1), column[pair[last] // max(n, 1)]
    out_last, out_change = np.full((2, n, len(chosen)), np.nan, dtype=np.float32)
    keep = col >= 0
    out_last[pos[keep], col[keep]] = value[last[keep]]
    keep &= has_prev
    out_change[pos[keep], col[keep]] = value[last[keep]] - value[prev[keep]]
    arrays = [out[:, j] for j in range(len(chosen)) for out in (out_last, out_change)]
    return dict(zip(lab_column_names(chosen), arrays, strict=True))
