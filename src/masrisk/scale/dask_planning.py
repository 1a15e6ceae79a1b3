"""Plans of a population scored on Dask: the planner on what the partitions give back.

The planner is a city-wide optimisation (:func:`masrisk.plan`), so it runs in this process
on what the cluster gives back: the scores, the few feature columns the intervention
catalogue reads, the households' deprivation flags and the territories' drivers - each
partition's explanations summed by territory within the partition, which holds whole
territories. The plans equal those :func:`masrisk.plan` makes from the same scores on one
machine.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from masrisk.bundle import Bundle
from masrisk.config import Config
from masrisk.exceptions import Problem, ValidationError
from masrisk.explanations import Explanation, explain
from masrisk.features import lab_codes_in
from masrisk.planning.catalog import InterventionCatalog, load_catalog
from masrisk.planning.planner import Plans, plan
from masrisk.scale.dask_engine import DaskPopulation
from masrisk.scale.dask_features import dask_features
from masrisk.scale.dask_scoring import PART_FILE
from masrisk.schema import normalize_and_validate
from masrisk.scoring import SCORE_COLUMNS
from masrisk.tables import Tables

__all__ = ["plan_dask", "plan_from_parquet", "territory_drivers"]


def territory_drivers(
    bundle: Bundle, features: Any, population: DaskPopulation, *, top: int = 10
) -> pd.DataFrame:
    """Return the top drivers of every territory (:meth:`masrisk.Explanation.drivers`).

    Each partition holds whole territories, so each task explains its partition and sums
    its territories' contributions; the drivers of all territories come back.
    """
    import dask.dataframe as dd

    places = population.places()
    drivers = dd.map_partitions(
        _drivers, features, places, bundle, top, meta=_drivers_meta(places),
        align_dataframes=False, enforce_metadata=False,
    )  # fmt: skip
    return drivers.compute().reset_index(drop=True)


def plan_dask(
    scores: Any,
    features: Any,
    population: DaskPopulation,
    *,
    config: Config,
    drivers: pd.DataFrame | None = None,
    catalog: InterventionCatalog | None = None,
) -> Plans:
    """Make the plans (:func:`masrisk.plan`) of a population scored on Dask.

    Parameters
    ----------
    scores : dask.dataframe.DataFrame or pandas.DataFrame
        :func:`score_dask` output.
    features : dask.dataframe.DataFrame
        :func:`~masrisk.scale.dask_engine.dask_features` at the scores' cut-off; only the
        columns the catalogue's eligibility reads come back.
    population : DaskPopulation
        Its territories and households (with their deprivation flags).
    config : Config
    drivers : pandas.DataFrame, optional
        :func:`territory_drivers`: the drivers listed in each plan.
    catalog : InterventionCatalog, optional
        By default the one the configuration names.

    Returns
    -------
    Plans
        As :func:`masrisk.plan` makes them from the same scores on one machine.
    """
    import dask

    catalog = catalog or load_catalog(config.planning.catalog)
    needed = [c for c in catalog.required_columns if c != "tier"]
    small = population.data.small_tables()
    empty = (population.persons._meta, population.events._meta)
    households = [
        dask.delayed(_households)(small, piece, *empty, source=f"{population.data.path} ({k})")
        for k, piece in enumerate(population.households.to_delayed())
    ]
    # two calls: Dask warns when one mixes dataframes and delayed objects
    scores, persons = dask.compute(scores, features[[c for c in needed if c in features.columns]])
    households = dask.compute(*households)
    tables = Tables(
        territories=households[0].territories,
        households=pd.concat([h.households for h in households], ignore_index=True),
        persons=households[0].persons,  # the planner reads territories and households only
        events=households[0].events,
        adjacency=households[0].adjacency,
        facilities=households[0].facilities,
    )
    return plan(scores, tables, config=config, persons=persons, drivers=drivers, catalog=catalog)


def plan_from_parquet(
    scores: str | os.PathLike,
    population: DaskPopulation,
    *,
    config: Config,
    contributions: str | os.PathLike | None = None,
    top: int = 10,
) -> Plans:
    """Make the plans from the scores and contributions the Dask engine wrote.

    The counterpart of ``masrisk plan`` (:func:`masrisk.pipeline.plan_from_files`): the
    features the catalogue reads are built on the cluster at the scores' cut-off, and each
    territory's drivers are summed, partition by partition, from the contributions file of
    the same partition (``part-0000k.parquet``: ``contributions`` must come from the same
    partitioning of the same data).

    Parameters
    ----------
    scores : path-like
        A scores directory (or a ``.parquet`` file) with :data:`~masrisk.scoring.SCORE_COLUMNS`.
    population : DaskPopulation
    config : Config
    contributions : path-like, optional
        A contributions directory written by the Dask engine.
    top : int
        Drivers per territory.

    Raises
    ------
    masrisk.ValidationError
        If the scores lack a column or hold several cut-offs, or the contributions do not
        match the partitions.
    """
    import dask.dataframe as dd

    frame = pd.read_parquet(scores)
    missing = [c for c in SCORE_COLUMNS if c not in frame.columns]
    as_of = pd.to_datetime(frame["as_of"]).unique() if not missing else []
    if missing or len(as_of) != 1:
        rule = "missing column" if missing else "more than one cut-off"
        examples = tuple(missing) or tuple(map(str, as_of[:5]))
        raise ValidationError(
            [Problem("scores", (missing or ["as_of"])[0], rule, examples=examples)],
            source=str(scores),
        )
    files = _contribution_files(contributions, population) if contributions else None
    lab_codes = lab_codes_in(_columns(files[0])) if files else ()
    features = dask_features(population, as_of=as_of[0], config=config, lab_codes=lab_codes)
    drivers = None
    if files:
        outcome = str(frame["outcome"].iloc[0])
        places = population.places()
        drivers = dd.map_partitions(
            _file_drivers, features, places, tuple(map(str, files)), outcome, top,
            meta=_drivers_meta(places), align_dataframes=False, enforce_metadata=False,
        ).compute().reset_index(drop=True)  # fmt: skip
    return plan_dask(frame, features, population, config=config, drivers=drivers)


def _drivers(
    features: pd.DataFrame, places: pd.DataFrame, bundle: Bundle, top: int
) -> pd.DataFrame:
    explanation = explain(bundle, features)
    places = places.reindex(features.index)
    explanation = replace(
        explanation,
        households=places["household_id"].rename("household_id"),
        territories=places["territory_id"].rename("territory_id"),
    )
    return explanation.drivers("territory", top=top)


def _contribution_files(directory: str | os.PathLike, population: DaskPopulation) -> list[Path]:
    folder = Path(directory)
    if not folder.is_dir():
        raise FileNotFoundError(f"contributions: no such directory {folder}")
    files = sorted(p for p in folder.iterdir() if PART_FILE.fullmatch(p.name))
    if len(files) != population.partitions:
        raise ValidationError(
            [
                Problem(
                    "contributions",
                    None,
                    "not one file per partition of the data",
                    detail=f"{len(files)} files for {population.partitions} partitions; "
                    "explain with the same --partitions as the scores",
                )
            ],
            source=str(folder),
        )
    return files


def _columns(file: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(file).names)


def _drivers_meta(places: Any) -> pd.DataFrame:
    """Return the columns and dtypes of :meth:`masrisk.Explanation.drivers`."""
    return pd.DataFrame(
        {
            "territory_id": places._meta["territory_id"],
            "rank": pd.Series(dtype="int64"),
            "feature": pd.Series(dtype="str"),
            "group": pd.Series(dtype="str"),
            "level": pd.Series(dtype="str"),
            "contribution": pd.Series(dtype="float64"),
            "description": pd.Series(dtype="str"),
        }
    ).reset_index(drop=True)


def _file_drivers(
    features: pd.DataFrame,
    places: pd.DataFrame,
    files: tuple[str, ...],
    outcome: str,
    top: int,
    partition_info: dict | None = None,
) -> pd.DataFrame:
    """Return the drivers of a partition's territories from its contributions file."""
    file = files[partition_info["number"]]
    values = pd.read_parquet(file).set_index("person_id")
    if not values.index.isin(features.index).all():
        unknown = values.index[~values.index.isin(features.index)]
        raise ValidationError(
            [
                Problem(
                    "contributions",
                    "person_id",
                    "person not in this partition of the data at the scores' cut-off",
                    rows=len(unknown),
                    examples=tuple(map(str, unknown[:5])),
                )
            ],
            source=file,
        )
    names = [c for c in values.columns if c[:4] in ("ind_", "fam_", "ter_")]
    places = places.reindex(values.index)
    explanation = Explanation(
        values=values[names].astype("float64"),
        base_value=float(values["base_value"].iloc[0]) if len(values) else 0.0,
        data=features.reindex(values.index)[names],
        outcome=outcome,
        households=places["household_id"],
        territories=places["territory_id"],
    )
    return explanation.drivers("territory", top=top)


def _households(
    small: dict[str, pd.DataFrame],
    households: pd.DataFrame,
    persons: pd.DataFrame,
    events: pd.DataFrame,
    *,
    source: str,
) -> Tables:
    """Validate a partition's households (and the small tables) alone: no persons, no events."""
    frames = {**small, "households": households, "persons": persons, "events": events}
    return normalize_and_validate(frames, source=source)
