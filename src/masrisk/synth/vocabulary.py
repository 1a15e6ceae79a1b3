"""ICD-10 vocabulary of the synthetic population, and the mixed styles sources write it in.

Codes are kept canonical here (``"I10"``, ``"E119"``) and written in one of three styles on
each event, as Colombian and Mexican sources do: four characters with an ``X`` filler
(``"I10X"``), dotted (``"E11.9"``) or plain (``"E119"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from masrisk.codes import LAB_CODES, SCREENINGS, VACCINES

# Codes of each chronic condition on outpatient and pharmacy events, with weights; a pair of
# weights is (women, men).
# fmt: off
CONDITION_CODES: dict[str, dict[str, float | tuple[float, float]]] = {
    "hypertension": {"I10": 0.85, "I119": 0.10, "I129": 0.05},
    "diabetes": {"E119": 0.55, "E112": 0.10, "E116": 0.10, "E149": 0.15, "E109": 0.05,
                 "E117": 0.05},
    "dyslipidemia": {"E785": 0.60, "E780": 0.25, "E782": 0.15},
    "obesity": {"E669": 0.70, "E660": 0.20, "E668": 0.10},
    "ckd": {"N183": 0.35, "N184": 0.20, "N185": 0.15, "N189": 0.30},
    "copd": {"J449": 0.70, "J448": 0.20, "J441": 0.10},
    "asthma": {"J459": 0.70, "J450": 0.20, "J451": 0.10},
    "heart_failure": {"I500": 0.50, "I509": 0.40, "I501": 0.10},
    "ihd": {"I259": 0.50, "I251": 0.25, "I209": 0.15, "I252": 0.10},
    "cerebrovascular": {"I693": 0.40, "I679": 0.30, "I694": 0.30},
    "cancer": {"C509": (0.35, 0.0), "C61": (0.0, 0.35), "C189": (0.12, 0.15), "C169": (0.08, 0.15),
               "C539": (0.15, 0.0), "C349": (0.07, 0.12), "C73": (0.10, 0.03), "C859": (0.05, 0.08),
               "C910": (0.08, 0.12)},
    "depression_anxiety": {"F329": 0.35, "F412": 0.25, "F419": 0.25, "F331": 0.15},
    "severe_mental": {"F209": 0.50, "F319": 0.50},
    "epilepsy": {"G409": 0.70, "G403": 0.30},
    "hiv": {"B24": 0.60, "Z21": 0.40},
    "tb": {"A150": 0.50, "A162": 0.30, "A169": 0.20},
}
# fmt: on

# Acute outpatient visits: code -> weight at ages 0-11, 12-28, 29-59, 60+ (codes of one sex
# kept from the other by events.code_table).
ACUTE_CODES: dict[str, tuple[float, float, float, float]] = {
    "J069": (0.20, 0.10, 0.06, 0.05),
    "J00": (0.08, 0.05, 0.04, 0.03),
    "J029": (0.06, 0.05, 0.03, 0.02),
    "J209": (0.05, 0.02, 0.03, 0.05),
    "B349": (0.06, 0.03, 0.02, 0.01),
    "A09": (0.10, 0.05, 0.04, 0.03),
    "K297": (0.00, 0.03, 0.05, 0.05),
    "K30": (0.01, 0.03, 0.04, 0.04),
    "M545": (0.00, 0.04, 0.09, 0.09),
    "M255": (0.00, 0.02, 0.05, 0.08),
    "M791": (0.00, 0.02, 0.04, 0.04),
    "N390": (0.02, 0.04, 0.05, 0.06),
    "L209": (0.05, 0.02, 0.01, 0.01),
    "L309": (0.02, 0.02, 0.02, 0.03),
    "B354": (0.01, 0.02, 0.02, 0.02),
    "H103": (0.03, 0.02, 0.01, 0.01),
    "H669": (0.06, 0.01, 0.01, 0.01),
    "K021": (0.04, 0.04, 0.03, 0.02),
    "Z000": (0.00, 0.06, 0.08, 0.08),
    "Z001": (0.12, 0.00, 0.00, 0.00),
    "Z003": (0.00, 0.04, 0.00, 0.00),
    "Z301": (0.00, 0.08, 0.03, 0.00),
    "N760": (0.00, 0.04, 0.03, 0.01),
    "R51": (0.01, 0.03, 0.04, 0.03),
    "R509": (0.05, 0.02, 0.01, 0.01),
    "R104": (0.02, 0.04, 0.04, 0.03),
    "S934": (0.01, 0.04, 0.03, 0.02),
    "T141": (0.02, 0.03, 0.02, 0.02),
    "S610": (0.01, 0.02, 0.02, 0.01),
    "H521": (0.01, 0.02, 0.02, 0.03),
}

# Antenatal care, and the delivery admission (vaginal, caesarean).
PRENATAL_CODES = {"Z348": 0.40, "Z349": 0.30, "Z340": 0.15, "O234": 0.05, "O990": 0.04,
                  "O244": 0.03, "O13": 0.03}  # fmt: skip
DELIVERY_CODES = ("O800", "O829")


@dataclass(frozen=True)
class Group:
    """A diagnosis group of emergency visits, admissions and deaths.

    ``base`` is the weight for (emergency, hospitalization, death); ``age`` multiplies it in
    the age bands of :data:`GROUP_AGE_EDGES`; ``conditions`` multiply it for persons with
    each condition; ``pregnancy`` is the weight during pregnancy (obstetric group only).
    """

    name: str
    emergency: dict[str, float]
    hospitalization: dict[str, float]
    death: dict[str, float]
    base: tuple[float, float, float]
    age: tuple[float, ...] = (1, 1, 1, 1, 1, 1, 1)
    male: float = 1.0
    conditions: dict[str, float] = field(default_factory=dict)
    pregnancy: tuple[float, float, float] = (0.0, 0.0, 0.0)


GROUP_AGE_EDGES = np.array([0, 1, 5, 18, 45, 60, 75])
_CANCER = {"C509": 0.2, "C61": 0.2, "C189": 0.15, "C169": 0.15, "C349": 0.1, "C910": 0.1}
# name; codes of emergency visits, admissions and deaths; base, age, male; conditions
# fmt: off
GROUPS: tuple[Group, ...] = (
    Group("ihd",
          {"I219": 0.4, "I209": 0.4, "I249": 0.2},
          {"I219": 0.5, "I209": 0.3, "I251": 0.2},
          {"I219": 0.6, "I259": 0.4},
          (0.010, 0.030, 0.10), (0.001, 0.001, 0.002, 0.15, 1, 2, 2.5), 1.6,
          {"ihd": 12, "hypertension": 2, "diabetes": 2, "dyslipidemia": 1.8, "ckd": 1.5}),
    Group("cerebrovascular",
          {"I639": 0.35, "I64": 0.35, "I619": 0.15, "I609": 0.05, "I678": 0.10},
          {"I639": 0.40, "I64": 0.25, "I619": 0.20, "I609": 0.10, "I678": 0.05},
          {"I64": 0.4, "I619": 0.3, "I639": 0.3},
          (0.007, 0.020, 0.07), (0.005, 0.01, 0.01, 0.1, 1, 2.5, 4), 1.2,
          {"cerebrovascular": 8, "hypertension": 3, "diabetes": 1.6, "heart_failure": 1.5}),
    Group("heart_failure",
          {"I500": 0.6, "I509": 0.4},
          {"I500": 0.7, "I509": 0.3},
          {"I509": 1.0},
          (0.006, 0.020, 0.04), (0.02, 0, 0, 0.05, 0.5, 2, 5), 1.1,
          {"heart_failure": 25, "ihd": 3, "hypertension": 1.8, "ckd": 2}),
    Group("hypertensive",
          {"I10": 0.8, "I119": 0.2},
          {"I10": 0.5, "I119": 0.3, "I129": 0.2},
          {"I119": 0.5, "I10": 0.3, "I120": 0.2},
          (0.015, 0.010, 0.02), (0, 0, 0.01, 0.3, 1, 1.5, 1.5), 1.0,
          {"hypertension": 10, "ckd": 1.3}),
    Group("diabetes",
          {"E110": 0.1, "E111": 0.2, "E116": 0.1, "E119": 0.3, "E149": 0.2, "E101": 0.1},
          {"E115": 0.2, "E111": 0.2, "E116": 0.15, "E119": 0.2, "E149": 0.15, "E101": 0.1},
          {"E119": 0.3, "E149": 0.4, "E112": 0.3},
          (0.0002, 0.0004, 0.0015), (0.1, 0.1, 0.1, 0.5, 1, 1, 1), 1.0,
          {"diabetes": 800}),
    Group("renal",
          {"N179": 0.5, "N185": 0.3, "N189": 0.2},
          {"N185": 0.4, "N179": 0.3, "N189": 0.3},
          {"N189": 0.5, "N185": 0.5},
          (0.004, 0.012, 0.015), (0.05, 0.05, 0.05, 0.3, 1, 2, 3), 1.0,
          {"ckd": 25, "diabetes": 1.8, "hypertension": 1.5}),
    Group("respiratory",
          {"J189": 0.35, "J441": 0.15, "J459": 0.15, "J219": 0.15, "J22": 0.20},
          {"J189": 0.50, "J441": 0.20, "J459": 0.08, "J219": 0.12, "J960": 0.10},
          {"J189": 0.45, "J449": 0.45, "J960": 0.10},
          (0.10, 0.18, 0.12), (4, 1.5, 0.5, 0.35, 0.6, 1.5, 3), 1.0,
          {"copd": 5, "asthma": 3, "heart_failure": 1.5, "hiv": 2}),
    Group("upper_respiratory",
          {"J069": 0.5, "J029": 0.2, "J00": 0.1, "J039": 0.2},
          {"J069": 1.0},
          {"J069": 1.0},
          (0.22, 0.005, 0.0), (3, 2.5, 1.5, 1, 0.8, 0.6, 0.5)),
    Group("digestive",
          {"A09": 0.4, "K358": 0.12, "K802": 0.12, "K297": 0.16, "K567": 0.05, "K922": 0.15},
          {"K358": 0.25, "K802": 0.25, "A09": 0.2, "K567": 0.1, "K922": 0.1, "K746": 0.1},
          {"K746": 0.5, "K922": 0.25, "K567": 0.25},
          (0.15, 0.16, 0.05), (1.5, 1.5, 1, 1, 1, 1.2, 1.3)),
    Group("injury",
          {"S069": 0.12, "S525": 0.12, "S934": 0.18, "T141": 0.25, "S610": 0.18, "S720": 0.15},
          {"S720": 0.3, "S069": 0.2, "S525": 0.2, "S822": 0.15, "T141": 0.15},
          {"X959": 0.35, "V892": 0.25, "W19": 0.2, "X700": 0.2},
          (0.20, 0.10, 0.07), (0.5, 0.9, 1, 1.3, 0.9, 0.9, 1.3), 1.6),
    Group("mental",
          {"F329": 0.25, "F412": 0.2, "F209": 0.15, "F319": 0.1, "F102": 0.15, "F432": 0.15},
          {"F209": 0.3, "F319": 0.25, "F322": 0.25, "F102": 0.2},
          {"F102": 1.0},
          (0.04, 0.02, 0.005), (0, 0, 0.5, 1.3, 1, 0.6, 0.5), 1.0,
          {"depression_anxiety": 5, "severe_mental": 15}),
    Group("cancer",
          {**_CANCER, "R509": 0.1},
          {**_CANCER, "Z511": 0.3},
          {"C169": 0.2, "C509": 0.15, "C61": 0.15, "C189": 0.15, "C349": 0.2, "C259": 0.15},
          (0.01, 0.04, 0.18), (0.05, 0.1, 0.1, 0.5, 1, 1.5, 1.8), 1.0,
          {"cancer": 40}),
    Group("tb",
          {"A150": 0.6, "A162": 0.4},
          {"A150": 0.6, "A162": 0.4},
          {"A162": 1.0},
          (0.0005, 0.001, 0.002), conditions={"tb": 500}),
    Group("hiv",
          {"B24": 0.6, "B200": 0.4},
          {"B24": 0.5, "B200": 0.3, "B59": 0.2},
          {"B24": 1.0},
          (0.0003, 0.0005, 0.001), conditions={"hiv": 400}),
    Group("infection",
          {"A419": 0.15, "B349": 0.45, "U071": 0.2, "L031": 0.2},
          {"A419": 0.35, "U071": 0.3, "L031": 0.2, "N390": 0.15},
          {"A419": 0.5, "U071": 0.5},
          (0.08, 0.08, 0.08), (2, 1, 0.6, 0.6, 0.8, 1.5, 2.5), 1.0,
          {"diabetes": 1.5, "ckd": 1.5, "hiv": 4}),
    Group("obstetric",
          {"O200": 0.2, "O470": 0.35, "O234": 0.25, "O149": 0.1, "O210": 0.1},
          {"O149": 0.3, "O234": 0.2, "O200": 0.2, "O244": 0.15, "O470": 0.15},
          {"O95": 1.0},
          (0.0, 0.0, 0.0), pregnancy=(0.6, 0.5, 0.02)),
    Group("perinatal",
          {"P599": 0.5, "P229": 0.5},
          {"P073": 0.3, "P229": 0.3, "P599": 0.2, "P369": 0.2},
          {"P073": 0.3, "P229": 0.3, "P369": 0.2, "Q249": 0.2},
          (0.02, 0.05, 0.25), (1, 0, 0, 0, 0, 0, 0)),
    Group("other",
          {"R509": 0.2, "R104": 0.25, "M545": 0.15, "N390": 0.25, "R55": 0.15},
          {"N390": 0.3, "R104": 0.2, "M545": 0.1, "D649": 0.2, "R55": 0.2},
          {"G309": 0.35, "R99": 0.35, "E43": 0.3},
          (0.14, 0.07, 0.06), (1, 1, 1, 1, 1, 1.3, 2)),
)
# fmt: on


def variants(code: str) -> tuple[str, str, str]:
    """Write ``code`` in the three styles: ``"E119"`` as ``("E119", "E11.9", "E119")``."""
    if len(code) == 3:
        return code + "X", code, code
    return code, f"{code[:3]}.{code[3:]}", code


class CodeBook:
    """All codes events may carry: the categories of ``events.code`` and their positions."""

    def __init__(self) -> None:
        icd = {*DELIVERY_CODES, *PRENATAL_CODES, *ACUTE_CODES, *chain(*CONDITION_CODES.values())}
        for group in GROUPS:
            icd |= set(group.emergency) | set(group.hospitalization) | set(group.death)
        self.icd = tuple(sorted(icd))
        other = sorted(set(LAB_CODES) | set(VACCINES) | set(SCREENINGS))
        strings = sorted({v for c in self.icd for v in variants(c)} | set(other))
        self.categories = tuple(strings)
        position = {s: k for k, s in enumerate(strings)}
        self.lut = np.array([[position[v] for v in variants(c)] for c in self.icd], dtype="int16")
        self._icd = {c: k for k, c in enumerate(self.icd)}
        self._other = {c: position[c] for c in other}

    def icd_index(self, codes) -> np.ndarray:
        """Return the rows of :attr:`lut` of canonical ICD-10 codes."""
        return np.array([self._icd[c] for c in codes], dtype="int64")

    def code(self, name: str) -> int:
        """Return the category position of a lab, vaccine or screening code."""
        return self._other[name]
