"""Export scores and plans as HL7 FHIR R4 resources, in NDJSON bulk files.

:func:`export_fhir` reads a scores file (``masrisk score``) and a plans directory
(``masrisk plan``) and writes a directory of FHIR bulk-data files, one resource per line:

- ``RiskAssessment.ndjson``: one per scored person. ``status`` ``final``; ``subject`` a
  reference to ``Patient/<person_id>`` (when the id is a valid FHIR id) with the id as an
  identifier; ``occurrenceDateTime`` the scores' ``as_of``; ``prediction[0]`` with the outcome
  (a code of ``<base>:outcome``), ``probabilityDecimal`` (the risk, shortest exact decimal),
  ``qualitativeRisk`` (the tier, a code of ``<base>:tier``) and, given the model,
  ``whenPeriod`` (``as_of`` to the horizon's last day); ``basis`` the model's identity (below).
- ``CarePlan.ndjson``: one per territory of the plans, ``status`` ``active``, ``intent``
  ``plan``, its rollout phase as a second ``category``, ``period`` as above, a ``description``
  with the plan's figures, its drivers in a ``note``, and one ``activity`` per intervention:
  ``detail.code`` the intervention, ``status`` ``not-started``, and extensions for its axis,
  setting, persons reached (``valueInteger``) and team-hours (UCUM ``h``).
- ``Group.ndjson``: one per territory, the ``CarePlan``'s subject (FHIR R4 allows a Patient or
  a Group there): name, population (``quantity``) and zone.

Counts are exact, as in the plans' JSON (small-cell suppression is for the public pages).
Household ids are not exported. Resource ids are UUID 5 of their content's key (outcome,
``as_of``, model, person or territory), so exporting the same scores again gives the same ids;
a ``Group``'s id is its territory id when that is a valid FHIR id.

masrisk's own code systems and identifier systems are ``<base>:<name>`` (``<base>/<name>`` for
an ``http(s)`` base; ``base`` is ``urn:masrisk`` unless ``system_base`` says otherwise), with
names ``person-id``, ``territory-id``, ``outcome``, ``tier``, ``model-sha256``,
``intervention``, ``axis``, ``setting``, ``zone``, ``care-plan-category``, ``rollout-phase``
and ``territory-characteristic``; the activity extensions are ``activity-axis``,
``activity-setting``, ``activity-persons`` and ``activity-team-hours``. The tier is not mapped
to HL7's ``risk-probability`` codes: it ranks persons within the population, it does not say
how likely the outcome is.

The files are UTF-8 and every line ends in a line feed (LF); a JSON string may hold other Unicode
line separators (U+0085, U+2028), so split on LF only (as iterating over a file does).

The resources are FHIR R4 built with ``fhir.resources``' R4B models (FHIR 4.3, which is
wire-compatible with R4 for ``RiskAssessment``, ``CarePlan`` and ``Group``; ``CarePlan.activity.
detail`` no longer exists in R5), using only elements and data types that R4 has. Every resource
is validated by the library and serialised by it. The scores are read in chunks, so memory holds
a few chunks of resources at a time (two per worker).

**The model's identity.** A scores file does not say which model made it; give the bundle
(``model=``) and each ``RiskAssessment`` gets ``basis``: a reference whose identifier is the
SHA-256 of the bundle's ``manifest.json`` (system ``<base>:model-sha256``; the manifest lists
the SHA-256 of every file of the bundle) and whose display names the bundle, outcome, model,
training cut-off and masrisk version. The bundle also gives the outcome's description and
horizon. Without it the resources have no ``basis``, ``whenPeriod`` or period end.

Examples
--------
>>> from masrisk.io import export_fhir
>>> export = export_fhir("scores.parquet", "plans", "fhir", model="models/hospitalization_12m")
... # doctest: +SKIP
>>> export.counts  # doctest: +SKIP
{'RiskAssessment': 20000, 'CarePlan': 50, 'Group': 50}
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from masrisk.exceptions import (
    MissingExtraError,
    ParameterError,
    Problem,
    Problems,
    ValidationError,
    show,
)
from masrisk.io.fhir.inputs import (
    ModelIdentity,
    ScoresCheck,
    check_scores_file,
    duplicate_ids,
    iter_scores,
    model_identity,
    read_plans,
)
from masrisk.io.fhir.resources import Context, risk_assessment_lines, to_line
from masrisk.outputs import output_directory
from masrisk.planning.documents import CitySummary, CommunityPlan

__all__ = ["DEFAULT_SYSTEM_BASE", "RESOURCE_TYPES", "FhirExport", "export_fhir"]

#: Base of the masrisk code systems, identifier systems and extension URLs.
DEFAULT_SYSTEM_BASE = "urn:masrisk"
#: The files written, ``<type>.ndjson``, one per resource type.
RESOURCE_TYPES: tuple[str, ...] = ("RiskAssessment", "CarePlan", "Group")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s|]+")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FhirExport:
    """What :func:`export_fhir` wrote: the directory and the resources of each type."""

    path: Path
    counts: dict[str, int]
    outcome: str
    as_of: str

    @property
    def files(self) -> dict[str, Path]:
        """Return each resource type's NDJSON file."""
        return {kind: self.path / f"{kind}.ndjson" for kind in RESOURCE_TYPES}


def _format_risks(risk: pd.Series) -> list[str]:
    """Shortest decimals that read back to the same float (float32 risks stay float32)."""
    values = risk.to_numpy(dtype="float32" if risk.dtype == "float32" else "float64")
    return [np.format_float_positional(v, unique=True, trim="-") for v in values]


def _context(
    check: ScoresCheck, summary: CitySummary, model: ModelIdentity | None, base: str
) -> Context:
    """Return the export's :class:`Context` once ``as_of`` and the outcome are known."""
    for source, outcome in (("plans'", summary.outcome), ("model's", model and model.outcome)):
        if outcome and outcome != check.outcome:
            rule = f"differs from the {source} outcome {show(outcome)}"
            check.problems.add("scores", "outcome", rule, examples=[show(check.outcome)])
    return Context(base, check.outcome, check.as_of.date(), model)


def _executor(workers: int) -> Executor:
    if workers == 1:  # one worker: a thread of this process, no process to start
        return ThreadPoolExecutor(1)
    # spawn, not fork: the parent may hold threads (Arrow, OpenMP) that fork would break
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def _write_risk_assessments(
    handle: IO[str],
    path: Path,
    check: ScoresCheck,
    start: Callable[[ScoresCheck], Context],
    *,
    chunk_size: int,
    workers: int,
    on_chunk: Callable[[int], None] | None,
) -> Context | None:
    """Stream the scores through ``check`` and write their resources; once wrong, only check."""
    pending: deque[Future] = deque()

    def drain(keep: int) -> None:
        while len(pending) > keep:
            text, problems = pending.popleft().result()
            handle.write(text)
            check.problems.extend(problems)

    context = None
    with _executor(workers) as pool:
        for raw in iter_scores(path, chunk_size=chunk_size):
            chunk = check.check(raw)
            if context is None and check.as_of is not None and check.outcome is not None:
                context = start(check)
            if not check.problems and context is not None:
                columns = (chunk["person_id"].tolist(), _format_risks(chunk["risk"]))
                tiers = chunk["tier"].tolist()
                pending.append(pool.submit(risk_assessment_lines, context, *columns, tiers))
                drain(2 * workers)
            if on_chunk is not None:
                on_chunk(len(chunk))
        drain(0)
    return context


def _finish_check(check: ScoresCheck, path: Path, chunk_size: int) -> None:
    """Add the problems only the whole file shows (no rows, repeated ids); raise if any."""
    if check.rows == 0:
        check.problems.add("scores", None, "no rows")
    repeated = check.duplicate_hashes()
    if len(repeated):
        ids = duplicate_ids(path, repeated, chunk_size=chunk_size)
        if ids:
            shown = [show(i) for i in ids]
            check.problems.add(
                "scores", "person_id", "duplicate id", rows=sum(ids.values()), examples=shown
            )
    check.problems.raise_if_any()


def _write_plans(staging: Path, context: Context, plans: list[CommunityPlan]) -> dict[str, int]:
    from fhir.resources.R4B.careplan import CarePlan
    from fhir.resources.R4B.group import Group

    problems = Problems(source="plans")
    counts = {}
    for kind, build in ((CarePlan, context.care_plan), (Group, context.group)):
        lines = [to_line(kind, build(p), p.territory_id, problems) for p in plans]
        problems.raise_if_any()
        (staging / f"{kind.__name__}.ndjson").write_text("".join(lines), encoding="utf-8")
        counts[kind.__name__] = len(lines)
    return counts


def export_fhir(
    scores: str | os.PathLike,
    plans: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    model: str | os.PathLike | None = None,
    system_base: str = DEFAULT_SYSTEM_BASE,
    chunk_size: int = 20_000,
    workers: int = 1,
    overwrite: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> FhirExport:
    """Write scores and plans as FHIR R4 ``RiskAssessment``, ``CarePlan`` and ``Group`` NDJSON.

    See :mod:`masrisk.io.fhir` for what each resource holds. The directory is written in a
    temporary directory beside ``out_dir`` and renamed into place: it holds every file or none.

    Parameters
    ----------
    scores : path-like
        A scores file (``.parquet`` or ``.csv``, as ``masrisk score`` writes it) with at least
        ``person_id, outcome, as_of, risk, tier``; one ``as_of`` and one outcome.
    plans : path-like
        A plans directory (``masrisk plan``) for the same outcome: ``summary.json`` and
        ``<territory_id>.json`` for each territory it lists.
    out_dir : path-like
        Directory to create, with ``RiskAssessment.ndjson``, ``CarePlan.ndjson`` and
        ``Group.ndjson``.
    model : path-like, optional
        The bundle that made the scores; it gives the model's identity (``basis``), the
        outcome's description and its horizon. Its checksums are verified.
    system_base : str
        Absolute URI under which the code systems, identifier systems and extensions are named
        (``urn:masrisk:tier``, ...); an organisation may give its own (``https://...``).
    chunk_size : int
        Persons read and converted at a time.
    workers : int
        Processes that build and validate the ``RiskAssessment`` resources (the library's
        validation and serialisation take about 0.3 ms per resource on one core). With more
        than one, chunks are converted in parallel and written in their order: the output is
        the same. The processes are started with ``spawn``: a script that calls this must
        do so under ``if __name__ == "__main__":``.
    overwrite : bool
        Replace an existing export (a directory holding only ``.ndjson`` files).
    on_chunk : callable, optional
        Called with the number of persons of each chunk read, to show progress.

    Returns
    -------
    FhirExport
        The directory, the resources written per type, the outcome and ``as_of``.

    Raises
    ------
    masrisk.ValidationError
        Listing every problem: a missing file, directory or column; a missing or repeated
        person id, a risk outside [0, 1], an unknown tier, a date that is not one, more than one
        ``as_of`` or outcome, an outcome other than the plans' or the model's; a plans file
        that is missing or not a plan; a resource the FHIR library refuses (with its JSON path).
    masrisk.BundleError
        If the bundle is missing a file or was changed.
    masrisk.exceptions.OutputExistsError
        If ``out_dir`` exists and ``overwrite`` is false, or it holds other files.
    """
    try:
        import fhir.resources.R4B  # noqa: F401 - an optional dependency
    except ImportError:
        raise MissingExtraError(
            "export_fhir needs fhir.resources; install it with: pip install 'masrisk[interop]'"
        ) from None
    system_base = system_base.rstrip("/:")
    if not _URI.fullmatch(system_base):
        raise ValidationError(
            [Problem("export_fhir", "system_base", "not an absolute URI", 0, (show(system_base),))]
        )
    for name, value in (("chunk_size", chunk_size), ("workers", workers)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ParameterError(name, "an integer >= 1", value)
    scores_path, target = Path(scores), Path(out_dir)
    summary, community_plans = read_plans(Path(plans))
    identity = model_identity(model) if model is not None else None
    check_scores_file(scores_path)
    check = ScoresCheck(Problems(source=str(scores_path)))
    with output_directory(target, kind="fhir", overwrite=overwrite) as staging:
        with open(staging / "RiskAssessment.ndjson", "w", encoding="utf-8", newline="\n") as out:
            context = _write_risk_assessments(
                out, scores_path, check,
                lambda check: _context(check, summary, identity, system_base),
                chunk_size=chunk_size, workers=workers, on_chunk=on_chunk,
            )  # fmt: skip
        _finish_check(check, scores_path, chunk_size)
        assert context is not None  # the scores have rows, an as_of and an outcome
        counts = {"RiskAssessment": check.rows, **_write_plans(staging, context, community_plans)}
    logger.debug("wrote %s: %s", target, ", ".join(f"{n:,} {k}" for k, n in counts.items()))
    return FhirExport(target, counts, context.outcome, context.as_of.isoformat())
