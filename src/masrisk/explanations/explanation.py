"""``explain()`` and the :class:`Explanation` it returns.

Contributions by person, level, group, household and territory, with the drivers of each
community in plain words.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from masrisk.bundle import Bundle
from masrisk.explanations.contributions import DEFAULT_CHUNK_SIZE, iter_contributions
from masrisk.explanations.groups import feature_group, feature_level, level_shares
from masrisk.explanations.words import describe
from masrisk.models import RiskModel
from masrisk.tables import Tables
from masrisk.vocabulary import LEVEL_NAMES

if TYPE_CHECKING:
    import shap

    from masrisk.explanations.plots import ExplanationPlots

__all__ = ["LEVEL_COLUMNS", "Explanation", "contributions_frame", "explain", "prepare"]

#: Columns of the sums by level, in order.
LEVEL_COLUMNS: tuple[str, ...] = tuple(f"level_{level}" for level in LEVEL_NAMES)
_UNITS = {"household": "household_id", "territory": "territory_id"}


def prepare(model: RiskModel | Bundle, features: pd.DataFrame) -> tuple[RiskModel, pd.DataFrame]:
    """Return the fitted model and its feature columns of ``features``.

    A bundle also gives categorical features their training categories.
    """
    if isinstance(model, Bundle):
        return model.model, model.prepare(features)
    if not isinstance(model, RiskModel):
        raise TypeError(f"model must be a RiskModel or a Bundle, not {type(model).__name__}")
    return model, model.select_features(features)


def explain(
    model: RiskModel | Bundle,
    features: pd.DataFrame,
    *,
    tables: Tables | None = None,
    places: tuple[pd.Series, pd.Series] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_jobs: int = 2,
) -> Explanation:
    """Explain every row of ``features``: exact contributions to the model's log-odds.

    Parameters
    ----------
    model : RiskModel or Bundle
        A fitted model, or a loaded bundle.
    features : pandas.DataFrame
        :func:`masrisk.build_features` output (index ``person_id``).
    tables : Tables, optional
        Gives each person's household and territory, for the aggregations and drivers.
    places : (pandas.Series, pandas.Series), optional
        Or those directly: each row's ``household_id`` and ``territory_id``, indexed by
        ``person_id``.
    chunk_size : int
        Rows explained at a time (bounds the memory of LightGBM's conversion).
    n_jobs : int
        Threads of LightGBM's TreeSHAP.

    Returns
    -------
    Explanation
        LightGBM's exact TreeSHAP, or the baseline's linear terms, of the log-odds before
        calibration (:mod:`masrisk.explanations.contributions`).
    """
    fitted, X = prepare(model, features)
    values = np.empty(X.shape, dtype="float64")
    base_value = 0.0
    for rows, chunk, base in iter_contributions(fitted, X, chunk_size=chunk_size, n_jobs=n_jobs):
        values[rows] = chunk
        base_value = base
    households = territories = None
    if tables is not None:
        households, territories = tables.person_places(X.index)
    elif places is not None:
        households, territories = (place.reindex(X.index) for place in places)
    return Explanation(
        # values is this call's own array: a frame over it, not a copy of ~1 GB at 1 M rows
        values=pd.DataFrame(values, index=X.index, columns=X.columns, copy=False),
        base_value=base_value,
        data=X,
        outcome=fitted.outcome,
        households=households,
        territories=territories,
    )


def contributions_frame(
    persons: pd.Index, features: list[str], values: np.ndarray, base_value: float
) -> pd.DataFrame:
    """Return the contributions table of some persons (the ``masrisk explain`` output).

    Columns: ``person_id``, one per feature (float32, log-odds), ``base_value`` and the sums by
    level (computed in float64 before rounding to float32).
    """
    columns: dict[str, Any] = {"person_id": persons.to_numpy()}
    columns.update({f: values[:, j].astype("float32") for j, f in enumerate(features)})
    columns["base_value"] = np.full(len(persons), base_value, dtype="float32")
    columns.update({name: s.astype("float32") for name, s in level_sums(values, features).items()})
    return pd.DataFrame(columns)


def level_sums(values: np.ndarray, features: list[str]) -> dict[str, np.ndarray]:
    """Return each row's sum of the contributions by level, as :data:`LEVEL_COLUMNS`."""
    level = np.array([feature_level(f) for f in features])
    return {f"level_{name}": values[:, level == name].sum(axis=1) for name in LEVEL_NAMES}


def _mode(values: pd.Series) -> object:
    counts = values.value_counts()
    return counts.index[0] if len(counts) else None


@dataclass(frozen=True, eq=False, repr=False)
class Explanation:
    """Contributions of each feature to each person's log-odds, and their aggregations.

    Attributes
    ----------
    values : pandas.DataFrame
        One row per person (index ``person_id``), one column per feature: the contribution on
        the log-odds scale.
    base_value : float
        The model's expected log-odds; ``base_value + values.sum(axis=1)`` is each person's
        log-odds before calibration.
    data : pandas.DataFrame
        The feature values explained.
    outcome : str
    households, territories : pandas.Series or None
        Each person's household and territory (when ``explain`` was given the tables).
    """

    values: pd.DataFrame
    base_value: float
    data: pd.DataFrame
    outcome: str
    households: pd.Series | None = None
    territories: pd.Series | None = None

    @property
    def log_odds(self) -> pd.Series:
        """Each person's log-odds before calibration: the base value plus the contributions."""
        return (self.base_value + self.values.sum(axis=1)).rename("log_odds")

    @property
    def levels(self) -> pd.DataFrame:
        """Sums of the contributions by level, as :data:`LEVEL_COLUMNS`."""
        sums = level_sums(self.values.to_numpy(), list(self.values.columns))
        return pd.DataFrame(sums, index=self.values.index)

    @property
    def groups(self) -> pd.DataFrame:
        """Sums of the contributions by feature group (see ``FEATURE_GROUPS``)."""
        group = pd.Index([feature_group(c) for c in self.values.columns])
        return self.values.T.groupby(group, sort=False).sum().T

    def level_shares(self) -> pd.Series:
        """Share of the total absolute contribution carried by each level, over everyone."""
        return level_shares(self.values.abs().sum())

    def to_frame(self) -> pd.DataFrame:
        """Return the contributions table (:func:`contributions_frame`)."""
        return contributions_frame(
            self.values.index, list(self.values.columns), self.values.to_numpy(), self.base_value
        )

    def person(self, person_id: Any, top: int = 5) -> pd.DataFrame:
        """Return the ``top`` contributions of one person, largest first, in plain words."""
        if person_id not in self.values.index:
            raise KeyError(f"person_id {person_id!r} is not in this explanation")
        row = self.values.loc[person_id]
        order = row.abs().sort_values(ascending=False).index[:top]
        return pd.DataFrame(
            {
                "feature": order,
                "group": [feature_group(f) for f in order],
                "contribution": row[order].to_numpy(),
                "description": [describe(f, self.data.at[person_id, f]) for f in order],
            }
        )

    def _unit(self, unit: str) -> pd.Series:
        if unit not in _UNITS:
            raise ValueError(f"unit must be 'household' or 'territory', not {unit!r}")
        ids = self.households if unit == "household" else self.territories
        if ids is None:
            raise ValueError("give explain() the tables to aggregate by household or territory")
        return ids

    def aggregate(self, unit: str = "territory", *, by: str = "feature") -> pd.DataFrame:
        """Return the mean contribution per person in each household or territory.

        Of each feature (``by="feature"``), group (``by="group"``) or level (``by="level"``).
        The first column, ``persons``, counts the persons of each unit.
        """
        ids = self._unit(unit)
        frame = {"feature": self.values, "group": self.groups, "level": self.levels}.get(by)
        if frame is None:
            raise ValueError(f"by must be 'feature', 'group' or 'level', not {by!r}")
        grouped = frame.groupby(ids.to_numpy(), sort=True)
        out = grouped.mean()
        out.insert(0, "persons", grouped.size())
        return out.rename_axis(_UNITS[unit])

    def drivers(self, unit: str = "territory", *, top: int = 5) -> pd.DataFrame:
        """Return the features that raise each community's risk most, in plain words.

        Returns a tidy frame: the unit's id, ``rank``, ``feature``, ``group``, ``level``,
        ``contribution`` (mean per person, log-odds) and ``description`` (the community's
        value of the feature in words).
        """
        key = self._unit(unit).to_numpy()
        means = self.values.groupby(key, sort=True).mean()
        numeric = self.data.select_dtypes(exclude="category")
        # each feature's value per unit: the mean, or for a category the most frequent
        typical = dict(numeric.groupby(key, sort=True).mean().items())
        for c, values in self.data.select_dtypes("category").items():
            typical[c] = values.groupby(key, sort=True, observed=True).agg(_mode)
        contributions = means.to_numpy()
        order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
        size = np.take_along_axis(contributions, order, axis=1)
        unit_at, rank_at = np.nonzero(size > 0)  # row-major: by unit, then by rank
        features = means.columns.to_numpy()[order[unit_at, rank_at]]
        unit_ids = means.index.to_numpy()[unit_at]
        descriptions = [
            describe(feature, typical[feature].get(unit_id), share=True)
            for unit_id, feature in zip(unit_ids, features, strict=True)
        ]
        rows = zip(
            unit_ids,
            rank_at + 1,
            features,
            [feature_group(f) for f in features],
            [feature_level(f) for f in features],
            size[unit_at, rank_at],
            descriptions,
            strict=True,
        )
        columns = [_UNITS[unit], "rank", "feature", "group", "level", "contribution", "description"]
        return pd.DataFrame(rows, columns=columns)

    @property
    def plot(self) -> ExplanationPlots:
        """Plots: ``waterfall(person_id)``, ``beeswarm()``, ``levels()``, ``drivers(id)``."""
        from masrisk.explanations.plots import ExplanationPlots

        return ExplanationPlots(self)

    def to_shap(self, rows: Any = None) -> shap.Explanation:
        """Return a ``shap.Explanation`` of the rows (all by default), for shap's plots.

        Categorical values are given as their codes, so shap can colour by value.
        """
        from masrisk.explanations.plots import import_shap

        shap = import_shap()
        values = self.values if rows is None else self.values.loc[rows]
        data = self.data.loc[values.index]
        codes = {
            c: data[c].cat.codes.where(data[c].notna()) for c in data.select_dtypes("category")
        }
        numeric = data.assign(**codes).astype("float64")
        return shap.Explanation(
            values=values.to_numpy(),
            base_values=np.full(len(values), self.base_value),
            data=numeric.to_numpy(),
            display_data=data.astype("object").to_numpy(),
            feature_names=list(values.columns),
        )

    def __repr__(self) -> str:
        n, p = self.values.shape
        shares = ", ".join(f"{k} {v:.0%}" for k, v in self.level_shares().items())
        return (
            f"Explanation({self.outcome}: {n:,} persons x {p} features, base log-odds "
            f"{self.base_value:.3f}; share of |contribution| by level: {shares})"
        )

    def _repr_html_(self) -> str:
        n, p = self.values.shape
        groups = self.groups.abs().mean().sort_values(ascending=False)[:8]
        return (
            f"<div><strong>Explanation of {html.escape(self.outcome)}</strong>: {n:,} persons, "
            f"{p} features, base log-odds {self.base_value:.3f}"
            + _html_table("level", "share of |contribution|", self.level_shares(), ".1%")
            + _html_table("feature group", "mean |contribution|", groups, ".3f")
            + "</div>"
        )


def _html_table(name: str, value: str, values: pd.Series, spec: str) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v:{spec}}</td></tr>" for k, v in values.items()
    )
    return f"<table><tr><th>{name}</th><th>{value}</th></tr>{rows}</table>"
