"""The evaluation report: candidate models side by side, the choice and why, by subgroup."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from masrisk.evaluate import _render
from masrisk.evaluate._checks import as_arrays
from masrisk.evaluate.calibration import calibration_curve
from masrisk.evaluate.decision import DEFAULT_THRESHOLDS, net_benefit
from masrisk.evaluate.summary import METRIC_KEYS, metrics, subgroup_metrics
from masrisk.exceptions import ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["EvaluationReport"]

_REFERENCES = ("treat_all", "treat_none")
_FRAMES = ("overall", "subgroups", "calibration", "decision_curve")
_TEXTS = ("outcome", "period", "chosen_model", "choice_reason")


@dataclass(frozen=True, eq=False, repr=False)
class EvaluationReport:
    """How well candidate risk models predict one outcome, and which one was chosen.

    Build it with :meth:`from_predictions`. Show it with :meth:`to_markdown`, in Jupyter
    (``_repr_html_``) or with :meth:`plot_calibration` and :meth:`plot_decision_curve`; store
    it with :meth:`to_dict` (JSON-safe) and read it back with :meth:`from_dict`.

    Attributes
    ----------
    outcome : str
        The outcome predicted (e.g. ``"hospitalization"``).
    period : str
        The data evaluated, in words (e.g. ``"valid as_of 2024-01-01, horizon 365 days"``).
    overall : pandas.DataFrame
        One row per model (index ``model``), columns ``METRIC_KEYS``.
    subgroups : pandas.DataFrame
        Columns ``model``, ``attribute``, ``group`` then ``METRIC_KEYS``, as
        :func:`subgroup_metrics` for each model (the overall row included).
    calibration : pandas.DataFrame
        Columns ``model``, ``bin``, ``mean_risk``, ``observed_rate``, ``n``.
    decision_curve : pandas.DataFrame
        Columns ``model``, ``threshold``, ``net_benefit``; the strategies ``treat_all`` and
        ``treat_none`` appear as models.
    chosen_model : str
        The model the programme will use.
    choice_reason : str
        Why, in words a health secretariat can check against the tables.
    """

    outcome: str
    period: str
    overall: pd.DataFrame
    subgroups: pd.DataFrame
    calibration: pd.DataFrame
    decision_curve: pd.DataFrame
    chosen_model: str
    choice_reason: str

    def __post_init__(self) -> None:
        if self.chosen_model not in self.overall.index:
            raise ParameterError(
                f"chosen_model {self.chosen_model!r} is not one of the models evaluated: "
                f"{list(self.overall.index)}"
            )

    @classmethod
    def from_predictions(
        cls,
        outcome: str,
        period: str,
        y_true: ArrayLike,
        predictions: Mapping[str, ArrayLike],
        groups: pd.DataFrame | None = None,
        *,
        chosen_model: str,
        choice_reason: str,
        min_events: int = 5,
        bins: int = 10,
        thresholds: ArrayLike = DEFAULT_THRESHOLDS,
    ) -> EvaluationReport:
        """Evaluate the risks of every model on the same outcomes.

        Parameters
        ----------
        outcome, period : str
            What is predicted, and on which data (free text).
        y_true : array-like of 0/1
            Observed outcome.
        predictions : mapping of str to array-like
            Model name (e.g. ``"lightgbm"``, ``"logistic_baseline"``) -> predicted risks,
            aligned with ``y_true``.
        groups : pandas.DataFrame, optional
            Attributes for the subgroup table (see :func:`subgroup_metrics`); without it the
            subgroup table has the overall rows only.
        chosen_model : str
            One of the keys of ``predictions``.
        choice_reason : str
            Why that model was chosen.
        min_events : int, default 5
            Fewest events and non-events for a subgroup's AUC, calibration and capture.
        bins : int, default 10
            Quantile bins of the calibration curve.
        thresholds : array-like of float, default 0.01, ..., 0.50
            Risk thresholds of the decision curve.

        Returns
        -------
        EvaluationReport
        """
        names = [str(name) for name in predictions]
        if not names or set(names) & set(_REFERENCES):
            raise ParameterError(f"predictions need at least one model, none named {_REFERENCES}")
        if chosen_model not in names:
            raise ParameterError(f"chosen_model {chosen_model!r} is not in predictions {names}")
        groups = pd.DataFrame(index=range(len(np.asarray(y_true)))) if groups is None else groups
        overall, subgroups, calibration, curves = {}, [], [], []
        for name, risk in zip(names, predictions.values(), strict=True):
            y, p = as_arrays(y_true, risk, name=name)
            overall[name] = metrics(y, p)
            subgroups.append(subgroup_metrics(y, p, groups, min_events=min_events))
            calibration.append(calibration_curve(y, p, bins=bins))
            curves.append(net_benefit(y, p, thresholds=thresholds))
        sources = [(c, "model") for c in curves] + [(curves[0], ref) for ref in _REFERENCES]
        decision = [c[["threshold", k]].rename(columns={k: "net_benefit"}) for c, k in sources]
        return cls(
            outcome=str(outcome),
            period=str(period),
            overall=_overall_frame(overall),
            subgroups=_stack(subgroups, names),
            calibration=_stack(calibration, names),
            decision_curve=_stack(decision, [*names, *_REFERENCES]),
            chosen_model=str(chosen_model),
            choice_reason=str(choice_reason),
        )

    # --- views ------------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Return the headline table: one row per model, columns ``METRIC_KEYS``."""
        return self.overall.copy()

    def to_markdown(self) -> str:
        """Return the report as Markdown: models side by side, the choice, subgroups."""
        return _render.to_markdown(self)

    def _repr_html_(self) -> str:
        return _render.to_html(self)

    def __repr__(self) -> str:
        models = ", ".join(map(str, self.overall.index))
        return (
            f"EvaluationReport(outcome={self.outcome!r}, period={self.period!r}, "
            f"models=[{models}], chosen_model={self.chosen_model!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EvaluationReport):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # holds DataFrames

    # --- storage ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain, JSON-safe Python (``NaN`` becomes ``None``)."""
        out: dict[str, Any] = {key: getattr(self, key) for key in _TEXTS}
        for name in _FRAMES:
            frame = getattr(self, name)
            out[name] = _frame_to_dict(frame.reset_index() if name == "overall" else frame)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationReport:
        """Rebuild a report written by :meth:`to_dict`."""
        frames = {name: _frame_from_dict(data[name]) for name in _FRAMES}
        frames["overall"] = frames["overall"].set_index("model")
        return cls(**{key: str(data[key]) for key in _TEXTS}, **frames)

    # --- plots ------------------------------------------------------------------------------

    def plot_calibration(self, ax: Axes | None = None) -> Axes:
        """Plot observed event rate against mean predicted risk, one line per model.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; by default a new pyplot figure.

        Returns
        -------
        matplotlib.axes.Axes
        """
        ax = _axes(ax)
        curve = self.calibration
        top = float(np.nanmax(curve[["mean_risk", "observed_rate"]].to_numpy(), initial=0.0))
        limit = min(1.0, 1.05 * top) if top > 0 else 1.0
        ax.plot([0, limit], [0, limit], linestyle="--", color="0.5", label="ideal")
        for model in self.overall.index:
            part = curve[curve["model"] == model]
            ax.plot(part["mean_risk"], part["observed_rate"], marker="o", label=str(model))
        ax.set(xlim=(0, limit), ylim=(0, limit))
        return _labelled(ax, "mean predicted risk", "observed event rate", "Calibration", self)

    def plot_decision_curve(self, ax: Axes | None = None) -> Axes:
        """Plot net benefit against risk threshold for every model, treat all and treat none.

        ``ax`` and the result are as in :meth:`plot_calibration`.
        """
        ax = _axes(ax)
        curve = self.decision_curve
        styles = {"treat_all": {"color": "0.4"}, "treat_none": {"color": "0", "linestyle": ":"}}
        for model, part in curve.groupby("model", sort=False):
            kwargs = styles.get(str(model), {})
            ax.plot(part["threshold"], part["net_benefit"], label=str(model), **kwargs)
        top = float(np.nanmax(curve["net_benefit"].to_numpy(), initial=0.0))
        if top > 0:
            ax.set_ylim(-0.25 * top, 1.1 * top)
        return _labelled(ax, "risk threshold", "net benefit", "Decision curve", self)


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(layout="constrained")  # pyplot's, so Jupyter shows it
    return ax


def _labelled(ax: Axes, xlabel: str, ylabel: str, title: str, report: EvaluationReport) -> Axes:
    ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{title}: {report.outcome}")
    ax.legend()
    return ax


def _overall_frame(overall: dict[str, dict[str, float | int]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(overall, orient="index", columns=list(METRIC_KEYS))
    frame.index = pd.Index(frame.index.astype(str), name="model")
    return frame.astype({"n": "int64", "events": "int64"})


def _stack(frames: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    stacked = pd.concat(
        [frame.assign(model=name) for frame, name in zip(frames, names, strict=True)],
        ignore_index=True,
    )
    columns = ["model", *(c for c in stacked.columns if c != "model")]
    return stacked[columns].astype({"model": str})


def _frame_to_dict(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "data": [
            [None if isinstance(v, float) and math.isnan(v) else v for v in frame[c].tolist()]
            for c in frame.columns
        ],
    }


def _frame_from_dict(data: Mapping[str, Any]) -> pd.DataFrame:
    columns = list(data["columns"])
    frame = pd.DataFrame(dict(zip(columns, data["data"], strict=True)), columns=columns)
    dtypes = {c: t for c, t in zip(columns, data["dtypes"], strict=True) if t != "object"}
    return frame.astype(dtypes)
