"""The features of one part of a population (whole territories), and what parts add up.

A part gives its persons' individual and family features and additive counts per territory
and lab code (:class:`FeatureCounts`), whose sums give the territorial features and lab codes
of the whole, joined to each part by :func:`finish_features`. :func:`masrisk.build_features`
runs this on one part; an engine (:mod:`masrisk.engines`) on many.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from masrisk.config import Config
from masrisk.exceptions import ConfigError, CutoffError
from masrisk.features import family, individual
from masrisk.features.counts import TerritoryCounts, territory_counts
from masrisk.features.events import EventArrays
from masrisk.features.labs import (
    LAB_PREFIX,
    frequent_labs,
    lab_column_names,
    lab_columns,
    lab_name,
    lab_persons,
)
from masrisk.features.population import Population, population_at
from masrisk.tables import Tables
from masrisk.vocabulary import LEVELS, feature_level

__all__ = [
    "LabCounts",
    "FeatureCounts",
    "PartFeatures",
    "common_dtypes",
    "finish_features",
    "household_sample",
    "part_counts",
    "part_features",
    "select_levels",
    "with_dtypes",
]


@dataclass(frozen=True)
class LabCounts:
    """Persons present, and per lab code the persons who have had it; parts add up.

    Attributes
    ----------
    persons : int
    by_code : pandas.Series
        int64, indexed by the column-safe lab name, sorted.
    """

    persons: int
    by_code: pd.Series

    def __add__(self, other: LabCounts) -> LabCounts:
        total = self.by_code.add(other.by_code, fill_value=0).astype("int64").sort_index()
        return LabCounts(self.persons + other.persons, total)

    def frequent(self, min_share: float = 0.01) -> list[str]:
        """Return the lab codes that at least ``min_share`` of the persons have had, sorted."""
        return frequent_labs(self.by_code, self.persons, min_share)


@dataclass(frozen=True)
class FeatureCounts:
    """The additive counts of a part that the features of the whole need; parts add up.

    Attributes
    ----------
    territories : TerritoryCounts
    labs : LabCounts
    first_event, last_event : pandas.Timestamp or None
        The dates the part's events span (the whole's: the earliest and the latest).
    """

    territories: TerritoryCounts
    labs: LabCounts
    first_event: pd.Timestamp | None = None
    last_event: pd.Timestamp | None = None

    def __add__(self, other: FeatureCounts) -> FeatureCounts:
        firsts = [d for d in (self.first_event, other.first_event) if d is not None]
        lasts = [d for d in (self.last_event, other.last_event) if d is not None]
        return FeatureCounts(
            self.territories + other.territories,
            self.labs + other.labs,
            min(firsts, default=None),
            max(lasts, default=None),
        )

    def check_as_of(self, as_of: pd.Timestamp) -> None:
        """Refuse a cut-off before the data begin or past the day after they end.

        Raises
        ------
        masrisk.exceptions.CutoffError
            Naming the cut-off and the dates the data allow.
        """
        if self.first_event is None or self.last_event is None:
            return
        latest = self.last_event + pd.Timedelta(days=1)
        if not self.first_event < as_of <= latest:
            raise CutoffError(
                f"as_of {as_of:%Y-%m-%d} is outside the data: their events run from "
                f"{self.first_event:%Y-%m-%d} to {self.last_event:%Y-%m-%d}, so a cut-off "
                f"must be after {self.first_event:%Y-%m-%d} and at most {latest:%Y-%m-%d}"
            )


@dataclass(frozen=True)
class PartFeatures:
    """A part's individual and family features, before the territorial ones are joined.

    Attributes
    ----------
    features : pandas.DataFrame
        Indexed by ``person_id`` (the persons kept), a lab column pair per lab code asked.
    territory, household : pandas.Series
        Each row's ``territory_id`` (for the join of the territorial features) and
        ``household_id``.
    lab_events : pandas.DataFrame or None
        When no lab codes were asked (they are the whole's, known once every part is
        counted): the lab events of the persons kept, as ``Population.events``, from which
        :func:`finish_features` makes the lab columns. Else ``None``.
    """

    features: pd.DataFrame
    territory: pd.Series
    household: pd.Series
    lab_events: pd.DataFrame | None = None

    def places(self) -> tuple[pd.Series, pd.Series]:
        """Return each row's ``household_id`` and ``territory_id``, indexed by ``person_id``."""
        return self.household.rename("household_id"), self.territory.rename("territory_id")


def household_sample(household_ids: pd.Series | pd.Index, fraction: float) -> np.ndarray:
    """Choose a fixed share of households by a hash of their ids (the same on every run).

    A household is in or out whatever the cut-off or the part, so that a training sample
    follows the same households through training and validation. Returns a boolean mask.

    Raises
    ------
    masrisk.ConfigError
        If ``fraction`` is not in (0, 1].
    """
    if not 0 < fraction <= 1:
        raise ConfigError(f"sample must be a share of households in (0, 1], got {fraction!r}")
    values = pd.Index(household_ids).astype("str").to_numpy(dtype=object)
    hashed = pd.util.hash_array(values, categorize=False)
    return hashed < np.uint64(fraction * float(np.iinfo(np.uint64).max))


def part_counts(
    tables: Tables,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    population: Population | None = None,
) -> FeatureCounts:
    """Count what one part gives to the territorial features and the lab codes of the whole.

    ``tables``, ``as_of`` and ``population`` are as in :func:`part_features`; the outcomes
    of ``config`` give the territories' historical rates.
    """
    if population is None:
        population = population_at(tables, as_of)
    labs = LabCounts(population.size, lab_persons(population))
    dates = tables.events["date"]
    first, last = (dates.min(), dates.max()) if len(dates) else (None, None)
    territories = territory_counts(tables, as_of, outcomes=config.outcomes)
    return FeatureCounts(territories, labs, first, last)


def part_features(
    tables: Tables,
    *,
    as_of: str | pd.Timestamp,
    lab_codes: Sequence[str] | None,
    sample: float | None = None,
    population: Population | None = None,
) -> PartFeatures:
    """Compute one part's individual and family features at ``as_of``.

    Parameters
    ----------
    tables : Tables
        Whole territories with their households, persons and events.
    as_of : date
        Cut-off of the features.
    lab_codes : sequence of str or None
        Lab codes to describe: a bundle's list, or the whole's frequent ones
        (``FeatureCounts.labs.frequent()``); ``None`` when they are not known yet: the lab
        columns are then made by :func:`finish_features`.
    sample : float, optional
        Keep this share of households only (:func:`household_sample`).
    population : Population, optional
        ``population_at(tables, as_of)``, when already selected.
    """
    if population is None:
        population = population_at(tables, as_of)
    if sample is not None:
        keep = household_sample(population.persons["household_id"], sample)
        population = _subset(population, keep)
    codes = [] if lab_codes is None else list(lab_codes)
    person_level = individual.individual_features(population, lab_codes=codes)
    persons = population.persons
    by_household = family.family_features(population, person_level, tables.households)
    rows = by_household.index.get_indexer(persons["household_id"])
    features = pd.concat([person_level, by_household.iloc[rows].set_axis(persons.index)], axis=1)
    lab_events = None
    if lab_codes is None:
        events = population.events
        lab_events = events.loc[(events["kind"] == "lab").to_numpy()].reset_index(drop=True)
    return PartFeatures(features, persons["territory_id"], persons["household_id"], lab_events)


def finish_features(
    part: PartFeatures, territorial: pd.DataFrame, *, lab_codes: Sequence[str]
) -> pd.DataFrame:
    """Join the territorial features of the whole to a part, with the lab codes of the whole.

    Parameters
    ----------
    part : PartFeatures
    territorial : pandas.DataFrame
        :func:`~masrisk.features.territorial.features_from_counts` of the summed counts.
    lab_codes : sequence of str
        The lab codes described (the whole's frequent ones, or a bundle's).

    Returns
    -------
    pandas.DataFrame
        In :func:`masrisk.build_features` column order; categoricals still with the part's
        categories (see :func:`common_dtypes`).
    """
    labs = list(dict.fromkeys(lab_name(c) for c in lab_codes))
    frame = part.features
    if part.lab_events is not None:
        events = EventArrays(part.lab_events)
        made = lab_columns(events, len(frame), lab_codes=labs, min_lab_share=0.0)
        frame = pd.concat([frame, pd.DataFrame(made, index=frame.index)], axis=1)
    names = [c for c in frame.columns if not c.startswith(LAB_PREFIX)]
    family_level = (i for i, c in enumerate(names) if feature_level(c) == LEVELS["fam_"])
    first_family = next(family_level, len(names))
    columns = names[:first_family] + lab_column_names(labs) + names[first_family:]
    missing = [c for c in columns if c not in frame.columns]
    added = pd.DataFrame(np.nan, index=frame.index, columns=missing, dtype="float32")
    frame = pd.concat([frame, added], axis=1)[columns]
    rows = territorial.index.get_indexer(part.territory)
    if (rows < 0).any():  # cannot happen with validated tables
        raise ValueError(f"territory_id: {int((rows < 0).sum())} persons have no territory row")
    return pd.concat([frame, territorial.iloc[rows].set_axis(frame.index)], axis=1)


def common_dtypes(heads: Iterable[pd.DataFrame]) -> pd.Series:
    """Return the dtypes of the whole from the parts' (empty) frames.

    A categorical column gets the sorted union of the parts' categories (an ordered one
    keeps its order), as :func:`masrisk.build_features` gives the whole population.
    """
    heads = list(heads)
    dtypes = heads[0].dtypes.copy()
    for column, dtype in dtypes.items():
        kinds = [h[column].dtype for h in heads]
        if isinstance(dtype, pd.CategoricalDtype) and any(d != dtype for d in kinds):
            union = union_categoricals(
                [pd.Categorical([], dtype=d) for d in kinds],
                sort_categories=not dtype.ordered,
                ignore_order=False,
            )
            dtypes[column] = pd.CategoricalDtype(union.categories, ordered=dtype.ordered)
    return dtypes


def with_dtypes(frame: pd.DataFrame, dtypes: pd.Series) -> pd.DataFrame:
    """Give a part's features the dtypes of the whole (:func:`common_dtypes`)."""
    differ = {c: d for c, d in dtypes.items() if frame[c].dtype != d}
    return frame.astype(differ) if differ else frame


def select_levels(frame: pd.DataFrame, levels: Iterable[str]) -> pd.DataFrame:
    """Keep the columns of the given levels (``individual``, ``family``, ``territorial``)."""
    chosen = set(levels)
    return frame[[c for c in frame.columns if feature_level(c) in chosen]]


def _subset(population: Population, keep: np.ndarray) -> Population:
    """Keep the persons of ``keep`` (a mask over ``population.persons``) and their events."""
    new_pos = np.cumsum(keep, dtype=np.int64) - 1
    events = population.events
    pos = events["pos"].to_numpy()
    selected = events.loc[keep[pos]].reset_index(drop=True)
    selected["pos"] = new_pos[pos[keep[pos]]].astype("int32")
    return Population(population.as_of, population.persons.loc[keep], selected)
