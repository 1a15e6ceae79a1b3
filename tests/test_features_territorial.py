"""Territorial features: SVI ranks, empirical-Bayes rates, spatial statistics and access."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

from masrisk import Tables, load_config
from masrisk.codes import MPI_DIMENSIONS, MPI_INDICATORS
from masrisk.features.catalog import matches
from masrisk.features.population import population_at
from masrisk.features.spatial import (
    EARTH_RADIUS_KM,
    eb_rates,
    gi_star,
    knn_neighbours,
    local_eb_rates,
    spatial_lag,
)
from masrisk.features.territorial import CATALOG, territorial_features
from masrisk.synth import synthesize
from tests.conftest import make_frames

AS_OF = pd.Timestamp("2024-01-01")
OUTCOMES = load_config("bogota").outcomes
SPATIAL = ("ter_seb_rate_", "ter_lag_rate_", "ter_gistar_")


def features_of(frames: dict[str, pd.DataFrame], **options) -> pd.DataFrame:
    tables = Tables.from_frames(frames)
    return territorial_features(tables, population_at(tables, AS_OF), outcomes=OUTCOMES, **options)


def counted_frames(
    at_risk: list[int], cases: list[int], *, coordinates: bool = True
) -> dict[str, pd.DataFrame]:
    """Territories T1..Tk in a chain, ``at_risk[i]`` adults each, ``cases[i]`` admitted in 2023."""
    k = len(at_risk)
    ids = [f"T{i + 1}" for i in range(k)]
    territories = pd.DataFrame({"territory_id": ids, "zone": "urban", "population": at_risk})
    if coordinates:
        territories["lon"] = -74.0 - 0.01 * np.arange(k)
        territories["lat"] = 4.6
    territory = np.repeat(ids, at_risk)
    persons = pd.DataFrame(
        {
            "person_id": np.arange(len(territory)),
            "household_id": np.arange(len(territory)),
            "birth_date": "1980-01-01",
            "sex": "F",
        }
    )
    households = pd.DataFrame({"household_id": persons["household_id"], "territory_id": territory})
    first = np.concatenate([[0], np.cumsum(at_risk)[:-1]])
    admitted = np.concatenate([start + np.arange(c) for start, c in zip(first, cases, strict=True)])
    events = pd.DataFrame(
        {"person_id": admitted, "date": "2023-06-01", "kind": "hospitalization", "code": "J18"}
    )
    adjacency = pd.DataFrame(
        {"territory_id": ids[:-1] + ids[1:], "neighbor_id": ids[1:] + ids[:-1]}
    )
    return {
        "territories": territories,
        "households": households,
        "persons": persons,
        "events": events,
        "adjacency": adjacency,
    }


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (lon1, lat1, lon2, lat2))
    h = math.sin((lat2 - lat1) / 2) ** 2 + (
        math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


# --------------------------------------------------------------------------- empirical Bayes


def test_eb_rates_shrink_fully_when_rates_vary_less_than_chance():
    observed, at_risk = np.array([1.0, 10.0, 0.0]), np.array([10.0, 200.0, 5.0])
    # By hand (Marshall 1991): raw rates 0.1, 0.05, 0.
    m = 11 / 215
    s2 = (10 * (0.1 - m) ** 2 + 200 * (0.05 - m) ** 2 + 5 * (0.0 - m) ** 2) / 215
    n_bar = 215 / 3
    assert s2 - m / n_bar < 0  # so A is floored at 0 and every w_i = 0
    np.testing.assert_allclose(eb_rates(observed, at_risk), [m, m, m])

    frames = counted_frames([10, 200, 5], [1, 10, 0])
    features = features_of(frames)
    np.testing.assert_allclose(features["ter_rate_hospitalization_12m"], [0.1, 0.05, 0.0])
    np.testing.assert_allclose(features["ter_eb_rate_hospitalization_12m"], [m] * 3, rtol=1e-6)


def test_eb_rates_match_marshall_by_hand():
    observed, at_risk = np.array([1.0, 10.0, 0.0, 60.0]), np.array([10.0, 200.0, 5.0, 400.0])
    r = observed / at_risk
    m = 71 / 615
    s2 = (10 * (0.1 - m) ** 2 + 200 * (0.05 - m) ** 2 + 5 * m**2 + 400 * (0.15 - m) ** 2) / 615
    a = s2 - m / (615 / 4)
    assert a > 0
    w = a / (a + m / at_risk)
    expected = w * r + (1 - w) * m
    np.testing.assert_allclose(eb_rates(observed, at_risk), expected)
    np.testing.assert_allclose(expected, [0.1136, 0.0679, 0.1083, 0.1445], atol=1e-4)


def test_shrinkage_is_stronger_for_smaller_populations():
    # Same raw rate 0.2 in territories of 5, 50 and 500 persons, among others at 0.05.
    at_risk = np.array([5.0, 50.0, 500.0, 1000.0, 1000.0])
    observed = np.array([1.0, 10.0, 100.0, 50.0, 50.0])
    smoothed = eb_rates(observed, at_risk)
    m = observed.sum() / at_risk.sum()
    pulled = np.abs(smoothed[:3] - 0.2)
    assert pulled[0] > pulled[1] > pulled[2] > 0
    assert ((smoothed[:3] > m) & (smoothed[:3] < 0.2)).all()


def test_eb_rate_of_a_territory_without_persons_at_risk_is_the_mean():
    smoothed = eb_rates(np.array([0.0, 10.0, 40.0]), np.array([0.0, 100.0, 100.0]))
    assert smoothed[0] == pytest.approx(0.25)
    assert np.isnan(eb_rates(np.zeros(2), np.zeros(2))).all()


def test_local_eb_rate_is_marshall_over_each_neighbourhood():
    at_risk, cases = [10, 200, 5, 400], [1, 10, 0, 60]
    chain = sparse.csr_array(np.eye(4, k=1) + np.eye(4, k=-1))
    local = local_eb_rates(np.array(cases), np.array(at_risk), chain)
    for i, hood in enumerate([[0, 1], [0, 1, 2], [1, 2, 3], [2, 3]]):
        expected = eb_rates(np.array(cases)[hood], np.array(at_risk)[hood])[hood.index(i)]
        assert local[i] == pytest.approx(expected)
    features = features_of(counted_frames(at_risk, cases))
    np.testing.assert_allclose(features["ter_seb_rate_hospitalization_12m"], local, rtol=1e-6)


# --------------------------------------------------------------------------- spatial statistics


def test_spatial_lag_and_gi_star_on_a_chain_match_hand_computation():
    x = np.array([1.0, 2.0, 3.0, 10.0])
    chain = sparse.csr_array(np.eye(4, k=1) + np.eye(4, k=-1))
    np.testing.assert_allclose(spatial_lag(x, chain), [2.0, 2.0, 6.0, 3.0])
    # Gi*: x_bar = 4, S = sqrt((1 + 4 + 9 + 100) / 4 - 16), W = (2, 3, 3, 2), n = 4.
    s = math.sqrt(114 / 4 - 16)
    expected = [
        (3 - 4 * 2) / (s * math.sqrt((4 * 2 - 2**2) / 3)),
        (6 - 4 * 3) / (s * math.sqrt((4 * 3 - 3**2) / 3)),
        (15 - 4 * 3) / (s * math.sqrt((4 * 3 - 3**2) / 3)),
        (13 - 4 * 2) / (s * math.sqrt((4 * 2 - 2**2) / 3)),
    ]
    np.testing.assert_allclose(gi_star(x, chain), expected)


def test_weighted_lag_leaves_out_missing_values_and_isolated_territories():
    weights = sparse.csr_array([[0, 1, 3, 0], [1, 0, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0]])
    lag = spatial_lag(np.array([1.0, 2.0, 4.0, 8.0]), weights)
    np.testing.assert_allclose(lag[:3], [(2 + 3 * 4) / 4, 1.0, 1.0])
    assert np.isnan(lag[3])
    with_self = spatial_lag(np.array([1.0, 2.0, 4.0, 8.0]), weights + 5 * sparse.eye_array(4))
    np.testing.assert_array_equal(with_self, lag)  # the territory itself is left out
    assert spatial_lag(np.array([1.0, np.nan, 4.0, 8.0]), weights)[0] == 4.0
    only_missing_neighbour = spatial_lag(np.array([np.nan, 2.0, 4.0, 8.0]), weights)
    np.testing.assert_allclose(only_missing_neighbour, [3.5, np.nan, np.nan, np.nan])


def test_gi_star_is_nan_when_all_values_are_equal():
    chain = sparse.csr_array(np.eye(3, k=1) + np.eye(3, k=-1))
    assert np.isnan(gi_star(np.full(3, 0.1), chain)).all()


def test_features_lag_and_gi_star_follow_the_eb_rates_on_a_chain():
    features = features_of(counted_frames([10, 20, 5, 40], [1, 8, 0, 4]))
    eb = features["ter_eb_rate_hospitalization_12m"].to_numpy(dtype="float64")
    lag = [eb[1], (eb[0] + eb[2]) / 2, (eb[1] + eb[3]) / 2, eb[2]]
    np.testing.assert_allclose(features["ter_lag_rate_hospitalization_12m"], lag, rtol=1e-5)
    n, mean, s = 4, eb.mean(), eb.std()
    size = np.array([2, 3, 3, 2])
    local = np.array([eb[:2].sum(), eb[:3].sum(), eb[1:].sum(), eb[2:].sum()])
    gi = (local - mean * size) / (s * np.sqrt((n * size - size**2) / (n - 1)))
    np.testing.assert_allclose(features["ter_gistar_hospitalization_12m"], gi, rtol=1e-4)


def test_knn_neighbours_are_symmetric():
    rng = np.random.default_rng(0)
    lon, lat = -74.1 + 0.2 * rng.random(30), 4.6 + 0.2 * rng.random(30)
    lon[0], lat[0] = -73.0, 5.5  # far away: nobody's nearest, yet linked both ways
    w = knn_neighbours(lon, lat, k=3)
    dense = w.toarray()
    np.testing.assert_array_equal(dense, dense.T)
    assert (np.diag(dense) == 0).all()
    assert (dense.sum(axis=1) >= 3).all()
    assert dense[0].sum() == 3


def test_knn_is_used_without_adjacency():
    frames = counted_frames([10, 20, 5, 40], [1, 8, 0, 4])
    del frames["adjacency"]
    features = features_of(frames, k_neighbors=1)
    # Centroids on a line: T1's nearest is T2, and T1 is nobody else's nearest.
    eb = features["ter_eb_rate_hospitalization_12m"].to_numpy(dtype="float64")
    first_lag = features["ter_lag_rate_hospitalization_12m"].iloc[0]
    assert first_lag == pytest.approx(eb[1], rel=1e-6)
    assert features["ter_gistar_hospitalization_12m"].notna().all()
    assert features["ter_gistar_emergency_12m"].isna().all()  # no emergencies: rates all equal


def test_spatial_columns_are_nan_without_adjacency_or_centroids(caplog):
    frames = counted_frames([10, 20, 5], [1, 8, 0], coordinates=False)
    del frames["adjacency"]
    with caplog.at_level(logging.WARNING, logger="masrisk.features.territorial"):
        features = features_of(frames)
    spatial = [c for c in features.columns if c.startswith(SPATIAL)]
    assert len(spatial) == 3 * len(OUTCOMES)
    assert features[spatial].isna().all().all()
    assert features["ter_eb_rate_hospitalization_12m"].notna().all()
    assert "no adjacency table and no lon/lat" in caplog.text


# --------------------------------------------------------------------------- vulnerability


def svi_frames() -> dict[str, pd.DataFrame]:
    """Six territories; T6 has no households. Deprived in illiteracy: 0, 0, 1/3, 1, 1/3."""
    ids = ["T1", "T2", "T3", "T4", "T5", "T6"]
    territories = pd.DataFrame({"territory_id": ids, "zone": "urban", "population": 10})
    territory = ["T1", "T2", "T2", "T3", "T3", "T3", "T4", "T5", "T5", "T5"]
    households = pd.DataFrame({"household_id": range(10), "territory_id": territory})
    for column in MPI_INDICATORS:
        households[column] = 0
    households["dep_illiteracy"] = [0, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    households["dep_no_improved_water"] = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    persons = pd.DataFrame(
        {"person_id": [1], "household_id": [0], "birth_date": ["1980-01-01"], "sex": ["F"]}
    )
    events = pd.DataFrame({"person_id": [1], "date": ["2023-01-01"], "kind": ["outpatient"]})
    return {"territories": territories, "households": households, "persons": persons} | {
        "events": events
    }


def test_svi_percentile_ranks_take_the_lowest_rank_of_ties():
    features = features_of(svi_frames())
    # (rank - 1) / (n - 1) over the 5 territories with households; ties at their lowest rank.
    illiteracy = features["ter_svi_illiteracy"]
    np.testing.assert_allclose(illiteracy.iloc[:5], [0, 0, 0.5, 1, 0.5])
    np.testing.assert_allclose(features["ter_svi_no_improved_water"].iloc[:5], [1, 0, 0, 0, 0])
    np.testing.assert_allclose(features["ter_svi_informal_work"].iloc[:5], [0] * 5)
    np.testing.assert_allclose(features["ter_svi_theme_education"].iloc[:5], [0, 0, 0.5, 1, 0.5])
    np.testing.assert_allclose(features["ter_svi_theme_housing"].iloc[:5], [1, 0, 0, 0, 0])
    # Overall: sums of all ranks (1, 0, 0.5, 1, 0.5) ranked 4, 1, 2, 4, 2 of 5.
    np.testing.assert_allclose(features["ter_svi_overall"].iloc[:5], [0.75, 0, 0.25, 0.75, 0.25])
    svi = features.filter(like="ter_svi_")
    assert svi.shape[1] == len(MPI_INDICATORS) + len(MPI_DIMENSIONS) + 1
    assert svi.loc["T6"].isna().all()


def test_svi_columns_are_nan_without_deprivation_flags():
    frames = svi_frames()
    frames["households"] = frames["households"][["household_id", "territory_id"]]
    svi = features_of(frames).filter(like="ter_svi_")
    assert svi.shape[1] == len(MPI_INDICATORS) + len(MPI_DIMENSIONS) + 1
    assert svi.isna().all().all()


# --------------------------------------------------------------------------- access


def test_distances_to_facilities_are_great_circle_km():
    frames = make_frames()
    frames["territories"][["lon", "lat"]] = [[-74.0, 4.0], [-74.1, 4.6], [-74.3, 4.3]]
    frames["facilities"] = pd.DataFrame(
        {"facility_id": ["F1", "F2", "F3"], "lon": [-74.0, -74.2, -75.0], "lat": [5.0, 4.7, 3.0]}
        | {"level": [1, 2, 3]}
    )
    features = features_of(frames)
    assert features.loc["T1", "ter_km_to_level1"] == pytest.approx(111.195, abs=1e-3)
    assert haversine_km(-74.0, 4.0, -74.0, 5.0) == pytest.approx(111.195, abs=1e-3)
    for territory, lon, lat in frames["territories"][["territory_id", "lon", "lat"]].values:
        level23 = min(haversine_km(lon, lat, -74.2, 4.7), haversine_km(lon, lat, -75.0, 3.0))
        assert features.loc[territory, "ter_km_to_level23"] == pytest.approx(level23, rel=1e-5)
        level1 = haversine_km(lon, lat, -74.0, 5.0)
        assert features.loc[territory, "ter_km_to_level1"] == pytest.approx(level1, rel=1e-5)


def test_facilities_per_10k_use_territory_id_else_the_nearest_centroid():
    frames = make_frames()
    frames["territories"]["population"] = [20_000, 5_000, 2_000]
    frames["facilities"] = pd.DataFrame(
        {
            "facility_id": ["F1", "F2", "F3"],
            "lon": [-74.09, -74.12, -74.15],
            "lat": [4.61, 4.5, 4.31],  # F3 lies next to T3's centroid
            "level": [1, 3, 1],
            "territory_id": ["T2", "T2", None],
        }
    )
    features = features_of(frames)
    np.testing.assert_allclose(features["ter_facilities_per_10k"], [0.0, 4.0, 5.0])


def test_access_columns_are_nan_without_facilities():
    frames = make_frames()
    del frames["facilities"]
    features = features_of(frames)
    access = ["ter_km_to_level1", "ter_km_to_level23", "ter_facilities_per_10k"]
    assert features[access].isna().all().all()
    assert features[access].dtypes.eq("float32").all()


# --------------------------------------------------------------------------- point in time


def test_rates_count_events_in_the_horizon_before_as_of():
    frames = make_frames()
    events = frames["events"]
    # P1 (T1, 4 persons at risk) admitted for a myocardial infarction the day before as_of;
    # P5 (T2, 2 persons) at the emergency room on the first day of the window, P6 the day before.
    events.loc[events["person_id"] == "P1", "date"] = ["2023-01-10", "2023-06-01", "2023-12-31"]
    events.loc[events["person_id"] == "P5", ["date", "kind"]] = [
        ["2023-01-01", "emergency"],
        ["2023-08-08", "outpatient"],
    ]
    events.loc[events["person_id"] == "P6", ["date", "kind"]] = ["2022-12-31", "emergency"]
    features = features_of(frames)
    np.testing.assert_allclose(features["ter_rate_hospitalization_12m"], [0.25, 0, 0])
    np.testing.assert_allclose(features["ter_rate_cardiovascular_12m"], [0.25, 0, 0])
    np.testing.assert_allclose(features["ter_rate_emergency_12m"], [0, 0.5, 0])
    np.testing.assert_allclose(features["ter_rate_mortality_12m"], [0, 0, 0])


def test_rates_ignore_events_on_or_after_as_of():
    frames = make_frames()
    before = features_of(frames)
    events = frames["events"]
    # P6's visit on as_of becomes an emergency; P4's emergency moves to as_of + 10 days.
    events.loc[events["person_id"] == "P6", "kind"] = "emergency"
    events.loc[events["person_id"] == "P4", "date"] = "2024-01-11"
    after = features_of(frames)
    pd.testing.assert_frame_equal(before, after)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    row=st.sampled_from([2, 5, 8, 10, 11]),  # the events dated on or after as_of
    days=st.integers(0, 360),
    kind=st.sampled_from(["hospitalization", "emergency", "outpatient"]),
    code=st.sampled_from(["I21.0", "I64X", "J18"]),
)
def test_no_event_on_or_after_as_of_changes_any_feature(row, days, kind, code):
    # Any event dated on or after as_of may become any other (within the labels' year).
    frames = make_frames()
    before = features_of(frames)
    events = frames["events"]
    date = f"{AS_OF + pd.Timedelta(days=days):%Y-%m-%d}"
    events.loc[row, ["date", "kind", "code"]] = [date, kind, code]
    events.loc[row, "value"] = None
    pd.testing.assert_frame_equal(features_of(frames), before)


# --------------------------------------------------------------------------- columns


def test_columns_prefixes_dtypes_and_index():
    frames = make_frames()
    features = features_of(frames)
    assert features.index.name == "territory_id"
    assert features.index.tolist() == ["T1", "T2", "T3"]
    assert all(c.startswith("ter_") for c in features.columns)
    assert features["ter_zone"].dtype == pd.CategoricalDtype(["urban", "rural"])
    assert features["ter_zone"].tolist() == ["urban", "urban", "rural"]
    assert features.drop(columns="ter_zone").dtypes.eq("float32").all()
    for outcome in OUTCOMES:
        for family in ("rate", "eb_rate", "seb_rate", "lag_rate", "gistar"):
            assert f"ter_{family}_{outcome}" in features.columns
    np.testing.assert_allclose(features["ter_population"], [3, 3, 2])
    assert features["ter_density"].isna().all()  # no area_km2


def test_every_column_is_documented_by_the_catalog():
    features = features_of(make_frames())
    documented = {c: matches(c, CATALOG) for c in features.columns}
    assert all(documented.values()), [c for c, spec in documented.items() if spec is None]
    assert documented["ter_svi_theme_health"].name == "ter_svi_theme_{dimension}"
    assert documented["ter_svi_overall"].name == "ter_svi_overall"
    assert documented["ter_eb_rate_mortality_12m"].name == "ter_eb_rate_{outcome}"
    assert all(spec.level == "territorial" and spec.unit for spec in CATALOG)


def test_columns_are_the_same_whatever_the_optional_tables():
    full = features_of(make_frames())
    frames = make_frames()
    del frames["facilities"], frames["adjacency"]
    frames["territories"] = frames["territories"].drop(columns=["lon", "lat"])
    frames["households"] = frames["households"][["household_id", "territory_id"]]
    bare = features_of(frames)
    assert bare.columns.tolist() == full.columns.tolist()
    pd.testing.assert_series_equal(bare.dtypes, full.dtypes)


# --------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def synthetic() -> tuple[Tables, pd.DataFrame]:
    tables = synthesize("bogota", persons=3000, seed=0).tables
    features = territorial_features(tables, population_at(tables, AS_OF), outcomes=OUTCOMES)
    return tables, features


def test_rural_territories_are_more_vulnerable(synthetic):
    tables, features = synthetic
    by_zone = features.groupby("ter_zone", observed=True)["ter_svi_overall"].mean()
    assert by_zone["rural"] > by_zone["urban"]
    assert features.index.tolist() == tables.territories["territory_id"].tolist()


def test_synthetic_eb_rates_lie_between_raw_rates_and_the_mean(synthetic):
    tables, features = synthetic
    persons = population_at(tables, AS_OF - pd.Timedelta(days=365)).persons
    at_risk = persons["territory_id"].value_counts().reindex(features.index, fill_value=0)
    assert (at_risk > 0).all()
    for outcome in OUTCOMES:
        raw = features[f"ter_rate_{outcome}"].to_numpy(dtype="float64")
        smoothed = features[f"ter_eb_rate_{outcome}"].to_numpy(dtype="float64")
        mean = (raw * at_risk).sum() / at_risk.sum()
        low, high = np.minimum(raw, mean), np.maximum(raw, mean)
        assert ((smoothed >= low - 1e-6) & (smoothed <= high + 1e-6)).all(), outcome
        assert features[f"ter_lag_rate_{outcome}"].notna().all()
