"""Lab tests, vaccinations and screenings of the synthetic population.

Preventive care follows Colombia's RIAS and PAI (``codes.VACCINE_SCHEDULE``,
``codes.SCREENING_TARGETS``); coverage falls with household deprivation and rurality and
rises with a personal adherence, so care gaps concentrate where risk is high.
"""

from __future__ import annotations

import numpy as np

from masrisk.codes import SCREENING_TARGETS, VACCINE_SCHEDULE
from masrisk.synth.events import YEAR, Context, Events, inside, window
from masrisk.synth.health import HBA1C_MEAN, NEVER
from masrisk.synth.targets import FRAILTY_SD

# Coverage of each childhood dose (Ministerio de Salud, PAI coverage 2023: Bogotá ~90 % for
# the third pentavalent dose; Mexico, CeNSIA 2023 ~80 %), falling slightly with each dose.
COVERAGE = {"bogota": 0.92, "mexico": 0.82}
NOT_IN_SCHEDULE = {"bogota": set(), "mexico": {"YF", "VARICELLA", "HEPA"}}
FLU_60 = {"bogota": 0.55, "mexico": 0.45}  # yearly influenza coverage at 60+
HPV = {"bogota": 0.55, "mexico": 0.70}  # girls 9-17 with at least one dose
COVID = {"bogota": 0.85, "mexico": 0.78}  # persons 12+ with a first dose in 2021
# Share of each target population screened within the recommended interval (Secretaría
# Distrital de Salud de Bogotá, Observatorio de Salud, 2022, approximate).
UPTAKE = {
    "CERVICAL_CYTOLOGY": 0.75, "HPV_TEST": 0.60, "MAMMOGRAPHY": 0.55, "PSA": 0.50, "FIT": 0.35,
    "BP_SCREENING": 0.60, "DIABETES_RISK": 0.35, "GROWTH_DEVELOPMENT": 0.80,
}  # fmt: skip
UPTAKE_MEXICO = 0.75  # relative to Bogotá


def _uptake(share: float, shift: np.ndarray) -> np.ndarray:
    """Probabilities with the log-odds of ``share`` plus ``shift``."""
    return 1 / (1 + np.exp(-(float(np.log(share / (1 - share))) + shift)))


class _Results:
    """Lab results of persons ``pid`` on ``day`` (``n`` of them), from their health state."""

    def __init__(self, ctx: Context) -> None:
        self.ctx, self.h, self.rng = ctx, ctx.health, ctx.rng
        self.a1c = HBA1C_MEAN[ctx.profile] + 1.3 * ctx.health.dm_control

    def active(self, name, pid, day):
        return self.h.onset[name][pid] <= day

    def creatinine(self, pid, day, n):
        base = np.where(self.ctx.male[pid], 0.92, 0.72) * np.exp(self.rng.normal(0, 0.12, n))
        base = base * (1 + 0.006 * np.maximum(self.ctx.age_at(pid, day) - 40, 0))
        ckd = np.exp(0.55 + 0.35 * self.h.ckd_severity[pid])
        return base * np.where(self.active("ckd", pid, day), ckd, 1.0)

    def haemoglobin(self, pid, day, n):
        base = np.where(self.ctx.male[pid], 15.2, 13.4)
        base = np.where(self.ctx.age_at(pid, day) < 12, 12.0, base)
        base = base - 0.6 * self.h.anaemia[pid] + self.rng.normal(0, 0.6, n)
        return base - 1.5 * self.active("ckd", pid, day)

    def glucose(self, pid, day, n):
        diabetic = 28.7 * self.a1c[pid] - 46.7 + self.rng.normal(0, 25, n)
        value = np.where(self.active("diabetes", pid, day), diabetic, self.rng.normal(92, 9, n))
        return np.clip(value, 50, 500)

    def ldl(self, pid, day, n):
        high = self.active("dyslipidemia", pid, day)
        value = np.where(high, self.rng.normal(150, 35, n), self.rng.normal(118, 28, n))
        return np.clip(value, 40, 350)

    def a1c_diabetic(self, pid, day, n):
        return np.clip(self.a1c[pid] + self.rng.normal(0, 0.4, n), 4.5, 15)

    def a1c_normal(self, pid, day, n):
        return np.clip(self.rng.normal(5.5, 0.35, n), 4.0, 6.4)

    def albumin(self, pid, day, n):
        log = np.log(20) + 0.5 * self.h.dm_control[pid] + 1.2 * self.active("ckd", pid, day)
        return self.rng.lognormal(log, 0.8)

    def tsh(self, pid, day, n):
        return self.rng.lognormal(np.log(2.2), 0.5, n)

    def cd4(self, pid, day, n):
        mean = 550 - 120 * self.h.frailty[pid] / FRAILTY_SD
        return np.clip(self.rng.normal(mean, 180), 20, 1500)


def labs(ctx: Context, events: Events) -> None:
    """Lab tests with numeric results: frequent in chronic patients, rare otherwise."""
    age, male, onset = ctx.age_end, ctx.male, ctx.health.onset
    r = _Results(ctx)
    dm = onset["diabetes"] < NEVER
    chronic = np.minimum(np.minimum(onset["hypertension"], onset["diabetes"]), onset["ckd"])
    lipid = (onset["dyslipidemia"] < NEVER) | (onset["ihd"] < NEVER) | dm
    ckd = onset["ckd"] < NEVER
    hb = ((age >= 0.5) & (age < 6)) | (~male & (age >= 15) & (age < 50)) | (age >= 60) | ckd
    hb_rate = np.where(ckd, 1.0, np.where(age < 6, 0.4, np.where(age >= 60, 0.15, 0.08)))
    specs = (  # code, who, from when, tests a year, results
        ("HBA1C", dm, onset["diabetes"], 2.5, r.a1c_diabetic),
        ("HBA1C", ~dm & (age >= 45), 0, 0.05, r.a1c_normal),
        ("CREATININA", chronic < NEVER, chronic, 1.2, r.creatinine),
        ("CREATININA", (chronic == NEVER) & (age >= 40), 0, 0.15, r.creatinine),
        ("LDL", lipid, 0, 1.0, r.ldl),
        ("LDL", ~lipid & (age >= 30), 0, 0.12, r.ldl),
        ("GLUCOSA", dm, onset["diabetes"], 1.0, r.glucose),
        ("GLUCOSA", ~dm & (age >= 18), 0, 0.25, r.glucose),
        ("HEMOGLOBINA", hb, 0, hb_rate, r.haemoglobin),
        ("MICROALBUMINURIA", dm, onset["diabetes"], 0.7, r.albumin),
        ("TSH", age >= 18, 0, 0.04, r.tsh),
        ("CD4", onset["hiv"] < NEVER, onset["hiv"], 2.0, r.cd4),
    )
    for code, mask, start, rate, value in specs:
        idx = np.flatnonzero(mask)
        lo = np.maximum(start, ctx.first)[idx]
        pid, day = window(ctx.rng, (rate * ctx.care)[idx], lo, ctx.last[idx], idx)
        events.add(pid, day, "lab", ctx.book.code(code), value(pid, day, len(pid)))


def vaccines(ctx: Context, events: Events, slices) -> None:
    """Childhood schedule, yearly influenza at 60+, HPV for girls and COVID-19 in 2021-2022."""
    rng, book, profile = ctx.rng, ctx.book, ctx.profile
    z = 0.6 * ctx.health.adherence - 0.5 * ctx.dz - 0.5 * ctx.rural  # log-odds of uptake
    kids = np.flatnonzero(ctx.birth > -6 * 366)
    for code, ages in VACCINE_SCHEDULE.items():
        if code in NOT_IN_SCHEDULE[profile]:
            continue
        for k, age_days in enumerate(ages):
            p = _uptake(COVERAGE[profile] * 0.985**k, z[kids])
            delay = np.minimum(rng.exponential(10 + 20 * np.maximum(ctx.dz[kids], 0)), 300)
            day = (ctx.birth[kids] + age_days + delay).astype("int32")
            keep = (rng.random(len(kids)) < p) & inside(ctx, kids, day)
            events.add(kids[keep], day[keep], "vaccination", book.code(code))
    campaign = 90 if profile == "bogota" else 273  # April-June; October-November
    for lo, hi in slices:
        old = np.flatnonzero(ctx.age_end - (ctx.end_day - lo) / YEAR >= 60)
        day = lo + campaign + rng.integers(0, 61, len(old))
        p = _uptake(FLU_60[profile], z[old])
        keep = (rng.random(len(old)) < p) & (day < hi) & inside(ctx, old, day)
        events.add(old[keep], day[keep], "vaccination", book.code("FLU"))
    girls = np.flatnonzero(~ctx.male & (ctx.age_end >= 9) & (ctx.age_end < 22))
    lo = np.maximum(ctx.birth[girls] + int(np.ceil(9 * YEAR)), ctx.first[girls])
    hi = np.minimum(ctx.birth[girls] + int(18 * YEAR), ctx.last[girls])
    day = lo + np.floor(rng.random(len(girls)) * np.maximum(hi - lo, 0)).astype("int32")
    keep = (hi > lo) & (rng.random(len(girls)) < _uptake(HPV[profile], z[girls]))
    events.add(girls[keep], day[keep], "vaccination", book.code("HPV"))
    _covid(ctx, events, z)


def _covid(ctx: Context, events: Events, z: np.ndarray) -> None:
    rng, n = ctx.rng, len(ctx.age_end)
    start = ctx.day_of("2021-02-17")
    age = ctx.age_end - (ctx.end_day - start) / YEAR
    first = start + np.clip((80 - age) * 4, 0, 240).astype("int32") + rng.integers(0, 31, n)
    dosed = (age >= 12) & (rng.random(n) < _uptake(COVID[ctx.profile], 0.5 * z))
    second = first + 28 + rng.integers(0, 31, n)
    booster = ctx.day_of("2022-01-01") + rng.integers(0, 365, n)
    for day, share in ((first, 1.0), (second, 0.9), (booster, 0.45)):
        dosed = dosed & (rng.random(n) < share)
        pid = np.flatnonzero(dosed & inside(ctx, np.arange(n), day))
        events.add(pid, day[pid], "vaccination", ctx.book.code("COVID19"))


def screenings(ctx: Context, events: Events, slices) -> None:
    """Screenings and risk assessments of each target population, at their intervals."""
    scale = 1.0 if ctx.profile == "bogota" else UPTAKE_MEXICO
    relative = np.exp(0.5 * ctx.health.adherence - 0.35 * ctx.dz - 0.4 * ctx.rural)
    for lo, hi in slices:
        age = ctx.age_end - (ctx.end_day - (lo + hi) / 2) / YEAR
        for code, (low, high, sex, interval) in SCREENING_TARGETS.items():
            target = (age >= low) & (age < high + 1)
            if sex is not None:
                target &= ctx.male == (sex == "M")
            idx = np.flatnonzero(target)
            rate = UPTAKE[code] * scale / interval * relative[idx]
            start = np.maximum(lo, ctx.first[idx])
            pid, day = window(ctx.rng, rate, start, np.minimum(hi, ctx.last[idx]), idx)
            events.add(pid, day, "screening", ctx.book.code(code))
