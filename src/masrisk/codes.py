"""Domain reference data: event kinds, life-course stages and the poverty index indicators.

Everything here is a constant that other modules read; nothing is computed at import time.
"""

from __future__ import annotations

__all__ = [
    "EVENT_KINDS",
    "LIFE_COURSE_STAGES",
    "MPI_DIMENSIONS",
    "MPI_INDICATORS",
    "MPI_POVERTY_CUTOFF",
    "REGIMES_COLOMBIA",
    "SEXES",
]

#: Kinds of events of the data contract (a config may add more, see ``Config.extra_event_kinds``).
EVENT_KINDS: tuple[str, ...] = (
    "outpatient",
    "emergency",
    "hospitalization",
    "pharmacy",
    "lab",
    "vaccination",
    "screening",
    "death",
)

#: Values of ``persons.sex``.
SEXES: tuple[str, ...] = ("F", "M")

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


# ------------------------------------------------------------------ preventive care and labs
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

__all__ += [
    "LAB_CODES",
    "SCREENINGS",
    "SCREENING_TARGETS",
    "VACCINES",
    "VACCINE_SCHEDULE",
    "VACCINE_TARGETS",
]
