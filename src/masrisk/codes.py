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
