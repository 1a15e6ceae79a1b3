"""FHIR R4 resources of the export: :class:`Context` builds them, :func:`to_line` validates.

Both use ``fhir.resources``' R4B models; each resource is one JSON document on one line.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pydantic

from masrisk.exceptions import Problems, show
from masrisk.io.fhir.inputs import ModelIdentity
from masrisk.planning.documents import CommunityPlan
from masrisk.planning.render import AXIS_LABELS, TIER_LABELS
from masrisk.tiers import TIERS

#: A FHIR ``id``: letters, digits, ``-`` and ``.``, 1 to 64 characters.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:masrisk:fhir")
_UCUM = "http://unitsofmeasure.org"


def resource_id(*parts: object) -> str:
    """Return a deterministic id (a UUID 5) for a resource identified by ``parts``."""
    return str(uuid.uuid5(_NAMESPACE, "|".join(map(str, parts))))


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = _coding(system, code, display)
    return {"coding": [coding], "text": coding["display"]}


@dataclass(frozen=True)
class Context:
    """What the resources of one export share; builds each resource as a dict."""

    base: str
    outcome: str
    as_of: date
    model: ModelIdentity | None
    _shared: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The parts every RiskAssessment shares are validated once, as library models, and
        # reused: each resource validates only its own elements around them.
        from fhir.resources.R4B.codeableconcept import CodeableConcept
        from fhir.resources.R4B.period import Period
        from fhir.resources.R4B.reference import Reference

        model = self.model
        outcome = _concept(
            self.system("outcome"), self.outcome, model.description if model else None
        )
        prediction: dict[str, Any] = {"outcome": CodeableConcept.model_validate(outcome)}
        if model and model.horizon_days:
            prediction["whenPeriod"] = Period.model_validate(self.period())
        tiers = {
            t: CodeableConcept.model_validate(_concept(self.system("tier"), t, TIER_LABELS.get(t)))
            for t in TIERS
        }
        basis = [Reference.model_validate(self._basis())] if model else None
        shared = {"prediction": prediction, "tiers": tiers, "basis": basis}
        object.__setattr__(self, "_shared", shared)

    def system(self, name: str) -> str:
        """Return the URI of a masrisk code system, identifier system or extension."""
        return f"{self.base}{':' if self.base.startswith('urn:') else '/'}{name}"

    def period(self) -> dict[str, str]:
        """Return ``{start, end}``: ``as_of`` to the horizon's last day (end only if known)."""
        period = {"start": self.as_of.isoformat()}
        if self.model and self.model.horizon_days:
            period["end"] = (self.as_of + timedelta(days=self.model.horizon_days - 1)).isoformat()
        return period

    def _basis(self) -> dict[str, Any]:
        assert self.model is not None
        identifier = {"system": self.system("model-sha256"), "value": self.model.sha256}
        return {"identifier": identifier, "display": self.model.display()}

    def risk_assessment(self, person_id: str, probability: str, tier: str) -> dict[str, Any]:
        """Return a ``RiskAssessment``: a person's risk of the outcome, with its tier."""
        subject: dict[str, Any] = {
            "identifier": {"system": self.system("person-id"), "value": person_id}
        }
        if FHIR_ID.fullmatch(person_id):
            subject["reference"] = f"Patient/{person_id}"
        shared = self._shared
        sha = self.model.sha256 if self.model else ""
        resource = {
            "resourceType": "RiskAssessment",
            "id": resource_id("RiskAssessment", self.outcome, self.as_of, sha, person_id),
            "status": "final",
            "subject": subject,
            "occurrenceDateTime": self.as_of.isoformat(),
            "prediction": [
                {
                    **shared["prediction"],
                    "probabilityDecimal": probability,
                    "qualitativeRisk": shared["tiers"][tier],
                }
            ],
        }
        if shared["basis"]:
            resource["basis"] = shared["basis"]
        return resource

    def group_id(self, territory_id: str) -> str:
        """Return the territory's ``Group`` id: its own id if FHIR allows it, else a UUID 5."""
        if FHIR_ID.fullmatch(territory_id):
            return territory_id
        return resource_id("Group", territory_id)

    def group(self, plan: CommunityPlan) -> dict[str, Any]:
        """Return the territory as a ``Group`` of persons: name, population and zone."""
        zone = _concept(self.system("zone"), plan.zone)
        return {
            "resourceType": "Group",
            "id": self.group_id(plan.territory_id),
            "identifier": [{"system": self.system("territory-id"), "value": plan.territory_id}],
            "type": "person",
            "actual": True,
            "name": plan.name or plan.territory_id,
            "quantity": plan.population,
            "characteristic": [
                {
                    "code": _concept(self.system("territory-characteristic"), "zone"),
                    "valueCodeableConcept": zone,
                    "exclude": False,
                }
            ],
        }

    def care_plan(self, plan: CommunityPlan) -> dict[str, Any]:
        """Return a territory's ``CarePlan``: one activity per intervention of its plan."""
        name = plan.name or plan.territory_id
        phase = str(plan.phase)
        resource = {
            "resourceType": "CarePlan",
            "id": resource_id("CarePlan", self.outcome, self.as_of, plan.territory_id),
            "status": "active",
            "intent": "plan",
            "category": [
                _concept(
                    self.system("care-plan-category"),
                    "integral-risk-management",
                    "Integral risk-management plan",
                ),
                _concept(self.system("rollout-phase"), phase, f"Rollout phase {phase}"),
            ],
            "title": f"Integral risk-management plan: {name}",
            "description": _description(plan),
            "subject": {
                "reference": f"Group/{self.group_id(plan.territory_id)}",
                "identifier": {"system": self.system("territory-id"), "value": plan.territory_id},
                "display": name,
            },
            "period": self.period(),
            "activity": [{"detail": self._activity(line)} for line in plan.interventions],
        }
        if plan.drivers:
            drivers = "; ".join(f"{d.description} ({d.contribution:+.4f})" for d in plan.drivers)
            resource["note"] = [{"text": f"Drivers of risk (log-odds per person): {drivers}"}]
        if not resource["activity"]:
            del resource["activity"]
        return resource

    def _activity(self, line: Any) -> dict[str, Any]:
        system = self.system
        hours = {"value": round(line.hours, 2), "unit": "h", "system": _UCUM, "code": "h"}
        extensions = (
            ("axis", "valueCoding", _coding(system("axis"), line.axis, AXIS_LABELS.get(line.axis))),
            ("setting", "valueCoding", _coding(system("setting"), line.setting)),
            ("persons", "valueInteger", line.persons),
            ("team-hours", "valueQuantity", hours),
        )
        return {
            "extension": [
                {"url": system(f"activity-{name}"), kind: value} for name, kind, value in extensions
            ],
            "code": _concept(system("intervention"), line.name),
            "status": "not-started",
            "description": (
                f"{_label(line.name)}: {line.persons:,} person{'' if line.persons == 1 else 's'}, "
                f"{line.hours:,.2f} team-hours (axis {line.axis}, setting {line.setting})"
            ),
        }


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    return {"system": system, "code": code, "display": display or _label(code)}


def _description(plan: CommunityPlan) -> str:
    where = ", ".join(x for x in (plan.zone, plan.district) if x)
    return (
        f"Territory {plan.territory_id} ({where}): priority {plan.priority}, rollout phase "
        f"{plan.phase}; {plan.population:,} persons in {plan.households:,} households; "
        f"{plan.expected_events:,.1f} expected events of {plan.outcome}; "
        f"{plan.hours_allocated:,.2f} team-hours allocated, "
        f"{plan.expected_events_averted:,.1f} events expected to be averted."
    )


def to_line(kind: type, resource: dict[str, Any], key: str, problems: Problems) -> str | None:
    """Validate ``resource`` with the ``fhir.resources`` model ``kind``; return its JSON line.

    A resource the library refuses adds one problem per error to ``problems`` (the resource
    type, the JSON path and the library's message, with ``key`` as example) and gives ``None``.
    """
    try:
        return kind.model_validate(resource).model_dump_json() + "\n"
    except pydantic.ValidationError as exc:
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"]) or None
            rule = f"invalid FHIR: {error['msg'][:200]}"
            problems.add(kind.__name__, path, rule, rows=1, examples=[show(key)])
        return None


def risk_assessment_lines(
    context: Context, person_ids: list[str], probabilities: list[str], tiers: list[str]
) -> tuple[str, Problems]:
    """Return the ``RiskAssessment`` NDJSON lines of a chunk of persons, and any problems.

    A plain function of picklable arguments, so that worker processes can run it.
    """
    from fhir.resources.R4B.riskassessment import RiskAssessment

    problems = Problems(source="RiskAssessment")
    lines = [
        to_line(RiskAssessment, context.risk_assessment(*row), row[0], problems) or ""
        for row in zip(person_ids, probabilities, tiers, strict=True)
    ]
    return "".join(lines), problems
