"""Features of a population split by territory, one partition at a time.

:func:`masrisk.build_features` needs the whole population in memory. Here each partition
(whole territories, see :mod:`masrisk.scale.partitions`) gives its persons' individual and
family features, which depend on the partition alone, and two kinds of counts that add up
across partitions: per territory, what the territorial features are computed from
(:func:`~masrisk.features.territorial.territory_counts`), and per lab code, the persons who
have had it (:func:`~masrisk.features.individual.lab_persons`). :func:`assemble` then turns
the summed counts into the territorial features - neighbours included - and the list of lab
codes, and joins them to every partition's rows. The result equals
:func:`masrisk.build_features` on the whole population, value for value and dtype for dtype;
only the order of the rows differs (partition by partition).

The same two steps serve the single-machine engine (:func:`build_features_by_partition`, one
partition after the other) and the Dask engine (one task per partition).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from masrisk.config import Config
from masrisk.features import family, individual, territorial
from masrisk.features.population import Population, population_at, to_timestamp
from masrisk.tables import Tables

__all__ = [
    "PartFeatures",
    "assemble",
    "build_features_by_partition",
    "household_sample",
    "part_features",
    "sum_counts",
]

_LAB_PREFIX = "ind_lab_"


@dataclass(frozen=True)
class PartFeatures:
    """What one partition gives towards the features of the whole population.

    Attributes
    ----------
    features : pandas.DataFrame
        Individual and family features of the partition's persons (those kept), indexed by
        ``person_id``, with a lab column pair for every lab code of the partition (or for
        the codes asked for).
    territory : pandas.Series
        Each row's ``territory_id``, for the join of the territorial features.
    counts : pandas.DataFrame
        :func:`~masrisk.features.territorial.territory_counts` of the partition.
    lab_persons : pandas.Series
        :func:`~masrisk.features.individual.lab_persons` of the partition (all persons).
    persons : int
        Persons present in the partition (all of them, kept or not).
    """

    features: pd.DataFrame
    territory: pd.Series
    counts: pd.DataFrame
    lab_persons: pd.Series
    persons: int


def household_sample(household_ids: pd.Series | pd.Index, fraction: float) -> np.ndarray:
    """Choose a fixed share of households by a hash of their ids (the same on every run).

    A household is in or out whatever the cut-off or the partition, so that a training
    sample follows the same households through the training and validation periods.

    Returns
    -------
    numpy.ndarray of bool
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"the sample fraction must be in (0, 1], got {fraction}")
    values = pd.Index(household_ids).astype("str").to_numpy(dtype=object)
    hashed = pd.util.hash_array(values, categorize=False)
    return hashed < np.uint64(fraction * float(np.iinfo(np.uint64).max))


def part_features(
    tables: Tables,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    lab_codes: Sequence[str] | None = None,
    sample: float | None = None,
) -> PartFeatures:
    """Compute one partition's share of the features at ``as_of``.

    Parameters
    ----------
    tables : Tables
        One partition: whole territories with their households, persons and events.
    as_of : date
        Cut-off of the features.
    config : Config
        Its outcomes give the territories' historical rates.
    lab_codes : sequence of str, optional
        Lab codes to describe (a bundle's list when scoring). By default every lab code
        of the partition is described, and :func:`assemble` keeps the frequent ones.
    sample : float, optional
        Keep the features of this share of households only (:func:`household_sample`); the
        counts are always of everyone.
    """
    as_of = to_timestamp(as_of)
    population = population_at(tables, as_of)
    labs = individual.lab_persons(population)
    counts = territorial.territory_counts(tables, as_of, outcomes=config.outcomes)
    size = population.size
    if sample is not None:
        population = _subset(
            population, household_sample(population.persons["household_id"], sample)
        )
    codes = list(labs.index[labs > 0]) if lab_codes is None else list(lab_codes)
    person_level = individual.individual_features(population, lab_codes=codes)
    persons = population.persons
    by_household = family.family_features(population, person_level, tables.households)
    rows = by_household.index.get_indexer(persons["household_id"])
    features = pd.concat([person_level, by_household.iloc[rows].set_axis(persons.index)], axis=1)
    return PartFeatures(features, persons["territory_id"], counts, labs, size)


def assemble(
    parts: Iterable[PartFeatures],
    tables: Tables,
    *,
    config: Config,
    lab_codes: Sequence[str] | None = None,
    min_lab_share: float = 0.01,
    counts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Join the partitions' features with the territorial features of the whole.

    Parameters
    ----------
    parts : iterable of PartFeatures
        One per partition, all at the same cut-off.
    tables : Tables
        Any partition: only its territories, adjacency and facilities tables are read.
    config : Config
    lab_codes : sequence of str, optional
        As given to :func:`part_features`; by default the codes that at least
        ``min_lab_share`` of all persons present have had.
    min_lab_share : float
    counts : pandas.DataFrame, optional
        The summed territory counts of all partitions at the same cut-off, when ``parts``
        are only some of them (then ``lab_codes`` must be given).

    Returns
    -------
    pandas.DataFrame
        As :func:`masrisk.build_features`, rows partition by partition.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("no partitions to assemble")
    if counts is None:
        counts = sum_counts(p.counts for p in parts)
    elif lab_codes is None:
        raise ValueError("give lab_codes with counts: the lab codes need every partition")
    by_territory = territorial.features_from_counts(tables, counts, outcomes=config.outcomes)
    if lab_codes is None:
        persons = sum(p.persons for p in parts)
        labs = pd.concat([p.lab_persons for p in parts]).groupby(level=0).sum()
        chosen = sorted(labs.index[(labs > 0) & (labs >= min_lab_share * persons)])
    else:
        chosen = list(dict.fromkeys(individual.lab_name(c) for c in lab_codes))
    columns = _columns(parts[0].features.columns, chosen)
    frames = [_conform(p.features, columns) for p in parts]
    features = _concat(frames)
    territory = pd.concat([p.territory for p in parts])
    rows = by_territory.index.get_indexer(territory)
    return pd.concat([features, by_territory.iloc[rows].set_axis(features.index)], axis=1)


def sum_counts(counts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add up :func:`~masrisk.features.territorial.territory_counts` of several partitions."""
    total = None
    for frame in counts:
        total = frame if total is None else total.add(frame, fill_value=0)
    if total is None:
        raise ValueError("no counts to add up")
    return total


def build_features_by_partition(
    partitions: Iterable[Tables] | Callable[[], Iterable[Tables]],
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    lab_codes: Sequence[str] | None = None,
    sample: float | None = None,
) -> pd.DataFrame:
    """Build the features of a partitioned population, one partition in memory at a time.

    Parameters
    ----------
    partitions : iterable of Tables
        E.g. :meth:`PartitionedData.iter_tables`.
    as_of, config, lab_codes, sample
        As :func:`part_features`.

    Returns
    -------
    pandas.DataFrame
        Equal to :func:`masrisk.build_features` on the whole population (rows in partition
        order; with ``sample``, the rows of the sampled households only).
    """
    parts, first = [], None
    for tables in partitions() if callable(partitions) else partitions:
        first = first or tables
        parts.append(
            part_features(tables, as_of=as_of, config=config, lab_codes=lab_codes, sample=sample)
        )
    if first is None:
        raise ValueError("no partitions")
    return assemble(parts, first, config=config, lab_codes=lab_codes)


def _subset(population: Population, keep: np.ndarray) -> Population:
    """Keep the persons of ``keep`` (a mask over ``population.persons``) and their events."""
    new_pos = np.cumsum(keep, dtype=np.int64) - 1
    events = population.events
    pos = events["pos"].to_numpy()
    selected = events.loc[keep[pos]].reset_index(drop=True)
    selected["pos"] = new_pos[pos[keep[pos]]].astype("int32")
    return Population(population.as_of, population.persons.loc[keep], selected)


def _columns(columns: pd.Index, labs: list[str]) -> list[str]:
    """Columns in :func:`masrisk.build_features` order, with the lab pairs of ``labs``."""
    names = [c for c in columns if not c.startswith(_LAB_PREFIX)]
    first_family = next((i for i, c in enumerate(names) if c.startswith("fam_")), len(names))
    lab_columns = [f"{_LAB_PREFIX}{lab}_{kind}" for lab in labs for kind in ("last", "change")]
    return names[:first_family] + lab_columns + names[first_family:]


def _conform(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    added = pd.DataFrame(np.nan, index=frame.index, columns=missing, dtype="float32")
    return pd.concat([frame, added], axis=1)[columns]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate rows; categoricals get the sorted union of the partitions' categories."""
    out = pd.concat(frames, axis=0)
    for column in frames[0].columns:
        dtypes = [f[column].dtype for f in frames]
        if isinstance(dtypes[0], pd.CategoricalDtype) and any(d != dtypes[0] for d in dtypes):
            ordered = dtypes[0].ordered
            union = union_categoricals(
                [f[column].array for f in frames], sort_categories=not ordered, ignore_order=False
            )
            out[column] = pd.Categorical(union, ordered=ordered)
    return out
