"""Score a population with a bundle: each person's calibrated risk and tier at ``as_of``."""

from __future__ import annotations

import pandas as pd

from masrisk.bundle import Bundle
from masrisk.config import Config
from masrisk.features import build_features
from masrisk.features.population import to_timestamp
from masrisk.tables import Tables
from masrisk.tiers import assign_tiers

__all__ = ["SCORE_COLUMNS", "score"]

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


def score(
    bundle: Bundle,
    tables: Tables,
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
    tables : Tables
    as_of : date
        Cut-off of the features; the risk is of the outcome within its horizon after it.
    config : Config
        Gives the tiers' cut-offs and the territories' historical rates.
    features : pandas.DataFrame, optional
        :func:`masrisk.build_features` at ``as_of`` with the bundle's lab codes, when the
        caller has them already (they are built otherwise).

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_COLUMNS`: ids, ``outcome``, ``as_of``, ``risk`` (calibrated probability,
        float32) and ``tier`` (categorical).
    """
    as_of = to_timestamp(as_of)
    lab_codes = bundle.lab_codes
    if features is None:
        features = build_features(tables, as_of=as_of, config=config, lab_codes=lab_codes)
    risk = bundle.predict_risk(features)
    households, territories = tables.person_places(features.index)
    return pd.DataFrame(
        {
            "person_id": features.index.to_numpy(),
            "household_id": households.to_numpy(),
            "territory_id": territories.to_numpy(),
            "outcome": pd.Categorical([bundle.model.outcome] * len(risk)),
            "as_of": pd.Series(as_of, index=range(len(risk))).astype("datetime64[ns]").to_numpy(),
            "risk": risk.astype("float32"),
            "tier": assign_tiers(risk, config.tiers).array,
        },
        columns=list(SCORE_COLUMNS),
    )
