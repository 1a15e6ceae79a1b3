"""Territorial features: zone, density, vulnerability, smoothed outcome rates and access.

One row per territory, every column prefixed ``ter_`` and documented in :data:`CATALOG`;
:func:`masrisk.build_features` joins them down to the persons living there. The spatial
statistics live in :mod:`masrisk.features.spatial`. Columns are stable whatever the input:
what cannot be computed (no deprivation flags, no neighbours, no facilities) is NaN.

Examples
--------
>>> import pandas as pd
>>> from masrisk import Tables, load_config
>>> from masrisk.features.population import population_at
>>> from masrisk.features.territorial import territorial_features
>>> frames = {
...     "territories": pd.DataFrame({"territory_id": ["T1", "T2"], "zone": ["urban", "rural"],
...                                  "population": [3, 1], "area_km2": [0.5, 4.0],
...                                  "lon": [-74.08, -74.2], "lat": [4.6, 4.5]}),
...     "households": pd.DataFrame({"household_id": [1, 2], "territory_id": ["T1", "T2"]}),
...     "persons": pd.DataFrame({"person_id": [1, 2], "household_id": [1, 2],
...                              "birth_date": ["1950-01-01", "1960-01-01"], "sex": ["F", "M"]}),
...     "events": pd.DataFrame({"person_id": [1], "kind": ["emergency"], "date": ["2023-06-01"]}),
... }
>>> tables = Tables.from_frames(frames)
>>> features = territorial_features(
...     tables, population_at(tables, "2024-01-01"), outcomes=load_config("bogota").outcomes
... )
>>> features[["ter_zone", "ter_density", "ter_rate_emergency_12m"]]
             ter_zone  ter_density  ter_rate_emergency_12m
territory_id
T1              urban         6.00                     1.0
T2              rural         0.25                     0.0
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from masrisk.codes import MPI_DIMENSIONS, MPI_INDICATORS
from masrisk.config import OutcomeConfig
from masrisk.features.catalog import FeatureSpec, feature
from masrisk.features.counts import TerritoryCounts, territory_counts
from masrisk.features.population import Population
from masrisk.features.spatial import (
    adjacency_weights,
    eb_rates,
    gi_star,
    knn_neighbours,
    local_eb_rates,
    nearest_km,
    spatial_lag,
)
from masrisk.tables import Tables
from masrisk.vocabulary import ZONES

__all__ = ["CATALOG", "features_from_counts", "territorial_features"]

logger = logging.getLogger(__name__)

_RANK = "percentile rank 0-1 (0 least, 1 most deprived)"
_RATE = "proportion of persons"

#: The territorial features. Exact names come before the families whose pattern they match.
CATALOG: tuple[FeatureSpec, ...] = (
    feature("ter_zone", "Zone of the territory: urban or rural", "category"),
    feature("ter_population", "Resident persons, from the territories table", "persons"),
    feature("ter_density", "Resident persons per km² (NaN without area_km2)", "persons per km²"),
    feature(
        "ter_svi_overall",
        "Percentile rank across territories of the sum of all indicator percentile ranks "
        "(CDC/ATSDR Social Vulnerability Index method, overall)",
        _RANK,
    ),
    feature(
        "ter_svi_theme_{dimension}",
        "Percentile rank across territories of the sum of the indicator percentile ranks of "
        "one poverty-index dimension (SVI theme)",
        _RANK,
    ),
    feature(
        "ter_svi_{indicator}",
        "Percentile rank across territories of the share of households deprived in one "
        "poverty-index indicator (ties take the lowest rank, as CDC's SVI)",
        _RANK,
    ),
    feature(
        "ter_rate_{outcome}",
        "Share of the persons present one horizon before as_of who had the outcome in "
        "[as_of - horizon, as_of)",
        _RATE,
    ),
    feature(
        "ter_eb_rate_{outcome}",
        "Historical outcome rate smoothed by global empirical Bayes (Marshall 1991): small "
        "populations shrink toward the overall rate",
        _RATE,
    ),
    feature(
        "ter_seb_rate_{outcome}",
        "Historical outcome rate smoothed by local empirical Bayes (Marshall 1991): shrunk "
        "toward the rate of the territory and its neighbours",
        _RATE,
    ),
    feature(
        "ter_lag_rate_{outcome}",
        "Spatial lag of the empirical-Bayes rate: weighted mean over the neighbours, the "
        "territory itself left out",
        _RATE,
    ),
    feature(
        "ter_gistar_{outcome}",
        "Getis-Ord Gi* z-score of the empirical-Bayes rate over the territory and its "
        "neighbours: above 1.96 a hot spot, below -1.96 a cold spot",
        "z-score",
    ),
    *(
        feature(
            f"ter_km_to_{name}",
            f"Great-circle distance from the centroid to the nearest {level} facility",
            "km",
        )
        for name, level in (("level1", "level-1 (primary-care)"), ("level23", "level-2 or level-3"))
    ),
    feature(
        "ter_facilities_per_10k",
        "Facilities located in the territory per 10,000 residents",
        "facilities per 10,000 persons",
    ),
)


def territorial_features(
    tables: Tables,
    population: Population,
    *,
    outcomes: Mapping[str, OutcomeConfig],
    k_neighbors: int = 6,
) -> pd.DataFrame:
    """Build the features of every territory at ``population.as_of``.

    Parameters
    ----------
    tables : Tables
        A validated population: territories (sizes, areas, centroids), households, events
        and, when given, adjacency and facilities.
    population : Population
        The persons present at ``as_of`` (:func:`masrisk.features.population_at`); rates
        use only events dated before its ``as_of``.
    outcomes : mapping of str to OutcomeConfig
        The outcomes whose historical rates to compute, by name (``Config.outcomes``).
    k_neighbors : int, default 6
        Without an adjacency table, each territory's neighbours are its ``k_neighbors``
        nearest centroids (the relation made symmetric).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``territory_id`` (every territory, in table order), the columns of
        :data:`CATALOG` (five per outcome): ``ter_zone`` categorical, the rest float32.

    Raises
    ------
    ValueError
        If ``k_neighbors`` is less than 1.

    Notes
    -----
    The persons at risk of an outcome in a territory are those living there at
    ``as_of - horizon``; its cases, those of them with a qualifying event in
    ``[as_of - horizon, as_of)``. This is :func:`territory_counts` (additive over parts split
    by territory) followed by :func:`features_from_counts`.
    """
    counts = territory_counts(tables, population.as_of, outcomes=outcomes)
    return features_from_counts(tables, counts, outcomes=outcomes, k_neighbors=k_neighbors)


def features_from_counts(
    tables: Tables,
    counts: TerritoryCounts,
    *,
    outcomes: Mapping[str, OutcomeConfig],
    k_neighbors: int = 6,
) -> pd.DataFrame:
    """Turn the :func:`territory_counts` of a whole population into territorial features.

    ``tables`` is read for its territories, adjacency and facilities only (every part holds
    them whole); ``counts`` are the whole's, the sum of its parts'. ``outcomes``,
    ``k_neighbors`` and the result are as in :func:`territorial_features`.
    """
    if k_neighbors < 1:
        raise ValueError(f"k_neighbors must be at least 1, got {k_neighbors}")
    territories = tables.territories
    ids = pd.Index(territories["territory_id"], name="territory_id")
    if not counts.territory_ids.equals(ids):
        raise ValueError("the territory counts are not of this territories table")
    lon, lat = _column(territories, "lon"), _column(territories, "lat")
    population = territories["population"].to_numpy(dtype="float64", na_value=np.nan)
    columns = {
        "ter_zone": pd.Categorical(territories["zone"].astype("str"), categories=list(ZONES)),
        "ter_population": population,
        "ter_density": _ratio(population, _column(territories, "area_km2")),
        **_vulnerability(counts),
        **_outcome_rates(counts, outcomes, _neighbours(tables, ids, lon, lat, k_neighbors)),
        **_access(tables.facilities, ids, lon, lat, population),
    }
    as_float32 = {n: np.asarray(v, dtype="float32") for n, v in columns.items() if n != "ter_zone"}
    return pd.DataFrame(columns | as_float32, index=ids)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Return a column as float64, NaN where (or when) not given."""
    return frame.reindex(columns=[name]).to_numpy(dtype="float64", na_value=np.nan)[:, 0]


def _ratio(numerator: np.ndarray, denominator: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``scale * numerator / denominator`` where the denominator is positive, else NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, scale * numerator / denominator, np.nan)


def _percentile_rank(frame: pd.DataFrame) -> pd.DataFrame:
    """Per column ``(rank - 1) / (n - 1)``, ties at their lowest (as CDC's SVI), NaN if n < 2."""
    known = frame.count()
    return (frame.rank(method="min") - 1) / (known - 1).where(known >= 2)


def _vulnerability(counts: TerritoryCounts) -> dict[str, np.ndarray]:
    """SVI-style percentile ranks: per indicator, per dimension (theme) and overall."""
    given = [i for i in MPI_INDICATORS if i in counts.households_known]
    shares = dict.fromkeys(MPI_INDICATORS, np.full(len(counts.territory_ids), np.nan))
    shares |= {i: _ratio(counts.households_deprived[i], counts.households_known[i]) for i in given}
    ranks = _percentile_rank(pd.DataFrame(shares))

    def summed(indicators: list[str]) -> pd.Series:
        # Rounded so that equal sums of ranks tie whatever the order of the float additions.
        if not indicators:
            return pd.Series(np.nan, index=ranks.index)
        return ranks[indicators].sum(axis=1, skipna=False).round(10)

    themes = {d: summed([i for i in given if MPI_INDICATORS[i] == d]) for d in MPI_DIMENSIONS}
    theme_ranks = _percentile_rank(pd.DataFrame(themes))
    return {
        **{f"ter_svi_{i.removeprefix('dep_')}": ranks[i].to_numpy() for i in MPI_INDICATORS},
        **{f"ter_svi_theme_{d}": theme_ranks[d].to_numpy() for d in MPI_DIMENSIONS},
        "ter_svi_overall": _percentile_rank(summed(given).to_frame()).iloc[:, 0].to_numpy(),
    }


def _neighbours(
    tables: Tables, ids: pd.Index, lon: np.ndarray, lat: np.ndarray, k: int
) -> sparse.csr_array | None:
    """Spatial weights: the adjacency table, else the k nearest centroids, else ``None``."""
    if tables.adjacency is not None:
        return adjacency_weights(tables.adjacency, ids)
    if np.isfinite(lon).any() and np.isfinite(lat).any():
        return knn_neighbours(lon, lat, k)
    logger.warning(
        "territories: no adjacency table and no lon/lat centroids; the spatial features "
        "(local EB rate, spatial lag, Gi*) are NaN. Give adjacency.parquet or lon/lat."
    )
    return None


def _outcome_rates(
    counts: TerritoryCounts,
    outcomes: Mapping[str, OutcomeConfig],
    neighbours: sparse.csr_array | None,
) -> dict[str, np.ndarray]:
    """Raw, global-EB and local-EB rates, spatial lag and Gi* of each outcome."""
    columns = {}
    nan = np.full(len(counts.territory_ids), np.nan)
    spatial = neighbours is not None
    for name in outcomes:
        cases, at_risk = counts.cases[name], counts.at_risk[name]
        smoothed = eb_rates(cases, at_risk)
        columns |= {
            f"ter_rate_{name}": _ratio(cases, at_risk),
            f"ter_eb_rate_{name}": smoothed,
            f"ter_seb_rate_{name}": local_eb_rates(cases, at_risk, neighbours) if spatial else nan,
            f"ter_lag_rate_{name}": spatial_lag(smoothed, neighbours) if spatial else nan,
            f"ter_gistar_{name}": gi_star(smoothed, neighbours) if spatial else nan,
        }
    return columns


def _access(
    facilities: pd.DataFrame | None,
    ids: pd.Index,
    lon: np.ndarray,
    lat: np.ndarray,
    population: np.ndarray,
) -> dict[str, np.ndarray]:
    """Distance to the nearest facility by level, facilities per 10,000 residents."""
    nan = np.full(len(ids), np.nan)
    columns = {"ter_km_to_level1": nan, "ter_km_to_level23": nan, "ter_facilities_per_10k": nan}
    if facilities is None:
        return columns
    flon, flat = _column(facilities, "lon"), _column(facilities, "lat")
    level = _column(facilities, "level")
    for name, chosen in (("level1", level == 1), ("level23", (level == 2) | (level == 3))):
        columns[f"ter_km_to_{name}"] = nearest_km(lon, lat, flon[chosen], flat[chosen])[0]
    # Each facility's territory: its territory_id, else the nearest centroid.
    territory = ids.get_indexer(facilities.reindex(columns=["territory_id"])["territory_id"])
    missing = territory < 0
    placed = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    if missing.any() and len(placed) == 0:
        return columns
    nearest = nearest_km(flon[missing], flat[missing], lon[placed], lat[placed])[1]
    territory[missing] = placed[nearest]
    located = np.bincount(territory[territory >= 0], minlength=len(ids))
    columns["ter_facilities_per_10k"] = _ratio(located, population, 1e4)
    return columns
