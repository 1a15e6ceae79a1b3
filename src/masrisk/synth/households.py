"""Households and persons of the synthetic population: composition, deprivation, insurance.

Households are built from family types (one person, couple, nuclear, single parent,
extended, other) so that ages within a household are coherent: parents are 15-45 years
older than their children, grandparents a generation older than parents. A latent household
deprivation (territorial deprivation plus household noise) drives family type, the 15
deprivation indicators of the poverty index and the insurance regime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from masrisk.codes import MPI_INDICATORS
from masrisk.features.family import deprivation_weights
from masrisk.synth.geography import Geography
from masrisk.synth.targets import REGIME_SHARES

# Shares of households by type: alone, couple, nuclear, single parent, extended, other. bogota:
# DANE ECV 2021 and CNPV 2018 (one-person 18 %, nuclear with children ~33 %, single parent
# ~13 %, extended ~18 %); mexico: INEGI Censo 2020.
TYPE_SHARES = {
    "bogota": np.array([0.18, 0.13, 0.33, 0.13, 0.18, 0.05]),
    "mexico": np.array([0.11, 0.10, 0.42, 0.11, 0.23, 0.03]),
}
TYPE_DEPRIVATION = np.array([-0.25, -0.15, 0.0, 0.25, 0.2, 0.0])  # log-odds per SD
# Probabilities of 0..6 children by type (nuclear, single parent, extended).
# fmt: off
CHILDREN = {
    "bogota": np.array([[0, 0.46, 0.38, 0.12, 0.03, 0.007, 0.003],
                        [0, 0.58, 0.30, 0.09, 0.02, 0.007, 0.003],
                        [0.15, 0.35, 0.28, 0.13, 0.06, 0.02, 0.01]]),
    "mexico": np.array([[0, 0.32, 0.34, 0.20, 0.09, 0.03, 0.02],
                        [0, 0.46, 0.30, 0.15, 0.06, 0.02, 0.01],
                        [0.12, 0.28, 0.28, 0.18, 0.09, 0.03, 0.02]]),
}
# fmt: on
# Age of the youngest child living at home: probabilities of the bins [0, 6, 12, 18, 29, 41).
YOUNGEST_EDGES = np.array([0, 6, 12, 18, 29, 41])
YOUNGEST = {
    "bogota": np.array([0.26, 0.20, 0.21, 0.25, 0.08]),
    "mexico": np.array([0.40, 0.21, 0.20, 0.16, 0.03]),
}
# Ages of heads without children at home: shares under 40 and 40-59 (the rest 60+), for
# one-person households and couples.
ADULT_AGES = {
    "bogota": {"alone": (0.28, 0.30), "couple": (0.40, 0.25)},
    "mexico": {"alone": (0.18, 0.20), "couple": (0.26, 0.18)},
}
MOTHER_AGE = {"bogota": (26.0, 5.0), "mexico": (23.0, 5.0)}  # age at first birth, mean and SD
SLOTS = 10  # head, spouse, 6 children, 2 elders
# Deprivation indicators: prevalence among households (among eligible households for the
# childhood ones) by profile and zone, and the loading on the latent deprivation (log-odds per
# SD). Sources: DANE, Pobreza multidimensional 2022 (Bogotá cabecera; centros poblados y rural
# disperso); for Mexico, CONEVAL carencias sociales 2022, Guerrero.
#                     bogota urban, rural, mexico urban, rural, loading
DEPRIVATION = {
    "dep_low_educational_attainment": (0.26, 0.78, 0.38, 0.72, 2.9),
    "dep_illiteracy": (0.02, 0.16, 0.06, 0.20, 2.9),
    "dep_school_non_attendance": (0.03, 0.08, 0.06, 0.12, 2.6),
    "dep_school_lag": (0.15, 0.35, 0.22, 0.35, 2.4),
    "dep_early_childhood_care_barriers": (0.06, 0.12, 0.15, 0.30, 2.4),
    "dep_child_labour": (0.015, 0.05, 0.06, 0.15, 2.6),
    "dep_long_term_unemployment": (0.14, 0.06, 0.09, 0.08, 2.0),
    "dep_informal_work": (0.68, 0.92, 0.76, 0.92, 2.4),
    "dep_no_health_insurance": (np.nan, np.nan, 0.35, 0.45, 1.8),
    "dep_health_access_barriers": (0.05, 0.15, 0.20, 0.40, 2.2),
    "dep_no_improved_water": (0.004, 0.45, 0.06, 0.35, 2.9),
    "dep_inadequate_excreta_disposal": (0.01, 0.30, 0.06, 0.30, 2.9),
    "dep_inadequate_floors": (0.008, 0.22, 0.05, 0.20, 3.0),
    "dep_inadequate_exterior_walls": (0.005, 0.08, 0.03, 0.10, 3.0),
    "dep_critical_overcrowding": (0.05, 0.15, 0.10, 0.20, 2.2),
}
# Ages of the children that make a household eligible for each childhood indicator.
CHILD_AGES = {
    "dep_school_non_attendance": (6, 16),
    "dep_school_lag": (7, 17),
    "dep_early_childhood_care_barriers": (0, 5),
    "dep_child_labour": (12, 17),
}
# Insurers (EPS) by regime in Bogotá (Superintendencia de Salud / ADRES, 2024, approximate).
# fmt: off
INSURERS = {
    "contributivo": {"Compensar": 0.25, "Sanitas": 0.20, "Salud Total": 0.13, "Sura": 0.13,
                     "Famisanar": 0.12, "Nueva EPS": 0.11, "Aliansalud": 0.04, "Coosalud": 0.01,
                     "Capital Salud": 0.01},
    "subsidiado": {"Capital Salud": 0.72, "Nueva EPS": 0.08, "Famisanar": 0.07, "Compensar": 0.05,
                   "Salud Total": 0.04, "Coosalud": 0.04},
    "especial": {"FOMAG (Magisterio)": 0.55, "Sanidad Militar": 0.25, "Sanidad Policía": 0.15,
                 "Ecopetrol": 0.05},
    "no_afiliado": {"NINGUNA": 1.0},
    "sin_seguridad_social": {"IMSS-BIENESTAR": 1.0},
}
# fmt: on
UNINSURED_MEMBER_SHARE = 0.6  # of members in a household with uninsured members


@dataclass(frozen=True)
class People:
    """Households and persons as arrays; persons are grouped by household, in order."""

    hh_territory: np.ndarray  # int64 index into Geography arrays
    hh_dz: np.ndarray  # latent deprivation, standardised within zone
    hh_flags: np.ndarray  # (households, 15) int8, columns in MPI_INDICATORS order
    hh_score: np.ndarray  # weighted deprivation (Alkire-Foster)
    hh_type: np.ndarray  # index into TYPE_SHARES
    hh_size: np.ndarray
    household: np.ndarray  # per person: index of the household
    age: np.ndarray  # per person: age in years at the end of the period
    male: np.ndarray  # bool
    insurer: np.ndarray  # index into insurer_names
    regime: np.ndarray  # index into regime_names
    insurer_names: tuple[str, ...]
    regime_names: tuple[str, ...]


def calibrated_probability(target: float, z: np.ndarray, weights=None) -> np.ndarray:
    """Probabilities ``sigmoid(a + z - mean(z))`` whose mean is close to ``target``.

    Uses the probit approximation of the logistic-normal mean: with ``z`` of variance s2,
    ``E[sigmoid(a + z)] ~ sigmoid(a / sqrt(1 + pi s2 / 8))``.
    """
    z = np.asarray(z, dtype="float64")
    mean = np.average(z, weights=weights)
    var = np.average((z - mean) ** 2, weights=weights)
    a = np.log(target / (1 - target)) * np.sqrt(1 + np.pi * var / 8)
    return 1 / (1 + np.exp(-(a + z - mean)))


def banded(target, z: np.ndarray, band: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli draws with prevalence ``target[band]`` in each band, shifted by ``z``."""
    out = np.zeros(len(z), dtype=bool)
    for b, t in enumerate(target):
        sel = np.flatnonzero(band == b)
        if len(sel) and t > 0:
            out[sel] = rng.random(len(sel)) < calibrated_probability(t, z[sel])
    return out


def _household_types(profile: str, dz: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p = np.exp(np.log(TYPE_SHARES[profile]) + TYPE_DEPRIVATION * dz[:, None])
    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    return (rng.random(len(dz))[:, None] > cum).sum(axis=1).clip(0, 5).astype("int8")


def _adult_age(rng: np.random.Generator, n: int, young: float, middle: float) -> np.ndarray:
    u = rng.random(n)
    under_40, under_60 = rng.uniform(18, 40, n), rng.uniform(40, 60, n)
    older = np.minimum(60 + rng.exponential(9.0, n), 100.0)
    return np.where(u < young, under_40, np.where(u < young + middle, under_60, older))


def _compose(profile: str, kind: np.ndarray, rng: np.random.Generator):
    """Ages (NaN where a slot is empty) and sexes of every household's members."""
    h = len(kind)
    age = np.full((h, SLOTS), np.nan)
    male = np.zeros((h, SLOTS), dtype=bool)
    # children: youngest child's age, then older siblings 1-8 years apart
    cum = np.cumsum(CHILDREN[profile][np.clip(kind - 2, 0, 2)], axis=1)
    k = (rng.random(h)[:, None] > cum).sum(axis=1)
    k = np.where(np.isin(kind, (2, 3, 4)), k, 0)
    k = np.where(kind == 5, rng.integers(1, 4, h), k)  # other: 1-3 unrelated adults
    bins = rng.choice(len(YOUNGEST[profile]), size=h, p=YOUNGEST[profile])
    youngest = rng.uniform(YOUNGEST_EDGES[bins], YOUNGEST_EDGES[bins + 1])
    gaps = 1 + rng.gamma(2.0, 1.3, (h, 6))
    children = youngest[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]
    children = np.where(kind[:, None] == 5, rng.uniform(18, 50, (h, 6)), children)
    age[:, 2:8] = np.where(np.arange(6)[None, :] < k[:, None], children, np.nan)
    male[:, 2:8] = rng.random((h, 6)) < 0.512
    oldest = np.where(k > 0, children[np.arange(h), np.maximum(k - 1, 0)], np.nan)
    mother = oldest + np.clip(rng.normal(*MOTHER_AGE[profile], h), 15, 42)
    father = np.maximum(mother + rng.normal(3, 4, h), 18)
    # heads of households without children of their own
    alone = _adult_age(rng, h, *ADULT_AGES[profile]["alone"])
    couple = _adult_age(rng, h, *ADULT_AGES[profile]["couple"])
    adult_child = rng.uniform(22, 55, h)
    no_kids = k == 0
    spouse = (kind == 1) | (kind == 2) | ((kind == 4) & (rng.random(h) < 0.65))
    lone_parent = (kind == 3) | ((kind == 4) & ~spouse & ~no_kids)
    head = np.select(
        [kind == 0, kind == 1, kind == 5, no_kids, lone_parent],
        [alone, couple, rng.uniform(18, 50, h), adult_child, mother],
        father,
    )
    age[:, 0] = head
    partner = np.maximum(head + rng.normal(-2, 4, h), 18)
    age[:, 1] = np.where(spouse, np.where(no_kids, partner, mother), np.nan)
    u = rng.random(h)
    head_male = np.select(
        [kind == 0, lone_parent, (kind == 5) | ((kind == 4) & no_kids)],
        [u < np.where(head < 60, 0.48, 0.35), u < 0.15, u < 0.5],
        True,
    )
    male[:, 0] = head_male
    male[:, 1] = ~head_male
    # grandparents of extended households
    n_elders = np.where(kind == 4, 1 + (rng.random(h) < 0.45), 0)
    parent = np.fmax(age[:, 0], age[:, 1])
    elder = np.clip(parent[:, None] + rng.normal(27, 5, (h, 2)), 45, 100)
    age[:, 8:10] = np.where(np.arange(2)[None, :] < n_elders[:, None], elder, np.nan)
    male[:, 8] = rng.random(h) < 0.42
    male[:, 9] = ~male[:, 8]
    age = np.where(np.isnan(age), np.nan, np.clip(age, 0, 104))
    return age, male


def _territories(geo: Geography, n: int, rng: np.random.Generator) -> np.ndarray:
    """Every territory gets at least one household; the rest follow population weights."""
    n_terr = len(geo.ids)
    rest = rng.choice(n_terr, size=n - n_terr, p=geo.weight)
    return np.concatenate([rng.permutation(n_terr), rest])


def _standardise_within(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    for g in np.unique(group):
        sel = group == g
        out[sel] = (values[sel] - values[sel].mean()) / max(values[sel].std(), 1e-9)
    return out


def _trim(age: np.ndarray, persons: int) -> np.ndarray:
    """Keep the first households up to exactly ``persons`` members (the last one cut short)."""
    size = (~np.isnan(age)).sum(axis=1)
    cum = np.cumsum(size)
    last = int(np.searchsorted(cum, persons))
    if last >= len(age):
        raise RuntimeError("not enough households drawn")  # pragma: no cover
    age = age[: last + 1].copy()
    keep = persons - (cum[last] - size[last])
    age[last, np.flatnonzero(~np.isnan(age[last]))[keep:]] = np.nan
    return age


def _flags(
    profile: str, dz: np.ndarray, rural: np.ndarray, age: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draw the 15 deprivation indicators, calibrated to their prevalence by zone."""
    size = (~np.isnan(age)).sum(axis=1)
    col = 0 if profile == "bogota" else 2
    flags = np.zeros((len(dz), len(MPI_INDICATORS)), dtype="int8")
    for j, name in enumerate(MPI_INDICATORS):
        *targets, loading = DEPRIVATION[name][col : col + 2] + DEPRIVATION[name][4:]
        if np.isnan(targets[0]):
            continue  # derived from the persons' insurance
        z = loading * dz + (0.5 * (size - 3) if name == "dep_critical_overcrowding" else 0)
        zone = rural.astype("int8")
        if name in CHILD_AGES:  # ineligible households are in no zone
            low, high = CHILD_AGES[name]
            zone = np.where(((age >= low) & (age < high + 1)).any(axis=1), zone, -1)
        flags[:, j] = banded(targets, z, zone, rng)
    return flags


def deprivation_score(flags: np.ndarray) -> np.ndarray:
    """Weighted deprivation of the Alkire-Foster method: 0.2 per dimension, split equally."""
    return flags @ np.array(list(deprivation_weights().values()))


def _insurance(
    profile: str, dz: np.ndarray, rural: np.ndarray, household: np.ndarray, size: np.ndarray, rng
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Regime and insurer per person, households with uninsured members, the insurers' names."""
    shares = REGIME_SHARES[profile]
    regimes = tuple(shares)
    h = len(dz)
    uninsured_h = np.zeros(h, dtype=bool)
    hh_regime = np.zeros(h, dtype="int64")
    if profile == "bogota":
        subsidised = shares["subsidiado"] / (1 - shares["no_afiliado"])
        sub = rng.random(h) < calibrated_probability(subsidised, 1.4 * dz + 2 * rural, size)
        special = shares["especial"] / (shares["contributivo"] + shares["especial"])
        esp = ~sub & (rng.random(h) < calibrated_probability(special, -0.6 * dz, size))
        hh_regime = np.where(sub, 1, np.where(esp, 2, 0))
        member = UNINSURED_MEMBER_SHARE + (1 - UNINSURED_MEMBER_SHARE) / size
        target = shares["no_afiliado"] / np.average(member, weights=size)
        uninsured_h = rng.random(h) < calibrated_probability(target, 1.0 * dz + rural, size)
    names = tuple(dict.fromkeys(n for r in regimes for n in INSURERS[r]))
    hh_insurer = np.zeros(h, dtype="int64")
    for r, regime in enumerate(regimes):
        sel = np.flatnonzero(hh_regime == r)
        table = INSURERS[regime]
        pick = rng.choice(len(table), size=len(sel), p=np.array(list(table.values())))
        hh_insurer[sel] = np.array([names.index(n) for n in table])[pick]
    first = np.r_[True, household[1:] != household[:-1]]
    no_cover = uninsured_h[household] & (first | (rng.random(len(household)) < 0.6))
    none = regimes.index("no_afiliado") if no_cover.any() else 0
    regime = np.where(no_cover, none, hh_regime[household]).astype("int8")
    nobody = names.index("NINGUNA") if no_cover.any() else 0
    insurer = np.where(no_cover, nobody, hh_insurer[household]).astype("int16")
    return regime, insurer, uninsured_h, names


def build_people(profile: str, geo: Geography, persons: int, rng: np.random.Generator) -> People:
    """Households and their members, exactly ``persons`` persons, grouped by territory."""
    n = persons // 2 + len(geo.ids) + 100  # more than enough: households average > 2 persons
    terr = _territories(geo, n, rng)
    dz = _standardise_within(geo.deprivation[terr] + rng.standard_normal(n), geo.rural[terr])
    kind = _household_types(profile, dz, rng)
    age, male = _compose(profile, kind, rng)
    age = _trim(age, persons)
    h = len(age)
    order = np.argsort(terr[:h], kind="stable")
    age, male, terr, dz, kind = (x[:h][order] for x in (age, male, terr, dz, kind))
    rural = geo.rural[terr]
    flags = _flags(profile, dz, rural, age, rng)
    present = ~np.isnan(age)
    size = present.sum(axis=1)
    household, slot = np.nonzero(present)
    regime, insurer, uninsured_h, insurers = _insurance(profile, dz, rural, household, size, rng)
    if profile == "bogota":
        flags[:, list(MPI_INDICATORS).index("dep_no_health_insurance")] = uninsured_h
    return People(
        hh_territory=terr.astype("int64"),
        hh_dz=dz,
        hh_flags=flags,
        hh_score=deprivation_score(flags),
        hh_type=kind,
        hh_size=size,
        household=household.astype("int64"),
        age=age[household, slot],
        male=male[household, slot],
        insurer=insurer,
        regime=regime,
        insurer_names=insurers,
        regime_names=tuple(REGIME_SHARES[profile]),
    )
