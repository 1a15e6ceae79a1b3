"""Outcome labels: 1 when a qualifying event falls in ``[as_of, as_of + horizon)``.

Examples
--------
>>> import pandas as pd
>>> from masrisk import Tables, load_config
>>> from masrisk.features.labels import build_labels
>>> frames = {
...     "territories": pd.DataFrame({"territory_id": ["T1"], "zone": ["urban"], "population": [2]}),
...     "households": pd.DataFrame({"household_id": [1], "territory_id": ["T1"]}),
...     "persons": pd.DataFrame({"person_id": [1, 2], "household_id": [1, 1],
...                              "birth_date": ["1950-01-01", "1960-01-01"], "sex": ["F", "M"]}),
...     "events": pd.DataFrame({"person_id": [1, 2, 2], "kind": ["emergency"] * 3,
...                             "date": ["2023-12-31", "2024-01-01", "2024-03-01"],
...                             "code": ["I10X", "I21.9", "J18"]}),
... }
>>> tables = Tables.from_frames(frames)
>>> build_labels(tables, as_of="2024-01-01", outcome="cardiovascular_12m",
...              config=load_config("bogota")).tolist()
[0, 1]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from masrisk.codes import icd10_matches
from masrisk.config import Config, OutcomeConfig
from masrisk.exceptions import ConfigError
from masrisk.features.population import Population, population_at, to_timestamp
from masrisk.tables import Tables

__all__ = ["build_labels", "qualifying_events", "resolve_outcome"]


def resolve_outcome(outcome: str | OutcomeConfig, config: Config | None = None) -> OutcomeConfig:
    """Return an outcome's definition, by name from ``config``.

    Raises
    ------
    masrisk.ConfigError
        If ``outcome`` is a name and ``config`` is not given, or does not define it.
    """
    if isinstance(outcome, OutcomeConfig):
        return outcome
    if config is None:
        raise ConfigError(
            f"config: required to look up the outcome {outcome!r} (give masrisk.load_config(...))"
        )
    if outcome not in config.outcomes:
        known = ", ".join(sorted(config.outcomes))
        raise ConfigError(f"outcomes.{outcome}: no such outcome (defined: {known})")
    return config.outcomes[outcome]


def qualifying_events(events: pd.DataFrame, outcome: OutcomeConfig) -> np.ndarray:
    """Boolean mask of the events whose kind (and code, if the outcome lists codes) qualify."""
    mask = np.array(events["kind"].isin(outcome.kinds), dtype=bool)  # writable copy
    if outcome.codes is not None:
        codes = events["code"].astype("category")
        hit = [icd10_matches(c, outcome.codes) for c in codes.cat.categories]
        mask &= np.array([*hit, False])[codes.cat.codes.to_numpy()]  # code -1 (missing): False
    return mask


def build_labels(
    tables: Tables,
    *,
    as_of: str | pd.Timestamp,
    outcome: str | OutcomeConfig,
    config: Config | None = None,
    population: Population | None = None,
) -> pd.Series:
    """Label every person present at ``as_of``: 1 if the outcome happens within its horizon.

    Parameters
    ----------
    tables : Tables
    as_of : date
        Cut-off. Only events in ``[as_of, as_of + horizon_days)`` are looked at.
    outcome : str or OutcomeConfig
        An outcome's name in ``config``, or its definition.
    config : Config, optional
        Where named outcomes are defined: required when ``outcome`` is a name.
    population : Population, optional
        ``population_at(tables, as_of)``, when already selected.

    Returns
    -------
    pandas.Series
        int8, indexed by ``person_id`` over the persons present at ``as_of`` (the same rows,
        in the same order, as :func:`masrisk.build_features`), named after the outcome.
    """
    as_of = to_timestamp(as_of)
    definition = resolve_outcome(outcome, config)
    persons = (population if population is not None else population_at(tables, as_of)).persons.index
    events = tables.events
    end = as_of + pd.Timedelta(days=definition.horizon_days)
    window = ((events["date"] >= as_of) & (events["date"] < end)).to_numpy()
    hits = window & qualifying_events(events, definition)
    labels = persons.isin(events.loc[hits, "person_id"]).astype("int8")
    return pd.Series(labels, index=persons, name=outcome if isinstance(outcome, str) else "label")
