"""The pipeline's steps on one part of a population, each computed here only.

A part is a :class:`~masrisk.tables.Tables` of whole territories (the whole population in
memory is one part). It is read once (:func:`read_part`), which keeps per cut-off its counts
and its persons' features and lets the events go; every other step is a plain function of
what that read keeps and a few small shared inputs, which any engine (:mod:`masrisk.engines`)
runs where the part is. What parts add up is a typed object with ``+``
(:class:`~masrisk.features.parts.FeatureCounts`, :class:`ContributionSums`); what the whole
needs once is computed from those sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from masrisk.bundle import Bundle
from masrisk.config import Config, TiersConfig
from masrisk.exceptions import Problem, ValidationError
from masrisk.explanations import Explanation, explain
from masrisk.explanations.groups import level_shares
from masrisk.features import build_labels
from masrisk.features.parts import (
    FeatureCounts,
    PartFeatures,
    finish_features,
    part_counts,
    part_features,
    with_dtypes,
)
from masrisk.features.population import population_at, to_timestamp
from masrisk.features.territorial import features_from_counts
from masrisk.tables import Tables
from masrisk.tiers import assign_tiers
from masrisk.vocabulary import LEVELS

__all__ = [
    "SCORE_COLUMNS",
    "ContributionSums",
    "Explained",
    "FeatureCounts",
    "PartAt",
    "ReadPart",
    "Territories",
    "contributions_of",
    "counts_at",
    "drivers_from_table",
    "features_at",
    "head",
    "households_of",
    "labels_at",
    "planning_columns",
    "read_contributions",
    "read_part",
    "risk_of",
    "row_hashes",
    "scores_frame",
    "territorial_features",
    "territories_of",
    "with_dtypes",
]

#: Columns of a scores table, in order.
SCORE_COLUMNS: tuple[str, ...] = (
    "person_id",
    "household_id",
    "territory_id",
    "outcome",
    "as_of",
    "risk",
    "tier",
)


@dataclass(frozen=True)
class Territories:
    """The tables every part holds whole: territories, adjacency and facilities."""

    territories: pd.DataFrame
    adjacency: pd.DataFrame | None = None
    facilities: pd.DataFrame | None = None


@dataclass(frozen=True)
class ContributionSums:
    """Per feature, the sum of the absolute contributions over a part's persons; parts add up."""

    absolute: pd.Series

    def __add__(self, other: ContributionSums) -> ContributionSums:
        return ContributionSums(self.absolute.add(other.absolute, fill_value=0))

    def level_shares(self) -> pd.Series:
        """Share of each level in the total absolute contribution."""
        return level_shares(self.absolute)


@dataclass(frozen=True)
class Explained:
    """What explaining a population leaves besides the contributions written to ``path``.

    Attributes
    ----------
    path : pathlib.Path
        The contributions table: one file, or a directory of Parquet files, one per part.
    persons : int
    drivers : pandas.DataFrame
        The top drivers of every territory (:meth:`masrisk.Explanation.drivers`).
    level_shares : pandas.Series
        Share of the absolute contributions by level, over everyone.
    """

    path: Path
    persons: int
    drivers: pd.DataFrame
    level_shares: pd.Series


def territories_of(tables: Tables) -> Territories:
    """Return the tables a part holds whole."""
    return Territories(tables.territories, tables.adjacency, tables.facilities)


@dataclass(frozen=True)
class PartAt:
    """A part at one cut-off: what it adds to the whole, and what stays with it.

    Attributes
    ----------
    counts : FeatureCounts
        Of everyone present (a training sample or not).
    part : PartFeatures
        The individual and family features of the persons kept, and their places.
    labels : pandas.Series or None
        Their labels, in the rows of ``part``, when an outcome was asked.
    """

    counts: FeatureCounts
    part: PartFeatures
    labels: pd.Series | None = None


@dataclass(frozen=True)
class ReadPart:
    """What the one read of a part keeps for the rest of the pipeline; its events are let go.

    Attributes
    ----------
    at : tuple of PartAt
        One per cut-off, in the order asked.
    households : pandas.DataFrame
        The part's households (the planner reads their deprivation flags).
    """

    at: tuple[PartAt, ...]
    households: pd.DataFrame


def read_part(
    tables: Tables,
    *,
    cutoffs: tuple[str | pd.Timestamp, ...],
    config: Config,
    lab_codes: list[str] | None = None,
    sample: float | None = None,
    outcome: str | None = None,
) -> ReadPart:
    """Read a part once: at each cut-off, its counts, its persons' features and labels.

    The territorial features and, when ``lab_codes`` is ``None``, the lab columns need the
    whole's counts: :func:`features_at` adds them once every part is counted. ``sample``
    keeps a share of households' features and labels (the counts stay everyone's).
    """
    out = []
    for as_of in map(to_timestamp, cutoffs):
        population = population_at(tables, as_of)
        counts = part_counts(tables, as_of=as_of, config=config, population=population)
        part = part_features(
            tables, as_of=as_of, lab_codes=lab_codes, sample=sample, population=population
        )
        labels = None
        if outcome is not None:
            labels = build_labels(
                tables, as_of=as_of, outcome=outcome, config=config, population=population
            ).reindex(part.features.index)
        out.append(PartAt(counts, part, labels))
    return ReadPart(tuple(out), tables.households)


def counts_at(read: ReadPart, *, k: int = 0) -> FeatureCounts:
    """Return a read part's counts at its ``k``-th cut-off."""
    return read.at[k].counts


def labels_at(read: ReadPart, *, k: int = 0) -> pd.Series:
    """Return a read part's labels at its ``k``-th cut-off."""
    return read.at[k].labels


def households_of(read: ReadPart) -> pd.DataFrame:
    """Return a read part's households."""
    return read.households


def territorial_features(
    territories: Territories, counts: FeatureCounts, *, config: Config
) -> pd.DataFrame:
    """Return the territorial features of the whole, from every part's counts summed."""
    return features_from_counts(territories, counts.territories, outcomes=config.outcomes)


def features_at(
    read: ReadPart, *, k: int = 0, lab_codes: list[str], territorial: pd.DataFrame
) -> pd.DataFrame:
    """Return a read part's features at its ``k``-th cut-off (:func:`masrisk.build_features`).

    ``lab_codes`` and ``territorial`` are the whole's; the categoricals keep the part's own
    categories until :func:`with_dtypes`.
    """
    return finish_features(read.at[k].part, territorial, lab_codes=lab_codes)


def head(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a frame's columns and dtypes without its rows."""
    return frame.iloc[:0]


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """Return per-row hashes of features, as :func:`masrisk.bundle.data_fingerprint` takes them."""
    return pd.util.hash_pandas_object(frame, index=True).to_numpy()


def risk_of(
    features: pd.DataFrame, places: tuple[pd.Series, pd.Series], *, bundle: Bundle
) -> pd.DataFrame:
    """Return a part's risks (float64, as the tiers are cut on them), households and territories.

    ``places`` are each row's ``household_id`` and ``territory_id``
    (:meth:`~masrisk.features.parts.PartFeatures.places`).
    """
    households, territories = places
    risk = bundle.predict_risk(features) if len(features) else np.empty(0)
    return pd.DataFrame(
        {
            "household_id": households.to_numpy(),
            "territory_id": territories.to_numpy(),
            "risk": np.asarray(risk, dtype="float64"),
        },
        index=features.index,
    )


def scores_frame(
    risks: pd.DataFrame, *, outcome: str, as_of: str | pd.Timestamp, tiers: TiersConfig
) -> pd.DataFrame:
    """Return the scores table of a whole population: the one place it is made.

    ``risks`` are every part's :func:`risk_of`, concatenated: tiers are cut on the whole.

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_COLUMNS`: ids, ``outcome``, ``as_of``, ``risk`` (calibrated probability,
        float32) and ``tier`` (categorical); equal risks are tiered in ``person_id`` order.
    """
    n = len(risks)
    risk = risks["risk"].to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "person_id": risks.index.to_numpy(),
            "household_id": risks["household_id"].to_numpy(),
            "territory_id": risks["territory_id"].to_numpy(),
            "outcome": pd.Categorical([outcome] * n, categories=[outcome]),
            "as_of": np.full(n, to_timestamp(as_of).to_datetime64(), dtype="datetime64[ns]"),
            "risk": risk.astype("float32"),
            "tier": assign_tiers(risk, tiers, ties=risks.index).array,
        },
        columns=list(SCORE_COLUMNS),
    )


def contributions_of(
    features: pd.DataFrame,
    places: tuple[pd.Series, pd.Series],
    *,
    bundle: Bundle,
    out: Path | None,
    chunk_size: int,
    top: int,
    overwrite: bool = False,
) -> tuple[int, pd.DataFrame, ContributionSums]:
    """Explain a part, write its contributions table to ``out``, keep only what is small.

    ``places`` are as in :func:`risk_of`.

    Returns
    -------
    persons : int
    drivers : pandas.DataFrame
        The top drivers of the part's (whole) territories.
    sums : ContributionSums
    """
    explanation = explain(bundle, features, places=places, chunk_size=chunk_size)
    if out is not None:
        from masrisk.outputs import write_table

        write_table(explanation.to_frame(), out, kind="contributions", overwrite=overwrite)
    sums = ContributionSums(explanation.values.abs().sum())
    return len(features), explanation.drivers("territory", top=top), sums


def drivers_from_table(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    places: tuple[pd.Series, pd.Series],
    *,
    outcome: str,
    top: int,
    source: str | None = None,
) -> pd.DataFrame:
    """Return the top drivers of a part's territories, from its rows of a contributions table.

    ``places`` are those of the rows of ``features`` (:func:`risk_of`).

    Raises
    ------
    masrisk.ValidationError
        If a column is not a feature of the data, or a person is not among ``features``.
    """
    values = contributions.set_index("person_id")
    names = [c for c in values.columns if c[:4] in LEVELS]
    missing = [c for c in names if c not in features.columns]
    unknown = values.index[~values.index.isin(features.index)]
    if missing or len(unknown):
        column, rule = (missing[0], "feature unknown to the data") if missing else (
            "person_id", "person not in the data at the scores' cut-off")  # fmt: skip
        examples = tuple(missing[:5]) if missing else tuple(map(str, unknown[:5]))
        raise ValidationError(
            [Problem("contributions", column, rule, examples=examples)], source=source
        )
    households, territories = (place.reindex(values.index) for place in places)
    explanation = Explanation(
        values=values[names].astype("float64"),
        base_value=float(values["base_value"].iloc[0]) if len(values) else 0.0,
        data=features.reindex(values.index)[names],
        outcome=outcome,
        households=households,
        territories=territories,
    )
    return explanation.drivers("territory", top=top)


def read_contributions(path: Path, persons: pd.Index) -> pd.DataFrame:
    """Read the rows of some persons from a contributions file or directory."""
    if path.suffix == ".csv":
        frame = pd.read_csv(path)
        return frame[frame["person_id"].isin(persons)]
    frame = pd.read_parquet(path, filters=[("person_id", "in", persons.tolist() or [None])])
    return frame.reset_index(drop=True)


def planning_columns(features: pd.DataFrame, needed: list[str]) -> pd.DataFrame:
    """Return the feature columns the intervention catalogue's eligibility reads."""
    return features[[c for c in needed if c in features.columns]]
