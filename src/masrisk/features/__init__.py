"""Features at individual, family and territorial level, point-in-time at ``as_of``.

:func:`build_features` returns one row per person present at ``as_of`` (born before it, no
death before it), indexed by ``person_id``. Every column says its level by its prefix -
``ind_``, ``fam_`` or ``ter_`` - so explanations can be split by level. Family and
territorial features are computed once per household and territory and joined down to
persons. Features see only events dated before ``as_of``; :func:`build_labels` sees only
events in ``[as_of, as_of + horizon)``. :func:`feature_catalog` documents every column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from masrisk.config import Config, load_config
from masrisk.features import family, individual, territorial
from masrisk.features.catalog import FeatureSpec, catalog_frame, matches
from masrisk.features.labels import build_labels
from masrisk.features.population import Population, population_at
from masrisk.tables import Tables

__all__ = [
    "LEVELS",
    "FeatureSpec",
    "Population",
    "build_features",
    "build_labels",
    "describe_column",
    "lab_codes_in",
    "feature_catalog",
    "population_at",
]

#: The three levels, in the order their features are built.
LEVELS: tuple[str, ...] = ("individual", "family", "territorial")

_CATALOG: tuple[FeatureSpec, ...] = individual.CATALOG + family.CATALOG + territorial.CATALOG


def build_features(
    tables: Tables,
    *,
    as_of: str | pd.Timestamp,
    levels: Iterable[str] = LEVELS,
    config: Config | None = None,
    lab_codes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Build the features of every person present at ``as_of``.

    Parameters
    ----------
    tables : Tables
        A validated population (:func:`masrisk.load_tables`).
    as_of : date
        Cut-off: features see only events dated strictly before it.
    levels : iterable of {"individual", "family", "territorial"}
        Which levels' columns to return.
    config : Config, optional
        Its outcomes give the territories' historical rates; the shipped Bogotá
        configuration by default.
    lab_codes : sequence of str, optional
        Lab codes to describe; by default the lab codes frequent in the data before
        ``as_of`` (give the training list when scoring, so the columns match).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``person_id``, columns prefixed ``ind_``, ``fam_``, ``ter_`` and
        documented in :func:`feature_catalog`; float32, small integers and categoricals.
    """
    chosen = tuple(levels)
    unknown = sorted(set(chosen) - set(LEVELS))
    if unknown or not chosen:
        raise ValueError(f"levels must be a non-empty subset of {LEVELS}, got {chosen}")
    config = config or load_config("bogota")
    population = population_at(tables, as_of)
    persons = population.persons
    person_level = individual.individual_features(population, lab_codes=lab_codes)
    parts = [person_level] if "individual" in chosen else []
    if "family" in chosen:
        by_household = family.family_features(population, person_level, tables.households)
        parts.append(_join_down(by_household, persons["household_id"], persons.index))
    if "territorial" in chosen:
        by_territory = territorial.territorial_features(
            tables, population, outcomes=config.outcomes
        )
        parts.append(_join_down(by_territory, persons["territory_id"], persons.index))
    return pd.concat(parts, axis=1)


def _join_down(frame: pd.DataFrame, keys: pd.Series, index: pd.Index) -> pd.DataFrame:
    """Repeat each household's or territory's row for each of its persons."""
    rows = frame.index.get_indexer(keys)
    if (rows < 0).any():  # cannot happen with validated tables
        raise ValueError(
            f"{keys.name}: {int((rows < 0).sum())} persons have no {frame.index.name} row"
        )
    return frame.iloc[rows].set_axis(index)


def feature_catalog() -> pd.DataFrame:
    """Return the catalogue of features: name, level, description and unit.

    Names holding a ``{placeholder}`` stand for one feature per lab code, outcome, condition,
    event kind or deprivation indicator.

    Examples
    --------
    >>> from masrisk.features import feature_catalog
    >>> catalog = feature_catalog()
    >>> list(catalog.columns)
    ['name', 'level', 'description', 'unit']
    >>> sorted(catalog["level"].unique())
    ['family', 'individual', 'territorial']
    """
    return catalog_frame(_CATALOG)


def lab_codes_in(columns: Iterable[str]) -> list[str]:
    """Return the lab codes whose features are among ``columns``, to rebuild the same columns.

    Examples
    --------
    >>> lab_codes_in(["ind_age", "ind_lab_hba1c_last", "ind_lab_hba1c_change", "ind_lab_ldl_last"])
    ['hba1c', 'ldl']
    """
    prefix, suffix = "ind_lab_", "_last"
    return [
        c[len(prefix) : -len(suffix)]
        for c in columns
        if c.startswith(prefix) and c.endswith(suffix)
    ]


def describe_column(column: str) -> FeatureSpec | None:
    """Return the catalogue entry that documents a feature column, or ``None``."""
    return matches(column, _CATALOG)
