"""Tables of an EvaluationReport as rows of text, written out as Markdown or HTML."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from masrisk.evaluate.report import EvaluationReport

Table = tuple[list[str], list[list[str]]]

NOT_ESTIMABLE = "—"
_TEXT_COLUMNS = ("model", "attribute", "group")
HEADLINE_THRESHOLDS = (0.05, 0.10, 0.20)

_CAPTURE = [(f"top {k}%", f"capture_top_{k}pct") for k in (1, 5, 10)]
_CALIBRATION = ("calibration_intercept", "calibration_slope")


def _number(value: object, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_ESTIMABLE
    return format(value, spec)


def _auc(row: pd.Series) -> str:
    text = _number(row["auc"])
    if text != NOT_ESTIMABLE and not math.isnan(row["auc_low"]):
        text += f" [{row['auc_low']:.3f}, {row['auc_high']:.3f}]"
    return text


def _cells(row: pd.Series, measures: tuple[str, ...]) -> list[str]:
    """Return a row's counts, prevalence and AUC, then its ``measures`` (captures as shares)."""
    return [
        _number(int(row["n"]), ","),
        _number(int(row["events"]), ","),
        _number(row["prevalence"], ".1%"),
        _auc(row),
        *(_number(row[key], ".1%" if key.startswith("capture") else ".3f") for key in measures),
    ]


def headline_table(report: EvaluationReport) -> Table:
    """Return one row per model with every headline measure."""
    header = ["model", "n", "events", "prevalence", "AUC [95% CI]", "AP", "Brier"]
    header += ["scaled Brier", "calibration intercept", "calibration slope"]
    header += [f"capture {label}" for label, _ in _CAPTURE]
    measures = ("average_precision", "brier", "scaled_brier", *_CALIBRATION)
    measures += tuple(key for _, key in _CAPTURE)
    rows = []
    for model, row in report.overall.iterrows():
        name = f"{model} (chosen)" if model == report.chosen_model else str(model)
        rows.append([name, *_cells(row, measures)])
    return header, rows


def subgroup_table(report: EvaluationReport) -> Table:
    """Return one row per subgroup of the chosen model."""
    header = ["attribute", "group", "n", "events", "prevalence", "AUC [95% CI]", "Brier"]
    header += ["calibration intercept", "calibration slope", "capture top 10%"]
    frame = report.subgroups[report.subgroups["model"] == report.chosen_model]
    measures = ("brier", *_CALIBRATION, "capture_top_10pct")
    rows = [
        [str(row["attribute"]), str(row["group"]), *_cells(row, measures)]
        for _, row in frame.iterrows()
    ]
    return header, rows


def decision_table(report: EvaluationReport) -> Table:
    """Return net benefit per model at a few common thresholds (those the curve has)."""
    curve = report.decision_curve
    present = [t for t in HEADLINE_THRESHOLDS if (abs(curve["threshold"] - t) < 1e-9).any()]
    header = ["model", *(f"net benefit at {t:.0%}" for t in present)]
    rows = []
    for model, part in curve.groupby("model", sort=False):
        cells = [str(model)]
        for t in present:
            values = part.loc[abs(part["threshold"] - t) < 1e-9, "net_benefit"]
            cells.append(_number(float(values.iloc[0]), ".4f") if len(values) else NOT_ESTIMABLE)
        rows.append(cells)
    return header, rows if present else []


def markdown_table(table: Table) -> str:
    """Write a table in Markdown, escaping ``|`` in the cells."""
    header, rows = table

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    align = ["---" if cell in _TEXT_COLUMNS else "---:" for cell in header]
    return "\n".join([line(header), line(align), *map(line, rows)])


def html_table(table: Table) -> str:
    """Write a table in HTML, every cell escaped."""
    header, rows = table
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


NOTES = (
    "AUC with its 95% DeLong interval. Calibration intercept: calibration-in-the-large "
    "(slope fixed at 1), ideal 0, below 0 means risks too high. Calibration slope: ideal 1, "
    "below 1 means risks too extreme. Capture: share of all events among the persons of "
    f"highest risk. {NOT_ESTIMABLE}: not estimable (a class absent or, in subgroups, too few "
    "events or non-events)."
)


def to_markdown(report: EvaluationReport) -> str:
    """Write the whole report in Markdown."""
    parts = [
        f"# Evaluation: {report.outcome}",
        f"Period: {report.period}",
        "## Models",
        markdown_table(headline_table(report)),
        NOTES,
        "## Choice",
        f"Chosen model: **{report.chosen_model}**. Reason: {report.choice_reason}",
    ]
    decision = decision_table(report)
    if decision[1]:
        parts += ["## Net benefit", markdown_table(decision)]
    parts += [f"## Subgroups ({report.chosen_model})", markdown_table(subgroup_table(report))]
    return "\n\n".join(parts) + "\n"


def to_html(report: EvaluationReport) -> str:
    """Write the whole report in HTML, every text escaped."""
    esc = html.escape
    parts = [
        f"<h3>Evaluation: {esc(report.outcome)}</h3>",
        f"<p>Period: {esc(report.period)}</p>",
        html_table(headline_table(report)),
        f"<p><small>{esc(NOTES)}</small></p>",
        f"<p>Chosen model: <b>{esc(report.chosen_model)}</b>. "
        f"Reason: {esc(report.choice_reason)}</p>",
    ]
    decision = decision_table(report)
    if decision[1]:
        parts += [html_table(decision)]
    parts += [f"<h4>Subgroups ({esc(report.chosen_model)})</h4>"]
    parts += [html_table(subgroup_table(report))]
    return "<div>" + "".join(parts) + "</div>"
