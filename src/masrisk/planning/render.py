"""Public pages of the plans: Markdown and HTML for people (planner step 6).

A page is built once as a list of blocks (:func:`plan_blocks`, :func:`summary_blocks`), then
written out with :func:`to_markdown` or :func:`to_html`, so both formats show the same cells.
Counts reach a page only through :func:`~masrisk.planning.privacy.suppress`, and a driver's
share of persons that stands for fewer persons than the threshold is hidden too.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from masrisk.planning.catalog import AXES
from masrisk.planning.privacy import suppress

if TYPE_CHECKING:
    from masrisk.planning.documents import CitySummary, CommunityPlan, Driver

__all__ = ["AXIS_LABELS", "TIER_LABELS", "plan_blocks", "summary_blocks", "to_html", "to_markdown"]

AXIS_LABELS = {
    "promotion": "Promotion (promoción de la salud)",
    "prevention": "Prevention (prevención de la enfermedad)",
    "diagnosis_treatment": "Diagnosis and treatment (diagnóstico y tratamiento)",
    "rehabilitation": "Rehabilitation (rehabilitación)",
    "palliative_care": "Palliative care (cuidados paliativos)",
}
TIER_LABELS = {
    "case_management": "Case management",
    "disease_management": "Disease management",
    "promotion_prevention": "Promotion and prevention",
}


# A page is a list of blocks: ("h", level, parts), ("p", parts), ("ol", [parts, ...]) or
# ("table", header, rows); the first block is the page's title, ("h", 1, title). Parts are a str
# or a tuple of str; the str subclasses below say how a piece renders.


class _Code(str):
    """Inline code: a feature name or an id."""


class _Strong(str):
    """Bold text."""


class _Num(str):
    """A formatted number that is not a count (hours, phase, rank)."""


class _Count(str):
    """A count already passed through :func:`suppress`."""


def _count(value: float, threshold: int) -> _Count:
    return _Count(suppress(value, threshold))


def _hours(value: float) -> _Num:
    return _Num(f"{value:,.1f}")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")
_MD_OPENER = re.compile(r"([<&])(?=[A-Za-z/!?#])")  # what could start an HTML tag or entity
_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;margin:0.5rem 0 1rem}"
    "th,td{border:1px solid #ccc;padding:0.25rem 0.6rem;text-align:left}"
    "td.count,td.num{text-align:right}"
)
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
{body}
</body>
</html>
"""


def _md(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    return _MD_OPENER.sub(r"\\\1", _MD_SPECIAL.sub(r"\\\1", text))


_MD_PARTS = {
    _Code: lambda part: "`" + re.sub(r"\s+", " ", part.replace("`", "'")) + "`",
    _Strong: lambda part: f"**{_md(part)}**",
    _Num: str,  # made here: digits, separators and "<"
    _Count: str,
}
_HTML_PARTS = {
    _Code: lambda part: f"<code>{html.escape(part)}</code>",
    _Strong: lambda part: f"<strong>{html.escape(part)}</strong>",
}


def _md_inline(parts: str | Sequence[str]) -> str:
    parts = (parts,) if isinstance(parts, str) else parts
    return "".join(_MD_PARTS.get(type(part), _md)(part) for part in parts)


def _html_inline(parts: str | Sequence[str]) -> str:
    parts = (parts,) if isinstance(parts, str) else parts
    return "".join(_HTML_PARTS.get(type(part), html.escape)(part) for part in parts)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    right = [
        bool(rows) and all(isinstance(row[i], (_Num, _Count)) for row in rows)
        for i in range(len(header))
    ]
    lines = ["| " + " | ".join(_md(h) for h in header) + " |"]
    lines.append("| " + " | ".join("---:" if r else "---" for r in right) + " |")
    lines += ["| " + " | ".join(_md_inline(cell) for cell in row) + " |" for row in rows]
    return lines


_MD_BLOCKS = {
    "h": lambda level, parts: ["#" * level + " " + _md_inline(parts)],
    "p": lambda parts: [_md_inline(parts)],
    "ol": lambda items: [f"{i}. {_md_inline(item)}" for i, item in enumerate(items, start=1)],
    "table": _md_table,
}


def to_markdown(blocks: Sequence[tuple]) -> str:
    """Return a page of blocks as Markdown."""
    lines = [line for kind, *block in blocks for line in [*_MD_BLOCKS[kind](*block), ""]]
    return "\n".join(lines).rstrip("\n") + "\n"


_CELL_CLASS = {_Count: ' class="count"', _Num: ' class="num"'}


def _html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    cells = [[f"<td{_CELL_CLASS.get(type(c), '')}>{_html_inline(c)}</td>" for c in r] for r in rows]
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in cells)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_HTML_BLOCKS = {
    "h": lambda level, parts: f"<h{level}>{_html_inline(parts)}</h{level}>",
    "p": lambda parts: f"<p>{_html_inline(parts)}</p>",
    "ol": lambda items: "<ol>" + "".join(f"<li>{_html_inline(i)}</li>" for i in items) + "</ol>",
    "table": _html_table,
}


def to_html(blocks: Sequence[tuple], *, standalone: bool) -> str:
    """Return a page of blocks as a ``<div>``, or as a whole document if ``standalone``."""
    out = [_HTML_BLOCKS[kind](*block) for kind, *block in blocks]
    body = "\n".join(['<div class="masrisk-plan">', *out, "</div>"])
    if not standalone:
        return body
    return _PAGE.format(title=html.escape(blocks[0][2]), css=_CSS, body=body)


def _footnote(threshold: int) -> tuple:
    text = (
        f"Counts of persons, households and events below {threshold} are shown as "
        f"<{threshold} to protect privacy; 0 is shown as 0."
    )
    return ("p", text) if threshold > 1 else ("p", "No count is suppressed.")


_SHARE = re.compile(r"\b(\d{1,3})% of persons")


def _public_description(description: str, population: int, threshold: int) -> str:
    """Hide a share of persons that stands for fewer than ``threshold`` persons (not 0)."""

    def hide(match: re.Match[str]) -> str:
        persons = round(int(match[1]) / 100 * population)
        return f"fewer than {threshold} persons" if 0 < persons < threshold else match[0]

    return _SHARE.sub(hide, description)


def _driver_item(driver: Driver, population: int, threshold: int) -> tuple[str, ...]:
    c = driver.contribution
    effect = "raises" if c > 0 else "lowers" if c < 0 else "does not change"
    odds = math.exp(max(-50.0, min(50.0, c)))
    description = _public_description(driver.description, population, threshold)
    head = (_Strong(description), " (", _Code(driver.feature), ")")
    return (
        *(head if description else (_Code(driver.feature),)),
        f" {effect} the risk: ",
        _Num(f"{c:+.3f}"),
        " log-odds per person on average (odds × ",
        _Num(f"{odds:.2f}"),
        ").",
    )


def _key_figures(plan: CommunityPlan, t: int) -> list[list[Any]]:
    rows: list[list[Any]] = [["Territory", (_Code(plan.territory_id),)]]
    rows += [["Name", plan.name]] if plan.name else []
    rows += [["District", plan.district]] if plan.district else []
    return rows + [
        ["Zone", plan.zone],
        ["Rollout phase", _Num(str(plan.phase))],
        ["Priority (rank)", _Num(f"{plan.priority:,}")],
        ["Population", _count(plan.population, t)],
        ["Households", _count(plan.households, t)],
        ["Expected events", _count(plan.expected_events, t)],
        ["Team-hours allocated", _hours(plan.hours_allocated)],
        ["Expected events averted", _count(plan.expected_events_averted, t)],
    ]


def _intervention_blocks(plan: CommunityPlan, t: int) -> list[tuple]:
    blocks: list[tuple] = [("h", 2, "Interventions by axis")]
    for axis in AXES:
        lines = [line for line in plan.interventions if line.axis == axis]
        blocks.append(("h", 3, AXIS_LABELS[axis]))
        if not lines:
            blocks.append(("p", "No intervention planned on this axis."))
            continue
        rows = [
            [i.name, i.setting.replace("_", " "), _count(i.persons, t), _hours(i.hours)]
            for i in lines
        ]
        blocks.append(("table", ("Intervention", "Setting", "Persons", "Team-hours"), rows))
    return blocks


def _household_blocks(plan: CommunityPlan, t: int, shown: int) -> list[tuple]:
    ids = plan.priority_households
    blocks: list[tuple] = [("h", 2, "Priority households for home visits")]
    if not ids:
        return [*blocks, ("p", "No household is prioritised for home visits here.")]
    if len(ids) < t:  # listing them would show how many there are
        text = f"Fewer than {t} households are prioritised here; their ids are kept internal."
        return [*blocks, ("p", text)]
    first = ids[: max(0, shown)]
    text = f"The first {len(first):,} of {suppress(len(ids), t)} households, in visiting order."
    blocks.append(("p", text))
    return [*blocks, ("ol", [(_Code(h),) for h in first])] if first else blocks


def plan_blocks(plan: CommunityPlan, t: int, shown: int) -> list[tuple]:
    """Return the blocks of one plan's page (threshold ``t``, ``shown`` households listed)."""
    intro = ("Gestión integral del riesgo for territory ", _Code(plan.territory_id))
    intro += (", outcome ", _Code(plan.outcome), ".")
    tiers = [[TIER_LABELS[k], _count(v, t)] for k, v in plan.tiers.items()]
    drivers = [_driver_item(d, plan.population, t) for d in plan.drivers]
    return [
        ("h", 1, f"Integral risk-management plan: {plan.name or plan.territory_id}"),
        ("p", intro),
        ("h", 2, "Key figures"),
        ("table", ("Figure", "Value"), _key_figures(plan, t)),
        ("h", 2, "Risk pyramid (persons per tier)"),
        ("table", ("Tier", "Persons"), tiers),
        ("h", 2, "What drives risk here"),
        ("ol", drivers) if drivers else ("p", "No driver recorded."),
        *_intervention_blocks(plan, t),
        *_household_blocks(plan, t, shown),
        _footnote(t),
    ]


def _solver_text(solver: Mapping[str, Any]) -> str:
    shown = [f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in solver.items()]
    return ", ".join(shown) or "not recorded"


def _territory_rows(summary: CitySummary, t: int, plans: Sequence[CommunityPlan] | None) -> list:
    by_id = {p.territory_id: p for p in plans or ()}
    rows = []
    for rank, (tid, phase) in enumerate(summary.territories, start=1):
        row: list[Any] = [_Num(f"{rank:,}"), (_Code(tid),), _Num(str(phase))]
        if plans is not None:
            plan = by_id.get(tid)
            row[1] = (plan.name + " ", _Code(tid)) if plan and plan.name else row[1]
            hours = _hours(plan.hours_allocated) if plan else "—"
            averted = _count(plan.expected_events_averted, t) if plan else "—"
            row += [hours, averted]
        rows.append(row)
    return rows


def summary_blocks(
    summary: CitySummary, t: int, plans: Sequence[CommunityPlan] | None
) -> list[tuple]:
    """Return the blocks of the summary page (with ``plans``: hours and events averted)."""
    used = summary.total_hours / summary.capacity_hours if summary.capacity_hours else 0.0
    figures = [
        ["Territories", _Num(f"{len(summary.territories):,}")],
        ["Team-hours allocated", _hours(summary.total_hours)],
        ["Team-hours available", _hours(summary.capacity_hours)],
        ["Share of team-hours used", _Num(f"{used:.0%}")],
        ["Expected events", _count(summary.expected_events, t)],
        ["Expected events averted", _count(summary.expected_events_averted, t)],
        ["Allocation solver", _solver_text(summary.solver)],
    ]
    header = ("Priority", "Territory", "Phase")
    header += ("Team-hours", "Events averted") if plans is not None else ()
    phases = [[_Num(str(k)), _Num(f"{v:,}")] for k, v in summary.phases.items()]
    by_axis = summary.by_axis.items()
    axes = [[AXIS_LABELS[a], _count(v["persons"], t), _hours(v["hours"])] for a, v in by_axis]
    return [
        ("h", 1, "City-wide summary of the integral risk-management plans"),
        ("p", ("Gestión integral del riesgo, outcome ", _Code(summary.outcome), ".")),
        ("h", 2, "Key figures"),
        ("table", ("Figure", "Value"), figures),
        ("h", 2, "Rollout phases"),
        ("table", ("Phase", "Territories"), phases),
        ("h", 2, "Territories by priority"),
        ("table", header, _territory_rows(summary, t, plans)),
        ("h", 2, "Interventions by axis"),
        ("table", ("Axis", "Persons", "Team-hours"), axes),
        _footnote(t),
    ]
