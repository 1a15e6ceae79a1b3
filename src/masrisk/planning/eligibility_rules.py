"""Eligibility: which persons each intervention of the catalogue can reach.

Examples
--------
>>> import pandas as pd
>>> from masrisk.planning import eligibility, load_catalog
>>> screening = load_catalog()["mammography_screening"]
>>> persons = pd.DataFrame({
...     "ind_life_stage": ["adultez", "adultez", "vejez"], "ind_sex": ["F", "M", "F"],
...     "ind_age": [55.0, 55.0, 71.2], "tier": ["promotion_prevention"] * 3,
...     "ind_gap_mammography": [1.0, 0.0, 1.0],
... }, index=pd.Index(["P1", "P2", "P3"], name="person_id"))
>>> eligibility([screening], persons)["mammography_screening"].tolist()
[True, False, False]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from masrisk.exceptions import ParameterError
from masrisk.planning.catalog import (
    AGE_COLUMN,
    REQUIRES_THRESHOLD,
    SEX_COLUMN,
    STAGE_COLUMN,
    STAGES,
    TIER_COLUMN,
    Intervention,
    InterventionCatalog,
)
from masrisk.tiers import TIERS
from masrisk.vocabulary import SEXES

__all__ = ["eligibility"]


def eligibility(
    catalog: InterventionCatalog | Iterable[Intervention], persons: pd.DataFrame
) -> pd.DataFrame:
    """Say which persons are eligible for which interventions.

    A person is eligible when their life-course stage, sex, tier and age (in completed years)
    are among the intervention's, and at least one of its ``requires_any`` features (a
    condition, a care gap) is 0.5 or more. A missing value (NaN) fails every rule that reads it.
    Raises ``ValueError`` naming a missing column (and who reads it), an unknown stage, sex or
    tier, or a feature that is not numeric.

    Parameters
    ----------
    catalog : InterventionCatalog or iterable of Intervention
        The interventions (names must be unique).
    persons : pandas.DataFrame
        One row per person with the columns the interventions read
        (:attr:`InterventionCatalog.required_columns`).

    Returns
    -------
    pandas.DataFrame
        Boolean, indexed like ``persons``, one column per intervention in catalogue order.
    """
    interventions = _as_tuple(catalog)
    _check_columns(interventions, persons)
    attributes = _Attributes(persons)
    columns = {i.name: attributes.eligible(i) for i in interventions}
    return pd.DataFrame(columns, index=persons.index, columns=[i.name for i in interventions])


def _as_tuple(catalog: InterventionCatalog | Iterable[Intervention]) -> tuple[Intervention, ...]:
    items = catalog.interventions if isinstance(catalog, InterventionCatalog) else tuple(catalog)
    bad = [type(i).__name__ for i in items if not isinstance(i, Intervention)]
    if bad:
        raise TypeError(f"expected Intervention objects, got {sorted(set(bad))}")
    names = [i.name for i in items]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ParameterError(f"intervention names must be unique; repeated: {twice}")
    return items


def _check_columns(interventions: tuple[Intervention, ...], persons: pd.DataFrame) -> None:
    needed: dict[str, list[str]] = {}
    for intervention in interventions:
        for column in intervention.required_columns:
            if column not in persons.columns:
                needed.setdefault(column, []).append(intervention.name)
    if needed:
        lines = [
            f"column {column!r}, needed by intervention {names[0]!r}"
            + (f" and {len(names) - 1} more" if len(names) > 1 else "")
            for column, names in needed.items()
        ]
        raise ParameterError(
            "persons lacks columns that interventions read:\n  " + "\n  ".join(lines)
        )


class _Attributes:
    """The persons' attributes as numpy arrays, each converted once and cached."""

    def __init__(self, persons: pd.DataFrame) -> None:
        self._persons = persons
        self._cache: dict[str, np.ndarray] = {}

    def eligible(self, intervention: Intervention) -> np.ndarray:
        mask = np.ones(len(self._persons), dtype=bool)
        if intervention.stages != STAGES:
            mask &= self._member(STAGE_COLUMN, STAGES, intervention.stages)
        if intervention.sex is not None:
            mask &= self._member(SEX_COLUMN, SEXES, (intervention.sex,))
        if intervention.tiers != TIERS:
            mask &= self._member(TIER_COLUMN, TIERS, intervention.tiers)
        if intervention.min_age is not None:
            mask &= self._number(AGE_COLUMN, floor=True) >= intervention.min_age
        if intervention.max_age is not None:
            mask &= self._number(AGE_COLUMN, floor=True) <= intervention.max_age
        if intervention.requires_any:
            met = [self._number(f) >= REQUIRES_THRESHOLD for f in intervention.requires_any]
            mask &= np.any(met, axis=0)
        return mask

    def _member(self, column: str, known: tuple[str, ...], allowed: tuple[str, ...]) -> np.ndarray:
        lookup = np.zeros(len(known) + 1, dtype=bool)  # the last slot answers code -1 (NaN)
        lookup[[known.index(v) for v in allowed]] = True
        return lookup[self._codes(column, known)]

    def _codes(self, column: str, known: tuple[str, ...]) -> np.ndarray:
        if column not in self._cache:
            values = self._persons[column]
            codes = _codes_in(values, known)
            unknown = (codes < 0) & values.notna().to_numpy()
            if unknown.any():
                n = int(unknown.sum())
                shown = list(dict.fromkeys(map(str, values[unknown])))[:5]
                raise ParameterError(
                    f"persons.{column}: {n} unknown value{'s' if n != 1 else ''} (e.g. {shown});"
                    f" expected one of {', '.join(known)}"
                )
            self._cache[column] = codes
        return self._cache[column]

    def _number(self, column: str, *, floor: bool = False) -> np.ndarray:
        key = f"{column}//1" if floor else column
        if key not in self._cache:
            try:
                values = self._persons[column].to_numpy(dtype="float64", na_value=np.nan)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"persons.{column}: not numeric (dtype {self._persons[column].dtype})"
                ) from None
            self._cache[key] = np.floor(values) if floor else values
        return self._cache[key]


def _codes_in(values: pd.Series, known: tuple[str, ...]) -> np.ndarray:
    """Position of each value in ``known``; -1 for a missing or unknown value."""
    index = pd.Index(known)
    if isinstance(values.dtype, pd.CategoricalDtype):  # recode the categories, not the rows
        recode = np.append(index.get_indexer(values.cat.categories), -1)  # code -1 stays -1
        return recode[values.cat.codes.to_numpy()]
    return index.get_indexer(values)
