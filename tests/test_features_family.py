"""Family features, computed by hand on small households."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from masrisk.codes import MPI_DIMENSIONS, MPI_INDICATORS
from masrisk.features.family import CATALOG, deprivation_weights, family_features
from masrisk.features.population import Population

AS_OF = pd.Timestamp("2024-01-01")


def _population(households: list[str]) -> Population:
    index = pd.Index([f"P{i}" for i in range(len(households))], name="person_id")
    persons = pd.DataFrame({"household_id": households, "territory_id": "T1"}, index=index)
    return Population(as_of=AS_OF, persons=persons, events=pd.DataFrame())


def _individual(ages, chronic=None, pregnant=None, emergencies=None, admissions=None):
    n = len(ages)
    return pd.DataFrame(
        {
            "ind_age": np.asarray(ages, dtype="float32"),
            "ind_n_chronic": chronic or [0] * n,
            "ind_pregnant": pregnant or [0] * n,
            "ind_n_emergency_365d": emergencies or [0] * n,
            "ind_n_hospitalization_365d": admissions or [0] * n,
        }
    )


def _households(flags: dict[str, list[str]]) -> pd.DataFrame:
    ids = list(flags)
    frame = pd.DataFrame({"household_id": ids, "territory_id": "T1"})
    for name in MPI_INDICATORS:
        frame[name] = [int(name in flags[h]) for h in ids]
    return frame


def test_weights_follow_alkire_foster_with_five_dimensions():
    weights = deprivation_weights()
    assert weights["dep_low_educational_attainment"] == pytest.approx(0.1)  # 2 indicators
    assert weights["dep_school_lag"] == pytest.approx(0.05)  # 4 indicators
    assert weights["dep_informal_work"] == pytest.approx(0.1)  # 2 indicators
    assert weights["dep_no_improved_water"] == pytest.approx(0.04)  # 5 indicators
    assert sum(weights.values()) == pytest.approx(1.0)
    assert set(MPI_INDICATORS.values()) == set(MPI_DIMENSIONS)  # every dimension weighs 0.2


def test_composition_of_three_households():
    # H1: grandparents and a toddler; H2: an older woman alone; H3: a mother and two children.
    population = _population(["H1", "H1", "H1", "H2", "H3", "H3", "H3"])
    individual = _individual(
        ages=[67, 62, 3, 81, 30, 10, 4],
        chronic=[2, 1, 0, 3, 0, 0, 0],
        pregnant=[0, 0, 0, 0, 1, 0, 0],
        emergencies=[1, 0, 2, 0, 0, 1, 0],
        admissions=[1, 0, 0, 1, 0, 0, 0],
    )
    features = family_features(population, individual, _households({"H1": [], "H2": [], "H3": []}))
    assert features.index.tolist() == ["H1", "H2", "H3"]
    assert features["fam_size"].tolist() == [3, 1, 3]
    assert features["fam_children_under5"].tolist() == [1, 0, 1]
    assert features["fam_adults_60plus"].tolist() == [2, 1, 0]
    # H1: dependants 67 (65+) and 3 (<15), working age 62 -> 2/1; H2: nobody 15-64
    # H3: dependants 10 and 4, working age 30 -> 2/1
    assert features["fam_dependency_ratio"].iloc[0] == pytest.approx(2.0)
    assert np.isnan(features["fam_dependency_ratio"].iloc[1])
    assert features["fam_dependency_ratio"].iloc[2] == pytest.approx(2.0)
    assert features["fam_older_adult_alone"].tolist() == [0, 1, 0]
    assert features["fam_single_adult_with_children"].tolist() == [0, 0, 1]
    assert features["fam_pregnant_members"].tolist() == [0, 0, 1]
    assert features["fam_members_chronic"].tolist() == [2, 1, 0]
    assert features["fam_emergencies_365d"].tolist() == [3, 0, 1]
    assert features["fam_hospitalizations_365d"].tolist() == [1, 1, 0]


def test_deprivation_score_and_poverty_of_example_households():
    flags = {
        # education (0.1 + 0.1) + work informal (0.1) = 0.30 -> not poor
        "H1": ["dep_low_educational_attainment", "dep_illiteracy", "dep_informal_work"],
        # 0.30 + water (0.04) = 0.34 -> poor (>= 1/3)
        "H2": [
            "dep_low_educational_attainment",
            "dep_illiteracy",
            "dep_informal_work",
            "dep_no_improved_water",
        ],
        # health (0.1 + 0.1) + housing 5 x 0.04 = 0.40 -> poor
        "H3": [
            "dep_no_health_insurance",
            "dep_health_access_barriers",
            "dep_no_improved_water",
            "dep_inadequate_excreta_disposal",
            "dep_inadequate_floors",
            "dep_inadequate_exterior_walls",
            "dep_critical_overcrowding",
        ],
        "H4": [],
    }
    population = _population(["H1", "H2", "H3", "H4"])
    features = family_features(population, _individual([40, 40, 40, 40]), _households(flags))
    assert features["fam_deprivation_score"].tolist() == pytest.approx([0.30, 0.34, 0.40, 0.0])
    assert features["fam_mpi_poor"].tolist() == [0, 1, 1, 0]
    assert features["fam_dep_illiteracy"].tolist() == [1, 1, 0, 0]
    assert features["fam_mpi_poor"].dtype == "int8"


def test_no_household_scores_exactly_one_third():
    # Weights are 0.1, 0.05 and 0.04: 30a + 15b + 12c = 100 has no solution, so the cut-off
    # is never met with equality and float rounding at 1/3 cannot flip a household.
    weights = sorted({round(w, 6) for w in deprivation_weights().values()})
    assert weights == [0.04, 0.05, 0.1]
    reachable = {30 * a + 15 * b + 12 * c for a in range(5) for b in range(5) for c in range(6)}
    assert 100 not in reachable


def test_households_without_flags_have_missing_scores():
    population = _population(["H1"])
    households = pd.DataFrame({"household_id": ["H1"], "territory_id": ["T1"]})
    features = family_features(population, _individual([30]), households)
    assert np.isnan(features["fam_deprivation_score"].iloc[0])
    assert np.isnan(features["fam_mpi_poor"].iloc[0])


def test_missing_individual_features_are_named():
    with pytest.raises(ValueError, match="ind_n_chronic"):
        family_features(
            _population(["H1"]), pd.DataFrame({"ind_age": [3.0]}), _households({"H1": []})
        )


def test_every_family_column_is_in_the_catalogue():
    from masrisk.features.catalog import matches

    population = _population(["H1", "H2"])
    features = family_features(population, _individual([30, 70]), _households({"H1": [], "H2": []}))
    assert all(c.startswith("fam_") for c in features.columns)
    assert [c for c in features.columns if matches(c, CATALOG) is None] == []
