"""Plain words for a feature's value: what a field team reads beside a driver.

``describe(feature, value)`` says what a person's value means ("3 hospitalisations in the last
year", "household in multidimensional poverty"); ``describe(feature, value, share=True)``
says it for a community, where ``value`` is the mean over its persons (a share, for flags).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from masrisk.vocabulary import feature_level

__all__ = ["describe"]

_KINDS = {
    "outpatient": ("outpatient visit", "outpatient visits"),
    "emergency": ("emergency visit", "emergency visits"),
    "hospitalization": ("hospitalisation", "hospitalisations"),
    "pharmacy": ("pharmacy dispensing", "pharmacy dispensings"),
    "lab": ("lab test", "lab tests"),
}
_PERIODS = {"90": "in the last 90 days", "365": "in the last year"}
_GAPS = {
    "cervical_cytology": "cervical cytology",
    "hpv_test": "HPV test",
    "mammography": "mammography",
    "psa": "PSA test",
    "fit": "faecal immunochemical test",
    "bp_screening": "blood-pressure screening",
    "diabetes_risk": "diabetes-risk screening",
    "growth_development": "growth and development check",
    "flu_60plus": "influenza vaccine (60+)",
    "hpv_vaccine": "HPV vaccine",
}
_CONDITIONS = {
    "ckd": "chronic kidney disease",
    "copd": "COPD",
    "hiv": "HIV",
    "mental_health": "mental-health condition",
    "substance_use": "substance use disorder",
}
_FLAGS = {
    "ind_disability": "registered disability",
    "ind_pregnant": "pregnant",
    "fam_older_adult_alone": "older adult living alone",
    "fam_single_adult_with_children": "single adult with children",
    "fam_mpi_poor": "household in multidimensional poverty",
}
_COUNTS = {
    "ind_n_chronic": ("chronic condition", "chronic conditions"),
    "ind_vaccine_doses_missing": ("vaccine dose missing", "vaccine doses missing"),
    "fam_children_under5": ("child under 5 at home", "children under 5 at home"),
    "fam_adults_60plus": ("adult aged 60+ at home", "adults aged 60+ at home"),
    "fam_pregnant_members": ("pregnant member at home", "pregnant members at home"),
    "fam_members_chronic": ("chronically ill member", "chronically ill members"),
    "fam_emergencies_365d": ("household emergency visit in the last year",
                             "household emergency visits in the last year"),
    "fam_hospitalizations_365d": ("household hospitalisation in the last year",
                                  "household hospitalisations in the last year"),
}  # fmt: skip


def _words(name: str) -> str:
    return name.replace("_", " ")


def _outcome(name: str) -> str:
    """``hospitalization_12m`` -> ``hospitalisation``."""
    words = re.sub(r"_\d+m$", "", name).replace("hospitalization", "hospitalisation")
    return _words(words)


def _count(value: float, one: str, many: str) -> str:
    return f"{value:g} {one if value == 1 else many}"


def _mean(value: float, many: str) -> str:
    return f"{value:.2g} {many} per person on average"


def _person(name: str, value: float) -> str:  # noqa: C901 - one branch per kind of feature
    if match := re.fullmatch(r"ind_n_(\w+?)_(\d+)d", name):
        one, many = _KINDS.get(match[1], (_words(match[1]), _words(match[1])))
        return f"{_count(value, one, many)} {_PERIODS.get(match[2], f'in {match[2]} days')}"
    if name in _COUNTS:
        return _count(value, *_COUNTS[name])
    if name in _FLAGS:
        return _FLAGS[name] if value >= 0.5 else f"not {_FLAGS[name]}"
    if match := re.fullmatch(r"ind_cond_(\w+)", name):
        condition = _CONDITIONS.get(match[1], _words(match[1]))
        return f"{condition} recorded" if value >= 0.5 else f"no {condition} recorded"
    if match := re.fullmatch(r"ind_gap_(\w+)", name):
        test = _GAPS.get(match[1], _words(match[1]))
        return f"{test} overdue" if value >= 0.5 else f"{test} up to date or not due"
    if match := re.fullmatch(r"fam_dep_(\w+)", name):
        what = _words(match[1])
        return f"household deprived: {what}" if value >= 0.5 else f"household not deprived: {what}"
    if match := re.fullmatch(r"ind_lab_(\w+)_(last|change)", name):
        if match[2] == "last":
            return f"last {match[1]} result {value:.3g}"
        return f"{match[1]} changed by {value:+.3g}"
    simple: dict[str, Callable[[float], str]] = {
        "ind_age": lambda v: f"aged {v:.0f}",
        "ind_charlson": lambda v: f"Charlson comorbidity index {v:.3g}",
        "ind_days_since_last_contact": lambda v: f"{v:.0f} days since the last contact",
        "fam_size": lambda v: f"household of {v:g}",
        "fam_dependency_ratio": lambda v: f"household dependency ratio {v:.2g}",
        "fam_deprivation_score": lambda v: f"household deprivation score {v:.0%}",
        "ter_population": lambda v: f"territory of {v:,.0f} persons",
        "ter_density": lambda v: f"{v:,.0f} persons per km²",
        "ter_km_to_level1": lambda v: f"{v:.1f} km to the nearest primary-care facility",
        "ter_km_to_level23": lambda v: f"{v:.1f} km to the nearest hospital (level 2-3)",
        "ter_facilities_per_10k": lambda v: f"{v:.2g} facilities per 10,000 persons",
        "ter_svi_overall": lambda v: f"territory more deprived than {v:.0%} of territories",
    }
    if name in simple:
        return simple[name](value)
    if match := re.fullmatch(r"ter_svi_theme_(\w+)", name):
        return f"territory more deprived in {_words(match[1])} than {value:.0%} of territories"
    if match := re.fullmatch(r"ter_svi_(\w+)", name):
        return f"territory more deprived ({_words(match[1])}) than {value:.0%} of territories"
    if match := re.fullmatch(r"ter_(rate|eb_rate|seb_rate|lag_rate)_(\w+)", name):
        what = {
            "rate": "territory's past {} rate",
            "eb_rate": "territory's past {} rate (smoothed)",
            "seb_rate": "territory's past {} rate (smoothed with its neighbours)",
            "lag_rate": "neighbouring territories' past {} rate",
        }[match[1]]
        return f"{what.format(_outcome(match[2]))} {value:.1%}"
    if match := re.fullmatch(r"ter_gistar_(\w+)", name):
        spot = "hot spot" if value > 1.96 else "cold spot" if value < -1.96 else "no hot spot"
        return f"{_outcome(match[1])}: {spot} (Gi* z = {value:.1f})"
    return f"{_words(name.split('_', 1)[1])} = {value:.3g}"


def describe(name: str, value: object, *, share: bool = False) -> str:
    """Return ``name = value`` in plain words.

    Parameters
    ----------
    name : str
        A feature name.
    value : object
        The person's value; with ``share=True``, the mean over a community's persons.
    share : bool
        Describe a community: flags as the share of persons, counts as a mean.

    Examples
    --------
    >>> describe("ind_n_hospitalization_365d", 3.0)
    '3 hospitalisations in the last year'
    >>> describe("fam_mpi_poor", 1)
    'household in multidimensional poverty'
    >>> describe("fam_mpi_poor", 0.38, share=True)
    '38% of persons: household in multidimensional poverty'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{_words(name.split('_', 1)[1])}: not recorded"
    if isinstance(value, str):
        return f"{_words(name.split('_', 1)[1])}: {_words(value)}"
    value = float(value)
    if not share or feature_level(name) == "territorial":  # the same for everyone in it
        return _person(name, value)
    if name in _FLAGS or re.fullmatch(r"(ind_cond|ind_gap|fam_dep)_\w+", name):
        return f"{value:.0%} of persons: {_person(name, 1.0)}"
    if match := re.fullmatch(r"ind_n_(\w+?)_(\d+)d", name):
        many = _KINDS.get(match[1], ("", _words(match[1])))[1]
        return f"{_mean(value, many)} {_PERIODS.get(match[2], f'in {match[2]} days')}"
    if name in _COUNTS:
        return _mean(value, _COUNTS[name][1])
    return f"{_person(name, value)} (mean)"
