"""Realism targets of the synthetic population, one constant each, with its source.

Every figure here is approximate and rounded: the synthetic population must look like the
real one in aggregate, not reproduce it. Tests compare the generated tables to these
constants; the generator reads them (and the parameters of :mod:`masrisk.synth.health`).
"""

from __future__ import annotations

#: Shares of the population by RIAS life-course stage (``codes.LIFE_COURSE_STAGES``).
#: bogota: DANE, Proyecciones de población 2018-2070 con base en el CNPV 2018 (post-COVID-19
#: update, 2023), Bogotá D.C., 2024. mexico: INEGI, Censo de Población y Vivienda 2020 and
#: CONAPO projections 2024 for Guerrero; the population without social security is younger.
# fmt: off
AGE_STAGE_SHARES: dict[str, dict[str, float]] = {
    "bogota": {"primera_infancia": 0.062, "infancia": 0.072, "adolescencia": 0.076,
               "juventud": 0.180, "adultez": 0.450, "vejez": 0.160},
    "mexico": {"primera_infancia": 0.100, "infancia": 0.105, "adolescencia": 0.105,
               "juventud": 0.185, "adultez": 0.375, "vejez": 0.130},
}
# fmt: on

#: Share of women. Same sources as :data:`AGE_STAGE_SHARES`.
FEMALE_SHARE: dict[str, float] = {"bogota": 0.522, "mexico": 0.515}

#: Mean persons per household and share of one-person households. bogota: DANE CNPV 2018
#: and Encuesta de Calidad de Vida 2021 (2.9-3.1 persons, 17-19 % one-person); mexico: INEGI
#: Censo 2020, Guerrero (3.6 persons, ~11 % one-person).
HOUSEHOLD_SIZE_MEAN: dict[str, float] = {"bogota": 3.0, "mexico": 3.6}
ONE_PERSON_SHARE: dict[str, float] = {"bogota": 0.18, "mexico": 0.11}

#: Share of persons living in rural territories. bogota: DANE CNPV 2018 counts ~0.2 % in
#: the rural dispersed area; with the centros poblados of Usme, Ciudad Bolívar and Sumapaz
#: the Secretaría Distrital de Planeación counts ~1 %; we take 1.5 % so that rural estimates
#: are stable in small populations. mexico: INEGI Censo 2020, Guerrero, 40 % in localities
#: under 2,500 inhabitants.
RURAL_SHARE: dict[str, float] = {"bogota": 0.015, "mexico": 0.40}

#: Share of households that are multidimensionally poor (weighted deprivation >= 1/3, see
#: ``codes.MPI_POVERTY_CUTOFF``) by zone. bogota: DANE, Pobreza multidimensional 2022-2023
#: (Bogotá ~4-6 %; centros poblados y rural disperso nationally ~25-27 %). mexico: the
#: Colombian index has no official Mexican counterpart; CONEVAL puts 60 % of Guerrero in
#: multidimensional poverty (2022) and its rural areas far above its cities, so we take ~20 %
#: urban and ~45 % rural.
MPI_POOR_SHARE: dict[str, dict[str, float]] = {
    "bogota": {"urban": 0.05, "rural": 0.27},
    "mexico": {"urban": 0.20, "rural": 0.45},
}

#: Shares of persons by insurance regime. bogota: Ministerio de Salud, Cifras de
#: aseguramiento en salud, Bogotá D.C., 2024 (contributivo ~77 %, subsidiado ~19 %,
#: excepción ~2.5 %); the uninsured share from DANE's IPM (sin aseguramiento ~1.5 %).
#: mexico: MAS-Bienestar serves the population without social security.
REGIME_SHARES: dict[str, dict[str, float]] = {
    "bogota": {"contributivo": 0.77, "subsidiado": 0.19, "especial": 0.025, "no_afiliado": 0.015},
    "mexico": {"sin_seguridad_social": 1.0},
}

#: Diagnosed prevalence of chronic conditions by age band (completed years).
#: bogota: Cuenta de Alto Costo, Situación de la hipertensión arterial y la diabetes mellitus
#: en Colombia 2022, and Encuesta Nacional de Salud 2007. mexico: ENSANUT 2022 (diagnosed
#: diabetes 12.6 % of adults, ~25-30 % at 60+).
CHRONIC_PREVALENCE: dict[str, dict[str, dict[str, float]]] = {
    "bogota": {"hypertension": {"18-44": 0.05, "60+": 0.42},
               "diabetes": {"18-44": 0.015, "60+": 0.16}},
    "mexico": {"hypertension": {"18-44": 0.05, "60+": 0.40},
               "diabetes": {"18-44": 0.035, "60+": 0.27}},
}  # fmt: skip

#: Yearly rates: share of persons with at least one hospitalisation, with at least one
#: emergency visit, deaths per person (crude mortality), and share with at least one
#: cardiovascular event (I20-I25 or I60-I69 admission, emergency visit or death).
#: bogota: Ministerio de Salud, SISPRO/RIPS utilisation (60-90 admissions per 1,000
#: affiliates a year, ~20 % with an emergency visit); DANE Estadísticas Vitales 2022 (~38,700
#: deaths in 7.9 M, 4.9 per 1,000). mexico: DGIS egresos hospitalarios and INEGI EDR 2022 for
#: Guerrero, lower use of services and slightly higher mortality.
# fmt: off
YEARLY_RATES: dict[str, dict[str, float]] = {
    "bogota": {"hospitalization": 0.07, "emergency": 0.20, "mortality": 0.0049,
               "cardiovascular": 0.008},
    "mexico": {"hospitalization": 0.06, "emergency": 0.16, "mortality": 0.0056,
               "cardiovascular": 0.007},
}
# fmt: on

#: Standard deviations (log-odds scale) of the family and territorial parts of the latent
#: risk, and of the unobserved personal frailty within the individual part. With these the
#: family and territorial parts each carry ~20-23 % of the variance of the latent risk (a
#: design choice so that all three levels carry signal), and frailty ~8 %, small enough that
#: the risk is largely recoverable from observable history.
FAMILY_SD: float = 0.5
TERRITORIAL_SD: float = 0.5
FRAILTY_SD: float = 0.3
