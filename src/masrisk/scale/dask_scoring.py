"""Score and explain a partitioned population on a Dask cluster.

Scoring and explaining run with ``map_partitions`` over the features of
:func:`~masrisk.scale.dask_features.dask_features`, one task per partition, calling the
single-machine code (:meth:`masrisk.Bundle.predict_risk`, LightGBM's exact TreeSHAP).
Tiers with percentile cut-offs rank everyone's risk, so the risks (one number per person)
come back, :func:`masrisk.tiers.assign_tiers` cuts them as it cuts a single machine's
(equal risks in partition order), and each partition gets its tiers back.

:func:`write_parquet` writes a Dask dataframe as partitioned Parquet: a directory with one
file per partition (``part-00000.parquet``, ...), which ``pandas.read_parquet`` reads
whole. The workers write the files, so on a cluster of several machines the directory must
be on storage they share.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from masrisk.bundle import Bundle
from masrisk.config import Config
from masrisk.explanations import (
    contributions_frame,
    iter_contributions,
    prepare,
)
from masrisk.features.population import to_timestamp
from masrisk.outputs import replace_directory, share
from masrisk.scale.dask_engine import DaskPopulation, current_client
from masrisk.scoring import SCORE_COLUMNS
from masrisk.tiers import assign_tiers

__all__ = ["PART_FILE", "explain_dask", "score_dask", "write_parquet"]

#: The name of a partition's file in a directory :func:`write_parquet` writes.
PART_FILE = re.compile(r"part-\d{5}\.parquet")


def score_dask(
    bundle: Bundle, features: Any, population: DaskPopulation, *, as_of: str | pd.Timestamp,
    config: Config,
) -> Any:  # fmt: skip
    """Score every person of ``features`` with ``bundle``: :func:`masrisk.score` on Dask.

    Parameters
    ----------
    bundle : Bundle
    features : dask.dataframe.DataFrame
        :func:`~masrisk.scale.dask_engine.dask_features` at ``as_of`` with the bundle's lab
        codes.
    population : DaskPopulation
        Gives each person's household and territory.
    as_of : date
    config : Config
        Gives the tiers' cut-offs.

    Returns
    -------
    dask.dataframe.DataFrame
        :data:`masrisk.scoring.SCORE_COLUMNS`, one partition per partition of ``features``,
        tiers cut on the whole population; held in the cluster's memory.
    """
    import dask.dataframe as dd

    client = current_client()
    as_of = to_timestamp(as_of)
    places = population.places()
    risk = dd.map_partitions(
        _risk,
        features,
        places,
        bundle,
        meta=places._meta.assign(risk=np.float64()),
        align_dataframes=False,
    ).persist()
    values = risk["risk"].compute().to_numpy()
    # Percentile tiers rank everyone: cut once on all the risks, as a single machine cuts
    # them (equal risks in partition order), then hand each partition its slice.
    codes = client.scatter(assign_tiers(values, config.tiers).cat.codes.to_numpy())
    ends = np.cumsum(risk.map_partitions(len).compute().to_numpy())
    bounds = tuple(zip(np.r_[0, ends[:-1]].tolist(), ends.tolist(), strict=True))
    ids = {
        "person_id": features._meta.index.dtype,
        "household_id": places._meta["household_id"].dtype,
        "territory_id": places._meta["territory_id"].dtype,
    }
    empty = pd.DataFrame({"household_id": [], "territory_id": [], "risk": []})
    meta = _scores(empty, np.empty(0, dtype="int8"), bundle.model.outcome, as_of).astype(ids)
    scores = risk.map_partitions(
        _tiered, codes, bounds, bundle.model.outcome, as_of, meta=meta, enforce_metadata=False
    )
    return scores.persist()


def explain_dask(bundle: Bundle, features: Any, *, chunk_size: int = 100_000) -> Any:
    """Explain every person of ``features``: the ``masrisk explain`` table, by ``map_partitions``.

    Parameters
    ----------
    bundle : Bundle
    features : dask.dataframe.DataFrame
        :func:`~masrisk.scale.dask_engine.dask_features` with the bundle's lab codes.
    chunk_size : int
        Persons explained at a time within a partition.

    Returns
    -------
    dask.dataframe.DataFrame
        ``person_id``, one column per model feature (its exact TreeSHAP value on the
        log-odds scale, float32), ``base_value`` and the sums by level; lazy.
    """
    columns = list(bundle.features)
    meta = contributions_frame(features._meta.index[:0], columns, np.empty((0, len(columns))), 0.0)
    return features.map_partitions(
        _contributions, bundle, chunk_size, meta=meta, enforce_metadata=False
    )


def write_parquet(frame: Any, out: str | os.PathLike) -> Path:
    """Write a Dask dataframe as a directory of Parquet files, one per partition, atomically.

    The files (``part-00000.parquet``, ...) are written into a temporary directory beside
    ``out``, which then replaces ``out``: a directory this function wrote before (Parquet
    part files only) is replaced, anything else is left alone.

    Raises
    ------
    FileExistsError
        If ``out`` exists and is not such a directory.
    """
    target = Path(out)
    if target.exists() and not _replaceable(target):
        raise FileExistsError(
            f"{target} exists and is not a directory of Parquet parts; choose another --out"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        frame.to_parquet(
            staging,
            write_index=False,
            name_function=lambda k: f"part-{k:05d}.parquet",
            write_metadata_file=False,
        )
        share(staging)
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _replaceable(path: Path) -> bool:
    return path.is_dir() and all(PART_FILE.fullmatch(p.name) for p in path.iterdir())


def _risk(features: pd.DataFrame, places: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    """Risk (float64, as the tiers are cut on it), household and territory of each person."""
    risk = bundle.predict_risk(features) if len(features) else np.empty(0)
    frame = places.reindex(features.index)
    return frame.assign(risk=np.asarray(risk, dtype="float64"))


def _tiered(
    frame: pd.DataFrame,
    codes: np.ndarray,
    bounds: tuple[tuple[int, int], ...],
    outcome: str,
    as_of: pd.Timestamp,
    partition_info: dict | None = None,
) -> pd.DataFrame:
    start, end = bounds[partition_info["number"]]
    return _scores(frame, codes[start:end], outcome, as_of)


def _scores(
    frame: pd.DataFrame, tiers: np.ndarray, outcome: str, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Return the scores table of one partition (as :func:`masrisk.score` makes it)."""
    from masrisk.tiers import TIERS

    n = len(frame)
    return pd.DataFrame(
        {
            "person_id": frame.index.to_numpy(),
            "household_id": frame["household_id"].to_numpy(),
            "territory_id": frame["territory_id"].to_numpy(),
            "outcome": pd.Categorical([outcome] * n, categories=[outcome]),
            "as_of": pd.Series(as_of, index=range(n)).astype("datetime64[ns]").to_numpy(),
            "risk": frame["risk"].to_numpy().astype("float32"),
            "tier": pd.Categorical.from_codes(tiers.astype("int8"), categories=list(TIERS)),
        },
        columns=list(SCORE_COLUMNS),
    )


def _contributions(frame: pd.DataFrame, bundle: Bundle, chunk_size: int) -> pd.DataFrame:
    model, X = prepare(bundle, frame)
    columns = list(X.columns)
    pieces = [
        contributions_frame(X.index[rows], columns, values, base)
        for rows, values, base in iter_contributions(model, X, chunk_size=chunk_size)
    ]
    if not pieces:
        return contributions_frame(X.index[:0], columns, np.empty((0, len(columns))), 0.0)
    return pd.concat(pieces, ignore_index=True)
