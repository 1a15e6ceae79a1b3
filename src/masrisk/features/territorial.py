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
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from masrisk.codes import MPI_DIMENSIONS, MPI_INDICATORS
from masrisk.config import OutcomeConfig
from masrisk.features.catalog import FeatureSpec
from masrisk.features.labels import qualifying_events
from masrisk.features.population import Population, population_at, to_timestamp
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

_ZONES = pd.CategoricalDtype(["urban", "rural"])


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


@dataclass(frozen=True)
class TerritoryCounts:
    """Per territory, what the territorial features are computed from; parts add up.

    Every array is float64, one value per territory of ``territory_ids`` (the territories
    table, which every part of a population holds whole).

    Attributes
    ----------
    territory_ids : pandas.Index
    households_known, households_deprived : dict of str to numpy.ndarray
        Per deprivation indicator the households table has: households with a known flag,
        households deprived.
    cases, at_risk : dict of str to numpy.ndarray
        Per outcome: persons with a qualifying event in the window, persons at risk.
    """

    territory_ids: pd.Index
    households_known: dict[str, np.ndarray]
    households_deprived: dict[str, np.ndarray]
    cases: dict[str, np.ndarray]
    at_risk: dict[str, np.ndarray]

    def __add__(self, other: TerritoryCounts) -> TerritoryCounts:
        if not self.territory_ids.equals(other.territory_ids):
            raise ValueError("territory counts of different territories tables do not add up")

        def add(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {k: a.get(k, 0) + b.get(k, 0) for k in dict.fromkeys([*a, *b])}

        return TerritoryCounts(
            self.territory_ids,
            add(self.households_known, other.households_known),
            add(self.households_deprived, other.households_deprived),
            add(self.cases, other.cases),
            add(self.at_risk, other.at_risk),
        )


def territory_counts(
    tables: Tables, as_of: str | pd.Timestamp, *, outcomes: Mapping[str, OutcomeConfig]
) -> TerritoryCounts:
    """Count, per territory, what the territorial features are computed from.

    Parameters
    ----------
    tables : Tables
        A validated population, or one part of it that holds whole territories.
    as_of : date
        Cut-off of the features.
    outcomes : mapping of str to OutcomeConfig
        The outcomes whose cases and persons at risk to count.

    Returns
    -------
    TerritoryCounts
        The counts of parts of a population that share no household add up (``+``) to the
        counts of the whole.
    """
    ids = pd.Index(tables.territories["territory_id"], name="territory_id")
    known, deprived = _deprivation_counts(tables.households, ids)
    outcome_counts = _cases_and_persons_at_risk(tables, to_timestamp(as_of), ids, outcomes)
    return TerritoryCounts(
        ids,
        known,
        deprived,
        {name: np.asarray(c, dtype="float64") for name, (c, _) in outcome_counts.items()},
        {name: np.asarray(r, dtype="float64") for name, (_, r) in outcome_counts.items()},
    )


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


def _deprivation_counts(
    households: pd.DataFrame, ids: pd.Index
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Households with a known flag, and households deprived, per indicator and territory."""
    n = len(ids)
    territory = ids.get_indexer(households["territory_id"])
    known_counts, deprived_counts = {}, {}
    for indicator in MPI_INDICATORS:
        if indicator in households.columns:
            flag = households[indicator].to_numpy(dtype="float64", na_value=np.nan)
            known = ~np.isnan(flag) & (territory >= 0)
            known_counts[indicator] = np.bincount(territory[known], minlength=n).astype("float64")
            deprived_counts[indicator] = np.bincount(territory[known], flag[known], minlength=n)
    return known_counts, deprived_counts


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


def _cases_and_persons_at_risk(
    tables: Tables, as_of: pd.Timestamp, ids: pd.Index, outcomes: Mapping[str, OutcomeConfig]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per outcome and territory: persons with the outcome in the window, persons at risk."""
    events = tables.events
    dates = events["date"].to_numpy()
    kinds = sorted({kind for outcome in outcomes.values() for kind in outcome.kinds})
    relevant = events["kind"].isin(kinds).to_numpy() & (dates < np.datetime64(as_of))
    columns = [c for c in ("person_id", "kind", "code") if c in events.columns]
    counts = {}
    for horizon in sorted({outcome.horizon_days for outcome in outcomes.values()}):
        start = as_of - pd.Timedelta(days=horizon)
        persons = population_at(tables, start).persons
        territory = ids.get_indexer(persons["territory_id"])
        at_risk = np.bincount(territory[territory >= 0], minlength=len(ids))
        recent = events.loc[relevant & (dates >= np.datetime64(start)), columns]
        if "code" not in recent.columns:  # no codes: outcomes that list codes never qualify
            recent = recent.assign(code=pd.Categorical([None] * len(recent)))
        person = persons.index.get_indexer(recent["person_id"])
        for name, outcome in outcomes.items():
            if outcome.horizon_days != horizon:
                continue
            hit = qualifying_events(recent, outcome) & (person >= 0)
            case = np.zeros(len(persons), dtype=bool)
            case[person[hit]] = True
            observed = np.bincount(territory[case & (territory >= 0)], minlength=len(ids))
            counts[name] = (observed, at_risk)
    return {name: counts[name] for name in outcomes}


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
