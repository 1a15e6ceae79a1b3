"""Event streams of the synthetic population: the machinery and the streams of routine care.

Every stream is a Poisson process per person over the days the person is alive and
observed (from birth or the start of the period to death or its end), drawn at once for all
persons: counts with ``rng.poisson``, then uniform days within each person's window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from masrisk.codes import EVENT_KINDS
from masrisk.synth.health import CONDITIONS, GESTATION_DAYS, NEVER, Health, age_band
from masrisk.synth.risk import DELIVERY_RECORDED
from masrisk.synth.targets import FRAILTY_SD
from masrisk.synth.vocabulary import (
    ACUTE_CODES,
    CONDITION_CODES,
    DELIVERY_CODES,
    PRENATAL_CODES,
    CodeBook,
)

YEAR = 365.25
STYLE_LOYALTY = 0.85  # share of a person's events in the style of their insurer's source
# Chronic-condition follow-up: outpatient visits and pharmacy dispensations a year
# (Resolución 3280 de 2018 and guidelines for each condition; dispensations quarterly-monthly).
FOLLOW_UP = {
    "obesity": (1.0, 0.0), "dyslipidemia": (1.5, 3.0), "hypertension": (2.5, 4.0),
    "diabetes": (3.0, 5.0), "ckd": (3.0, 4.0), "ihd": (3.0, 4.0), "cerebrovascular": (2.5, 3.0),
    "heart_failure": (4.0, 5.0), "copd": (2.5, 4.0), "asthma": (2.0, 3.0), "cancer": (6.0, 3.0),
    "depression_anxiety": (3.0, 4.0), "severe_mental": (4.0, 6.0), "epilepsy": (2.0, 5.0),
    "hiv": (4.0, 6.0), "tb": (8.0, 6.0),
}  # fmt: skip
# Acute outpatient visits a year by age (SISPRO/RIPS consultations per person, approximate).
ACUTE_KNOTS = np.array([0, 1, 5, 12, 18, 45, 60, 105])
ACUTE_RATE = np.array([4.0, 3.0, 1.8, 1.2, 1.1, 1.4, 1.8, 2.0])
ACUTE_PHARMACY = 0.4  # share of acute visits followed by a dispensation the same day
ACUTE_BANDS = np.array([0, 12, 29, 60])
PRENATAL_VISITS = 6.0  # per pregnancy (Resolución 3280: at least 4-7 antenatal visits)
# Antenatal labs and the tetanus vaccine: days after conception, code, share of pregnancies.
ANTENATAL = ((70, "HEMOGLOBINA", 0.8), (200, "HEMOGLOBINA", 0.7), (175, "GLUCOSA", 0.7),
             (150, "TD", 0.8))  # fmt: skip
ADULT_CANCERS = ("C509", "C61", "C189", "C169", "C539", "C349", "C73", "C259")


@dataclass
class Context:
    """What every stream needs: persons, their windows and the generator."""

    rng: np.random.Generator
    book: CodeBook
    profile: str
    start: np.datetime64  # first day of the period (day 0)
    end_day: int
    birth: np.ndarray  # int32 day of birth
    age_end: np.ndarray
    male: np.ndarray
    style: np.ndarray  # int8 preferred code style of each person's source
    care: np.ndarray  # relative use of routine care (access, deprivation, adherence)
    dz: np.ndarray
    rural: np.ndarray
    health: Health
    death: np.ndarray | None = None  # int32 day of death (NEVER if none), set by deaths()

    @property
    def first(self) -> np.ndarray:
        """First observed day of each person."""
        return np.maximum(self.birth, 0)

    @property
    def last(self) -> np.ndarray:
        """Day after the last observed day of each person (death day included)."""
        return np.minimum(self.death + 1, self.end_day + 1)

    def day_of(self, date: str) -> int:
        """Day number of an ISO date (day 0 is the start of the period)."""
        return int((np.datetime64(date, "D") - self.start).astype("int64"))

    def age_at(self, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Age in years of persons ``pid`` on ``day``."""
        return self.age_end[pid] - (self.end_day - day) / YEAR


@dataclass
class Events:
    """Chunks of events, concatenated and sorted once at the end."""

    pid: list = field(default_factory=list)
    day: list = field(default_factory=list)
    kind: list = field(default_factory=list)
    code: list = field(default_factory=list)
    value: list = field(default_factory=list)

    def add(self, pid, day, kind: str, code, value=None) -> None:
        """Add events of one kind; ``code`` is one position or one per event."""
        n = len(pid)
        self.pid.append(np.asarray(pid, dtype="int64"))
        self.day.append(np.asarray(day, dtype="int32"))
        self.kind.append(np.full(n, EVENT_KINDS.index(kind), dtype="int8"))
        self.code.append(np.broadcast_to(np.asarray(code, dtype="int16"), (n,)))
        v = np.full(n, np.nan, dtype="float32") if value is None else value
        self.value.append(np.asarray(v, dtype="float32"))

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Concatenated columns sorted by (person, day, kind); the chunks are released."""
        columns = []
        for chunks in (self.pid, self.day, self.kind, self.code, self.value):
            columns.append(np.concatenate(chunks))
            chunks.clear()
        pid, day, kind = columns[:3]
        order = np.argsort((pid << 20) | (day.astype("int64") << 3) | kind, kind="stable")
        for k, column in enumerate(columns):
            columns[k] = column[order]
        return tuple(columns)


def window(rng, rate, lo, hi, idx=None) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events at yearly ``rate`` over days [lo, hi) of persons ``idx`` (all if None)."""
    span = np.maximum(hi - lo, 0)
    local = np.repeat(np.arange(len(span)), rng.poisson(rate * span / YEAR))
    day = lo[local] + np.floor(rng.random(len(local)) * span[local]).astype("int32")
    return (local if idx is None else idx[local]), day


def code_table(book: CodeBook, codes: dict) -> tuple[np.ndarray, np.ndarray]:
    """Canonical indices and (2, n) weights for women and men of a code dictionary."""
    w = np.array([v if isinstance(v, tuple) else (v, v) for v in codes.values()], dtype=float).T
    for k, name in enumerate(codes):
        if name.startswith(("O", "Z3", "N76", "C50", "C53")):
            w[1, k] = 0.0
        elif name.startswith("C61"):
            w[0, k] = 0.0
    return book.icd_index(codes), w


def sample_codes(ctx: Context, table, pid: np.ndarray) -> np.ndarray:
    """Styled codes drawn from ``table`` for persons ``pid``; children's cancers as leukaemia."""
    icd, w = table
    out = np.zeros(len(pid), dtype="int64")
    male = ctx.male[pid]
    for sex in (0, 1):
        sel = np.flatnonzero(male == sex)
        if len(sel) and w[sex].sum() > 0:
            out[sel] = icd[ctx.rng.choice(len(icd), size=len(sel), p=w[sex] / w[sex].sum())]
    child = np.isin(out, ctx.book.icd_index(ADULT_CANCERS)) & (ctx.age_end[pid] < 15)
    out[child] = ctx.book.icd_index(["C910"])[0]
    return styled(ctx, out, pid)


def styled(ctx: Context, icd: np.ndarray, pid: np.ndarray) -> np.ndarray:
    """Write canonical codes in each person's source style (sometimes another)."""
    loyal = ctx.rng.random(len(pid)) < STYLE_LOYALTY
    style = np.where(loyal, ctx.style[pid], ctx.rng.integers(0, 3, len(pid)))
    return ctx.book.lut[icd, style]


def chronic(ctx: Context, events: Events) -> None:
    """Follow-up visits and dispensations of chronic conditions, from onset on."""
    for name in CONDITIONS:
        idx = np.flatnonzero(ctx.health.onset[name] < NEVER)
        lo = np.maximum(ctx.health.onset[name][idx], ctx.first[idx])
        hi = ctx.last[idx]
        table = code_table(ctx.book, CONDITION_CODES[name])
        for kind, rate in zip(("outpatient", "pharmacy"), FOLLOW_UP[name], strict=True):
            if rate > 0:
                scale = ctx.care[idx] if kind == "outpatient" else np.sqrt(ctx.care[idx])
                pid, day = window(ctx.rng, rate * scale, lo, hi, idx)
                events.add(pid, day, kind, sample_codes(ctx, table, pid))


def acute(ctx: Context, events: Events) -> None:
    """Acute outpatient visits by age and sex, some followed by a dispensation."""
    age_mid = np.maximum(ctx.age_end - ctx.end_day / (2 * YEAR), 0)
    rate = np.interp(age_mid, ACUTE_KNOTS, ACUTE_RATE)
    women = ~ctx.male & (age_mid >= 15) & (age_mid < 50)
    rate = rate * np.where(women, 1.3, 1.0) * ctx.care
    rate = rate * np.exp(0.6 * ctx.health.frailty / FRAILTY_SD - 0.18)
    pid, day = window(ctx.rng, rate, ctx.first, ctx.last)
    tables = [code_table(ctx.book, {c: w[b] for c, w in ACUTE_CODES.items()}) for b in range(4)]
    group = age_band(ctx.age_at(pid, day), ACUTE_BANDS) * 2 + ctx.male[pid]
    code = np.zeros(len(pid), dtype="int64")
    for g in range(8):  # age band and sex
        sel = np.flatnonzero(group == g)
        icd, w = tables[g // 2]
        code[sel] = icd[ctx.rng.choice(len(icd), size=len(sel), p=w[g % 2] / w[g % 2].sum())]
    code = styled(ctx, code, pid)
    events.add(pid, day, "outpatient", code)
    again = ctx.rng.random(len(pid)) < ACUTE_PHARMACY
    events.add(pid[again], day[again], "pharmacy", code[again])


def inside(ctx: Context, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether each ``day`` falls in the observed life of person ``pid``."""
    return (day >= ctx.first[pid]) & (day < ctx.last[pid])


def pregnancy(ctx: Context, events: Events) -> None:
    """Antenatal visits, antenatal labs, tetanus vaccine and the delivery admission."""
    h, rng, book = ctx.health, ctx.rng, ctx.book
    idx = np.flatnonzero(h.conception < NEVER)
    conception, delivery = h.conception[idx], h.delivery[idx]
    lo = np.maximum(conception + 42, ctx.first[idx])
    hi = np.minimum(delivery - 7, ctx.last[idx])
    rate = PRENATAL_VISITS * YEAR / (GESTATION_DAYS - 49) * np.sqrt(ctx.care[idx])
    pid, day = window(rng, rate, lo, hi, idx)
    events.add(pid, day, "outpatient", sample_codes(ctx, code_table(book, PRENATAL_CODES), pid))
    n = len(idx)
    for offset, code, share in ANTENATAL:
        day = conception + offset + rng.integers(-10, 11, n)
        keep = (rng.random(n) < share) & inside(ctx, idx, day)
        if code == "HEMOGLOBINA":
            value = 11.8 - 0.6 * h.anaemia[idx] + rng.normal(0, 0.6, n)
        elif code == "GLUCOSA":
            value = rng.normal(88, 10, n) + 35 * (h.onset["diabetes"][idx] <= day)  # diabetic
        kind = "vaccination" if code == "TD" else "lab"
        value = None if code == "TD" else value[keep]
        events.add(idx[keep], day[keep], kind, book.code(code), value)
    born = inside(ctx, idx, delivery) & (rng.random(n) < DELIVERY_RECORDED)
    caesarean = rng.random(n) < 0.45  # ~45 % of births by caesarean (DANE EEVV 2022)
    icd = book.icd_index(DELIVERY_CODES)[caesarean.astype(int)]
    events.add(idx[born], delivery[born], "hospitalization", styled(ctx, icd, idx)[born])
