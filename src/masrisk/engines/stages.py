"""Features, scores, explanations and plans of a population, written once over an engine.

Each function runs the steps of :mod:`masrisk.engines.steps` on the engine's parts: one
read of each part keeps its counts and its persons' features where the part is
(:func:`read_parts`), the territorial features are computed once from the summed counts,
and each part's features are finished and used in the same task, so that they never leave
it. :func:`masrisk.train` (:mod:`masrisk.training`) is written the same way.

Examples
--------
>>> import masrisk
>>> from masrisk.engines import MemoryEngine, stages
>>> tables = masrisk.synthesize("bogota", persons=1000, seed=0).tables
>>> config = masrisk.load_config("bogota")
>>> stages.build_features(MemoryEngine(tables), as_of="2024-01-01", config=config).equals(
...     masrisk.build_features(tables, as_of="2024-01-01", config=config))
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from masrisk.bundle import Bundle
from masrisk.config import Config
from masrisk.engines.base import Engine
from masrisk.engines.memory import concat
from masrisk.engines.steps import (
    Explained,
    ReadPart,
    contributions_of,
    counts_at,
    drivers_from_table,
    features_at,
    head,
    households_of,
    planning_columns,
    read_contributions,
    read_part,
    risk_of,
    scores_frame,
    territorial_features,
    with_dtypes,
)
from masrisk.exceptions import Problem, ValidationError
from masrisk.features import lab_codes_in
from masrisk.features.parts import common_dtypes
from masrisk.features.population import to_timestamp
from masrisk.outputs import check_output, output_directory
from masrisk.planning.catalog import InterventionCatalog, load_catalog
from masrisk.planning.planner import Places, Plans
from masrisk.planning.planner import plan as make_plans

__all__ = [
    "aligned",
    "build_features",
    "explain",
    "feature_parts",
    "plan",
    "read_parts",
    "run",
    "score",
    "table_columns",
]


def read_parts(
    engine: Engine,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    lab_codes: Sequence[str] | None = None,
    within_data: bool = False,
) -> tuple[list[Any], dict[str, Any]]:
    """Read every part once at ``as_of``; sum the counts into what finishing the features needs.

    With ``within_data``, a cut-off outside the data's dates is refused
    (:meth:`~masrisk.features.parts.FeatureCounts.check_as_of`): scores and explanations are
    made only where the data can speak.

    Returns
    -------
    reads : list
        Each part's :class:`~masrisk.engines.steps.ReadPart` (or an engine's handle to it).
    inputs : dict
        ``lab_codes`` and ``territorial``, the whole's, for
        :func:`~masrisk.engines.steps.features_at`.
    """
    codes = None if lab_codes is None else list(lab_codes)
    reads = engine.map(read_part, engine.parts(), cutoffs=(as_of,), config=config, lab_codes=codes)
    counts = engine.sum(engine.map(counts_at, reads))
    if within_data:
        counts.check_as_of(to_timestamp(as_of))
    codes = counts.labs.frequent() if codes is None else codes
    territorial = territorial_features(engine.territories(), counts, config=config)
    return reads, {"lab_codes": codes, "territorial": territorial}


def feature_parts(
    engine: Engine,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    lab_codes: Sequence[str] | None = None,
) -> tuple[list[Any], pd.DataFrame]:
    """Every part's features, with the dtypes of the whole, left where the parts are.

    Returns
    -------
    parts : list
        One frame (or an engine's handle to it) per part.
    meta : pandas.DataFrame
        No rows: the columns and dtypes of the whole's features.
    """
    reads, inputs = read_parts(engine, as_of=as_of, config=config, lab_codes=lab_codes)
    return aligned(engine, engine.map(features_at, reads, **inputs))


def aligned(engine: Engine, frames: list[Any]) -> tuple[list[Any], pd.DataFrame]:
    """Give every part's features the dtypes of the whole; return them and an empty frame."""
    dtypes = common_dtypes(engine.gather(engine.map(head, frames)))
    frames = engine.map(with_dtypes, frames, dtypes=dtypes)
    return frames, head(engine.gather(engine.map(head, frames[:1]))[0])


def build_features(
    engine: Engine,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    lab_codes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`masrisk.build_features` of the whole population; rows part after part."""
    frames, _ = feature_parts(engine, as_of=as_of, config=config, lab_codes=lab_codes)
    return concat(engine.gather(frames))


def score(
    bundle: Bundle, engine: Engine, *, as_of: str | pd.Timestamp, config: Config
) -> pd.DataFrame:
    """Return the scores of everyone present at ``as_of`` (:func:`masrisk.score`)."""
    reads, inputs = read_parts(
        engine, as_of=as_of, config=config, lab_codes=bundle.lab_codes, within_data=True
    )
    risks = engine.gather(engine.map(_risks, reads, bundle=bundle, **inputs))
    return scores_frame(concat(risks), outcome=bundle.outcome, as_of=as_of, tiers=config.tiers)


def explain(
    bundle: Bundle,
    engine: Engine,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    out: str | os.PathLike,
    chunk_size: int = 100_000,
    top: int = 10,
    overwrite: bool = False,
) -> Explained:
    """Explain everyone present at ``as_of``, streaming the contributions to ``out``.

    Each part is explained where it is and its contributions written at once: one
    ``.parquet`` or ``.csv`` file for the in-memory engine, else a directory of Parquet parts
    (``part-00000.parquet``, ...; ``pandas.read_parquet`` reads it whole) swapped in when
    all are written, under the output policy (:mod:`masrisk.outputs`). Only the
    territories' drivers and the level sums come back.

    Returns
    -------
    Explained
    """
    options = {"chunk_size": chunk_size, "top": top}
    return _explain_parts(bundle, engine, as_of, config, out, overwrite, options)[1]


def plan(
    scores: pd.DataFrame,
    engine: Engine,
    *,
    config: Config,
    drivers: pd.DataFrame | None = None,
    contributions: str | os.PathLike | None = None,
    catalog: InterventionCatalog | None = None,
    top: int = 10,
) -> Plans:
    """Make the plans of a scored population (:func:`masrisk.plan`) over an engine.

    The features the catalogue's eligibility reads are built at the scores' cut-off; each
    territory's drivers are ``drivers``, or come from a contributions table (a file or a
    directory of Parquet parts) read part by part.

    Raises
    ------
    masrisk.ValidationError
        If the scores hold several cut-offs, or the contributions persons the data lack.
    """
    as_of = pd.to_datetime(scores["as_of"]).unique()
    if len(as_of) != 1:
        examples = tuple(map(str, as_of[:5]))
        problem = Problem("scores", "as_of", "more than one cut-off", examples=examples)
        raise ValidationError([problem])
    catalog = catalog or load_catalog(config.planning.catalog)
    needed = [c for c in catalog.required_columns if c != "tier"]
    path = Path(contributions) if contributions is not None else None
    lab_codes = lab_codes_in(table_columns(path)) if path is not None else ()
    reads, inputs = read_parts(
        engine, as_of=as_of[0], config=config, lab_codes=lab_codes, within_data=True
    )
    outcome = str(scores["outcome"].iloc[0]) if len(scores) else ""
    options = {"needed": needed, "contributions": path, "outcome": outcome, "top": top}
    results = engine.gather(engine.map(_plan_inputs, reads, **options, **inputs))
    if path is not None:
        drivers = _by_territory([r[3] for r in results])
        written, read = _rows(path), sum(r[4] for r in results)
        if read != written:
            problem = Problem(
                "contributions", "person_id", "person not in the data at the scores' cut-off",
                rows=written - read,
            )  # fmt: skip
            raise ValidationError([problem], source=str(path))
    return _plans(scores, engine, results, config=config, drivers=drivers, catalog=catalog)


def run(
    bundle: Bundle,
    engine: Engine,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    out: str | os.PathLike,
    catalog: InterventionCatalog | None = None,
    chunk_size: int = 100_000,
    top: int = 10,
    overwrite: bool = False,
) -> tuple[pd.DataFrame, Explained, Plans]:
    """Score, explain and plan a population with one features pass over its parts.

    Equal to :func:`score`, :func:`explain` and :func:`plan` with the explanation's drivers,
    but each part's features are built once for the three (``benchmarks/city.py``).

    Returns
    -------
    scores : pandas.DataFrame
    explained : Explained
    plans : Plans
    """
    catalog = catalog or load_catalog(config.planning.catalog)
    needed = [c for c in catalog.required_columns if c != "tier"]
    options = {"chunk_size": chunk_size, "top": top, "needed": needed}
    results, explained = _explain_parts(bundle, engine, as_of, config, out, overwrite, options)
    risks = concat([r[3] for r in results])
    scores = scores_frame(risks, outcome=bundle.outcome, as_of=as_of, tiers=config.tiers)
    planned = [r[4:] for r in results]
    plans = _plans(
        scores, engine, planned, config=config, drivers=explained.drivers, catalog=catalog
    )
    return scores, explained, plans


def _explain_parts(
    bundle: Bundle, engine: Engine, as_of: Any, config: Config, out: Any, overwrite: bool,
    options: dict[str, Any],
) -> tuple[list[tuple], Explained]:  # fmt: skip
    """Explain every part, its contributions written under the policy; sum the results up."""
    target = Path(out)
    check_output(target, overwrite=overwrite, kind="contributions")  # before the work
    parts, inputs = read_parts(
        engine, as_of=as_of, config=config, lab_codes=bundle.lab_codes, within_data=True
    )
    options = {"bundle": bundle, **options, **inputs}
    if engine.name == "memory":
        results = engine.gather(
            engine.map(_explained, parts, [target], overwrite=overwrite, **options)
        )
    else:
        with output_directory(target, kind="contributions", overwrite=overwrite) as staging:
            outs = [staging / f"part-{k:05d}.parquet" for k in range(len(parts))]
            results = engine.gather(engine.map(_explained, parts, outs, **options))
    sums = engine.sum([r[2] for r in results]) if len(results) > 1 else results[0][2]
    drivers = _by_territory([r[1] for r in results])
    return results, Explained(target, sum(r[0] for r in results), drivers, sums.level_shares())


def _by_territory(drivers: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat(drivers, ignore_index=True)
    return frame.sort_values(["territory_id", "rank"], kind="stable", ignore_index=True)


def _plans(
    scores: pd.DataFrame, engine: Engine, results: list[tuple], *, config: Config,
    drivers: pd.DataFrame | None, catalog: InterventionCatalog,
) -> Plans:  # fmt: skip
    """Make the plans from every part's planning columns and households."""
    households = pd.concat([r[1] for r in results], ignore_index=True)
    places = Places(
        territories=engine.territories().territories,
        households=households,
        persons=pd.concat([r[2] for r in results]),
    )
    persons = concat([r[0] for r in results])
    return make_plans(
        scores, places, config=config, persons=persons, drivers=drivers, catalog=catalog
    )


def _risks(read: ReadPart, *, bundle: Bundle, **inputs: Any) -> pd.DataFrame:
    return risk_of(features_at(read, **inputs), read.at[0].part.places(), bundle=bundle)


def _explained(
    read: ReadPart, out: Path, *, bundle: Bundle, chunk_size: int, top: int,
    needed: list[str] | None = None, overwrite: bool = False, **inputs: Any,
) -> tuple:  # fmt: skip
    """Explain a part; with ``needed``, also score it and keep what its plans read."""
    features, places = features_at(read, **inputs), read.at[0].part.places()
    explained = contributions_of(
        features, places, bundle=bundle, out=out, chunk_size=chunk_size, top=top,
        overwrite=overwrite,
    )  # fmt: skip
    if needed is None:
        return explained
    planning = planning_columns(features, needed), households_of(read), _places_frame(places)
    return (*explained, risk_of(features, places, bundle=bundle), *planning)


def _plan_inputs(
    read: ReadPart,
    *,
    needed: list[str],
    contributions: Path | None,
    outcome: str,
    top: int,
    **inputs: Any,
) -> tuple:
    features = features_at(read, **inputs)
    drivers, rows = None, 0
    if contributions is not None:
        table = read_contributions(contributions, features.index)
        rows = len(table)
        drivers = drivers_from_table(
            table, features, read.at[0].part.places(), outcome=outcome, top=top,
            source=str(contributions),
        )  # fmt: skip
    places = _places_frame(read.at[0].part.places())
    return planning_columns(features, needed), households_of(read), places, drivers, rows


def _places_frame(places: tuple[pd.Series, pd.Series]) -> pd.DataFrame:
    """Return a part's persons' ``household_id`` and ``territory_id``, by ``person_id``."""
    household, territory = places
    return pd.DataFrame(
        {"household_id": household.to_numpy(), "territory_id": territory.to_numpy()},
        index=household.index,
    )


def table_columns(path: Path) -> list[str]:
    """Return the columns of a ``.csv`` or Parquet table (a file or a directory of parts)."""
    if path.suffix == ".csv":
        return list(pd.read_csv(path, nrows=0).columns)
    import pyarrow.dataset as ds

    return list(ds.dataset(path, format="parquet").schema.names)


def _rows(path: Path) -> int:
    if path.suffix == ".csv":
        return len(pd.read_csv(path, usecols=["person_id"]))
    import pyarrow.dataset as ds

    return ds.dataset(path, format="parquet").count_rows()
