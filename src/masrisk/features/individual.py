"""Individual features: who a person is, what they have had and how they used care.

Everything is read from :attr:`Population.persons` (birth date, sex, insurance, disability)
and :attr:`Population.events` (events dated before ``as_of``) and nothing else, so no feature
sees past ``as_of``: pregnancy is read from pregnancy codes on events, never from
``persons.pregnant`` (the end of the data). Lab columns come from :mod:`masrisk.features.labs`;
:data:`CATALOG` documents every column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from masrisk.codes import (
    CHARLSON,
    CHARLSON_HIERARCHY,
    CONDITION_GROUPS,
    LIFE_COURSE_STAGES,
    PREGNANCY_CODES,
    SCREENING_TARGETS,
    SEXES,
    VACCINE_SCHEDULE,
    VACCINE_TARGETS,
)
from masrisk.features import labs
from masrisk.features.catalog import FeatureSpec, feature
from masrisk.features.events import NO_EVENT, EventArrays, icd_categories
from masrisk.features.population import Population

__all__ = ["CATALOG", "individual_features"]

#: Event kinds counted by the utilisation features, and the windows (days before as_of).
UTILISATION_KINDS = ("outpatient", "emergency", "hospitalization", "pharmacy", "lab")
WINDOWS = (90, 365)
#: A pregnancy code within this many days flags a current pregnancy ...
PREGNANCY_DAYS = 270
#: ... unless one of these codes (abortive outcome, delivery, puerperium) came after it.
PREGNANCY_OVER_CODES: tuple[str, ...] = ("O00-O08", "O80-O92")
#: A scheduled dose is due once the child is this many days past its age.
VACCINE_GRACE_DAYS = 30
#: Influenza vaccination is due every this many days in its target ages.
FLU_INTERVAL_DAYS = 365
YEAR_DAYS = 365.25


def _interval_days(years: float) -> int:
    return int(years * YEAR_DAYS)


def _who(low: int, high: int, sex: str | None) -> str:
    return {"F": "women", "M": "men", None: "persons"}[sex] + f" aged {low}-{high}"


_STAGES = ", ".join(f"{k} {lo}-{hi}" for k, (lo, hi) in LIFE_COURSE_STAGES.items())

#: Every column :func:`individual_features` returns; ``{lab}`` stands for a lab code.
CATALOG: tuple[FeatureSpec, ...] = (
    feature("ind_age", "Age at as_of, from the birth date (days / 365.25).", "years"),
    feature("ind_sex", "Sex: 'F' or 'M'.", "category"),
    feature(
        "ind_life_stage", f"RIAS life-course stage by completed years ({_STAGES}).", "category"
    ),
    feature("ind_regime", "Insurance regime, as persons.regime (when given).", "category"),
    feature("ind_insurer", "Insurer (EPS) or network: persons.insurer (when given).", "category"),
    feature(
        "ind_disability",
        "1 if registered with a disability (persons.disability when given; missing is 0).",
        "0/1",
    ),
    feature(
        "ind_pregnant",
        f"1 for a woman with a pregnancy code ({', '.join(PREGNANCY_CODES)}) in the "
        f"{PREGNANCY_DAYS} days before as_of and no abortive-outcome, delivery or puerperium "
        f"code ({', '.join(PREGNANCY_OVER_CODES)}) on or after its last date.",
        "0/1",
    ),
    *(
        feature(
            f"ind_cond_{name}",
            f"1 if an event before as_of carries an ICD-10 code of {name.replace('_', ' ')} "
            f"({', '.join(codes)}).",
            "0/1",
        )
        for name, codes in CONDITION_GROUPS.items()
    ),
    feature("ind_n_chronic", "Number of ind_cond_ flags set.", "conditions"),
    feature(
        "ind_charlson",
        "Charlson comorbidity index without age points: Charlson's weights of the conditions "
        "coded before as_of (ICD-10 coding of Quan et al. 2005); a milder form does not count "
        "when its severe form is coded (liver disease, diabetes, cancer).",
        "points",
    ),
    *(
        feature(
            f"ind_n_{kind}_{days}d",
            f"Number of {kind} events in the {days} days before as_of.",
            "events",
        )
        for kind in UTILISATION_KINDS
        for days in WINDOWS
    ),
    feature(
        "ind_days_since_last_contact", "Days since the last event of any kind; NaN if none.", "days"
    ),
    *(
        feature(
            f"ind_gap_{code.lower()}",
            f"1 for {_who(low, high, sex)} without a {code} event in the last "
            f"{_interval_days(interval)} days (RIAS interval {interval:g} years); else 0.",
            "0/1",
        )
        for code, (low, high, sex, interval) in SCREENING_TARGETS.items()
    ),
    feature(
        "ind_vaccine_doses_missing",
        f"Children under 6: doses of the PAI schedule due (dose age at least "
        f"{VACCINE_GRACE_DAYS} days past) since the first event of the data minus doses "
        "recorded, per vaccine, floored at 0; 0 from age 6.",
        "doses",
    ),
    feature(
        "ind_gap_flu_60plus",
        f"1 for persons aged {VACCINE_TARGETS['FLU'][0]}+ without an influenza vaccination "
        f"(FLU) in the last {FLU_INTERVAL_DAYS} days; else 0.",
        "0/1",
    ),
    feature(
        "ind_gap_hpv_vaccine",
        f"1 for {_who(*VACCINE_TARGETS['HPV'])} with no HPV vaccination recorded; else 0.",
        "0/1",
    ),
    *labs.CATALOG,
)


def individual_features(
    population: Population,
    *,
    lab_codes: Sequence[str] | None = None,
    min_lab_share: float = 0.01,
) -> pd.DataFrame:
    """Compute the individual features of every person present at ``as_of``.

    Parameters
    ----------
    population : Population
        The persons present at ``as_of`` (:func:`masrisk.features.population_at`).
    lab_codes : sequence of str, optional
        Lab codes to describe (an ``ind_lab_{lab}_last`` and ``_change`` column each, NaN when
        absent); by default those at least ``min_lab_share`` of the persons have had, sorted.
        Give the training list when scoring, so the columns match.
    min_lab_share : float
        Share of persons present with a lab code for it to be described by default.

    Returns
    -------
    pandas.DataFrame
        One row per person of ``population.persons``, same index and order; the columns of
        :data:`CATALOG` (``ind_regime``, ``ind_insurer`` and ``ind_disability`` only when
        the persons table has the column): float32, int8 or int16, and categoricals.

    Examples
    --------
    >>> import pandas as pd
    >>> from masrisk import Tables
    >>> from masrisk.features.population import population_at
    >>> frames = {
    ...     "territories": pd.DataFrame({"territory_id": ["T1"], "zone": ["urban"],
    ...                                  "population": [2]}),
    ...     "households": pd.DataFrame({"household_id": [1], "territory_id": ["T1"]}),
    ...     "persons": pd.DataFrame({"person_id": [1, 2], "household_id": [1, 1],
    ...                              "birth_date": ["1950-01-01", "2018-01-01"],
    ...                              "sex": ["F", "M"]}),
    ...     "events": pd.DataFrame({"person_id": [1, 1, 1], "kind": ["outpatient", "lab", "lab"],
    ...                             "date": ["2023-12-01", "2023-06-01", "2023-11-01"],
    ...                             "code": ["E11.9", "HBA1C", "HBA1C"],
    ...                             "value": [None, 8.5, 7.5]}),
    ... }
    >>> population = population_at(Tables.from_frames(frames), "2024-01-01")
    >>> features = individual_features(population)
    >>> features["ind_age"].round(1).tolist(), features["ind_life_stage"].tolist()
    ([74.0, 6.0], ['vejez', 'infancia'])
    >>> features[["ind_cond_diabetes", "ind_charlson", "ind_n_outpatient_90d"]]
               ind_cond_diabetes  ind_charlson  ind_n_outpatient_90d
    person_id
    1                          1             1                     1
    2                          0             0                     0
    >>> features[["ind_lab_hba1c_last", "ind_lab_hba1c_change"]].loc[1].tolist()
    [7.5, -1.0]
    """
    persons = population.persons
    events = EventArrays(population.events)
    n = len(persons)
    female = (persons["sex"] == "F").to_numpy()
    years, age_days, columns = _demographics(persons, population.as_of)
    columns["ind_pregnant"] = _pregnant(events, n, female).astype(np.int8)
    columns |= _conditions(events, n)
    columns |= _utilisation(events, n)
    last = events.last_days(events.kinds(set(events.kind_names) - {"death"}), n)
    columns["ind_days_since_last_contact"] = np.where(last == NO_EVENT, np.nan, last).astype("f4")
    columns |= _care_gaps(events, n, years, age_days, female)
    columns |= labs.lab_columns(events, n, lab_codes=lab_codes, min_lab_share=min_lab_share)
    return pd.DataFrame(columns, index=persons.index)


def _demographics(persons: pd.DataFrame, as_of: pd.Timestamp):
    birth = persons["birth_date"]
    age_days = (as_of - birth).dt.days.to_numpy(dtype=np.int64)
    month, day = birth.dt.month.to_numpy(), birth.dt.day.to_numpy()
    before_birthday = (month > as_of.month) | ((month == as_of.month) & (day > as_of.day))
    years = as_of.year - birth.dt.year.to_numpy(dtype=np.int64) - before_birthday
    lows = np.array([low for low, _ in LIFE_COURSE_STAGES.values()])
    stage = np.searchsorted(lows, years, side="right") - 1
    columns: dict[str, object] = {
        "ind_age": (age_days / YEAR_DAYS).astype(np.float32),
        "ind_sex": persons["sex"].astype(pd.CategoricalDtype(list(SEXES))).array,
        "ind_life_stage": pd.Categorical.from_codes(
            stage.astype(np.int8), categories=list(LIFE_COURSE_STAGES), ordered=True
        ),
    }
    for name in ("regime", "insurer"):
        if name in persons.columns:
            columns[f"ind_{name}"] = persons[name].astype("category").array
    if "disability" in persons.columns:
        columns["ind_disability"] = persons["disability"].fillna(0).to_numpy(dtype=np.int8)
    return years, age_days, columns


def _pregnant(events: EventArrays, n: int, female: np.ndarray) -> np.ndarray:
    over = events.icd(PREGNANCY_OVER_CODES)
    last = events.last_days(events.icd(PREGNANCY_CODES) & ~over, n)
    over = events.last_days(over, n)
    return female & (last <= PREGNANCY_DAYS) & (last < over)


def _conditions(events: EventArrays, n: int) -> dict[str, np.ndarray]:
    """Condition flags, their count and the Charlson index, from one pass over events."""
    groups = {f"cond_{k}": v for k, v in CONDITION_GROUPS.items()}
    groups |= {f"charlson_{k}": codes for k, (_, codes) in CHARLSON.items()}
    flags: dict[str, np.ndarray] = {}
    names = list(groups)
    for start in range(0, len(names), 64):  # one bit per group in a uint64
        chunk = names[start : start + 64]
        bits = np.zeros(len(events.categories) + 1, dtype=np.uint64)
        for k, name in enumerate(chunk):
            hit = icd_categories(events.normal, groups[name]).astype(np.uint64)
            bits[:-1] |= hit << np.uint64(k)
        sel = (bits != 0)[events.code_codes] & events.icd_kinds
        person = np.zeros(n, dtype=np.uint64)
        np.bitwise_or.at(person, events.pos[sel], bits[events.code_codes[sel]])
        for k, name in enumerate(chunk):
            flags[name] = ((person >> np.uint64(k)) & np.uint64(1)).astype(bool)
    columns = {f"ind_{k}": flags[k].astype(np.int8) for k in groups if k.startswith("cond_")}
    columns["ind_n_chronic"] = np.sum(list(columns.values()), axis=0, dtype=np.int8)
    for mild, severe in CHARLSON_HIERARCHY.items():
        flags[f"charlson_{mild}"] = flags[f"charlson_{mild}"] & ~flags[f"charlson_{severe}"]
    charlson = np.zeros(n, dtype=np.int16)
    for name, (weight, _) in CHARLSON.items():
        charlson += weight * flags[f"charlson_{name}"]
    columns["ind_charlson"] = charlson.astype(np.int8)
    return columns


def _utilisation(events: EventArrays, n: int) -> dict[str, np.ndarray]:
    index = {name: i for i, name in enumerate(UTILISATION_KINDS)}
    lut = np.array([index.get(name, -1) for name in events.kind_names] + [-1], dtype=np.int8)
    recent = (events.days <= max(WINDOWS)) & (lut[events.kind_codes] >= 0)
    pos, days, kind = events.pos[recent], events.days[recent], lut[events.kind_codes[recent]]
    columns: dict[str, np.ndarray] = {}
    for name, i in index.items():
        for window in WINDOWS:
            counts = np.bincount(pos[(kind == i) & (days <= window)], minlength=n)
            counts = np.minimum(counts, np.iinfo(np.int16).max).astype(np.int16)
            columns[f"ind_n_{name}_{window}d"] = counts
    return columns


def _care_gaps(
    events: EventArrays, n: int, years: np.ndarray, age_days: np.ndarray, female: np.ndarray
) -> dict[str, np.ndarray]:
    """Screening gaps, scheduled childhood doses missing and influenza/HPV vaccination gaps."""
    names = list(dict.fromkeys([*SCREENING_TARGETS, *VACCINE_SCHEDULE, *VACCINE_TARGETS]))
    index = {name: i for i, name in enumerate(names)}
    lut = np.array([index.get(c, -1) for c in events.upper] + [-1], dtype=np.int16)
    code = lut[events.code_codes]
    sel = np.flatnonzero(code >= 0)  # the few events with a screening or vaccine code
    pos, days, code = events.pos[sel], events.days[sel], code[sel]
    vaccination = events.kinds(["vaccination"])[sel]

    def last_days(name: str, mask: np.ndarray | bool = True) -> np.ndarray:
        out = np.full(n, NO_EVENT, dtype=np.int32)
        hit = np.flatnonzero((code == index[name]) & mask)
        np.minimum.at(out, pos[hit], days[hit])
        return out

    def target(low: int, high: int, sex: str | None) -> np.ndarray:
        who = (years >= low) & (years <= high)
        return who if sex is None else who & (female == (sex == "F"))

    columns: dict[str, np.ndarray] = {}
    for name, (low, high, sex, interval) in SCREENING_TARGETS.items():
        done = last_days(name) <= _interval_days(interval)
        columns[f"ind_gap_{name.lower()}"] = (target(low, high, sex) & ~done).astype(np.int8)
    kids = np.flatnonzero(years < LIFE_COURSE_STAGES["infancia"][0])
    row = np.full(n, -1, dtype=np.int64)
    row[kids] = np.arange(len(kids))
    given = vaccination & (row[pos] >= 0)
    key = row[pos[given]] * len(names) + code[given]
    received = np.bincount(key, minlength=len(kids) * len(names)).reshape(-1, len(names))
    age, span = age_days[kids], int(events.days.max(initial=0))  # span: since the first event
    missing = np.zeros(len(kids), dtype=np.int64)
    for name, ages in VACCINE_SCHEDULE.items():
        due = np.searchsorted(ages, age - VACCINE_GRACE_DAYS, side="right")
        due -= np.searchsorted(ages, age - span, side="left")  # due before the first event
        missing += np.maximum(due - received[:, index[name]], 0)
    doses = np.zeros(n, dtype=np.int8)
    doses[kids] = np.minimum(missing, np.iinfo(np.int8).max)
    columns["ind_vaccine_doses_missing"] = doses
    flu = target(*VACCINE_TARGETS["FLU"]) & (last_days("FLU", vaccination) > FLU_INTERVAL_DAYS)
    columns["ind_gap_flu_60plus"] = flu.astype(np.int8)
    hpv = target(*VACCINE_TARGETS["HPV"]) & (last_days("HPV", vaccination) == NO_EVENT)
    columns["ind_gap_hpv_vaccine"] = hpv.astype(np.int8)
    return columns
