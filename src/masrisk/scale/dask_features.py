"""Features and labels of a partitioned population on Dask, one task per partition.

:func:`dask_features` runs the single-machine builders partition by partition
(:func:`~masrisk.scale.features.part_features`): individual and family features are
partition-local, and the territorial features - neighbours included - come from the
per-territory counts of every partition, summed and broadcast to each task (a table of
one row per territory), as :func:`~masrisk.scale.features.assemble` joins them. The result
is a Dask dataframe equal, row for row and dtype for dtype, to
:func:`masrisk.build_features` on the whole population.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from masrisk.config import Config
from masrisk.features import build_labels, lab_codes_in
from masrisk.scale.dask_engine import DaskPopulation, from_pieces
from masrisk.scale.features import PartFeatures, assemble, part_features, sum_counts
from masrisk.tables import Tables

if TYPE_CHECKING:
    import dask.dataframe as dd

__all__ = ["dask_features", "dask_labels"]


def dask_features(
    population: DaskPopulation,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    lab_codes: Sequence[str] | None = None,
    tables: list[Any] | None = None,
) -> dd.DataFrame:
    """Build the features of every person present at ``as_of``, one task per partition.

    Parameters
    ----------
    population : DaskPopulation
    as_of : date
        Cut-off of the features.
    config : Config
        Its outcomes give the territories' historical rates.
    lab_codes : sequence of str, optional
        Lab codes to describe (a bundle's list when scoring); by default those frequent in
        the whole population, as :func:`masrisk.build_features` chooses them.
    tables : list, optional
        :meth:`DaskPopulation.tables`, already persisted, to share between calls.

    Returns
    -------
    dask.dataframe.DataFrame
        One partition per partition of ``population``, indexed by ``person_id``: once
        computed, equal to :func:`masrisk.build_features` of the whole population (values,
        dtypes - categoricals with the categories of the whole - and column order), rows
        partition by partition. The partitions' features are held in the cluster's memory
        while the frame is referenced.
    """
    import dask

    tables = population.tables() if tables is None else tables
    parts = [
        dask.delayed(part_features)(t, as_of=as_of, config=config, lab_codes=lab_codes)
        for t in tables
    ]
    small = dask.delayed(_small_tables)(tables[0])
    *parts, small = dask.persist(*parts, small)
    heads = [dask.delayed(_head)(p) for p in parts]
    skeleton = dask.delayed(assemble)(heads, small, config=config, lab_codes=lab_codes)
    counts = dask.delayed(sum_counts)([dask.delayed(_counts)(p) for p in parts])
    skeleton, counts = dask.compute(skeleton, counts)
    chosen = lab_codes_in(skeleton.columns)
    counts = dask.delayed(counts, pure=True, traverse=False)  # one copy, sent to each worker
    finished = [
        dask.delayed(_finish)(
            part, small, config=config, lab_codes=chosen, counts=counts, dtypes=skeleton.dtypes
        )
        for part in parts
    ]
    return from_pieces(finished, skeleton)


def dask_labels(
    population: DaskPopulation,
    *,
    as_of: str | pd.Timestamp,
    outcome: str,
    config: Config,
    tables: list[Any] | None = None,
) -> dd.Series:
    """Label every person present at ``as_of`` (:func:`masrisk.build_labels`), per partition.

    Returns
    -------
    dask.dataframe.Series
        int8, the rows of :func:`dask_features` at the same cut-off, partition by partition.
    """
    import dask

    tables = population.tables() if tables is None else tables
    labels = [
        dask.delayed(build_labels)(t, as_of=as_of, outcome=outcome, config=config) for t in tables
    ]
    index = population.persons._meta["person_id"]
    meta = pd.Series([], dtype="int8", name=outcome, index=pd.Index(index, name="person_id"))
    return from_pieces(labels, meta)


def _small_tables(tables: Tables) -> Tables:
    """Keep the tables every partition holds whole; empty households, persons and events."""
    return Tables(
        territories=tables.territories,
        households=tables.households.iloc[:0],
        persons=tables.persons.iloc[:0],
        events=tables.events.iloc[:0],
        adjacency=tables.adjacency,
        facilities=tables.facilities,
    )


def _head(part: PartFeatures) -> PartFeatures:
    """Drop a partition's rows, keeping what decides the columns and dtypes."""
    return PartFeatures(
        part.features.iloc[:0], part.territory.iloc[:0], part.counts, part.lab_persons, part.persons
    )


def _counts(part: PartFeatures) -> pd.DataFrame:
    return part.counts


def _finish(
    part: PartFeatures,
    small: Tables,
    *,
    config: Config,
    lab_codes: list[str],
    counts: pd.DataFrame,
    dtypes: pd.Series,
) -> pd.DataFrame:
    """Join a partition's territorial features and give it the dtypes of the whole."""
    frame = assemble([part], small, config=config, lab_codes=lab_codes, counts=counts)
    differ = {c: d for c, d in dtypes.items() if frame[c].dtype != d}
    if differ:
        frame = frame.astype(differ)
    # A copy consolidates the columns into a few blocks: Dask adds categorical columns one
    # by one when it concatenates partitions, which a fragmented frame makes slow.
    return frame.copy()
