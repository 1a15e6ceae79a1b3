"""The latent risk that drives emergency visits, admissions and deaths, and its rates.

Each person's latent risk on the log-odds (log-rate) scale is ``L = I + F + T``:

* ``I``, individual: age (the admission age profile), sex, chronic conditions active in the
  period, glycaemic control of diabetics, CKD severity, pregnancy, disability and a personal
  frailty that nothing observes directly (only its consequences: past use of services);
* ``F``, family: weighted household deprivation, older adult living alone, critical
  overcrowding, single caregiver, household size, and a small household effect;
* ``T``, territorial: territorial deprivation and an independent Gaussian field over
  neighbouring territories, rurality and distance to the nearest level-1 facility.

Stream ``s`` (emergency, hospitalization, death) has the yearly Poisson rate
``exp(alpha_s + age_s(age, sex) + CAP * tanh(z_s / CAP))`` with
``z_s = gamma_s * w(age) * (L - a(age)) - c_s[band]``: its own age profile ``age_s``, the
latent risk beyond age ``a(age)`` weighted by ``w(age)`` (relative risks attenuate with age),
centred by ``c_s`` within each age band so that each band keeps the
stream's age profile, and softly capped so that no one's rate exceeds ``exp(CAP)`` times the
band's. ``alpha_s`` is calibrated so that the yearly rates meet
:data:`masrisk.synth.targets.YEARLY_RATES` in the middle year of the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from masrisk.codes import icd10_matches
from masrisk.synth.health import CONDITIONS, PREVALENCE, Health, age_band
from masrisk.synth.targets import FAMILY_SD, TERRITORIAL_SD, YEARLY_RATES
from masrisk.synth.vocabulary import GROUP_AGE_EDGES, GROUPS

STREAMS = ("emergency", "hospitalization", "death")
GAMMA = np.array([0.8, 1.0, 1.1])  # weight of the latent risk in each stream
AGE_KNOTS = np.array([0, 1, 2, 5, 15, 25, 45, 60, 70, 80, 90, 105])
# Log relative rates by age. Admissions (also the age term of the latent risk) and emergency
# visits: SISPRO/RIPS utilisation by age, Colombia; U-shaped, high in infants and old age.
HOSPITAL_AGE = np.array([1.3, 0.5, 0.1, -0.4, -0.6, -0.5, -0.3, 0.2, 0.6, 1.0, 1.3, 1.4])
EMERGENCY_AGE = np.array([0.9, 0.9, 0.6, 0.2, -0.1, 0.1, -0.1, 0.0, 0.2, 0.5, 0.7, 0.7])
# Mortality by age, both sexes (DANE life tables for Bogotá, 2018-2020, approximate) and the
# log excess of men (largest at 15-35, violence and road traffic).
MORTALITY_KNOTS = np.array([0, 1, 5, 15, 25, 35, 45, 55, 65, 75, 85, 95, 105])
MORTALITY = np.array(
    [0.0095, 0.0004, 0.00015, 0.0004, 0.0012, 0.0014, 0.0025, 0.0055, 0.012, 0.03, 0.08, 0.2, 0.35]
)
MALE_KNOTS = np.array([0, 15, 20, 35, 50, 105])
MALE_MORTALITY = np.array([0.15, 0.4, 1.1, 0.9, 0.45, 0.25])
CENTRE_BANDS = np.array([0, 1, 5, 18, 45, 60, 70, 80])
BETA = {"male": 0.1, "dm_control": 0.3, "ckd_severity": 0.3, "pregnancy": 1.0, "disability": 0.4}
DELIVERY_RECORDED = 0.95  # share of deliveries that appear as an admission
CAP = 4.0  # soft cap of the latent risk's effect on a rate: at most exp(4) times the band mean
# Relative risks attenuate with age (a risk factor multiplies an old person's rate less than a
# young adult's, e.g. the Prospective Studies Collaboration on blood pressure): the weight of
# the latent risk by age. It makes risk factors interact with age, as in real records.
ATTENUATION_KNOTS = np.array([0, 45, 85])
ATTENUATION = np.array([1.2, 1.2, 0.7])


def standardised(x: np.ndarray, sd: float) -> np.ndarray:
    """Rescale ``x`` to mean 0 and standard deviation ``sd``."""
    return sd * (x - x.mean()) / max(float(x.std()), 1e-12)


@dataclass
class LatentRisk:
    """Per-person inputs of the latent risk, calibrated intercepts and centrings."""

    age_end: np.ndarray
    male: np.ndarray
    end_day: int
    health: Health
    family: np.ndarray
    territorial: np.ndarray
    alpha: np.ndarray = field(default_factory=lambda: np.zeros(3))
    centre: np.ndarray = field(default_factory=lambda: np.zeros((3, len(CENTRE_BANDS))))
    cv_scale: float = 1.0

    def state(self, sel, lo: int, hi: int) -> tuple[np.ndarray, dict, np.ndarray]:
        """Age at the middle of [lo, hi), active fraction of each condition, pregnancy."""
        h = self.health
        age = self.age_end[sel] - (self.end_day - (lo + hi) / 2) / 365.25
        act = {c: np.clip((hi - h.onset[c][sel]) / (hi - lo), 0, 1) for c in CONDITIONS}
        start = np.maximum(h.conception[sel], lo)
        preg = np.clip(np.minimum(h.delivery[sel], hi) - start, 0, None) / (hi - lo)
        return age, act, preg

    def individual(self, sel, age, act, preg) -> np.ndarray:
        """Return the individual part ``I`` of the latent risk."""
        h = self.health
        rest = BETA["male"] * self.male[sel] + h.frailty[sel]
        rest = rest + BETA["disability"] * h.disability[sel] + BETA["pregnancy"] * preg
        for c in CONDITIONS:
            rest = rest + PREVALENCE[c][3] * act[c]
        rest = rest + BETA["dm_control"] * h.dm_control[sel] * act["diabetes"]
        rest = rest + BETA["ckd_severity"] * h.ckd_severity[sel] * act["ckd"]
        return np.interp(np.maximum(age, 0), AGE_KNOTS, HOSPITAL_AGE) + rest

    def excess(self, sel, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        """Age (at least 0), its centring band, the weighted latent risk beyond age, and ``I``."""
        age, act, preg = self.state(sel, lo, hi)
        indiv = self.individual(sel, age, act, preg)
        a = np.maximum(age, 0)
        excess = indiv - np.interp(a, AGE_KNOTS, HOSPITAL_AGE)
        weight = np.interp(a, ATTENUATION_KNOTS, ATTENUATION)
        excess = (excess + self.family[sel] + self.territorial[sel]) * weight
        return a, np.searchsorted(CENTRE_BANDS, a, side="right") - 1, excess, indiv

    def log_rates(self, sel, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Log yearly rates (3, n) of the streams in [lo, hi), and the individual part."""
        a, band, excess, indiv = self.excess(sel, lo, hi)
        shape = np.stack(
            [
                np.interp(a, AGE_KNOTS, EMERGENCY_AGE),
                np.interp(a, AGE_KNOTS, HOSPITAL_AGE),
                np.interp(a, MORTALITY_KNOTS, np.log(MORTALITY))
                + self.male[sel] * np.interp(a, MALE_KNOTS, MALE_MORTALITY),
            ]
        )
        z = GAMMA[:, None] * excess[None, :] - self.centre[:, band]
        return self.alpha[:, None] + shape + CAP * np.tanh(z / CAP), indiv

    def weights(self, stream: int, sel, lo: int, hi: int) -> np.ndarray:
        """Weights (n, groups) of the diagnosis groups of ``stream`` for persons ``sel``."""
        age, act, preg = self.state(sel, lo, hi)
        band = age_band(age, GROUP_AGE_EDGES)
        male = self.male[sel]
        out = np.empty((len(age), len(GROUPS)))
        for g, group in enumerate(GROUPS):
            w = group.base[stream] * np.asarray(group.age)[band] * np.where(male, group.male, 1)
            for c, m in group.conditions.items():
                w = w * (1 + (m - 1) * act[c])
            if group.name == "diabetes":
                w = w * np.exp(0.5 * self.health.dm_control[sel] * act["diabetes"])
            if group.name in ("ihd", "cerebrovascular"):
                w = w * self.cv_scale
            out[:, g] = w + group.pregnancy[stream] * preg
        return out


def family_part(people, rng: np.random.Generator) -> np.ndarray:
    """Return the family part ``F`` per person, scaled to :data:`FAMILY_SD`."""
    hh = people.household
    size = people.hh_size[hh]
    elder_alone = (size == 1) & (people.age >= 60)
    crowding = people.hh_flags[hh, -1]
    single = people.hh_type[hh] == 3
    noise = rng.standard_normal(len(people.hh_size))[hh]
    raw = 1.6 * people.hh_score[hh] + 0.35 * elder_alone + 0.2 * crowding + 0.2 * single
    raw = raw + 0.05 * (size - 3) + 0.1 * noise
    return standardised(raw, FAMILY_SD)


def territorial_part(geo, people) -> np.ndarray:
    """Return the territorial part ``T`` per person, scaled to :data:`TERRITORIAL_SD`."""
    terr = people.hh_territory[people.household]
    dep = geo.deprivation[terr]
    access = np.log1p(geo.access_km[terr])
    raw = 0.7 * (dep - dep.mean()) / dep.std() + 0.3 * geo.health_field[terr]
    raw = raw + 0.35 * (access - access.mean()) / max(access.std(), 1e-9) + 0.35 * geo.rural[terr]
    return standardised(raw, TERRITORIAL_SD)


def in_outcome(stream: int, ranges: tuple[str, ...]) -> np.ndarray:
    """Which diagnosis groups of ``stream`` fall in the ICD-10 ``ranges`` (all, if none)."""
    name = STREAMS[stream]
    out = []
    for group in GROUPS:
        inside = {icd10_matches(c, ranges) for c in getattr(group, name)} if ranges else {True}
        if len(inside) > 1:
            raise AssertionError(f"group {group.name} straddles {ranges}")  # pragma: no cover
        out.append(inside.pop())
    return np.array(out)


def first_event(rate, stop):
    """Probability of an event at ``rate`` within a year before a competing ``stop`` event."""
    total = rate + stop
    return rate / total * -np.expm1(-total)


def _survival(model: LatentRisk, slices, upto: int, birth: np.ndarray) -> np.ndarray:
    """Probability of being alive at the start of slice ``upto``, under the current model."""
    log_surv = np.zeros(len(birth))
    everyone = np.arange(len(birth))
    for lo, hi in slices[:upto]:
        mu = np.exp(model.log_rates(everyone, lo, hi)[0][2])
        log_surv -= mu * np.maximum(hi - np.maximum(birth, lo), 0) / 365.25
    return np.exp(log_surv)


def _weighted_root(probability, target: float, weight, low=-30.0, high=30.0) -> float:
    """Log-scale ``x`` at which the weighted mean of ``probability(exp(x))`` is ``target``."""
    for _ in range(34):  # bisection (probability increases with x), to 4e-9 on the log scale
        mid = (low + high) / 2
        mean = float(np.average(probability(np.exp(mid)), weights=weight))
        low, high = (mid, high) if mean - target < 0 else (low, mid)
    return (low + high) / 2


def _centre(model: LatentRisk, sel: np.ndarray, lo: int, hi: int) -> None:
    """Centre the latent risk beyond age within each age band (see the module docstring)."""
    _, band, excess, _ = model.excess(sel, lo, hi)
    counts = np.maximum(np.bincount(band, minlength=len(CENTRE_BANDS)), 1)
    means = np.bincount(band, excess, minlength=len(CENTRE_BANDS)) / counts
    model.centre[:] = GAMMA[:, None] * means[None, :]


def calibrate(model: LatentRisk, profile: str, slices, birth: np.ndarray) -> None:
    """Set intercepts, age-band centrings and the cardiovascular scale to meet the targets.

    Calibrated on the middle year of ``slices``, over the persons born before it, each
    weighted by their probability of being alive at its start, with the same
    competing-risk probabilities the truth uses, so that the share of persons alive at the
    start of a year with at least one event in it meets :data:`YEARLY_RATES`.
    """
    targets = YEARLY_RATES[profile]
    mid = len(slices) // 2
    lo, hi = slices[mid]
    sel = np.flatnonzero(birth < lo)
    _centre(model, sel, lo, hi)
    rate = np.exp(model.log_rates(sel, lo, hi)[0])

    def dies(k: float) -> np.ndarray:
        return -np.expm1(-k * rate[2])

    # survival depends on mortality and mortality's target on survival: calibrate twice
    model.alpha[2] = _weighted_root(dies, targets["mortality"], np.ones(len(sel)))
    weight = _survival(model, slices, mid, birth)[sel]
    model.alpha[2] = _weighted_root(dies, targets["mortality"], weight)
    mu = np.exp(model.alpha[2]) * rate[2]
    h = model.health
    q = DELIVERY_RECORDED * ((h.delivery[sel] >= lo) & (h.delivery[sel] < hi))
    model.alpha[0] = _weighted_root(
        lambda k: first_event(k * rate[0], mu), targets["emergency"], weight
    )
    model.alpha[1] = _weighted_root(
        lambda k: 1 - (1 - q) * (1 - first_event(k * rate[1], mu)),
        targets["hospitalization"],
        weight,
    )
    rate = rate * np.exp(model.alpha)[:, None]
    parts = []
    for s in range(3):
        w = model.weights(s, sel, lo, hi)
        cv = in_outcome(s, ("I20-I25", "I60-I69"))
        parts.append((rate[s], w[:, cv].sum(axis=1), w[:, ~cv].sum(axis=1)))

    def cardiovascular(k: float) -> np.ndarray:
        shares = [k * c / (k * c + o) for _, c, o in parts]
        qualifying = sum(r * f for (r, _, _), f in zip(parts, shares, strict=True))
        return first_event(qualifying, mu * (1 - shares[2]))

    x = _weighted_root(cardiovascular, targets["cardiovascular"], weight, low=-6.0, high=6.0)
    model.cv_scale = float(np.exp(x))
