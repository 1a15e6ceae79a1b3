"""Writing the plans directory, atomically: JSON for machines, Markdown and HTML for people.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from masrisk.planning import CitySummary, CommunityPlan, write_plans
>>> plan = CommunityPlan(
...     territory_id="T1", name="Bosa Centro", district="Bosa", zone="urban", phase=1,
...     priority=1, population=1200, households=370, expected_events=48.2,
...     tiers={"promotion_prevention": 1200}, drivers=(), interventions=(),
...     priority_households=("H7", "H2"), hours_allocated=0.0, expected_events_averted=0.0,
...     outcome="hospitalization_12m")
>>> summary = CitySummary.from_plans([plan], capacity_hours=100.0)
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = write_plans([plan], summary, Path(tmp) / "plans")
...     sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
['T1.html', 'T1.json', 'T1.md', 'summary.html', 'summary.json', 'summary.md']
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from masrisk.exceptions import Problem, ValidationError
from masrisk.outputs import output_directory
from masrisk.planning import _document_values as field
from masrisk.planning.documents import CitySummary, CommunityPlan

__all__ = ["write_plans"]

_SAFE_ID = re.compile(r"[A-Za-z0-9_-](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9_-])?")
_DEVICES = {"con", "prn", "aux", "nul", *(f"{d}{i}" for d in ("com", "lpt") for i in range(10))}
_RESERVED = frozenset({"summary", *_DEVICES})


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def _id_problems(plans: Sequence[CommunityPlan], summary: CitySummary) -> list[Problem]:
    ids = [p.territory_id for p in plans]
    unsafe = [i for i in ids if not _SAFE_ID.fullmatch(i) or i.split(".")[0].lower() in _RESERVED]
    folded = Counter(i.lower() for i in ids)
    repeated = sorted({i for i in ids if folded[i.lower()] > 1})
    listed, planned = dict(summary.territories), set(ids)
    moved = [p.territory_id for p in plans if listed.get(p.territory_id, p.phase) != p.phase]
    checks = [
        ("not a safe file name", unsafe, "use letters, digits, '.', '_' and '-' (not 'summary')"),
        ("duplicate id (ignoring case)", repeated, "each territory gets one file"),
        ("missing from the summary", [i for i in ids if i not in listed], ""),
        ("in the summary but without a plan", [i for i in listed if i not in planned], ""),
        ("phase differs from the summary", moved, ""),
    ]
    return [
        Problem("plans", "territory_id", rule, len(bad), tuple(repr(b) for b in bad[:5]), detail)
        for rule, bad, detail in checks
        if bad
    ]


def write_plans(
    plans: Sequence[CommunityPlan],
    summary: CitySummary,
    out_dir: str | os.PathLike,
    *,
    suppress_below: int = 5,
    overwrite: bool = False,
    pseudonym_key: str | bytes | None = None,
    households_shown: int = 10,
) -> Path:
    """Write the plans directory atomically: JSON for machines, Markdown and HTML for people.

    Writes ``summary.json``, ``.md`` and ``.html`` and, per territory, ``<territory_id>.json``,
    ``.md`` and ``.html`` (:mod:`masrisk.planning.documents` says what each holds). ``out_dir``
    holds every file or none (:func:`masrisk.outputs.output_directory`).

    Parameters
    ----------
    plans, summary : sequence of CommunityPlan, CitySummary
        One plan per territory of the summary, with the same phases.
    out_dir : path-like
        The plans directory to create.
    suppress_below : int
        Small-cell threshold of the Markdown and HTML pages (JSON keeps exact counts).
    overwrite : bool
        Replace a plans directory masrisk wrote (or an empty one), never another directory.
    pseudonym_key : str or bytes, optional
        If given, household ids are replaced by :func:`pseudonymize` ids in every file.
    households_shown : int
        How many priority households the pages list (the JSON lists them all).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    masrisk.ValidationError
        Listing every territory id that is not a safe file name (letters, digits, ``.``, ``_``,
        ``-``, not first ``.``; not ``summary`` or a device name), that repeats (ignoring case),
        or that does not match the summary. Ids are refused, not encoded, to stay findable.
    masrisk.outputs.OutputExistsError
        If ``out_dir`` exists and ``overwrite`` is false, or masrisk did not write it.
    """
    threshold = field.threshold(suppress_below)
    target = Path(out_dir)
    plans = [p if pseudonym_key is None else p.pseudonymized(pseudonym_key) for p in plans]
    problems = _id_problems(plans, summary)
    if problems:
        raise ValidationError(problems, source=f"plans for {target}")
    documents: list[tuple[str, Any, dict[str, Any]]] = [("summary", summary, {"plans": plans})]
    documents += [(p.territory_id, p, {"households_shown": households_shown}) for p in plans]
    with output_directory(target, kind="plans", overwrite=overwrite) as staging:
        for stem, document, options in documents:
            _write(staging / f"{stem}.json", document.to_json())
            _write(staging / f"{stem}.md", document.to_markdown(threshold, **options))
            page = document.to_html(threshold, standalone=True, **options)
            _write(staging / f"{stem}.html", page)
    return target
