"""Domain reference data: event kinds, life stages, poverty index, preventive care, ICD-10.

Everything here is a constant that other modules read: the ICD-10 groups of the features and
the Charlson index among them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from masrisk import vocabulary

__all__ = [
    "CHARLSON",
    "CHARLSON_HIERARCHY",
    "CONDITION_DEFINITIONS",
    "CONDITION_GROUPS",
    "ConditionGroup",
    "EVENT_KINDS",
    "LAB_CODES",
    "LIFE_COURSE_STAGES",
    "MPI_DIMENSIONS",
    "MPI_INDICATORS",
    "MPI_POVERTY_CUTOFF",
    "PREGNANCY_CODES",
    "REGIMES_COLOMBIA",
    "SCREENINGS",
    "SCREENING_TARGETS",
    "SEXES",
    "VACCINES",
    "VACCINE_SCHEDULE",
    "VACCINE_TARGETS",
    "icd10_matches",
    "normalize_icd10",
]

#: Kinds of events of the data contract (a config may add more, see ``Config.extra_event_kinds``).
#: A ``diagnosis`` is a diagnosis recorded beside the event it belongs to (a visit's secondary or
#: related diagnoses, a problem-list condition): it sets condition flags and counts no visit.
EVENT_KINDS: tuple[str, ...] = (
    "outpatient", "emergency", "hospitalization", "pharmacy", "lab", "vaccination", "screening",
    "death", "diagnosis",
)  # fmt: skip

#: Values of ``persons.sex``.
SEXES = vocabulary.SEXES

#: Health-insurance regimes of Colombia's General System of Social Security in Health.
REGIMES_COLOMBIA: tuple[str, ...] = ("contributivo", "subsidiado", "especial", "no_afiliado")

#: Life-course stages of Colombia's Rutas Integrales de Atención en Salud (RIAS,
#: Resolución 3280 de 2018): name -> (first age, last age) in completed years.
LIFE_COURSE_STAGES: dict[str, tuple[int, int]] = {
    "primera_infancia": (0, 5),
    "infancia": (6, 11),
    "adolescencia": (12, 17),
    "juventud": (18, 28),
    "adultez": (29, 59),
    "vejez": (60, 120),
}

#: The 15 household deprivation indicators of Colombia's multidimensional poverty index
#: (Índice de Pobreza Multidimensional, IPM), column name -> dimension.
#:
#: Source: DANE, "Pobreza multidimensional - Metodología" (2020 revision of Angulo, Díaz and
#: Pardo, "The Colombian Multidimensional Poverty Index: Measuring Poverty in a Public Policy
#: Context", Social Indicators Research 127, 2016), following Alkire and Foster, "Counting and
#: multidimensional poverty measurement", Journal of Public Economics 95, 2011. Each dimension
#: weighs 0.2 and its indicators share that weight equally; a household is poor when its
#: weighted deprivation is at least :data:`MPI_POVERTY_CUTOFF`.
MPI_INDICATORS: dict[str, str] = {
    "dep_low_educational_attainment": "education",  # bajo logro educativo
    "dep_illiteracy": "education",  # analfabetismo
    "dep_school_non_attendance": "childhood_youth",  # inasistencia escolar
    "dep_school_lag": "childhood_youth",  # rezago escolar
    # barreras de acceso a servicios para el cuidado de la primera infancia
    "dep_early_childhood_care_barriers": "childhood_youth",
    "dep_child_labour": "childhood_youth",  # trabajo infantil
    "dep_long_term_unemployment": "work",  # desempleo de larga duración
    "dep_informal_work": "work",  # trabajo informal
    "dep_no_health_insurance": "health",  # sin aseguramiento en salud
    "dep_health_access_barriers": "health",  # barreras de acceso a servicios de salud
    "dep_no_improved_water": "housing",  # sin acceso a fuente de agua mejorada
    "dep_inadequate_excreta_disposal": "housing",  # inadecuada eliminación de excretas
    "dep_inadequate_floors": "housing",  # material inadecuado de pisos
    "dep_inadequate_exterior_walls": "housing",  # material inadecuado de paredes exteriores
    "dep_critical_overcrowding": "housing",  # hacinamiento crítico
}

#: The five dimensions of the index, each weighted 0.2.
MPI_DIMENSIONS: tuple[str, ...] = ("education", "childhood_youth", "work", "health", "housing")

#: A household is multidimensionally poor at a weighted deprivation of at least one third.
MPI_POVERTY_CUTOFF: float = 1 / 3


# Vocabularies of the non-ICD-10 codes that events carry: vaccines, screenings and lab tests.
# The synthetic population uses them, and feature builders read them to find care gaps.

#: Vaccines of Colombia's Programa Ampliado de Inmunizaciones (PAI), code -> description.
#: Source: Ministerio de Salud y Protección Social, "Esquema nacional de vacunación" (2023).
VACCINES: dict[str, str] = {
    "BCG": "BCG (tuberculosis), at birth",
    "HEPB": "Hepatitis B, newborn dose",
    "PENTA": "Pentavalent (diphtheria, tetanus, pertussis, hepatitis B, Hib)",
    "POLIO": "Poliomyelitis (IPV/OPV)",
    "ROTA": "Rotavirus",
    "PCV": "Pneumococcal conjugate",
    "FLU": "Seasonal influenza",
    "MMR": "Measles, mumps, rubella (triple viral, SRP)",
    "VARICELLA": "Varicella",
    "HEPA": "Hepatitis A",
    "YF": "Yellow fever",
    "DPT": "Diphtheria, tetanus, pertussis booster",
    "HPV": "Human papillomavirus",
    "TD": "Tetanus and diphtheria (pregnant women)",
    "COVID19": "COVID-19",
}

#: Childhood schedule: vaccine code -> ages in days at which its doses are due.
VACCINE_SCHEDULE: dict[str, tuple[int, ...]] = {
    "BCG": (0,),
    "HEPB": (0,),
    "PENTA": (60, 120, 180),
    "POLIO": (60, 120, 180, 540, 1825),
    "ROTA": (60, 120),
    "PCV": (60, 120, 365),
    "FLU": (180, 210),
    "MMR": (365, 540),
    "VARICELLA": (365, 1825),
    "HEPA": (365,),
    "YF": (540,),
    "DPT": (540, 1825),
}

#: Vaccines given by age group rather than by schedule: code -> (first age, last age in
#: completed years, sex or None for both). TD is given during pregnancy.
VACCINE_TARGETS: dict[str, tuple[int, int, str | None]] = {
    "FLU": (60, 120, None),
    "HPV": (9, 17, "F"),
    "TD": (10, 49, "F"),
    "COVID19": (12, 120, None),
}

#: Screenings and risk assessments of the RIAS (Resolución 3280 de 2018), code -> description.
SCREENINGS: dict[str, str] = {
    "CERVICAL_CYTOLOGY": "Cervical cytology (Papanicolaou)",
    "HPV_TEST": "HPV DNA test for cervical cancer",
    "MAMMOGRAPHY": "Screening mammography",
    "PSA": "Prostate-specific antigen with clinical assessment",
    "FIT": "Faecal immunochemical test for colorectal cancer",
    "BP_SCREENING": "Blood pressure and cardiovascular risk assessment",
    "DIABETES_RISK": "Diabetes risk assessment (FINDRISC)",
    "GROWTH_DEVELOPMENT": "Growth and development assessment of children",
}

#: Who each screening is for: code -> (first age, last age in completed years, sex or None,
#: recommended interval in years).
SCREENING_TARGETS: dict[str, tuple[int, int, str | None, float]] = {
    "CERVICAL_CYTOLOGY": (25, 29, "F", 3.0),
    "HPV_TEST": (30, 65, "F", 5.0),
    "MAMMOGRAPHY": (50, 69, "F", 2.0),
    "PSA": (50, 75, "M", 5.0),
    "FIT": (50, 75, None, 2.0),
    "BP_SCREENING": (18, 120, None, 5.0),
    "DIABETES_RISK": (18, 120, None, 5.0),
    "GROWTH_DEVELOPMENT": (0, 11, None, 1.0),
}

#: Lab tests as the source codes them: code -> (description, unit of ``events.value``).
LAB_CODES: dict[str, tuple[str, str]] = {
    "HBA1C": ("Glycated haemoglobin", "%"),
    "CREATININA": ("Serum creatinine", "mg/dL"),
    "LDL": ("LDL cholesterol", "mg/dL"),
    "GLUCOSA": ("Fasting plasma glucose", "mg/dL"),
    "HEMOGLOBINA": ("Haemoglobin", "g/dL"),
    "MICROALBUMINURIA": ("Urine albumin-to-creatinine ratio", "mg/g"),
    "TSH": ("Thyroid-stimulating hormone", "mUI/L"),
    "CD4": ("CD4 lymphocyte count", "cells/uL"),
}

# Sources write ICD-10 with or without the dot, and Colombian data often pads three-character
# codes to four with an "X" filler ("I10X", "A09X"). Codes are compared on a normalised form:
# upper case, no dot or spaces, no trailing filler ("E11.9" -> "E119", "I10X" -> "I10").
# A specification is a code ("I50", "I11.0") or a range of codes of equal length
# ("I20-I25", "I42.5-I42.9"); a code matches when its prefix of that length falls in it.


@dataclass(frozen=True)
class ConditionGroup:
    """A chronic-condition group in the three vocabularies that real records use.

    Attributes
    ----------
    icd10 : tuple of str
        ICD-10 codes and ranges (ICD-10-CM codes match them too).
    icd9cm : tuple of str
        ICD-9-CM codes and ranges of the same conditions.
    snomed : tuple of (str, int or None)
        Anchor concepts: ``(SNOMED CT id, OMOP concept_id)``; a standard concept is in the
        group when it is an anchor or descends from one.
    code : str
        The ICD-10 code written for a record found through ICD-9-CM or SNOMED CT.
    """

    icd10: tuple[str, ...]
    icd9cm: tuple[str, ...]
    snomed: tuple[tuple[str, int | None], ...]
    code: str


def _data(name: str) -> dict[str, Any]:
    """Return a shipped reference table of ``src/masrisk/data/`` (YAML)."""
    return yaml.safe_load(
        resources.files("masrisk").joinpath(f"data/{name}.yaml").read_text("utf-8")
    )


def _condition_groups() -> dict[str, ConditionGroup]:
    return {
        name: ConditionGroup(
            icd10=tuple(group["icd10"]),
            icd9cm=tuple(group["icd9cm"]),
            snomed=tuple((str(a["code"]), a.get("concept_id")) for a in group["snomed"]),
            code=group["code"],
        )
        for name, group in _data("condition_groups").items()
    }


#: Chronic-condition groups of the individual features, in ICD-10, ICD-9-CM and SNOMED CT
#: (read from ``data/condition_groups.yaml``, which cites the sources).
CONDITION_DEFINITIONS: dict[str, ConditionGroup] = _condition_groups()
#: Chronic-condition groups of the individual features: name -> ICD-10 codes and ranges.
CONDITION_GROUPS: dict[str, tuple[str, ...]] = {
    name: group.icd10 for name, group in CONDITION_DEFINITIONS.items()
}

#: Pregnancy, childbirth and prenatal care.
PREGNANCY_CODES: tuple[str, ...] = ("O00-O99", "Z33-Z36")

#: Charlson comorbidity index with the ICD-10 coding of Quan et al. (Med Care 2005;43:1130-9)
#: and Charlson's original weights: name -> (weight, codes and ranges); read from
#: ``data/charlson.yaml``, which cites the sources.
CHARLSON: dict[str, tuple[int, tuple[str, ...]]] = {
    name: (entry["weight"], tuple(entry["icd10"])) for name, entry in _data("charlson").items()
}
#: Charlson conditions that a more severe form replaces: milder -> more severe.
CHARLSON_HIERARCHY: dict[str, str] = {
    name: entry["replaced_by"]
    for name, entry in _data("charlson").items()
    if "replaced_by" in entry
}


def normalize_icd10(code: str) -> str:
    """Return the normalised form of an ICD-10 code as a source writes it.

    Examples
    --------
    >>> [normalize_icd10(c) for c in ["I10X", "e11.9", " J449 ", "A09X", "I21.0"]]
    ['I10', 'E119', 'J449', 'A09', 'I210']
    """
    text = str(code).upper().replace(".", "").replace(" ", "")
    while len(text) > 3 and text.endswith("X"):
        text = text[:-1]
    return text


def icd10_matches(code: str, specs: tuple[str, ...] | list[str]) -> bool:
    """Whether a code (as a source writes it) falls in any of the codes or ranges.

    Examples
    --------
    >>> icd10_matches("I21.9", ["I20-I25"]), icd10_matches("I10X", ["I20-I25"])
    (True, False)
    >>> icd10_matches("I42.6", ["I42.5-I42.9"]), icd10_matches("I420", ["I42.5-I42.9"])
    (True, False)
    """
    normal = normalize_icd10(code)
    for spec in specs:
        low, _, high = spec.partition("-")
        low, high = normalize_icd10(low), normalize_icd10(high or low)
        if low <= normal[: len(low)] <= high:
            return True
    return False
