"""The Dask estimator: a :class:`~masrisk.models.RiskModel` fitted with ``lightgbm.dask``.

The model is the one :func:`masrisk.train` fits (same complexities, choice and calibration)
and an ordinary fitted :class:`~masrisk.models.RiskModel`; only where the work runs differs.
``lightgbm.dask`` evaluates a validation set only on each worker's rows, so each booster
grows ``step`` trees at a time and LightGBM's early-stopping rule
(:data:`~masrisk.models.PATIENCE`) is applied to the validation loss of every round,
computed on the cluster from each row's leaves.

Distributed LightGBM bins and bags per worker, in the order the scheduler lists them, so
its trees are neither a single machine's nor the same from run to run: the predictions
agree closely (see ``tests/test_scale_dask.py``). Features, scores given a bundle,
explanations and plans are exact and reproducible.
"""

from __future__ import annotations

import contextlib
import io
import logging
import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from masrisk.exceptions import ParameterError
from masrisk.models import MAX_ROUNDS, PATIENCE, BoosterTrial, LogisticBaseline, RiskModel
from masrisk.models.features import input_error
from masrisk.scale.dask_engine import current_client

__all__ = ["DaskRiskModel", "early_stopping_round", "iteration_losses"]

logger = logging.getLogger(__name__)

#: LightGBM's native parameter names and their names in its scikit-learn interface, which
#: ``lightgbm.dask`` speaks (giving both would leave LightGBM to pick one).
_SKLEARN_NAMES = {
    "feature_fraction": "colsample_bytree",
    "bagging_fraction": "subsample",
    "bagging_freq": "subsample_freq",
    "min_sum_hessian_in_leaf": "min_child_weight",
    "min_data_in_leaf": "min_child_samples",
    "lambda_l2": "reg_lambda",
    "lambda_l1": "reg_alpha",
    "min_gain_to_split": "min_split_gain",
    "seed": "random_state",
}


class DaskRiskModel(RiskModel):
    """:class:`~masrisk.models.RiskModel` fitted on Dask collections, with ``lightgbm.dask``.

    :meth:`fit` is :meth:`RiskModel.fit` with ``X``, ``X_valid`` Dask DataFrames of the same
    columns and dtypes and ``y``, ``y_valid`` Dask Series of 0/1 partitioned as they are
    (persisted: they are read several times); only its training hooks run on the cluster.

    Parameters
    ----------
    outcome, params, calibration, random_state, n_jobs
        As :class:`~masrisk.models.RiskModel`.
    local_rows : int
        Most training rows gathered to this process to fit the logistic baseline.
    step : int
        Trees added to each booster between two looks at the validation loss.
    """

    def __init__(
        self,
        outcome: str = "hospitalization_12m",
        *,
        params: dict[str, Any] | None = None,
        calibration: str = "sigmoid",
        random_state: int = 0,
        n_jobs: int = 2,
        local_rows: int = 1_000_000,
        step: int = 100,
    ) -> None:
        super().__init__(
            outcome, params=params, calibration=calibration, random_state=random_state,
            n_jobs=n_jobs,
        )  # fmt: skip
        self.local_rows = local_rows
        self.step = step

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("local_rows", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name} must be a positive int, got {value!r}")

    def _fit_baseline(self, X: Any, y: Any) -> None:
        """Fit the baseline on the training rows gathered here (a sample beyond ``local_rows``)."""
        import dask

        rows, events = (int(v) for v in dask.compute(y.shape[0], y.sum()))
        if events in (0, rows):
            raise input_error("y", "holds only one class; both outcomes must occur")
        fraction = min(1.0, self.local_rows / rows)
        if fraction < 1:  # a fixed hash sample of persons
            X = X.map_partitions(_sampled, fraction, meta=X._meta)
            y = y.map_partitions(_sampled, fraction, meta=y._meta)
        X_local, y_local = dask.compute(X, y)
        super()._fit_baseline(X_local, y_local.to_numpy())

    def _validation_scores(self, X_valid: Any, y_valid: Any) -> tuple[np.ndarray, Any]:
        """Score the baseline on the whole validation period on the cluster; gather the labels."""
        baseline = current_client().scatter(self.baseline_, broadcast=True)
        score = np.concatenate(_per_partition(X_valid, _baseline_score, baseline))
        return score, y_valid.compute().to_numpy()

    def _train_trials(self, X: Any, y: Any, X_valid: Any, y_valid: Any) -> list[BoosterTrial]:
        """Grow each complexity's booster with ``lightgbm.dask``, stopping early by its rule."""
        rows = int(y.shape[0].compute())
        return [self._trial(c, X, y, X_valid, y_valid, rows=rows) for c in self._complexities()]

    def _trial(
        self, complexity: dict[str, Any], X: Any, y: Any, X_valid: Any, y_valid: Any, *, rows: int
    ) -> BoosterTrial:
        """Grow one complexity's booster on the cluster until early stopping says stop."""
        import dask

        client = current_client()
        params = self._booster_params(complexity, rows=rows)
        params = {_SKLEARN_NAMES.get(k, k): v for k, v in params.items() if k != "num_threads"}
        params.setdefault("tree_learner", "data")
        booster, valid_rows, losses = None, int(y_valid.shape[0].compute()), np.empty(0)
        raw = [None] * X_valid.npartitions  # each partition's log-odds so far, on the workers
        pieces = list(zip(X_valid.to_delayed(), y_valid.to_delayed(), strict=True))
        while True:
            done = len(losses)
            rounds = min(self.step, MAX_ROUNDS - done)
            booster = _grow(client, params, X, y, booster, rounds)
            shared = client.scatter(booster, broadcast=True)
            steps = dask.persist(
                *[
                    dask.delayed(iteration_losses)(shared, frame, labels, start=done, raw=previous)
                    for (frame, labels), previous in zip(pieces, raw, strict=True)
                ]
            )
            raw = [dask.delayed(operator.getitem)(result, 1) for result in steps]
            new = dask.compute(*[dask.delayed(operator.getitem)(result, 0) for result in steps])
            losses = np.concatenate([losses, np.sum(new, axis=0)])
            trees, stopped = early_stopping_round(losses)
            grown = booster.current_iteration()
            if stopped or grown >= MAX_ROUNDS or grown < done + rounds:
                break  # LightGBM also stops when no split is left
        logger.info("complexity %s: %d trees (%d grown)", complexity, trees, grown)
        return BoosterTrial(
            complexity=complexity,
            booster=booster,
            trees=trees,
            valid_logloss=float(losses[trees - 1] / valid_rows),
            valid_score=np.concatenate(_per_partition(X_valid, _raw_score, shared, trees)),
        )


def iteration_losses(
    booster: Any,
    X: pd.DataFrame,
    y: Any,
    *,
    start: int = 0,
    raw: np.ndarray | None = None,
    chunk: int = 2**22,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the summed binary log loss of ``X`` after each round of ``booster``.

    Computed from each row's leaf in each tree: one addition per row and round. Given
    ``raw``, the log-odds after ``start`` rounds (returned by the previous call), only the
    rounds from ``start`` on are read, so a booster grown step by step is read once.

    Parameters
    ----------
    booster : lightgbm.Booster
    X : pandas.DataFrame
    y : array-like of 0/1
    start : int
        Rounds already accounted for in ``raw`` (zeros, no tree, by default).
    raw : numpy.ndarray, optional
    chunk : int
        Cells (rows x trees) held at a time.

    Returns
    -------
    losses : numpy.ndarray
        ``losses[t]``: the summed log loss after round ``start + t + 1``.
    raw : numpy.ndarray
        Log-odds of each row after the last round.
    """
    y = np.asarray(y, dtype="float64")
    values = _leaf_values(booster)[start:]
    trees = len(values)
    total = np.zeros(trees)
    raw = np.zeros(len(X)) if raw is None else np.array(raw, dtype="float64")
    if not trees or not len(X):
        return total, raw
    rows = max(1, chunk // trees)
    for first in range(0, len(X), rows):
        part = slice(first, first + rows)
        leaves = booster.predict(
            X.iloc[part], pred_leaf=True, start_iteration=start, num_iteration=trees
        )
        score = raw[part, None] + np.cumsum(
            values[np.arange(trees), leaves.reshape(-1, trees)], axis=1
        )
        total += (np.logaddexp(0.0, score) - y[part, None] * score).sum(axis=0)
        raw[part] = score[:, -1]
    return total, raw


def early_stopping_round(losses: np.ndarray, patience: int = PATIENCE) -> tuple[int, bool]:
    """Apply LightGBM's early-stopping rule to the validation losses of successive rounds.

    Returns
    -------
    trees : int
        Rounds kept: up to the first round with the lowest loss seen before stopping.
    stopped : bool
        Whether ``patience`` rounds passed without a better loss.

    Examples
    --------
    >>> early_stopping_round(np.array([3.0, 2.0, 2.5, 2.0, 2.6]), patience=2)
    (2, True)
    >>> early_stopping_round(np.array([3.0, 2.0, 1.5]), patience=2)
    (3, False)
    """
    best, best_round = np.inf, 0
    for t, loss in enumerate(losses):
        if loss < best:
            best, best_round = loss, t
        elif t - best_round >= patience:
            return best_round + 1, True
    return best_round + 1, False


def _grow(client: Any, params: dict[str, Any], X: Any, y: Any, booster: Any, rounds: int) -> Any:
    """Add ``rounds`` trees to ``booster`` (or start one) with ``lightgbm.dask``."""
    from lightgbm.dask import DaskLGBMClassifier

    estimator = DaskLGBMClassifier(client=client, n_estimators=rounds, **params)
    # lightgbm.dask warns that the scikit-learn default n_jobs is ignored (each worker uses
    # its own threads), and prints the ports it finds; neither is news to the user.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
        estimator.fit(X, y, init_model=booster)
    return estimator.booster_


def _sampled(frame: pd.DataFrame | pd.Series, fraction: float) -> pd.DataFrame | pd.Series:
    from masrisk.features.parts import household_sample

    return frame.loc[household_sample(frame.index, fraction)]  # hashes any ids


def _per_partition(frame: Any, func: Callable[..., Any], *args: Any) -> list:
    """Run ``func(partition, *args)`` on each partition; return the results in order."""
    import dask

    return list(dask.compute(*[dask.delayed(func)(piece, *args) for piece in frame.to_delayed()]))


def _baseline_score(frame: pd.DataFrame, baseline: LogisticBaseline) -> np.ndarray:
    return baseline.decision_function(frame)


def _raw_score(frame: pd.DataFrame, booster: Any, trees: int) -> np.ndarray:
    if not len(frame):
        return np.empty(0)
    return booster.predict(frame, raw_score=True, num_iteration=trees)


def _leaf_values(booster: Any) -> np.ndarray:
    """Each tree's leaf outputs (trees x most leaves), read from the booster's dump."""
    trees = booster.dump_model()["tree_info"]
    values = np.zeros((len(trees), max((t["num_leaves"] for t in trees), default=1)))
    for t, tree in enumerate(trees):
        stack = [tree["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_index" in node:
                stack += [node["left_child"], node["right_child"]]
            else:  # a leaf; a tree of one leaf has no leaf_index
                values[t, node.get("leaf_index", 0)] = node["leaf_value"]
    return values
