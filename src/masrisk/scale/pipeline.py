"""The whole pipeline on a population split by territory, one partition in memory at a time.

This is how a city the size of Bogotá runs on one machine (:mod:`benchmarks/city.py`):

1. :func:`train_by_partition` reads each partition once and keeps, for a sample of
   households, the features and labels at the training and validation cut-offs, plus the
   counts every partition gives to the territorial features at the scoring cut-off; the
   model is then fitted as :func:`masrisk.train` fits it.
2. :func:`score_by_partition` reads each partition again and builds its features at the
   scoring cut-off (the territorial features from every partition's counts), scores and
   explains it, writes its scores and contributions as partitioned Parquet, and keeps only
   what the planner needs: scores, a few feature columns, the territories' drivers.
   Tiers are cut on the whole city's risks, once every partition is scored.
3. :func:`masrisk.plan` turns the scores into plans, as for any population.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from masrisk.bundle import Bundle
from masrisk.config import Config
from masrisk.evaluate import EvaluationReport
from masrisk.explanations import explain
from masrisk.features import build_labels, lab_codes_in
from masrisk.features.population import to_timestamp
from masrisk.models import RiskModel
from masrisk.outputs import write_table
from masrisk.planning.catalog import load_catalog
from masrisk.scale.features import assemble, part_features, sum_counts
from masrisk.scale.partitions import PartitionedData
from masrisk.scoring import SCORE_COLUMNS
from masrisk.tables import Tables
from masrisk.tiers import assign_tiers
from masrisk.training import check_cutoffs, train_from_features

__all__ = ["CityScores", "score_by_partition", "train_by_partition"]

logger = logging.getLogger(__name__)

#: Called with the name of a step and the partition, to time steps from outside.
Hook = Callable[[str, int], None]


def _no_hook(step: str, partition: int) -> None:
    return None


@dataclass
class CityScores:
    """What :func:`score_by_partition` keeps of a whole city.

    Attributes
    ----------
    scores : pandas.DataFrame
        :data:`masrisk.scoring.SCORE_COLUMNS` for every person, tiers cut on the whole city.
    persons : pandas.DataFrame
        The feature columns the intervention catalogue reads, indexed by ``person_id``.
    drivers : pandas.DataFrame
        The top drivers of each territory (:meth:`masrisk.Explanation.drivers`).
    tables : Tables
        Territories and households of the whole city (no persons or events): what the
        planner reads.
    level_shares : pandas.Series
        Share of the absolute contributions by level, over everyone.
    """

    scores: pd.DataFrame
    persons: pd.DataFrame
    drivers: pd.DataFrame
    tables: Tables
    level_shares: pd.Series
    timings: dict[str, float] = field(default_factory=dict)


def train_by_partition(
    data: PartitionedData,
    *,
    config: Config,
    outcome: str,
    train_as_of: str | pd.Timestamp,
    valid_as_of: str | pd.Timestamp,
    score_as_of: str | pd.Timestamp,
    sample: float | None = None,
    calibration: str = "sigmoid",
    random_state: int = 0,
    hook: Hook = _no_hook,
) -> tuple[RiskModel, EvaluationReport, pd.DataFrame]:
    """Train on a partitioned population, reading each partition once.

    Parameters
    ----------
    data : PartitionedData
    config, outcome, train_as_of, valid_as_of, calibration, random_state
        As :func:`masrisk.train`.
    score_as_of : date
        The scoring cut-off, whose territory counts are gathered on the way.
    sample : float, optional
        Train on this share of households (:func:`~masrisk.scale.features.household_sample`),
        the same households at both cut-offs; the territorial features and lab codes are
        still those of everyone.
    hook : callable, optional
        Called as ``hook(step, partition)`` before each step (for timing).

    Returns
    -------
    model : RiskModel
    report : EvaluationReport
    score_counts : pandas.DataFrame
        The summed territory counts at ``score_as_of``, for :func:`score_by_partition`.
    """
    first, second = to_timestamp(train_as_of), to_timestamp(valid_as_of)
    train_parts, valid_parts, labels, valid_labels, score_counts = [], [], [], [], []
    data_end, small = pd.Timestamp.min, None
    extra = config.extra_event_kinds
    for k in range(data.partitions):
        hook("read", k)
        tables = data.tables(k, extra_kinds=extra)
        small = small or tables
        data_end = max(data_end, tables.events["date"].max())
        hook("features", k)
        for as_of, parts in ((first, train_parts), (second, valid_parts)):
            parts.append(part_features(tables, as_of=as_of, config=config, sample=sample))
        score_counts.append(_score_counts(tables, score_as_of, config))
        hook("labels", k)
        for as_of, parts, out in (
            (first, train_parts, labels),
            (second, valid_parts, valid_labels),
        ):
            y = build_labels(tables, as_of=as_of, outcome=outcome, config=config)
            out.append(y.reindex(parts[-1].features.index))
        del tables
    check_cutoffs(config, outcome, first, second, data_end=data_end)
    hook("assemble", -1)
    X = assemble(train_parts, small, config=config)
    del train_parts
    X_valid = assemble(valid_parts, small, config=config, lab_codes=lab_codes_in(X.columns))
    del valid_parts
    hook("fit", -1)
    model, report = train_from_features(
        X,
        pd.concat(labels),
        X_valid,
        pd.concat(valid_labels),
        config=config,
        outcome=outcome,
        train_as_of=first,
        valid_as_of=second,
        data_end=data_end,
        calibration=calibration,
        random_state=random_state,
    )
    model.training_["sample"] = {"households_share": sample} if sample else None
    return model, report, sum_counts(score_counts)


def score_by_partition(
    data: PartitionedData,
    bundle: Bundle,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    counts: pd.DataFrame,
    out: str | Path | None = None,
    explain_rows: bool = True,
    top_drivers: int = 10,
    hook: Hook = _no_hook,
) -> CityScores:
    """Score and explain a partitioned population, one partition at a time.

    Parameters
    ----------
    data : PartitionedData
    bundle : Bundle
    as_of : date
        The scoring cut-off.
    config : Config
    counts : pandas.DataFrame
        Every partition's territory counts at ``as_of``, summed (:func:`train_by_partition`
        returns them).
    out : str or pathlib.Path, optional
        Write ``scores/part=K.parquet`` and ``contributions/part=K.parquet`` there.
    explain_rows : bool
        Explain every person (contributions and territories' drivers).
    top_drivers : int
        Drivers kept per territory.
    hook : callable, optional
        Called as ``hook(step, partition)`` before each step (for timing).

    Returns
    -------
    CityScores
    """
    as_of = to_timestamp(as_of)
    lab_codes = bundle.lab_codes
    needed = [c for c in load_catalog(config.planning.catalog).required_columns if c != "tier"]
    scores, persons, drivers, households, shares = [], [], [], [], []
    small = None
    for k in range(data.partitions):
        hook("read", k)
        tables = data.tables(k, extra_kinds=config.extra_event_kinds)
        small = small or tables
        households.append(tables.households)
        hook("features", k)
        part = part_features(tables, as_of=as_of, config=config, lab_codes=lab_codes)
        X = assemble([part], tables, config=config, lab_codes=lab_codes, counts=counts)
        del part
        persons.append(X[[c for c in needed if c in X.columns]])
        if explain_rows:
            hook("explain", k)
            explanation = explain(bundle, X, tables=tables)
            # The contributions add up to the log-odds: no second pass of the trees to score.
            risk = bundle.model.calibrator_(explanation.log_odds.to_numpy())
            drivers.append(explanation.drivers("territory", top=top_drivers))
            shares.append(explanation.values.abs().sum())
            if out is not None:
                hook("write", k)
                contributions = explanation.values.astype("float32")
                contributions.insert(0, "base_value", np.float32(explanation.base_value))
                write_table(
                    contributions.reset_index(), Path(out) / "contributions" / f"part={k}.parquet"
                )
            del explanation
        else:
            hook("score", k)
            risk = bundle.predict_risk(X)
        scores.append(_scores(tables, X.index, risk, bundle.model.outcome, as_of))
        del tables, X
    hook("tiers", -1)
    all_scores = pd.concat(scores, ignore_index=True)
    all_scores["tier"] = assign_tiers(all_scores["risk"].to_numpy(), config.tiers).array
    if out is not None:
        hook("write", -1)
        ends = np.cumsum([len(frame) for frame in scores])
        for k, (start, end) in enumerate(zip(np.r_[0, ends[:-1]], ends, strict=True)):
            write_table(all_scores.iloc[start:end], Path(out) / "scores" / f"part={k}.parquet")
    level_shares = _level_shares(shares)
    planning = Tables(
        territories=small.territories,
        households=pd.concat(households, ignore_index=True),
        persons=pd.DataFrame({"person_id": [], "household_id": []}),
        events=pd.DataFrame({"person_id": [], "date": [], "kind": []}),
        adjacency=small.adjacency,
        facilities=small.facilities,
    )
    return CityScores(
        scores=all_scores,
        persons=pd.concat(persons),
        drivers=pd.concat(drivers, ignore_index=True) if drivers else pd.DataFrame(),
        tables=planning,
        level_shares=level_shares,
    )


def _level_shares(sums: list[pd.Series]) -> pd.Series:
    """Share of the absolute contributions by level, from per-feature sums of partitions."""
    from masrisk.explanations.groups import LEVELS, feature_level

    if not sums:
        return pd.Series(dtype="float64", name="share")
    absolute = pd.concat(sums, axis=1).sum(axis=1)
    level = pd.Index([feature_level(c) for c in absolute.index])
    totals = absolute.groupby(level).sum().reindex(list(LEVELS.values()))
    return (totals / totals.sum()).rename("share")


def _score_counts(tables: Tables, as_of: str | pd.Timestamp, config: Config) -> pd.DataFrame:
    from masrisk.features.territorial import territory_counts

    return territory_counts(tables, to_timestamp(as_of), outcomes=config.outcomes)


def _scores(
    tables: Tables, index: pd.Index, risk: np.ndarray, outcome: str, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Scores without tiers (cut later, on the whole city)."""
    households, territories = tables.person_places(index)
    n = len(risk)
    return pd.DataFrame(
        {
            "person_id": index.to_numpy(),
            "household_id": households.to_numpy(),
            "territory_id": territories.to_numpy(),
            "outcome": pd.Categorical([outcome] * n),
            "as_of": np.full(n, as_of.to_datetime64(), dtype="datetime64[ns]"),
            "risk": np.asarray(risk, dtype="float32"),
            "tier": pd.Categorical([None] * n),
        },
        columns=list(SCORE_COLUMNS),
    )
