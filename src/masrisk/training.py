"""Train a risk model out of time: features and labels at two cut-offs, then evaluate.

Examples
--------
>>> import masrisk
>>> tables = masrisk.synthesize("bogota", persons=3000, seed=0).tables
>>> model, report = masrisk.train(tables, config=masrisk.load_config("bogota"),
...     outcome="hospitalization_12m", train_as_of="2023-01-01", valid_as_of="2024-01-01")
>>> report.chosen_model in {"lightgbm", "logistic_baseline"}
True
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from masrisk.bundle import data_fingerprint, feature_specs
from masrisk.config import Config, OutcomeConfig
from masrisk.evaluate import EvaluationReport
from masrisk.exceptions import CutoffError
from masrisk.features import build_features, build_labels, lab_codes_in
from masrisk.features.population import to_timestamp
from masrisk.models import RiskModel
from masrisk.tables import Tables

__all__ = [
    "SUBGROUPS",
    "check_cutoffs",
    "subgroups",
    "train",
    "train_from_features",
    "training_facts",
    "validation_report",
]

logger = logging.getLogger(__name__)

#: Subgroup attribute -> feature column it is read from.
SUBGROUPS: dict[str, str] = {
    "sex": "ind_sex",
    "life_stage": "ind_life_stage",
    "zone": "ter_zone",
    "insurer": "ind_insurer",
    "regime": "ind_regime",
}


def subgroups(features: pd.DataFrame) -> pd.DataFrame:
    """Return the subgroups of each person: sex, stage, zone, insurer, regime, deprivation.

    ``deprivation_quintile`` is the quintile of the territory's overall deprivation rank
    (``ter_svi_overall``): ``Q1`` least deprived to ``Q5`` most deprived.
    """
    groups = pd.DataFrame(index=features.index)
    for attribute, column in SUBGROUPS.items():
        if column in features.columns:
            groups[attribute] = features[column].astype("str").where(features[column].notna())
    if "ter_svi_overall" in features.columns:
        rank = features["ter_svi_overall"].to_numpy(dtype="float64")
        quintile = np.minimum(np.floor(rank * 5), 4)
        labels = np.array(["Q1", "Q2", "Q3", "Q4", "Q5"], dtype=object)
        groups["deprivation_quintile"] = np.where(
            np.isnan(quintile), None, labels[np.nan_to_num(quintile).astype(int)]
        )
    return groups


def train(
    tables: Tables,
    *,
    config: Config,
    outcome: str,
    train_as_of: str | pd.Timestamp,
    valid_as_of: str | pd.Timestamp,
    params: dict | None = None,
    calibration: str = "sigmoid",
    random_state: int = 0,
) -> tuple[RiskModel, EvaluationReport]:
    """Fit a :class:`RiskModel` on one cut-off and choose, calibrate and evaluate it on a later one.

    Parameters
    ----------
    tables : Tables
    config : Config
        Defines the outcome (and the territories' historical rates).
    outcome : str
        Name of an outcome of ``config``.
    train_as_of, valid_as_of : date
        Cut-offs. The validation cut-off must come at least one horizon after the training
        one, so that no training label looks into the validation period, and the data must
        cover the validation labels' whole horizon.
    params, calibration, random_state
        Passed to :class:`RiskModel`.

    Returns
    -------
    model : RiskModel
        Fitted, with ``training_``: the facts a bundle records (outcome definition,
        cut-offs, persons and events, features with dtypes, data fingerprint).
    report : EvaluationReport
        Metrics on the validation period, the model beside the logistic baseline.
    """
    first, second, _ = check_cutoffs(
        config, outcome, train_as_of, valid_as_of, data_end=tables.events["date"].max()
    )
    logger.info("building features at %s and %s", f"{first:%Y-%m-%d}", f"{second:%Y-%m-%d}")
    X = build_features(tables, as_of=first, config=config)
    X_valid = build_features(tables, as_of=second, config=config, lab_codes=lab_codes_in(X.columns))
    y = build_labels(tables, as_of=first, outcome=outcome, config=config)
    y_valid = build_labels(tables, as_of=second, outcome=outcome, config=config)
    return train_from_features(
        X,
        y,
        X_valid,
        y_valid,
        config=config,
        outcome=outcome,
        train_as_of=first,
        valid_as_of=second,
        data_end=tables.events["date"].max(),
        params=params,
        calibration=calibration,
        random_state=random_state,
    )


def check_cutoffs(
    config: Config,
    outcome: str,
    train_as_of: str | pd.Timestamp,
    valid_as_of: str | pd.Timestamp,
    *,
    data_end: pd.Timestamp,
) -> tuple[pd.Timestamp, pd.Timestamp, OutcomeConfig]:
    """Check that the outcome exists and the cut-offs neither overlap nor pass the data's end.

    Returns
    -------
    train_as_of, valid_as_of : pandas.Timestamp
    definition : OutcomeConfig

    Raises
    ------
    masrisk.ConfigError
        If ``config`` does not define ``outcome``.
    masrisk.exceptions.CutoffError
        If the validation cut-off comes less than one horizon after the training one, or
        the validation labels' horizon runs past ``data_end``.
    """
    definition = config.outcomes.get(outcome)
    if definition is None:
        from masrisk.exceptions import ConfigError

        raise ConfigError(
            f"outcomes.{outcome}: no such outcome (defined: {', '.join(config.outcomes)})"
        )
    first, second = to_timestamp(train_as_of), to_timestamp(valid_as_of)
    horizon = pd.Timedelta(days=definition.horizon_days)
    if second < first + horizon:
        raise CutoffError(
            f"valid_as_of {second:%Y-%m-%d} must be at least {definition.horizon_days} days after "
            f"train_as_of {first:%Y-%m-%d}: training labels would look into the validation period"
        )
    if second + horizon - pd.Timedelta(days=1) > data_end:
        raise CutoffError(
            f"the data end on {data_end:%Y-%m-%d}, before the validation labels' horizon "
            f"({second:%Y-%m-%d} + {definition.horizon_days} days): choose an earlier valid_as_of"
        )
    return first, second, definition


def train_from_features(
    X: pd.DataFrame,
    y: pd.Series,
    X_valid: pd.DataFrame,
    y_valid: pd.Series,
    *,
    config: Config,
    outcome: str,
    train_as_of: str | pd.Timestamp,
    valid_as_of: str | pd.Timestamp,
    data_end: pd.Timestamp,
    params: dict | None = None,
    calibration: str = "sigmoid",
    random_state: int = 0,
) -> tuple[RiskModel, EvaluationReport]:
    """Fit, choose, calibrate and evaluate a :class:`RiskModel` on features already built.

    :func:`train` builds the features of a population in memory and calls this; a
    population split by territory (:mod:`masrisk.scale`) builds them partition by
    partition. Labels are aligned to the features by ``person_id``.

    Parameters
    ----------
    X, X_valid : pandas.DataFrame
        :func:`masrisk.build_features` at the training and validation cut-offs (the
        validation features with the training lab codes).
    y, y_valid : pandas.Series
        :func:`masrisk.build_labels` at the same cut-offs.
    config, outcome, train_as_of, valid_as_of
        As :func:`train`.
    data_end : pandas.Timestamp
        Date of the last event of the data (checked against the cut-offs).
    params, calibration, random_state
        Passed to :class:`RiskModel`.

    Returns
    -------
    model : RiskModel
    report : EvaluationReport
    """
    first, second, _ = check_cutoffs(config, outcome, train_as_of, valid_as_of, data_end=data_end)
    X_valid = X_valid[X.columns]
    y, y_valid = y.reindex(X.index), y_valid.reindex(X_valid.index)
    logger.info("training %s on %d persons (%d events)", outcome, len(y), int(y.sum()))
    model = RiskModel(outcome, params=params, calibration=calibration, random_state=random_state)
    model.fit(X, y, eval_set=(X_valid, y_valid))
    model.training_ = training_facts(
        config,
        outcome,
        (first, second),
        y,
        y_valid,
        features=X,
        fingerprint=data_fingerprint(X, y),
        data_end=data_end,
    )
    report = validation_report(model, (first, second), y_valid, subgroups(X_valid), config=config)
    return model, report


def training_facts(
    config: Config,
    outcome: str,
    cutoffs: tuple[pd.Timestamp, pd.Timestamp],
    y: np.ndarray | pd.Series,
    y_valid: np.ndarray | pd.Series,
    *,
    features: pd.DataFrame,
    fingerprint: str,
    data_end: pd.Timestamp,
) -> dict:
    """Return what a bundle records of a training: outcome, cut-offs, persons, features, data.

    Parameters
    ----------
    config, outcome
        As :func:`train`.
    cutoffs : (pandas.Timestamp, pandas.Timestamp)
        The training and validation cut-offs.
    y, y_valid : array-like
        The labels at each cut-off.
    features : pandas.DataFrame
        The training features (their columns and dtypes are recorded; rows may be empty).
    fingerprint : str
        :func:`masrisk.bundle.data_fingerprint` of the training features and labels.
    data_end : pandas.Timestamp
        Date of the last event of the data.
    """
    first, second = cutoffs
    definition = config.outcomes[outcome]
    y, y_valid = np.asarray(y), np.asarray(y_valid)
    return {
        "profile": config.profile,
        "outcome_definition": {"name": outcome, **definition.model_dump(mode="json")},
        "train_as_of": f"{first:%Y-%m-%d}",
        "valid_as_of": f"{second:%Y-%m-%d}",
        "train_persons": len(y),
        "train_events": int(y.sum()),
        "valid_persons": len(y_valid),
        "valid_events": int(y_valid.sum()),
        "lab_codes": lab_codes_in(features.columns),
        "features": feature_specs(features),
        "data_fingerprint": fingerprint,
        "data_end": f"{data_end:%Y-%m-%d}",
    }


def validation_report(
    model: RiskModel,
    cutoffs: tuple[pd.Timestamp, pd.Timestamp],
    y_valid: np.ndarray | pd.Series,
    groups: pd.DataFrame,
    *,
    config: Config,
) -> EvaluationReport:
    """Evaluate a fitted model on its validation cut-off, beside the logistic baseline.

    Parameters
    ----------
    model : RiskModel
        Fitted: its ``validation_risk_`` are the validation persons' risks.
    cutoffs : (pandas.Timestamp, pandas.Timestamp)
        The training and validation cut-offs.
    y_valid : array-like
        The validation labels, in the order of ``validation_risk_``.
    groups : pandas.DataFrame
        :func:`subgroups` of the validation features, same order.
    config : Config
        Defines the outcome's horizon.
    """
    first, second = cutoffs
    y_valid = np.asarray(y_valid)
    horizon = config.outcomes[model.outcome].horizon_days
    return EvaluationReport.from_predictions(
        model.outcome,
        f"validation cut-off {second:%Y-%m-%d}, horizon {horizon} days, "
        f"{len(y_valid):,} persons (trained at {first:%Y-%m-%d})",
        y_valid,
        model.validation_risk_,
        groups,
        chosen_model=model.chosen_,
        choice_reason=model.choice_reason_,
    )
