"""Features at individual, family and territorial level, point-in-time at ``as_of``.

:func:`build_features` gives one row per person present at ``as_of`` (born before it, no
death before it); each column's prefix (``ind_``, ``fam_``, ``ter_``) says its level. Family
and territorial features are computed once per household and territory and joined down to
persons. :func:`build_labels` sees only events in ``[as_of, as_of + horizon)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

from masrisk.config import Config
from masrisk.exceptions import ConfigError
from masrisk.features import family, individual, territorial
from masrisk.features.catalog import FeatureSpec, matches
from masrisk.features.labels import build_labels
from masrisk.features.labs import LAB_PREFIX
from masrisk.features.parts import finish_features, part_counts, part_features, select_levels
from masrisk.features.population import Population, population_at
from masrisk.tables import Tables
from masrisk.vocabulary import LEVEL_NAMES

__all__ = [
    "FeatureSpec",
    "Population",
    "build_features",
    "build_labels",
    "describe_column",
    "lab_codes_in",
    "feature_catalog",
    "population_at",
]

_CATALOG: tuple[FeatureSpec, ...] = individual.CATALOG + family.CATALOG + territorial.CATALOG


def build_features(
    tables: Tables,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    levels: Iterable[str] = LEVEL_NAMES,
    lab_codes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Build the features of every person present at ``as_of``.

    Parameters
    ----------
    tables : Tables
        A validated population (:func:`masrisk.load_tables`).
    as_of : date
        Cut-off: features see only events dated strictly before it.
    config : Config
        Its outcomes give the territories' historical rates (required: the profile changes
        the features).
    levels : iterable of {"individual", "family", "territorial"}
        Which levels' columns to return.
    lab_codes : sequence of str, optional
        Lab codes to describe; by default the lab codes frequent in the data before
        ``as_of`` (give the training list when scoring, so the columns match).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``person_id``, columns prefixed ``ind_``, ``fam_``, ``ter_`` and
        documented in :func:`feature_catalog`; float32, small integers and categoricals.

    Raises
    ------
    masrisk.ConfigError
        If ``levels`` is not a non-empty subset of the three levels.
    """
    chosen = tuple(levels)
    if set(chosen) - set(LEVEL_NAMES) or not chosen:
        raise ConfigError(f"levels must be a non-empty subset of {LEVEL_NAMES}, got {chosen!r}")
    population = population_at(tables, as_of)
    counts = part_counts(tables, as_of=as_of, config=config, population=population)
    codes = counts.labs.frequent() if lab_codes is None else lab_codes
    part = part_features(tables, as_of=as_of, lab_codes=codes, population=population)
    by_territory = territorial.features_from_counts(
        tables, counts.territories, outcomes=config.outcomes
    )
    return select_levels(finish_features(part, by_territory, lab_codes=codes), chosen)


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
    return pd.DataFrame(list(_CATALOG), columns=["name", "level", "description", "unit"])


def lab_codes_in(columns: Iterable[str]) -> list[str]:
    """Return the lab codes whose features are among ``columns``, to rebuild the same columns.

    Examples
    --------
    >>> lab_codes_in(["ind_age", "ind_lab_hba1c_last", "ind_lab_hba1c_change", "ind_lab_ldl_last"])
    ['hba1c', 'ldl']
    """
    last = re.compile(rf"{LAB_PREFIX}(.*)_last")
    return [match[1] for c in columns if (match := last.fullmatch(c))]


def describe_column(column: str) -> FeatureSpec | None:
    """Return the catalogue entry that documents a feature column, or ``None``."""
    return matches(column, _CATALOG)
