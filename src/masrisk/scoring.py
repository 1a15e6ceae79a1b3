"""Score a population with a bundle: each person's calibrated risk and tier at ``as_of``."""

from __future__ import annotations

import pandas as pd

from masrisk.bundle import Bundle
from masrisk.config import Config
from masrisk.engines import stages
from masrisk.engines.base import Engine
from masrisk.engines.memory import MemoryEngine
from masrisk.engines.steps import SCORE_COLUMNS, risk_of, scores_frame
from masrisk.tables import Tables

__all__ = ["SCORE_COLUMNS", "score"]


def score(
    bundle: Bundle,
    tables: Tables | Engine,
    *,
    as_of: str | pd.Timestamp,
    config: Config,
    features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the scores of every person present at ``as_of``.

    Parameters
    ----------
    bundle : Bundle
        A model bundle (:func:`masrisk.load_bundle`).
    tables : Tables or Engine
        The population, in memory or split in parts run by an engine (:mod:`masrisk.scale`).
    as_of : date
        Cut-off of the features; the risk is of the outcome within its horizon after it.
    config : Config
        Gives the tiers' cut-offs and the territories' historical rates.
    features : pandas.DataFrame, optional
        :func:`masrisk.build_features` at ``as_of`` with the bundle's lab codes, if already
        built for a population in memory.

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_COLUMNS` (:func:`masrisk.engines.steps.scores_frame`).
    """
    if features is not None and isinstance(tables, Tables):
        risks = risk_of(features, tables.person_places(features.index), bundle=bundle)
        return scores_frame(risks, outcome=bundle.outcome, as_of=as_of, tiers=config.tiers)
    engine = MemoryEngine(tables) if isinstance(tables, Tables) else tables
    return stages.score(bundle, engine, as_of=as_of, config=config)
