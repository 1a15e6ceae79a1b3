"""Recalibration of a model's log-odds on data it did not train on, and its cross-fitted form.

Platt scaling (``"sigmoid"``, the default) has two parameters: stable with a few hundred
events, no ties, the logistic recalibration of clinical prediction models. Isotonic
regression needs thousands of events and makes steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from masrisk.exceptions import ParameterError

__all__ = ["CALIBRATIONS", "Calibrator", "check_calibration", "cross_fitted"]

#: The recalibration methods.
CALIBRATIONS: tuple[str, ...] = ("sigmoid", "isotonic", "none")


def check_calibration(method: Any) -> None:
    """Raise a ParameterError unless ``method`` is one of :data:`CALIBRATIONS`."""
    if method not in CALIBRATIONS:
        choices = ", ".join(map(repr, CALIBRATIONS))
        raise ParameterError(f"calibration must be one of {choices}, got {method!r}")


@dataclass(frozen=True)
class Calibrator:
    """Monotone map from a model's log-odds to a calibrated probability.

    ``method="sigmoid"``: ``expit(intercept + slope * score)``. ``method="isotonic"``: linear
    interpolation through ``(x, y)`` knots. ``method="none"``: ``expit(score)``.
    """

    method: str
    intercept: float = 0.0
    slope: float = 1.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    @classmethod
    def fit(cls, score: np.ndarray, y: np.ndarray, method: str) -> Calibrator:
        """Fit the map on scores and outcomes of data the model did not train on."""
        score = np.asarray(score, dtype="float64")
        check_calibration(method)
        if method == "none":
            return cls("none")
        if method == "sigmoid":
            lr = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)  # unpenalised
            lr.fit(score.reshape(-1, 1), y)
            return cls("sigmoid", float(lr.intercept_[0]), float(lr.coef_[0, 0]))
        iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6).fit(score, y)
        return cls(
            "isotonic",
            x=tuple(map(float, iso.X_thresholds_)),
            y=tuple(map(float, iso.y_thresholds_)),
        )

    def __call__(self, score: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities for log-odds ``score``."""
        score = np.asarray(score, dtype="float64")
        if self.method == "isotonic":
            return np.interp(score, self.x, self.y)
        return 1.0 / (1.0 + np.exp(-(self.intercept + self.slope * score)))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description."""
        return {**asdict(self), "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Rebuild from :meth:`to_dict`, refusing a map that cannot give probabilities.

        Raises
        ------
        ValueError
            For an unknown method, a number that is not finite, isotonic knots that are not
            increasing probabilities, or a map whose risk is not a probability or falls as
            the score rises.
        """
        check_calibration(data["method"])
        x, y = (tuple(map(float, data.get(k, ()))) for k in ("x", "y"))
        calibrator = cls(data["method"], float(data["intercept"]), float(data["slope"]), x, y)
        if not np.isfinite([calibrator.intercept, calibrator.slope, *x, *y]).all():
            raise ValueError("the calibrator's numbers must be finite")
        if calibrator.method == "isotonic" and not (
            len(x) == len(y) > 0 and np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= 0)
            and min(y) >= 0 and max(y) <= 1
        ):  # fmt: skip
            raise ValueError("isotonic knots must be increasing, with risks in [0, 1]")
        with np.errstate(all="ignore"):
            risk = calibrator(np.linspace(-50.0, 50.0, 201))
        if not (np.isfinite(risk).all() and risk.min() >= 0 and risk.max() <= 1):
            raise ValueError("the calibrator gives risks that are not finite probabilities")
        if (np.diff(risk) < 0).any():
            raise ValueError("the calibrator's risk falls as the score rises")
        return calibrator


def cross_fitted(score: np.ndarray, y: np.ndarray, method: str, *, random_state: int) -> np.ndarray:
    """Calibrate each half of ``score`` with a map fitted on the other half.

    Reported calibration is then never measured on the data it was fitted to. A half whose
    other half holds one class only is calibrated on the whole.
    """
    half = np.random.default_rng(random_state).permutation(len(score)) % 2 == 0
    risk = np.empty(len(score))
    for part in (half, ~half):
        other = slice(None) if y[~part].min() == y[~part].max() else ~part  # one class: the whole
        risk[part] = Calibrator.fit(score[other], y[other], method)(score[part])
    return risk
