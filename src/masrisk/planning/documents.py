"""Plan documents: one plan per community and a city-wide summary (planner step 6).

A :class:`CommunityPlan` holds what a field team needs for one territory; a
:class:`CitySummary` the territories in priority order and the totals.

- ``to_dict()`` / ``to_json()``: the internal output, with **exact** counts; floats are rounded
  (hours to 2 decimals, events to 3, log-odds to 4) and keys sorted, so the same plan always
  gives the same bytes.
- ``to_markdown()`` / ``to_html()``: the public pages (:mod:`masrisk.planning.render`). Every
  count of persons, households or events above 0 and below ``suppress_below`` (default 5),
  fractional expected events included, is shown as ``"<5"`` (:func:`suppress`); **zero is
  shown as 0**. No share or ratio of a count is shown, a territory with fewer priority
  households than the threshold lists none, and a driver's "NN% of persons" that stands for 1
  to 4 persons reads "fewer than 5 persons". Suppression is primary only: a hidden cell may
  still follow from others. Household ids can be pseudonymised
  (:meth:`CommunityPlan.pseudonymized`); territory ids are public.

Examples
--------
>>> from masrisk.planning.documents import CommunityPlan, InterventionLine, suppress
>>> plan = CommunityPlan(
...     territory_id="T1", name="Bosa Centro", district="Bosa", zone="urban", phase=1,
...     priority=1, population=1200, households=370, expected_events=48.2,
...     tiers={"case_management": 3, "disease_management": 180, "promotion_prevention": 1017},
...     drivers=(), interventions=(InterventionLine("Home visit", "prevention", "home", 3, 6.0),),
...     priority_households=("H7", "H2"), hours_allocated=6.0, expected_events_averted=1.2,
...     outcome="hospitalization_12m")
>>> plan.to_dict()["tiers"]
{'case_management': 3, 'disease_management': 180, 'promotion_prevention': 1017}
>>> "| Case management | <5 |" in plan.to_markdown()
True
>>> plan.pseudonymized("secret").priority_households
('h_...', 'h_...')
>>> suppress(0), suppress(3), suppress(1234), suppress(3, 10)
('0', '<5', '1,234', '<10')
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from masrisk.exceptions import ParameterError
from masrisk.planning import _document_values as field
from masrisk.planning import render
from masrisk.planning.catalog import AXES
from masrisk.planning.privacy import pseudonymize, suppress
from masrisk.vocabulary import ZONES

__all__ = ["CitySummary", "CommunityPlan", "Driver", "InterventionLine", "pseudonymize", "suppress"]


@dataclass(frozen=True)
class InterventionLine:
    """One intervention planned in a territory: ``persons`` covered with ``hours`` of team time.

    ``axis`` is one of :data:`~masrisk.planning.catalog.AXES`, ``setting`` of ``SETTINGS``.
    """

    name: str
    axis: str
    setting: str
    persons: int
    hours: float

    def __post_init__(self) -> None:
        field.check_fields(self, "intervention ", axis=partial(field.choice, options=AXES))

    def to_dict(self) -> dict[str, Any]:
        """Return ``{name, axis, setting, persons, hours}``, JSON-safe."""
        return field.as_data(self, {"hours": 2})


@dataclass(frozen=True)
class Driver:
    """A feature that drives a territory's risk: mean contribution per person, in log-odds."""

    feature: str
    description: str
    contribution: float

    def __post_init__(self) -> None:
        signed = partial(field.amount, signed=True)
        field.check_fields(self, "driver ", description=field.string, contribution=signed)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{feature, description, contribution}``, JSON-safe."""
        return field.as_data(self, {"contribution": 4})


class _Document:
    """What both documents share: their JSON text and their view in Jupyter."""

    def to_json(self) -> str:
        """Return :meth:`to_dict` as JSON text: sorted keys, 2-space indent, final newline."""
        return field.dumps(self.to_dict())

    def _repr_html_(self) -> str:
        return self.to_html()


@dataclass(frozen=True)
class CommunityPlan(_Document):
    """The integral risk-management plan of one territory (community).

    ``tiers`` counts persons per tier (missing tiers count 0); ``priority`` is the territory's
    rank (1 = first); ``priority_households`` are household ids in visiting order; ``drivers``
    and ``interventions`` are tuples of :class:`Driver` and :class:`InterventionLine`.
    """

    territory_id: str
    name: str | None
    district: str | None
    zone: str
    phase: int
    priority: int
    population: int
    households: int
    expected_events: float
    tiers: dict[str, int]
    drivers: tuple[Driver, ...]
    interventions: tuple[InterventionLine, ...]
    priority_households: tuple[str, ...]
    hours_allocated: float
    expected_events_averted: float
    outcome: str

    def __post_init__(self) -> None:
        field.check_fields(
            self,
            zone=partial(field.choice, options=ZONES),
            phase=field.rank,
            priority=field.rank,
            tiers=field.tiers,
            drivers=partial(field.items, kind=Driver),
            interventions=partial(field.items, kind=InterventionLine),
            priority_households=field.ids,
        )

    def pseudonymized(self, key: str | bytes) -> CommunityPlan:
        """Return a copy whose household ids (the only ids that identify anyone) are pseudonyms."""
        ids = tuple(pseudonymize(h, key) for h in self.priority_households)
        return replace(self, priority_households=ids)

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-safe data, with exact counts (internal output)."""
        digits = {"expected_events": 3, "hours_allocated": 2, "expected_events_averted": 3}
        return field.as_data(self, digits)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CommunityPlan:
        """Rebuild a plan from :meth:`to_dict` output (e.g. a territory's JSON file)."""
        values = field.from_data(cls, data)
        values["drivers"] = tuple(Driver(**d) for d in values["drivers"])
        values["interventions"] = tuple(InterventionLine(**i) for i in values["interventions"])
        return cls(**values)

    def to_markdown(self, suppress_below: int = 5, *, households_shown: int = 10) -> str:
        """Return the public page in Markdown; counts below ``suppress_below`` are hidden."""
        blocks = render.plan_blocks(self, field.threshold(suppress_below), households_shown)
        return render.to_markdown(blocks)

    def to_html(
        self, suppress_below: int = 5, *, households_shown: int = 10, standalone: bool = False
    ) -> str:
        """Return the public page in HTML: a ``<div>``, or a whole document if ``standalone``."""
        blocks = render.plan_blocks(self, field.threshold(suppress_below), households_shown)
        return render.to_html(blocks, standalone=standalone)


@dataclass(frozen=True)
class CitySummary(_Document):
    """The city-wide summary: territories in priority order with their phase, and totals.

    ``by_axis`` maps each axis to ``{"persons": int, "hours": float}`` (missing axes count 0);
    ``phases`` maps a phase to its number of territories; ``solver`` holds JSON-like facts of
    the allocation (``status``, ``gap``).
    """

    outcome: str
    territories: tuple[tuple[str, int], ...]
    total_hours: float
    capacity_hours: float
    expected_events: float
    expected_events_averted: float
    by_axis: dict[str, dict]
    phases: dict[int, int]
    solver: dict

    def __post_init__(self) -> None:
        field.check_fields(
            self,
            territories=field.territories,
            by_axis=field.by_axis,
            phases=field.phases,
            solver=field.solver,
        )

    @classmethod
    def from_plans(
        cls,
        plans: Sequence[CommunityPlan],
        *,
        capacity_hours: float,
        solver: Mapping[str, Any] | None = None,
    ) -> CitySummary:
        """Sum community plans into a summary (territories ordered by priority, then id)."""
        outcomes = sorted({p.outcome for p in plans})
        if len(outcomes) != 1:
            raise ParameterError(f"plans must share one outcome, got {outcomes or 'no plans'}")
        by_axis = {axis: {"persons": 0, "hours": 0.0} for axis in AXES}
        for line in (line for p in plans for line in p.interventions):
            by_axis[line.axis]["persons"] += line.persons
            by_axis[line.axis]["hours"] += line.hours
        ordered = sorted(plans, key=lambda p: (p.priority, p.territory_id))
        return cls(
            outcome=outcomes[0],
            territories=tuple((p.territory_id, p.phase) for p in ordered),
            total_hours=math.fsum(p.hours_allocated for p in plans),
            capacity_hours=capacity_hours,
            expected_events=math.fsum(p.expected_events for p in plans),
            expected_events_averted=math.fsum(p.expected_events_averted for p in plans),
            by_axis=by_axis,
            phases=dict(Counter(p.phase for p in plans)),
            solver=dict(solver or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-safe data, with exact counts (internal output)."""
        digits = {"total_hours": 2, "capacity_hours": 2}
        return {
            **field.as_data(self, digits | {"expected_events": 3, "expected_events_averted": 3}),
            "territories": [{"territory_id": t, "phase": p} for t, p in self.territories],
            "by_axis": {
                axis: {"persons": v["persons"], "hours": field.rounded(v["hours"], 2)}
                for axis, v in self.by_axis.items()
            },
            "phases": {str(k): v for k, v in self.phases.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CitySummary:
        """Rebuild a summary from :meth:`to_dict` output (``summary.json``)."""
        values = field.from_data(cls, data)
        values["territories"] = tuple((t["territory_id"], t["phase"]) for t in data["territories"])
        values["phases"] = {int(k): v for k, v in data["phases"].items()}
        return cls(**values)

    def to_markdown(
        self, suppress_below: int = 5, *, plans: Sequence[CommunityPlan] | None = None
    ) -> str:
        """Return the public summary page in Markdown (with ``plans``: hours, events averted)."""
        blocks = render.summary_blocks(self, field.threshold(suppress_below), plans)
        return render.to_markdown(blocks)

    def to_html(
        self,
        suppress_below: int = 5,
        *,
        plans: Sequence[CommunityPlan] | None = None,
        standalone: bool = False,
    ) -> str:
        """Return the public summary page in HTML: a ``<div>``, or a document if ``standalone``."""
        blocks = render.summary_blocks(self, field.threshold(suppress_below), plans)
        return render.to_html(blocks, standalone=standalone)
