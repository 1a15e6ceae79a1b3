"""Health states of synthetic persons: chronic conditions, pregnancies, lab latents, disability.

Conditions are drawn at the end of the period with the diagnosed prevalence of the person's
age band (see :data:`PREVALENCE`), shifted by sex, a metabolic factor, personal frailty,
household deprivation and the conditions already drawn (obesity -> diabetes -> CKD ...); the
shifts are centred within each age band so that band prevalences stay on target. A share of
each condition starts during the period (onset day), the rest before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from masrisk.synth.households import banded
from masrisk.synth.targets import FRAILTY_SD

NEVER = np.int32(2**30)  # onset/delivery day of something that does not happen
AGE_BANDS = np.array([0, 18, 45, 60, 75])  # bands of PREVALENCE
# Diagnosed prevalence by age band [0-17, 18-44, 45-59, 60-74, 75+], women:men odds ratio,
# share with onset during the period, the effect on the latent risk (log scale), and the
# log-odds loadings on (metabolic factor, frailty, household deprivation).
# Sources: Cuenta de Alto Costo 2022 (hypertension, diabetes, CKD, HIV, cancer), PREPOCOL
# (COPD in Bogotá), ENS 2007 and Encuesta Nacional de Salud Mental 2015 (mental health),
# Instituto Nacional de Salud (tuberculosis ~15 per 100,000 a year in Bogotá).
PREVALENCE: dict[str, tuple[tuple[float, ...], float, float, float, tuple[float, ...]]] = {
    "obesity": ((0.03, 0.08, 0.14, 0.13, 0.08), 1.4, 0.10, 0.10, (0.7, 0.0, 0.15)),
    "dyslipidemia": ((0.002, 0.04, 0.15, 0.25, 0.22), 1.2, 0.12, 0.05, (0.5, 0.0, 0.0)),
    "hypertension": ((0.002, 0.05, 0.20, 0.38, 0.52), 1.1, 0.10, 0.15, (0.6, 0.2, 0.1)),
    "diabetes": ((0.002, 0.015, 0.07, 0.16, 0.165), 1.0, 0.10, 0.35, (0.6, 0.2, 0.25)),
    "ckd": ((0.0005, 0.003, 0.015, 0.05, 0.11), 0.9, 0.15, 0.60, (0.5, 0.5, 0.15)),
    "ihd": ((0.0, 0.002, 0.02, 0.055, 0.09), 0.6, 0.15, 0.50, (0.5, 0.4, 0.0)),
    "cerebrovascular": ((0.0005, 0.001, 0.006, 0.02, 0.045), 0.9, 0.15, 0.50, (0.4, 0.5, 0.1)),
    "heart_failure": ((0.0005, 0.001, 0.006, 0.025, 0.065), 0.9, 0.15, 0.90, (0.4, 0.6, 0.0)),
    "copd": ((0.0, 0.002, 0.012, 0.05, 0.09), 0.9, 0.10, 0.60, (0.0, 0.5, 0.3)),
    "asthma": ((0.07, 0.035, 0.035, 0.04, 0.04), 1.2, 0.15, 0.25, (0.0, 0.2, 0.1)),
    "cancer": ((0.002, 0.006, 0.02, 0.045, 0.06), 1.1, 0.35, 0.90, (0.0, 0.4, 0.0)),
    "depression_anxiety": ((0.02, 0.07, 0.08, 0.07, 0.06), 2.0, 0.20, 0.25, (0.0, 0.3, 0.15)),
    "severe_mental": ((0.001, 0.012, 0.012, 0.008, 0.006), 0.9, 0.10, 0.40, (0.0, 0.3, 0.2)),
    "epilepsy": ((0.008, 0.009, 0.008, 0.008, 0.008), 1.0, 0.10, 0.30, (0.0, 0.3, 0.0)),
    "hiv": ((0.0003, 0.005, 0.004, 0.002, 0.0005), 0.25, 0.15, 0.50, (0.0, 0.2, 0.2)),
    "tb": ((0.0002, 0.0005, 0.0006, 0.0008, 0.0008), 0.5, 1.0, 0.90, (0.0, 0.3, 0.7)),
}
# Mexico (ENSANUT 2022; Secretaría de Salud, SINAVE): bands replaced, or prevalence multiplied.
MEXICO_PREVALENCE: dict[str, tuple[float, ...] | float] = {
    "hypertension": (0.002, 0.05, 0.19, 0.36, 0.48),
    "diabetes": (0.004, 0.035, 0.15, 0.28, 0.25),
    "obesity": (0.08, 0.22, 0.30, 0.25, 0.15),
    "ckd": (0.001, 0.005, 0.025, 0.08, 0.14),
    "copd": 0.6, "asthma": 0.6, "ihd": 0.8, "cancer": 0.7, "depression_anxiety": 0.6, "hiv": 0.6,
    "tb": 1.8,
}  # fmt: skip
# Log-odds loadings on conditions drawn before (only on those above it in PREVALENCE).
DEPENDS: dict[str, dict[str, float]] = {
    "hypertension": {"obesity": 0.6},
    "diabetes": {"obesity": 0.8, "hypertension": 0.4},
    "ckd": {"diabetes": 1.0, "hypertension": 0.8},
    "ihd": {"hypertension": 0.5, "diabetes": 0.5, "dyslipidemia": 0.5},
    "cerebrovascular": {"hypertension": 0.8, "diabetes": 0.3},
    "heart_failure": {"ihd": 1.2, "hypertension": 0.6},
    "tb": {"hiv": 2.5, "diabetes": 0.5},
}
CONDITIONS = tuple(PREVALENCE)
# Age-specific fertility (births per woman a year) by age [10, 15, 20, 25, 30, 35, 40, 45).
# bogota: DANE Estadísticas Vitales 2022 (TFR ~1.2); mexico: CONAPO 2024, Guerrero (TFR ~2.2).
FERTILITY_EDGES = np.array([10, 15, 20, 25, 30, 35, 40, 45, 50])
FERTILITY = {
    "bogota": np.array([0.001, 0.030, 0.065, 0.065, 0.057, 0.034, 0.009, 0.0005]),
    "mexico": np.array([0.003, 0.085, 0.125, 0.105, 0.070, 0.035, 0.010, 0.001]),
}
GESTATION_DAYS = 273
# Disability by age band (DANE CNPV 2018: ~7 % with a permanent difficulty, rising with age).
DISABILITY = (0.015, 0.025, 0.05, 0.10, 0.22)
HBA1C_MEAN = {"bogota": 7.2, "mexico": 8.0}  # % among diabetics (CAC 2022; ENSANUT 2022)


@dataclass(frozen=True)
class Health:
    """Per-person health state; days count from the start of the period."""

    onset: dict[str, np.ndarray]  # condition -> onset day (int32), NEVER if absent
    frailty: np.ndarray
    dm_control: np.ndarray  # standardised; higher is worse glycaemic control
    ckd_severity: np.ndarray
    anaemia: np.ndarray
    adherence: np.ndarray  # propensity to use preventive care
    disability: np.ndarray  # bool
    conception: np.ndarray  # int32 day, NEVER if no pregnancy
    delivery: np.ndarray  # int32 day, NEVER if no pregnancy


def age_band(age: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the band ``[edges[k], edges[k + 1])`` of each age; the first and last are open."""
    return np.clip(np.searchsorted(edges, age, side="right") - 1, 0, len(edges) - 1)


def _prevalence(profile: str, name: str) -> np.ndarray:
    bands = np.array(PREVALENCE[name][0])
    if profile == "mexico" and name in MEXICO_PREVALENCE:
        override = MEXICO_PREVALENCE[name]
        bands = np.array(override) if isinstance(override, tuple) else bands * override
    return np.clip(bands, 0.0, 0.9)


def _onset(has, incident, birth_day, end_day, rng) -> np.ndarray:
    """Onset day: before the period for most, uniform within it for a share ``incident``."""
    first = np.maximum(birth_day, 0)
    new = rng.random(len(has)) < incident
    day = first + np.floor(rng.random(len(has)) * (end_day + 1 - first)).astype("int32")
    day = np.where(new, day, np.maximum(birth_day, -1))
    return np.where(has, day, NEVER).astype("int32")


def _conditions(profile, band, male, dz, frailty, birth_day, end_day, rng) -> dict:
    metabolic = rng.standard_normal(len(band))
    sex = np.where(male, -0.5, 0.5)
    onset: dict[str, np.ndarray] = {}
    for name in CONDITIONS:
        _, odds, incident, _, (a, f, d) = PREVALENCE[name]
        z = sex * np.log(odds) + a * metabolic + f * frailty / FRAILTY_SD + d * dz
        for other, w in DEPENDS.get(name, {}).items():
            z = z + w * (onset[other] < NEVER)
        has = banded(_prevalence(profile, name), z, band, rng)
        onset[name] = _onset(has, incident, birth_day, end_day, rng)
    return onset


def fertility(profile: str, age: np.ndarray, male: np.ndarray, dz: np.ndarray) -> np.ndarray:
    """Yearly rate of conceptions (that go to term) of each person at ``age``."""
    idx = age_band(age, FERTILITY_EDGES)
    rate = np.where((idx < 8) & (age >= 10), FERTILITY[profile][np.minimum(idx, 7)], 0.0)
    return np.where(male, 0.0, rate * np.exp(0.25 * dz))


def _pregnancies(profile, age, male, dz, birth_day, end_day, rng):
    """At most one pregnancy per woman, conceived in [start - gestation, end]."""
    n = len(age)
    window = end_day + GESTATION_DAYS
    rate = fertility(profile, age - window / 2 / 365.25, male, dz)
    pregnant = rng.random(n) < 1 - np.exp(-rate * window / 365.25)
    conception = -GESTATION_DAYS + np.floor(rng.random(n) * window).astype("int32")
    pregnant &= conception >= birth_day + 13 * 365
    delivery = conception + GESTATION_DAYS + np.rint(rng.normal(0, 8, n)).astype("int32")
    return tuple(np.where(pregnant, day, NEVER).astype("int32") for day in (conception, delivery))


def build_health(profile, age, male, dz, birth_day, end_day, rng) -> Health:
    """Draw every person's health state (``age`` in years at the end of the period)."""
    n = len(age)
    frailty = rng.normal(0.0, FRAILTY_SD, n)
    band = age_band(age, AGE_BANDS)
    onset = _conditions(profile, band, male, dz, frailty, birth_day, end_day, rng)
    conception, delivery = _pregnancies(profile, age, male, dz, birth_day, end_day, rng)
    z = 0.8 * frailty / FRAILTY_SD + 0.3 * dz
    for name, w in (("cerebrovascular", 1.2), ("severe_mental", 1.5), ("epilepsy", 0.8)):
        z = z + w * (onset[name] < NEVER)
    disability = banded(DISABILITY, z, band, rng)
    return Health(
        onset=onset,
        frailty=frailty,
        dm_control=0.95 * rng.standard_normal(n) + 0.3 * dz,
        ckd_severity=rng.standard_normal(n) + 0.3 * frailty / FRAILTY_SD,
        anaemia=rng.standard_normal(n) + 0.35 * dz,
        adherence=rng.standard_normal(n),
        disability=disability,
        conception=conception,
        delivery=delivery,
    )
