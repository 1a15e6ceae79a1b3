"""Plots of an :class:`~masrisk.explanations.Explanation`.

shap's waterfall and beeswarm, and matplotlib bars of the levels and drivers of territories.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from masrisk.explanations.explanation import Explanation

__all__ = ["ExplanationPlots", "import_shap"]

_LEVEL_COLOURS = {"individual": "#4C72B0", "family": "#DD8452", "territorial": "#55A868"}


def import_shap() -> ModuleType:
    """Import shap, quieting the deprecation matplotlib raises at shap's import (shap's own)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"The set_\w+ function", PendingDeprecationWarning)
        warnings.filterwarnings("ignore", "IProgress not found")  # tqdm, in Jupyter
        import shap
    return shap


class ExplanationPlots:
    """The ``plot`` accessor of an explanation."""

    def __init__(self, explanation: Explanation) -> None:
        self._explanation = explanation

    def waterfall(self, person_id: Any, *, max_display: int = 10) -> Axes:
        """Waterfall of one person's contributions, from the base value to their log-odds."""
        if person_id not in self._explanation.values.index:
            raise KeyError(f"person_id {person_id!r} is not in this explanation")
        values = self._explanation.to_shap([person_id])[0]
        ax = _shap_plot("waterfall", values, max_display).axes[0]  # the bars; twins label them
        ax.set_title(f"{self._explanation.outcome}: person {person_id} (log-odds)")
        return ax

    def beeswarm(self, *, max_display: int = 15, sample: int = 5000, seed: int = 0) -> Axes:
        """Beeswarm of the contributions of the most important features (on a sample)."""
        index = self._explanation.values.index
        if len(index) > sample:
            rng = np.random.default_rng(seed)
            index = index[np.sort(rng.choice(len(index), size=sample, replace=False))]
        ax = _shap_plot("beeswarm", self._explanation.to_shap(index), max_display).gca()
        ax.set_title(
            f"{self._explanation.outcome}: contributions (log-odds), {len(index):,} persons"
        )
        return ax

    def levels(self, *, top: int = 30, ax: Axes | None = None) -> Axes:
        """Stacked bars of the share of each level in each territory's mean |contribution|.

        The ``top`` territories by mean log-odds are shown, highest first.
        """
        explanation = self._explanation
        ids = explanation._unit("territory").to_numpy()
        absolute = explanation.levels.abs().groupby(ids).mean()
        shares = absolute.div(absolute.sum(axis=1), axis=0)
        order = explanation.log_odds.groupby(ids).mean().sort_values(ascending=False).index
        shares = shares.loc[order[:top]]
        ax = ax or _axes((max(6.0, 0.3 * len(shares)), 4.0))
        names = shares.index.astype(str)
        bottom = np.zeros(len(shares))
        for column in shares.columns:
            level = column.removeprefix("level_")
            ax.bar(
                names, shares[column], bottom=bottom, label=level, color=_LEVEL_COLOURS.get(level)
            )
            bottom += shares[column].to_numpy()
        ax.set_ylabel("share of mean |contribution|")
        ax.set_xlabel("territory (highest mean risk first)")
        ax.set_ylim(0, 1)
        ax.tick_params(axis="x", labelrotation=90)
        ax.legend(title="level", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.set_title(f"{explanation.outcome}: individual, family and territorial shares")
        return ax

    def drivers(self, territory_id: Any, *, top: int = 8, ax: Axes | None = None) -> Axes:
        """Horizontal bars of a territory's top drivers, labelled in plain words."""
        table = self._explanation.drivers("territory", top=top)
        table = table[table["territory_id"] == territory_id]
        if table.empty:
            raise KeyError(f"territory_id {territory_id!r} has no risk-raising driver here")
        ax = ax or _axes((8.0, 0.45 * len(table) + 1.2))
        colours = [_LEVEL_COLOURS[level] for level in table["level"]]
        ax.barh(table["description"][::-1], table["contribution"][::-1], color=colours[::-1])
        ax.set_xlabel("mean contribution per person (log-odds)")
        from matplotlib.patches import Patch

        shown = dict.fromkeys(table["level"])
        ax.legend(
            handles=[Patch(color=_LEVEL_COLOURS[level], label=level) for level in shown],
            title="level",
            loc="lower right",
        )
        ax.set_title(f"{self._explanation.outcome}: drivers of territory {territory_id}")
        return ax


def _shap_plot(kind: str, values: Any, max_display: int) -> Any:
    """Draw one of shap's plots on a new figure; return the figure it drew on."""
    import matplotlib.pyplot as plt

    shap = import_shap()
    interactive = plt.isinteractive()
    plt.figure()  # shap draws on the current figure
    try:
        getattr(shap.plots, kind)(values, max_display=max_display, show=False)
    finally:
        if interactive:  # shap's show=False calls plt.ioff() and leaves it off
            plt.ion()
    return plt.gcf()


def _axes(size: tuple[float, float]) -> Axes:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax
