"""Emergency visits, admissions and deaths driven by the latent risk, and the truth year.

Within each year of the period the three streams are Poisson processes with the rates of
:class:`masrisk.synth.risk.LatentRisk`; a person's deaths end all their streams. The truth
year after the period uses the same rates, so its probabilities are exact under the
generator: for an outcome whose qualifying events arrive at rate ``r`` while deaths that do
not qualify arrive at rate ``m``, ``P = r / (r + m) * (1 - exp(-(r + m)))`` over one year
(competing risks with constant hazards), combined with the probability ``q`` of a delivery
admission (pregnancies under way at the end, or conceived early enough in the year to end
in it): ``P' = 1 - (1 - q) * (1 - P)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from masrisk.codes import icd10_matches
from masrisk.synth.events import YEAR, Context, Events, code_table, sample_codes, window
from masrisk.synth.health import GESTATION_DAYS, NEVER, fertility
from masrisk.synth.risk import DELIVERY_RECORDED, STREAMS, LatentRisk, first_event, in_outcome
from masrisk.synth.vocabulary import DELIVERY_CODES, GROUPS

COVID_FROM = "2020-03-01"  # first COVID-19 diagnoses in Colombia and Mexico

#: Outcomes simulated in the truth year: name -> (event kinds, ICD-10 ranges), as defined in
#: configs/<profile>.yaml (tests check they agree).
OUTCOME_DEFINITIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "hospitalization_12m": (("hospitalization",), ()),
    "emergency_12m": (("emergency",), ()),
    "mortality_12m": (("death",), ()),
    "cardiovascular_12m": (("hospitalization", "emergency", "death"), ("I20-I25", "I60-I69")),
    "diabetes_complication_12m": (("hospitalization", "emergency", "death"), ("E10-E14",)),
}


def _groups(ctx: Context, weights: np.ndarray) -> np.ndarray:
    """One diagnosis group per row of ``weights``, drawn in proportion to them."""
    cum = np.cumsum(weights, axis=1)
    u = ctx.rng.random(len(weights)) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), len(GROUPS) - 1)


def _codes(ctx: Context, stream: int, group: np.ndarray, pid, day) -> np.ndarray:
    """Styled codes of events of ``stream`` by diagnosis group; U07.1 is B34.9 before COVID."""
    code = np.zeros(len(pid), dtype="int64")
    name = STREAMS[stream]
    for g, spec in enumerate(GROUPS):
        sel = np.flatnonzero(group == g)
        if len(sel):
            code[sel] = sample_codes(ctx, code_table(ctx.book, getattr(spec, name)), pid[sel])
    book = ctx.book
    covid, viral = book.lut[book.icd_index(["U071", "B349"])]
    remap = np.arange(len(book.categories))
    remap[covid] = viral
    return np.where(day < ctx.day_of(COVID_FROM), remap[code], code)


def deaths(ctx: Context, model: LatentRisk, slices, events: Events) -> list[np.ndarray]:
    """Draw deaths year by year (setting ``ctx.death``); return each year's rates."""
    n = len(ctx.age_end)
    everyone = np.arange(n)
    ctx.death = np.full(n, NEVER, dtype="int32")
    rates = []
    for lo, hi in slices:
        rate = np.exp(model.log_rates(everyone, lo, hi)[0])
        start = np.maximum(ctx.birth, lo)
        span = np.where(ctx.death == NEVER, np.maximum(hi - start, 0), 0)
        dies = ctx.rng.random(n) < -np.expm1(-rate[2] * span / YEAR)
        day = start + np.floor(ctx.rng.random(n) * span).astype("int32")
        ctx.death = np.where(dies, day, ctx.death).astype("int32")
        pid = np.flatnonzero(dies)
        group = _groups(ctx, model.weights(2, pid, lo, hi))
        events.add(pid, ctx.death[pid], "death", _codes(ctx, 2, group, pid, ctx.death[pid]))
        rates.append(rate[:2].astype("float32"))
    return rates


def visits(ctx: Context, model: LatentRisk, slices, rates, events: Events) -> None:
    """Emergency visits and admissions in each year, with diagnoses tied to conditions."""
    for (lo, hi), rate in zip(slices, rates, strict=True):
        first = np.maximum(ctx.first, lo)
        last = np.minimum(ctx.last, hi)
        for stream in (0, 1):
            pid, day = window(ctx.rng, rate[stream], first, last)
            group = _groups(ctx, model.weights(stream, pid, lo, hi))
            events.add(pid, day, STREAMS[stream], _codes(ctx, stream, group, pid, day))


def truth(ctx: Context, model: LatentRisk, outcomes: tuple[str, ...]) -> pd.DataFrame:
    """Simulate the year after the period for persons alive at its end (rows by position).

    The columns are those of :attr:`masrisk.synth.SyntheticPopulation.truth`, ``person_id`` aside.
    """
    rng = ctx.rng
    sel = np.flatnonzero(ctx.death == NEVER)
    lo, hi = ctx.end_day + 1, ctx.end_day + 1 + 365
    log, indiv = model.log_rates(sel, lo, hi)
    rate = np.exp(log)
    n = len(sel)
    weights = [model.weights(s, sel, lo, hi) for s in range(3)]
    share = [w / w.sum(axis=1, keepdims=True) for w in weights]
    t_death = rng.standard_exponential(n) / rate[2]
    cause = _groups(ctx, share[2])
    due = (ctx.health.delivery[sel] >= lo) & (ctx.health.delivery[sel] < hi)
    # deliveries due, and those of pregnancies conceived early enough in the year
    fertile = fertility(ctx.profile, ctx.age_end[sel], ctx.male[sel], ctx.dz[sel])
    conceived = np.where(due, 0.0, -np.expm1(-fertile * (365 - GESTATION_DAYS) / YEAR))
    delivery = DELIVERY_RECORDED * (due + conceived)
    delivered = rng.random(n) < delivery
    first = {}  # (stream, group) -> time of the first event, in years
    for s in (0, 1):
        for g in range(len(GROUPS)):
            r = rate[s] * share[s][:, g]
            e = rng.standard_exponential(n)
            first[s, g] = np.divide(e, r, out=np.full(n, np.inf), where=r > 0)
    columns: dict[str, np.ndarray] = {}
    for name in outcomes:
        kinds, ranges = OUTCOME_DEFINITIONS[name]
        qualifying = np.zeros(n)
        when = np.full(n, np.inf)
        for s in (0, 1):
            if STREAMS[s] in kinds:
                inside = in_outcome(s, ranges)
                qualifying = qualifying + rate[s] * share[s][:, inside].sum(axis=1)
                for g in np.flatnonzero(inside):
                    when = np.minimum(when, first[s, g])
        stop = rate[2]
        y = when < np.minimum(t_death, 1.0)
        if "death" in kinds:
            inside = in_outcome(2, ranges)
            fatal = rate[2] * share[2][:, inside].sum(axis=1)
            qualifying, stop = qualifying + fatal, rate[2] - fatal
            y |= (t_death < 1.0) & inside[cause]
        p = first_event(qualifying, stop)
        if "hospitalization" in kinds and (not ranges or icd10_matches(DELIVERY_CODES[0], ranges)):
            p = 1 - (1 - delivery) * (1 - p)
            y |= delivered
        columns[f"p_{name}"] = p
        columns[f"y_{name}"] = y.astype("int8")
    columns["latent_individual"] = indiv.astype("float32")
    columns["latent_family"] = model.family[sel].astype("float32")
    columns["latent_territorial"] = model.territorial[sel].astype("float32")
    return pd.DataFrame(columns, index=sel)
