"""Family features: computed once per household from its members present at ``as_of``.

Household composition, members' pregnancies, chronic conditions and use of care (see
:data:`CATALOG`), and the household's deprivation by the Alkire-Foster method of Colombia's
multidimensional poverty index (:data:`masrisk.codes.MPI_INDICATORS`).

Examples
--------
>>> from masrisk.features.family import deprivation_weights
>>> weights = deprivation_weights()
>>> round(weights["dep_illiteracy"], 3), round(weights["dep_child_labour"], 3)
(0.1, 0.05)
>>> round(sum(weights.values()), 6)
1.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from masrisk.codes import MPI_INDICATORS, MPI_POVERTY_CUTOFF
from masrisk.features.catalog import FeatureSpec, feature
from masrisk.features.population import Population

__all__ = ["CATALOG", "deprivation_weights", "family_features"]

CATALOG: tuple[FeatureSpec, ...] = (
    feature("fam_size", "Members of the household present at as_of", "persons"),
    feature("fam_children_under5", "Members younger than 5 years", "persons"),
    feature("fam_adults_60plus", "Members aged 60 years or more", "persons"),
    feature(
        "fam_dependency_ratio",
        "Members under 15 or 65 and over per member aged 15-64 (missing when none is 15-64)",
        "ratio",
    ),
    feature("fam_older_adult_alone", "1 if the only member is aged 60 or more", "flag"),
    feature(
        "fam_single_adult_with_children",
        "1 if exactly one member is 18 or older and at least one is younger than 18",
        "flag",
    ),
    feature("fam_pregnant_members", "Members pregnant at as_of", "persons"),
    feature("fam_members_chronic", "Members with at least one chronic condition", "persons"),
    feature(
        "fam_emergencies_365d", "Members' emergency visits in the 365 days before as_of", "visits"
    ),
    feature(
        "fam_hospitalizations_365d",
        "Hospital admissions of all members in the 365 days before as_of",
        "admissions",
    ),
    feature(
        "fam_{indicator}",
        "1 if the household is deprived in this indicator of the multidimensional poverty index",
        "flag",
    ),
    feature(
        "fam_deprivation_score",
        "Weighted share of the 15 poverty-index indicators in which the household is deprived "
        "(Alkire-Foster: 5 dimensions of weight 0.2, indicators equal within a dimension)",
        "share (0-1)",
    ),
    feature(
        "fam_mpi_poor",
        "1 if the household is multidimensionally poor (deprivation score of 1/3 or more)",
        "flag",
    ),
)

# Columns of the individual features the family level aggregates.
_NEEDS = (
    "ind_age",
    "ind_n_chronic",
    "ind_pregnant",
    "ind_n_emergency_365d",
    "ind_n_hospitalization_365d",
)


def deprivation_weights() -> dict[str, float]:
    """Return the weight of each poverty-index indicator: 0.2 per dimension, split equally."""
    dimensions = pd.Series(MPI_INDICATORS)
    per_dimension = dimensions.map(dimensions.value_counts())
    return {name: 0.2 / int(n) for name, n in per_dimension.items()}


def family_features(
    population: Population, individual: pd.DataFrame, households: pd.DataFrame
) -> pd.DataFrame:
    """Build the family features of every household with a member present at ``as_of``.

    Parameters
    ----------
    population : Population
        Persons present at ``as_of`` (:func:`masrisk.features.population.population_at`).
    individual : pandas.DataFrame
        The individual features of those persons, in the same order.
    households : pandas.DataFrame
        The households table (its deprivation flags are used when present).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``household_id`` (households in order of first appearance among the
        persons), columns prefixed ``fam_``.
    """
    missing = [c for c in _NEEDS if c not in individual.columns]
    if missing:
        raise ValueError(f"family features need the individual features {missing}")
    codes, household_ids = pd.factorize(population.persons["household_id"])
    n = len(household_ids)
    age = individual["ind_age"].to_numpy(dtype="float64")
    chronic = individual["ind_n_chronic"].to_numpy() > 0

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=mask.astype("float64"), minlength=n)

    def total(column: str) -> np.ndarray:
        return np.bincount(codes, weights=individual[column].to_numpy(dtype="float64"), minlength=n)

    size = np.bincount(codes, minlength=n).astype("float64")
    adults, older = count(age >= 18), count(age >= 60)
    dependants = count((age < 15) | (age >= 65))
    working_age = size - dependants
    with np.errstate(divide="ignore", invalid="ignore"):
        dependency = np.where(working_age > 0, dependants / working_age, np.nan)
    out = pd.DataFrame(
        {
            "fam_size": size.astype("int16"),
            "fam_children_under5": count(age < 5).astype("int16"),
            "fam_adults_60plus": older.astype("int16"),
            "fam_dependency_ratio": dependency.astype("float32"),
            "fam_older_adult_alone": ((size == 1) & (older == 1)).astype("int8"),
            "fam_single_adult_with_children": ((adults == 1) & (size > adults)).astype("int8"),
            "fam_pregnant_members": total("ind_pregnant").astype("int8"),
            "fam_members_chronic": count(chronic).astype("int16"),
            "fam_emergencies_365d": total("ind_n_emergency_365d").astype("int16"),
            "fam_hospitalizations_365d": total("ind_n_hospitalization_365d").astype("int16"),
        },
        index=pd.Index(household_ids, name="household_id"),
    )
    return out.join(_deprivation(households, out.index))


def _deprivation(households: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Return the flags, Alkire-Foster score and poverty of the households in ``index``."""
    flags = households.set_index("household_id").reindex(index, columns=list(MPI_INDICATORS))
    frame = flags.astype("float32").add_prefix("fam_")
    matrix = frame.to_numpy(dtype="float64")
    weights = deprivation_weights()
    # A score needs every indicator: a household with one missing flag has no score.
    score = matrix @ np.array([weights[name] for name in MPI_INDICATORS])
    frame["fam_deprivation_score"] = score.astype("float32")
    poor = np.where(np.isnan(score), np.nan, score >= MPI_POVERTY_CUTOFF - 1e-9)
    frame["fam_mpi_poor"] = poor.astype("float32")
    if not np.isnan(matrix).any():
        frame = frame.astype(
            {f"fam_{name}": "int8" for name in MPI_INDICATORS} | {"fam_mpi_poor": "int8"}
        )
    return frame
