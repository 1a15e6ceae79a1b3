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

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from masrisk.bundle import feature_specs
from masrisk.config import Config, OutcomeConfig
from masrisk.engines import stages, steps
from masrisk.engines.base import Engine
from masrisk.engines.memory import MemoryEngine
from masrisk.evaluate import EvaluationReport
from masrisk.exceptions import ConfigError, CutoffError, Problem, ValidationError
from masrisk.features import lab_codes_in
from masrisk.features.population import to_timestamp
from masrisk.models import RiskModel
from masrisk.tables import Tables

__all__ = [
    "SUBGROUPS",
    "TrainSpec",
    "check_cutoffs",
    "subgroups",
    "train",
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


@dataclass(frozen=True, kw_only=True)
class TrainSpec:
    """What to train: the one definition of :func:`train`'s options.

    Attributes
    ----------
    config : Config
        Defines the outcome (and the territories' historical rates).
    outcome : str
        Name of an outcome of ``config``.
    train_as_of, valid_as_of : date
        Cut-offs, at least one horizon apart, the data covering the validation labels'
        horizon (:func:`check_cutoffs`).
    params, calibration, random_state
        Passed to :class:`RiskModel`.
    sample : float, optional
        Train on this share of households, the same at both cut-offs
        (:func:`~masrisk.features.parts.household_sample`); territorial features and lab
        codes are still those of everyone.
    """

    config: Config
    outcome: str
    train_as_of: str | pd.Timestamp
    valid_as_of: str | pd.Timestamp
    params: dict | None = None
    calibration: str = "sigmoid"
    random_state: int = 0
    sample: float | None = None

    def model_options(self) -> dict[str, Any]:
        """Return the options of the estimator."""
        return {name: getattr(self, name) for name in ("params", "calibration", "random_state")}


def train(
    data: Tables | Engine, spec: TrainSpec | None = None, /, **options: Any
) -> tuple[RiskModel, EvaluationReport]:
    """Fit a :class:`RiskModel` on one cut-off and choose, calibrate and evaluate it on a later one.

    Parameters
    ----------
    data : Tables or Engine
        The population: in memory, or split in parts run by an engine (:mod:`masrisk.scale`).
    spec : TrainSpec, optional
        What to train; or its fields as keywords (``config``, ``outcome``, ``train_as_of``
        and ``valid_as_of`` required).

    Returns
    -------
    model : RiskModel
        Fitted, with ``training_``: the facts a bundle records.
    report : EvaluationReport
        Metrics on the validation period, the model beside the logistic baseline.
    """
    spec = spec if spec is not None else TrainSpec(**options)
    engine = MemoryEngine(data) if isinstance(data, Tables) else data
    config, outcome = spec.config, spec.outcome
    cutoffs = (to_timestamp(spec.train_as_of), to_timestamp(spec.valid_as_of))
    check_cutoffs(config, outcome, *cutoffs)  # what the data's end does not decide, first
    # One read of each part: both cut-offs' counts, features and labels (of the sample).
    reads = engine.map(
        steps.read_part, engine.parts(), cutoffs=cutoffs, config=config, sample=spec.sample,
        outcome=outcome,
    )  # fmt: skip
    totals = [engine.sum(engine.map(steps.counts_at, reads, k=k)) for k in (0, 1)]
    data_end = totals[0].last_event
    first, second, _ = check_cutoffs(config, outcome, *cutoffs, data_end=data_end)
    codes = totals[0].labs.frequent()
    logger.info("building features at %s and %s", f"{first:%Y-%m-%d}", f"{second:%Y-%m-%d}")
    (X, meta), (X_valid, _) = (
        stages.aligned(
            engine,
            engine.map(
                steps.features_at,
                reads,
                k=k,
                lab_codes=codes,
                territorial=steps.territorial_features(engine.territories(), total, config=config),
            ),
        )  # fmt: skip
        for k, total in enumerate(totals)
    )
    y, y_valid = (engine.map(steps.labels_at, reads, k=k) for k in (0, 1))
    del reads  # what the finished features do not share of the first ones can go
    labels = [np.concatenate(engine.gather(part)) for part in (y, y_valid)]
    for cutoff, label in zip((first, second), labels, strict=True):
        if not len(label):
            rule = f"no person present at the cut-off {cutoff:%Y-%m-%d}"
            raise ValidationError([Problem("persons", None, rule, detail="nothing to train on")])
    logger.info("training %s on %d persons (%d events)", outcome, len(labels[0]), labels[0].sum())
    fingerprint = hashlib.sha256(json.dumps(list(map(str, meta.columns))).encode())
    for hashed in engine.gather(engine.map(steps.row_hashes, X)):
        fingerprint.update(hashed.tobytes())
    fingerprint.update(labels[0].astype("int8").tobytes())
    facts = training_facts(
        config, outcome, (first, second), *labels, features=meta,
        fingerprint=fingerprint.hexdigest(), data_end=data_end,
    )  # fmt: skip
    if engine.name != "memory":
        facts["engine"] = engine.name
    if spec.sample:
        facts["sample"] = {"households_share": spec.sample}
    model = engine.estimator(outcome, **spec.model_options())
    label_meta = pd.Series([], dtype="int8", name=outcome, index=meta.index)
    model.fit(
        engine.frame(X, meta),
        engine.frame(y, label_meta),
        eval_set=(engine.frame(X_valid, meta), engine.frame(y_valid, label_meta)),
        training=facts,
    )
    groups = pd.concat(engine.gather(engine.map(subgroups, X_valid)))
    report = validation_report(model, (first, second), labels[1], groups, config=config)
    return model, report


def check_cutoffs(
    config: Config,
    outcome: str,
    train_as_of: str | pd.Timestamp,
    valid_as_of: str | pd.Timestamp,
    *,
    data_end: pd.Timestamp | None = None,
) -> tuple[pd.Timestamp, pd.Timestamp, OutcomeConfig]:
    """Check that the outcome exists and the cut-offs neither overlap nor pass the data's end.

    Returns the two cut-offs as timestamps and the outcome's definition; without
    ``data_end``, the data's end is not checked.

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
    if data_end is not None and second + horizon - pd.Timedelta(days=1) > data_end:
        raise CutoffError(
            f"the data end on {data_end:%Y-%m-%d}, before the validation labels' horizon "
            f"({second:%Y-%m-%d} + {definition.horizon_days} days): choose an earlier valid_as_of"
        )
    return first, second, definition


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
    cutoffs, config
        As :func:`training_facts`.
    y_valid : array-like
        The validation labels, in the order of ``validation_risk_``.
    groups : pandas.DataFrame
        :func:`subgroups` of the validation features, same order.
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
