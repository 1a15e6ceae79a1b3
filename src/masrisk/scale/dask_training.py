"""Train a model on a Dask cluster: features and labels on the cluster, then :class:`DaskRiskModel`.

The features and labels at both cut-offs are built one task per partition and stay on the
cluster; :class:`~masrisk.scale.dask_model.DaskRiskModel` fits on them with
``lightgbm.dask`` and the report is made as :func:`masrisk.train` makes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from masrisk.config import Config
from masrisk.evaluate import EvaluationReport
from masrisk.features import lab_codes_in
from masrisk.models import RiskModel
from masrisk.scale.dask_engine import DaskPopulation
from masrisk.scale.dask_features import dask_features, dask_labels
from masrisk.scale.dask_model import DaskRiskModel, _per_partition, _pinned
from masrisk.training import check_cutoffs, subgroups, training_facts, validation_report

__all__ = ["train_dask"]

logger = logging.getLogger(__name__)


def train_dask(
    population: DaskPopulation,
    *,
    config: Config,
    outcome: str,
    train_as_of: str | pd.Timestamp,
    valid_as_of: str | pd.Timestamp,
    params: dict | None = None,
    calibration: str = "sigmoid",
    random_state: int = 0,
    local_rows: int = 1_000_000,
    step: int = 100,
) -> tuple[RiskModel, EvaluationReport]:
    """Train, choose, calibrate and evaluate a model on a Dask cluster.

    Runs on the current Dask client (:func:`~masrisk.scale.dask_engine.connect`).

    Parameters
    ----------
    population : DaskPopulation
    config, outcome, train_as_of, valid_as_of, params, calibration, random_state
        As :func:`masrisk.train`.
    local_rows : int
        Most training rows gathered to this process to fit the logistic baseline.
    step : int
        Trees added to each booster between two looks at the validation loss.

    Returns
    -------
    model : RiskModel
        Fitted, with ``training_`` as :func:`masrisk.train` records it (plus
        ``engine: "dask"``); its ``data_fingerprint`` is that of the training rows in
        partition order.
    report : EvaluationReport
        Metrics on the whole validation period.
    """
    import dask

    tables = list(dask.persist(*population.tables()))
    ends = dask.compute(*[dask.delayed(_data_end)(t) for t in tables])
    data_end = max(ends)
    first, second, _ = check_cutoffs(config, outcome, train_as_of, valid_as_of, data_end=data_end)
    logger.info("building features at %s and %s on Dask", f"{first:%Y-%m-%d}", f"{second:%Y-%m-%d}")
    X = dask_features(population, as_of=first, config=config, tables=tables)
    codes = lab_codes_in(X.columns)
    X_valid = dask_features(population, as_of=second, config=config, lab_codes=codes, tables=tables)
    X_valid = X_valid[list(X.columns)]
    labels = {}
    for name, as_of in (("y", first), ("y_valid", second)):
        labels[name] = dask_labels(
            population, as_of=as_of, outcome=outcome, config=config, tables=tables
        )
    X, y = _pinned(X), _pinned(labels["y"])
    X_valid, y_valid = dask.persist(X_valid, labels["y_valid"])
    del tables
    y_train = y.compute().to_numpy()
    valid_labels = y_valid.compute().to_numpy()
    logger.info("training %s on %d persons (%d events)", outcome, len(y_train), y_train.sum())
    model = DaskRiskModel(
        outcome,
        params=params,
        calibration=calibration,
        random_state=random_state,
        local_rows=local_rows,
        step=step,
    ).fit(X, y, eval_set=(X_valid, y_valid))
    model.training_ = training_facts(
        config,
        outcome,
        (first, second),
        y_train,
        valid_labels,
        features=X._meta,
        fingerprint=_fingerprint(X, y),
        data_end=data_end,
    ) | {"engine": "dask"}
    groups = pd.concat(_per_partition(X_valid, subgroups))
    report = validation_report(model, (first, second), valid_labels, groups, config=config)
    return model, report


def _data_end(tables: Any) -> pd.Timestamp:
    return tables.events["date"].max()


def _fingerprint(X: Any, y: Any) -> str:
    """:func:`masrisk.bundle.data_fingerprint` of the rows in partition order, on the cluster."""
    digest = hashlib.sha256()
    digest.update(json.dumps(list(map(str, X.columns))).encode())
    for hashed in _per_partition(X, _row_hashes):
        digest.update(hashed.tobytes())
    digest.update(np.asarray(y.compute().to_numpy(), dtype="int8").tobytes())
    return digest.hexdigest()


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=True).to_numpy()
