"""Territorial features: zone, density, vulnerability, smoothed outcome rates and access.

One row per territory, every column prefixed ``ter_``; :func:`masrisk.build_features` joins
them down to the persons living there. Four groups:

- **basics**: zone, population and density;
- **vulnerability**: deprivation percentile ranks across territories in the manner of the
  CDC/ATSDR Social Vulnerability Index, per indicator of the multidimensional poverty index,
  per dimension (theme) and overall;
- **historical rates** of each outcome over the horizon before ``as_of``, raw and smoothed by
  empirical Bayes (globally and over neighbours), their spatial lag and the Getis-Ord Gi*
  hot-spot z-score (the statistics live in :mod:`masrisk.features.spatial`);
- **access**: great-circle distance to the nearest level-1 and level-2/3 facility and the
  facilities per 10,000 residents, when a facilities table is given.

Columns are stable whatever the input: what cannot be computed (no deprivation flags, no
neighbours, no facilities) is NaN.

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
from masrisk.features.catalog import FeatureSpec
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

__all__ = [
    "CATALOG",
    "TerritoryCounts",
    "features_from_counts",
    "territorial_features",
    "territory_counts",
]

logger = logging.getLogger(__name__)

_RANK = "percentile rank 0-1 (0 least, 1 most deprived)"
_RATE = "proportion of persons"

#: The territorial features. Exact names come before the families whose pattern they match.
CATALOG: tuple[FeatureSpec, ...] = (
    FeatureSpec("ter_zone", "territorial", "Zone of the territory: urban or rural", "category"),
    FeatureSpec(
        "ter_population", "territorial", "Resident persons, from the territories table", "persons"
    ),
    FeatureSpec(
        "ter_density",
        "territorial",
        "Resident persons per square kilometre (NaN without area_km2)",
        "persons per km²",
    ),
    FeatureSpec(
        "ter_svi_overall",
        "territorial",
        "Percentile rank across territories of the sum of all indicator percentile ranks "
        "(CDC/ATSDR Social Vulnerability Index method, overall)",
        _RANK,
    ),
    FeatureSpec(
        "ter_svi_theme_{dimension}",
        "territorial",
        "Percentile rank across territories of the sum of the indicator percentile ranks of "
        "one poverty-index dimension (SVI theme)",
        _RANK,
    ),
    FeatureSpec(
        "ter_svi_{indicator}",
        "territorial",
        "Percentile rank across territories of the share of households deprived in one "
        "poverty-index indicator (ties take the lowest rank, as CDC's SVI)",
        _RANK,
    ),
    FeatureSpec(
        "ter_rate_{outcome}",
        "territorial",
        "Share of the persons present one horizon before as_of who had the outcome in "
        "[as_of - horizon, as_of)",
        _RATE,
    ),
    FeatureSpec(
        "ter_eb_rate_{outcome}",
        "territorial",
        "Historical outcome rate smoothed by global empirical Bayes (Marshall 1991): small "
        "populations shrink toward the overall rate",
        _RATE,
    ),
    FeatureSpec(
        "ter_seb_rate_{outcome}",
        "territorial",
        "Historical outcome rate smoothed by local empirical Bayes (Marshall 1991): shrunk "
        "toward the rate of the territory and its neighbours",
        _RATE,
    ),
    FeatureSpec(
        "ter_lag_rate_{outcome}",
        "territorial",
        "Spatial lag of the empirical-Bayes rate: weighted mean over the neighbours, the "
        "territory itself left out",
        _RATE,
    ),
    FeatureSpec(
        "ter_gistar_{outcome}",
        "territorial",
        "Getis-Ord Gi* z-score of the empirical-Bayes rate over the territory and its "
        "neighbours: above 1.96 a hot spot, below -1.96 a cold spot",
        "z-score",
    ),
    FeatureSpec(
        "ter_km_to_level1",
        "territorial",
        "Great-circle distance from the centroid to the nearest level-1 (primary-care) facility",
        "km",
    ),
    FeatureSpec(
        "ter_km_to_level23",
        "territorial",
        "Great-circle distance from the centroid to the nearest level-2 or level-3 facility",
        "km",
    ),
    FeatureSpec(
        "ter_facilities_per_10k",
        "territorial",
        "Facilities located in the territory per 10,000 residents",
        "facilities per 10,000 persons",
    ),
)

_ZONES = pd.CategoricalDtype(list(ZONES))


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
        A validated population; reads territories, households, events and, when given,
        adjacency and facilities.
    population : Population
        The persons present at ``as_of`` (:func:`masrisk.features.population_at`); its
        ``as_of`` is the cut-off: rates use only events dated before it. Population sizes
        and densities come from the territories table.
    outcomes : mapping of str to OutcomeConfig
        The outcomes whose historical rates to compute, by name (``Config.outcomes``).
    k_neighbors : int, default 6
        Without an adjacency table, each territory's neighbours are its ``k_neighbors``
        nearest centroids (the relation made symmetric).

    Raises
    ------
    ValueError
        If ``k_neighbors`` is less than 1.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``territory_id`` (every territory, in table order), columns documented in
        :data:`CATALOG`: ``ter_zone`` categorical, the rest float32. For each outcome, five
        columns ``ter_{rate,eb_rate,seb_rate,lag_rate,gistar}_{outcome}``; spatial columns
        are NaN when neither adjacency nor centroids are given.

    Notes
    -----
    The persons at risk of outcome ``o`` in a territory are those present at
    ``as_of - horizon`` (:func:`~masrisk.features.population.population_at`) living there;
    those among them with a qualifying event in ``[as_of - horizon, as_of)`` count as
    cases. One population and one pass over the events serve all outcomes of a horizon.

    The work is split in two so that it can run on a population split by territory
    (:mod:`masrisk.scale`): :func:`territory_counts` reads households and events and
    returns counts that add up across parts; :func:`features_from_counts` turns the
    counts of the whole population into features.
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

    Parameters
    ----------
    tables : Tables
        Reads only the territories, adjacency and facilities tables, which every part of a
        population split by territory holds whole.
    counts : TerritoryCounts
        :func:`territory_counts` of the whole population (or the sum of its parts').
    outcomes, k_neighbors
        As :func:`territorial_features`.

    Returns
    -------
    pandas.DataFrame
        As :func:`territorial_features`.
    """
    if k_neighbors < 1:
        raise ValueError(f"k_neighbors must be at least 1, got {k_neighbors}")
    territories = tables.territories
    ids = pd.Index(territories["territory_id"], name="territory_id")
    if not counts.territory_ids.equals(ids):
        raise ValueError("the territory counts are not of this territories table")
    lon, lat = _centroids(territories)
    neighbours = _neighbours(tables, ids, lon, lat, k_neighbors)
    population_size = territories["population"].to_numpy(dtype="float64")
    columns = {
        **_basics(territories),
        **_vulnerability(counts),
        **_outcome_rates(counts, outcomes, neighbours),
        **_access(tables.facilities, ids, lon, lat, population_size),
    }
    return pd.DataFrame(
        {
            name: values if name == "ter_zone" else np.asarray(values, dtype="float32")
            for name, values in columns.items()
        },
        index=ids,
    )


# --------------------------------------------------------------------------- basics


def _centroids(territories: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of the centroids, NaN where (or when) not given."""
    if not {"lon", "lat"} <= set(territories.columns):
        nan = np.full(len(territories), np.nan)
        return nan, nan.copy()
    lon = territories["lon"].to_numpy(dtype="float64", na_value=np.nan)
    lat = territories["lat"].to_numpy(dtype="float64", na_value=np.nan)
    return lon, lat


def _basics(territories: pd.DataFrame) -> dict[str, object]:
    population = territories["population"].to_numpy(dtype="float64", na_value=np.nan)
    density = np.full(len(territories), np.nan)
    if "area_km2" in territories.columns:
        area = territories["area_km2"].to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            density = np.where(area > 0, population / area, np.nan)
    zone = pd.Categorical(territories["zone"].astype("str"), dtype=_ZONES)
    return {"ter_zone": zone, "ter_population": population, "ter_density": density}


# --------------------------------------------------------------------------- vulnerability


def _percentile_rank(frame: pd.DataFrame) -> pd.DataFrame:
    """``(rank - 1) / (n - 1)`` per column, ties at their lowest rank, NaN left out.

    As CDC/ATSDR's SVI (Excel's PERCENTRANK.INC, R's ``dplyr::percent_rank``): tied values
    share the lowest rank of the tie, so territories where nobody is deprived rank 0.
    Fewer than two values: NaN.
    """
    known = frame.count()
    return (frame.rank(method="min") - 1) / (known - 1).where(known >= 2)


def _vulnerability(counts: TerritoryCounts) -> dict[str, np.ndarray]:
    """SVI-style percentile ranks: per indicator, per dimension (theme) and overall."""
    shares = {}
    for indicator in MPI_INDICATORS:
        share = np.full(len(counts.territory_ids), np.nan)
        if indicator in counts.households_known:
            counted = counts.households_known[indicator]
            deprived = counts.households_deprived[indicator]
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(counted > 0, deprived / counted, np.nan)
        shares[indicator] = share
    given = [i for i in MPI_INDICATORS if i in counts.households_known]
    ranks = _percentile_rank(pd.DataFrame(shares))

    def summed(indicators: list[str]) -> pd.Series:
        # Rounded so that equal sums of ranks tie whatever the order of the float additions.
        if not indicators:
            return pd.Series(np.nan, index=ranks.index)
        return ranks[indicators].sum(axis=1, skipna=False).round(10)

    themes = {d: summed([i for i in given if MPI_INDICATORS[i] == d]) for d in MPI_DIMENSIONS}
    theme_ranks = _percentile_rank(pd.DataFrame(themes))
    overall = summed(given)
    return {
        **{f"ter_svi_{i.removeprefix('dep_')}": ranks[i].to_numpy() for i in MPI_INDICATORS},
        **{f"ter_svi_theme_{d}": theme_ranks[d].to_numpy() for d in MPI_DIMENSIONS},
        "ter_svi_overall": _percentile_rank(overall.to_frame()).iloc[:, 0].to_numpy(),
    }


# --------------------------------------------------------------------------- outcome rates


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
    for name in outcomes:
        observed, at_risk = counts.cases[name], counts.at_risk[name]
        with np.errstate(divide="ignore", invalid="ignore"):
            columns[f"ter_rate_{name}"] = np.where(at_risk > 0, observed / at_risk, np.nan)
        smoothed = eb_rates(observed, at_risk)
        columns[f"ter_eb_rate_{name}"] = smoothed
        spatial = neighbours is not None
        columns[f"ter_seb_rate_{name}"] = (
            local_eb_rates(observed, at_risk, neighbours) if spatial else nan
        )
        columns[f"ter_lag_rate_{name}"] = spatial_lag(smoothed, neighbours) if spatial else nan
        columns[f"ter_gistar_{name}"] = gi_star(smoothed, neighbours) if spatial else nan
    return columns


# --------------------------------------------------------------------------- access


def _access(
    facilities: pd.DataFrame | None,
    ids: pd.Index,
    lon: np.ndarray,
    lat: np.ndarray,
    population: np.ndarray,
) -> dict[str, np.ndarray]:
    """Distance to the nearest facility by level, facilities per 10,000 residents."""
    n = len(ids)
    columns = {name: np.full(n, np.nan) for name in ("level1", "level23", "per_10k")}
    if facilities is not None:
        flon = facilities["lon"].to_numpy(dtype="float64")
        flat = facilities["lat"].to_numpy(dtype="float64")
        level = facilities["level"].to_numpy(dtype="float64", na_value=np.nan)
        for name, chosen in (("level1", level == 1), ("level23", (level == 2) | (level == 3))):
            columns[name] = nearest_km(lon, lat, flon[chosen], flat[chosen])[0]
        territory = _facility_territories(facilities, ids, lon, lat)
        if territory is not None:
            located = np.bincount(territory[territory >= 0], minlength=n)
            with np.errstate(divide="ignore", invalid="ignore"):
                columns["per_10k"] = np.where(population > 0, 1e4 * located / population, np.nan)
    return {
        "ter_km_to_level1": columns["level1"],
        "ter_km_to_level23": columns["level23"],
        "ter_facilities_per_10k": columns["per_10k"],
    }


def _facility_territories(
    facilities: pd.DataFrame, ids: pd.Index, lon: np.ndarray, lat: np.ndarray
) -> np.ndarray | None:
    """Each facility's territory: its ``territory_id``, else the nearest centroid.

    ``None`` when facilities without ``territory_id`` cannot be placed (no centroids).
    """
    territory = np.full(len(facilities), -1, dtype="int64")
    if "territory_id" in facilities.columns:
        territory = ids.get_indexer(facilities["territory_id"]).astype("int64")
    missing = territory < 0
    if missing.any():
        placed = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
        if len(placed) == 0:
            return None
        _, nearest = nearest_km(
            facilities["lon"].to_numpy(dtype="float64")[missing],
            facilities["lat"].to_numpy(dtype="float64")[missing],
            lon[placed],
            lat[placed],
        )
        territory[missing] = placed[nearest]
    return territory
