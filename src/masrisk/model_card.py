"""The model card of a bundle: what the model is for, how it was made, how well it does.

Its sections follow the items of TRIPOD+AI (Collins et al., BMJ 2024;385:e078378) that a
model's users need: intended use, data and population, outcome, predictors, the model and
how it was chosen, performance with intervals overall and by subgroup, calibration, and
limitations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from masrisk.models import BundleMetadata
from masrisk.vocabulary import LEVELS

__all__ = ["render_model_card"]


def render_model_card(metadata: BundleMetadata | Mapping[str, Any], report: dict[str, Any]) -> str:
    """Return the model card as Markdown, from a bundle's metadata and evaluation report."""
    meta = BundleMetadata.model_validate(metadata)
    outcome = meta.outcome_definition
    name = outcome.name if outcome else meta.outcome
    by_level = {
        level: sum(f.startswith(prefix) for f in meta.feature_names)
        for prefix, level in LEVELS.items()
    }
    codes = ", ".join(outcome.codes or []) if outcome else ""
    lines = [
        f"# Model card: {name}",
        "",
        f"Calibrated risk of **{name}**: {outcome.description if outcome else ''}".rstrip(),
        "",
        "## Intended use",
        "",
        "- Risk stratification for population health management in primary care (the *gestión",
        "  integral del riesgo* of MAS Bienestar): ranking persons, households and territories for",
        "  outreach, home visits and care programmes, and sizing the risk pyramid's tiers.",
        "- Users: analysts of a health secretariat, an insurer or an integrated care network.",
        "- Not for: individual diagnosis, denial of care or of insurance, or any decision about a",
        "  person without a clinician. Scores are probabilities for groups of similar persons.",
        "",
        "## Data and population",
        "",
        f"- Source: {meta.data_description or 'not described'}.",
        f"- Profile: {_or(meta.profile, 'unknown')}; data up to {_or(meta.data_end)}.",
        f"- Training cut-off {_or(meta.train_as_of)}: {meta.train_persons or 0:,} persons "
        f"present, {meta.train_events or 0:,} with the outcome in the horizon.",
        f"- Validation cut-off {_or(meta.valid_as_of)} (out of time): "
        f"{meta.valid_persons or 0:,} persons, {meta.valid_events or 0:,} with the outcome.",
        f"- Data fingerprint (SHA-256 of the training features and labels): "
        f"`{_or(meta.data_fingerprint)}`.",
        "",
        "## Outcome",
        "",
        f"- At least one event of kind {', '.join(outcome.kinds if outcome else [])} with "
        f"{codes or 'any code'}, within {_or(outcome and outcome.horizon_days)} days after the "
        "cut-off.",
        "- Present at the cut-off: born before it and no death recorded before it.",
        "",
        "## Predictors",
        "",
        f"- {len(meta.features)} features built at the cut-off from events before it only: "
        + ", ".join(f"{n} {level}" for level, n in by_level.items())
        + ".",
        f"- Lab codes described: {', '.join(meta.lab_codes) or 'none'}.",
        "",
        "## Model",
        "",
        f"- Chosen: **{meta.chosen_model}** - {meta.choice_reason}.",
        f"- Calibration: {meta.params.calibration} recalibration of the log-odds on the "
        "validation period (cross-fitted for the figures below).",
        f"- Software: {_versions(meta.packages)}.",
        "",
        "## Performance on the validation period",
        "",
    ]
    if report:
        from masrisk.evaluate import EvaluationReport

        lines += [_demote(EvaluationReport.from_dict(report).to_markdown()), ""]
    else:
        lines += ["No evaluation report was stored with this bundle.", ""]
    lines += [
        "## Limitations",
        "",
        "- Validated on one later period of the same data source; performance drifts with",
        "  coding, coverage and care patterns. Re-validate before use in another territory or",
        "  year.",
        "- Only what is recorded can be learned: persons with little contact with services have",
        "  little history, so their risk may be underestimated.",
        "- Territorial and family features describe context, not causes; an intervention that",
        "  changes a feature need not change the risk by the model's contribution.",
        "- Check the subgroup table before acting on a group: small groups have wide intervals.",
        "",
    ]
    return "\n".join(lines)


def _or(value: Any, missing: str = "?") -> Any:
    return missing if value is None else value


def _versions(packages: dict[str, str]) -> str:
    return ", ".join(f"{name} {v}" for name, v in packages.items()) or "unknown"


def _demote(markdown: str) -> str:
    """Push the report's headings two levels down, under this card's section."""
    return "\n".join(
        "##" + line if line.startswith("#") else line for line in markdown.splitlines()
    )
