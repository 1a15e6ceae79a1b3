"""Individual features on hand-made tables whose right answers are known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masrisk import Tables
from masrisk.codes import CHARLSON, CHARLSON_HIERARCHY, CONDITION_GROUPS, icd10_matches
from masrisk.features.catalog import matches
from masrisk.features.individual import CATALOG, individual_features
from masrisk.features.population import population_at
from masrisk.synth import synthesize
from tests.conftest import make_frames

AS_OF = pd.Timestamp("2024-01-01")


def ago(days: int, as_of: pd.Timestamp = AS_OF) -> str:
    return f"{as_of - pd.Timedelta(days=days):%Y-%m-%d}"


def person(pid: str, birth: str, sex: str = "F", **extra) -> dict:
    return {"person_id": pid, "household_id": "H1", "birth_date": birth, "sex": sex, **extra}


def features(persons, events, as_of=AS_OF, **options) -> pd.DataFrame:
    """Features of hand-made persons and events (tuples: person, date, kind, code, value)."""
    frames = make_frames()
    frames["persons"] = pd.DataFrame(persons)
    frames["events"] = pd.DataFrame(events, columns=["person_id", "date", "kind", "code", "value"])
    population = population_at(Tables.from_frames(frames), as_of)
    out = individual_features(population, **options)
    pd.testing.assert_index_equal(out.index, population.persons.index)
    return out


def test_utilisation_windows_include_the_boundary_day():
    days = [1, 89, 90, 91, 364, 365, 366]
    events = [("P1", ago(d), "outpatient", "J06", None) for d in days]
    events += [("P1", ago(0), "outpatient", "J06", None)]  # on as_of: not seen
    events += [
        ("P1", ago(365), "emergency", "S52", None),
        ("P1", ago(366), "pharmacy", "I10", None),
    ]
    events += [
        ("P2", ago(90), "lab", "GLUCOSA", 90.0),
        ("P2", ago(91), "hospitalization", "J18", None),
    ]
    out = features([person("P1", "1960-01-01"), person("P2", "1970-01-01")], events)
    assert out["ind_n_outpatient_90d"].tolist() == [3, 0]
    assert out["ind_n_outpatient_365d"].tolist() == [6, 0]
    assert out["ind_n_emergency_90d"].tolist() == [0, 0]
    assert out["ind_n_emergency_365d"].tolist() == [1, 0]
    assert out["ind_n_pharmacy_365d"].tolist() == [0, 0]
    assert out["ind_n_lab_90d"].tolist() == [0, 1]
    assert out["ind_n_hospitalization_90d"].tolist() == [0, 0]
    assert out["ind_n_hospitalization_365d"].tolist() == [0, 1]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 500), min_size=1, max_size=8))
def test_utilisation_counts_events_at_most_n_days_before(days):
    events = [("P1", ago(d), "emergency", "R10", None) for d in days]
    out = features([person("P1", "1960-01-01")], events)
    assert out.loc["P1", "ind_n_emergency_90d"] == sum(d <= 90 for d in days)
    assert out.loc["P1", "ind_n_emergency_365d"] == sum(d <= 365 for d in days)
    assert out.loc["P1", "ind_days_since_last_contact"] == min(days)


@pytest.mark.parametrize(
    ("years", "stage", "before"),
    [
        (6, "infancia", "primera_infancia"),
        (12, "adolescencia", "infancia"),
        (18, "juventud", "adolescencia"),
        (29, "adultez", "juventud"),
        (60, "vejez", "adultez"),
    ],
)
def test_life_stage_changes_on_the_birthday(years, stage, before):
    birthday = AS_OF - pd.DateOffset(years=years)
    persons = [
        person("ON", f"{birthday:%Y-%m-%d}"),
        person("EVE", f"{birthday + pd.Timedelta(days=1):%Y-%m-%d}"),
    ]
    out = features(persons, [("ON", ago(5), "outpatient", "Z00", None)])
    assert out["ind_life_stage"].tolist() == [stage, before]
    assert out.loc["ON", "ind_age"] == pytest.approx(years, abs=0.01)


def test_life_stage_of_a_29_february_birthday():
    persons = [person("LEAP", "2016-02-29")]  # turns 6 on 1 March 2022, not a leap year
    events = [("LEAP", "2021-06-01", "outpatient", "Z00", None)]
    on_28 = features(persons, events, as_of=pd.Timestamp("2022-02-28"))
    on_1 = features(persons, events, as_of=pd.Timestamp("2022-03-01"))
    assert on_28["ind_life_stage"].tolist() == ["primera_infancia"]
    assert on_1["ind_life_stage"].tolist() == ["infancia"]


def test_charlson_counts_the_severe_form_only():
    codes = {
        "DM": ["E11.9", "E11.2"],  # diabetes with complication replaces without: 2, not 3
        "CA": ["C50", "C78"],  # metastatic tumour replaces malignancy: 6, not 8
        "HT": ["I10X"],  # not a Charlson condition
        "DMX": ["E119"],  # undotted diabetes without complication: 1
        "MIX": ["I50.0", "J44.9", "E11.9", "I10"],  # 1 + 1 + 1
        "LIV": ["K70.3", "K72.1"],  # moderate/severe liver disease replaces mild: 3
        "NONE": ["J06"],
    }
    events = [
        (p, ago(30 + i), "outpatient", c, None) for p, cs in codes.items() for i, c in enumerate(cs)
    ]
    events += [("NONE", ago(10), "lab", "C78", 1.0)]  # a lab code is never an ICD-10 code
    out = features([person(p, "1950-01-01") for p in codes], events)
    assert out["ind_charlson"].tolist() == [2, 6, 0, 1, 3, 3, 0]
    assert out["ind_charlson"].dtype == np.int8


def test_condition_flags_read_mixed_code_styles():
    events = [
        ("A", ago(400), "outpatient", "I10X", None),
        ("A", ago(30), "pharmacy", "e11.9", None),
        ("B", ago(900), "hospitalization", "I10", None),
        ("B", ago(20), "emergency", "J45.0", None),
        ("C", ago(10), "outpatient", "E119", None),
        ("C", ago(10), "outpatient", "N18.3", None),
        ("C", ago(10), "outpatient", "Z99.2", None),
        ("D", ago(10), "screening", "I10", None),  # only ICD-10 kinds carry conditions
        ("D", ago(10), "outpatient", "I09", None),  # outside I10-I15
    ]
    out = features([person(p, "1950-01-01") for p in "ABCD"], events)
    assert out["ind_cond_hypertension"].tolist() == [1, 1, 0, 0]
    assert out["ind_cond_diabetes"].tolist() == [1, 0, 1, 0]
    assert out["ind_cond_asthma"].tolist() == [0, 1, 0, 0]
    assert out["ind_cond_ckd"].tolist() == [0, 0, 1, 0]
    assert out["ind_n_chronic"].tolist() == [2, 2, 2, 0]


def test_lab_last_and_change_from_unsorted_events():
    events = [
        ("A", "2023-11-01", "lab", "HBA1C", 7.0),
        ("B", "2023-05-05", "lab", "HBA1C", 6.1),
        ("A", "2023-03-01", "lab", "HBA1C", 9.0),
        ("A", "2023-12-01", "lab", "HBA1C", None),  # no result: ignored
        ("A", "2023-07-01", "lab", "HbA1c", 8.0),  # same test, other spelling
        ("B", "2023-05-05", "lab", "COLESTEROL-HDL", 41.0),
        ("C", "2024-01-01", "lab", "HBA1C", 12.0),  # on as_of: not seen
    ]
    out = features([person(p, "1960-01-01") for p in "ABC"], events)
    assert out["ind_lab_hba1c_last"].tolist()[:2] == [7.0, pytest.approx(6.1)]
    assert out["ind_lab_hba1c_change"].tolist()[0] == -1.0
    assert out[["ind_lab_hba1c_change"]].iloc[1:].isna().all().all()
    assert np.isnan(out.loc["C", "ind_lab_hba1c_last"])
    assert out.loc["B", "ind_lab_colesterol_hdl_last"] == 41.0
    assert out["ind_lab_hba1c_last"].dtype == np.float32


def test_lab_codes_given_are_used_exactly():
    events = [("A", "2023-11-01", "lab", "HBA1C", 7.0), ("A", "2023-11-01", "lab", "TSH", 2.0)]
    out = features([person("A", "1960-01-01")], events, lab_codes=["CD4", "hba1c"])
    labs = [c for c in out.columns if c.startswith("ind_lab_")]
    assert labs == [
        "ind_lab_cd4_last",
        "ind_lab_cd4_change",
        "ind_lab_hba1c_last",
        "ind_lab_hba1c_change",
    ]
    assert np.isnan(out.loc["A", "ind_lab_cd4_last"])
    assert out.loc["A", "ind_lab_hba1c_last"] == 7.0


def test_lab_codes_without_a_letter_or_digit_are_refused():
    events = [("A", "2023-11-01", "lab", "HBA1C", 7.0)]
    with pytest.raises(ValueError, match="no letter or digit"):
        features([person("A", "1960-01-01")], events, lab_codes=["HBA1C", "--"])


def test_same_day_results_give_the_same_features_in_any_row_order():
    events = [("A", "2023-11-01", "lab", "LDL", v) for v in (130.0, 110.0, 120.0)]
    events += [("A", "2023-10-01", "lab", "LDL", 100.0)]
    first = features([person("A", "1960-01-01")], events)
    again = features([person("A", "1960-01-01")], events[::-1])
    pd.testing.assert_frame_equal(first, again)
    assert first.loc["A", "ind_lab_ldl_last"] == 130.0  # the highest of the day


def test_rare_lab_codes_are_not_described():
    events = [("A", "2023-11-01", "lab", "TSH", 2.0), ("A", "2023-11-01", "lab", "LDL", 120.0)]
    events += [("B", "2023-11-01", "lab", "LDL", 99.0)]
    out = features([person(p, "1960-01-01") for p in "AB"], events, min_lab_share=0.75)
    assert [c for c in out.columns if c.startswith("ind_lab_")] == [
        "ind_lab_ldl_last",
        "ind_lab_ldl_change",
    ]


def test_days_since_last_contact():
    events = [("A", ago(40), "outpatient", "J06", None), ("A", ago(10), "vaccination", "FLU", None)]
    events += [("B", ago(0), "outpatient", "J06", None)]
    out = features([person("A", "1960-01-01"), person("B", "1960-01-01")], events)
    assert out.loc["A", "ind_days_since_last_contact"] == 10.0
    assert np.isnan(out.loc["B", "ind_days_since_last_contact"])
    assert out["ind_days_since_last_contact"].dtype == np.float32


def test_mammography_gap_follows_the_two_year_interval():
    born = "1968-06-01"  # 55 at as_of
    persons = [
        person("RECENT", born),
        person("OLD", born),
        person("EDGE", born),
        person("LATE", born),
        person("MAN", born, sex="M"),
        person("YOUNG", "1980-06-01"),
    ]
    events = [
        ("RECENT", ago(365), "screening", "MAMMOGRAPHY", None),
        ("OLD", ago(3 * 365), "screening", "MAMMOGRAPHY", None),
        ("EDGE", ago(730), "screening", "MAMMOGRAPHY", None),
        ("LATE", ago(731), "screening", "MAMMOGRAPHY", None),
        ("MAN", ago(10), "outpatient", "J06", None),
    ]
    out = features(persons, events)
    assert out["ind_gap_mammography"].tolist() == [0, 1, 0, 1, 0, 0]
    assert out["ind_gap_psa"].tolist() == [0, 0, 0, 0, 1, 0]


def test_vaccine_doses_missing_for_an_infant():
    persons = [
        person("BABY", "2023-09-01"),  # 122 days: BCG, HEPB and the first PENTA, POLIO,
        person("KID", "2018-12-01"),  # ROTA and PCV are due; KID is due its 5-year boosters
        person("OLDER", "2019-06-01"),
        person("ADULT", "1980-01-01"),
    ]
    events = [("ADULT", "2023-01-01", "outpatient", "J06", None)]  # records start here
    events += [("BABY", "2023-09-01", "vaccination", c, None) for c in ("BCG", "HEPB")]
    events += [("BABY", "2023-11-01", "vaccination", "PENTA", None)] * 2  # one dose too many
    out = features(persons, events)
    # BABY: POLIO, ROTA and PCV missing; KID: POLIO, VARICELLA and DPT at 1825 days;
    # OLDER: every dose fell due before the records began, none since.
    assert out["ind_vaccine_doses_missing"].tolist() == [3, 3, 0, 0]
    assert out["ind_vaccine_doses_missing"].dtype == np.int8


def test_vaccine_doses_fall_due_30_days_after_their_age():
    persons = [
        person("D90", ago(90)),  # the 60-day doses are due today: 2 + 4 doses
        person("D89", ago(89)),  # only the birth doses
        person("EDGE", ago(2190)),  # 1825-day doses fell due on the first day of records
        person("ADULT", "1980-01-01"),
    ]
    events = [("ADULT", d, "outpatient", "J06", None) for d in ("2023-01-01", ago(1))]
    out = features(persons, events)  # 365 days of records
    assert out["ind_vaccine_doses_missing"].tolist() == [6, 2, 3, 0]


def test_influenza_and_hpv_vaccination_gaps():
    persons = [
        person("FLU", "1955-01-01"),
        person("NOFLU", "1955-01-01"),
        person("MID", "1970-01-01"),
        person("GIRL", "2013-01-01"),
        person("HPV", "2013-01-01"),
        person("BOY", "2013-01-01", sex="M"),
    ]
    events = [
        ("FLU", ago(200), "vaccination", "FLU", None),
        ("NOFLU", ago(400), "vaccination", "FLU", None),
        ("HPV", ago(700), "vaccination", "HPV", None),
        ("BOY", ago(5), "outpatient", "J06", None),
    ]
    out = features(persons, events)
    assert out["ind_gap_flu_60plus"].tolist() == [0, 1, 0, 0, 0, 0]
    assert out["ind_gap_hpv_vaccine"].tolist() == [0, 0, 0, 1, 0, 0]


def test_pregnancy_read_from_events_not_from_the_persons_table():
    persons = [
        person("NOW", "1995-01-01", pregnant=0),
        person("PAST", "1995-01-01", pregnant=0),
        person("BORN", "1995-01-01", pregnant=0),
        person("FLAG", "1995-01-01", pregnant=1),  # a flag at the data's end: never read
        person("MAN", "1995-01-01", sex="M", pregnant=0),
    ]
    events = [
        ("NOW", ago(100), "outpatient", "Z34.0", None),
        ("NOW", ago(200), "outpatient", "O80", None),  # an earlier delivery
        ("PAST", ago(271), "outpatient", "Z34X", None),
        ("BORN", ago(200), "outpatient", "O26.8", None),
        ("BORN", ago(20), "hospitalization", "O82.0", None),
        ("FLAG", ago(10), "outpatient", "J06", None),
        ("MAN", ago(10), "outpatient", "Z34", None),
    ]
    out = features(persons, events)
    assert out["ind_pregnant"].tolist() == [1, 0, 0, 0, 0]


def test_columns_are_prefixed_documented_and_compact():
    frames = make_frames()
    population = population_at(Tables.from_frames(frames), "2024-06-01")
    out = individual_features(population)
    assert list(out.index) == ["P1", "P2", "P3", "P4", "P5", "P6", "P8"]  # P7 died
    pd.testing.assert_index_equal(out.index, population.persons.index)
    assert all(c.startswith("ind_") for c in out.columns)
    assert [c for c in out.columns if matches(c, CATALOG) is None] == []
    allowed = {"float32", "int8", "int16", "category"}
    assert {c: str(t) for c, t in out.dtypes.items() if str(t) not in allowed} == {}
    assert "ind_regime" in out.columns
    assert "ind_insurer" not in out.columns
    assert out["ind_sex"].cat.categories.tolist() == ["F", "M"]
    assert out["ind_regime"].tolist()[:4] == ["contributivo"] * 4
    assert "ind_lab_hba1c_last" in out.columns  # one person of seven had it: frequent here
    assert out.loc["P1", "ind_cond_hypertension"] == 1
    assert out.loc["P1", "ind_cond_ischaemic_heart_disease"] == 1  # I21.0 on 2024-02-03


def test_registry_columns_are_optional():
    persons = [
        person("A", "1960-01-01", insurer="EPS1", disability=1),
        person("B", "1960-01-01", insurer="EPS2", disability=None),
    ]
    out = features(persons, [("A", ago(5), "outpatient", "J06", None)])
    assert "ind_regime" not in out.columns
    assert out["ind_insurer"].tolist() == ["EPS1", "EPS2"]
    assert out["ind_insurer"].dtype == "category"
    assert out["ind_disability"].tolist() == [1, 0]
    assert out["ind_disability"].dtype == np.int8


def test_events_without_code_or_value_columns():
    frames = make_frames()
    frames["events"] = frames["events"].drop(columns=["code", "value"])
    population = population_at(Tables.from_frames(frames), "2024-06-01")
    out = individual_features(population)
    assert out.filter(like="ind_cond_").to_numpy().sum() == 0
    assert out.filter(like="ind_lab_").columns.tolist() == []
    counts = ["ind_n_outpatient_365d", "ind_n_lab_365d", "ind_n_hospitalization_365d"]
    assert out.loc["P1", counts].tolist() == [0, 0, 1]  # lab on 2023-06-01: 366 days before
    assert out.loc["P1", "ind_days_since_last_contact"] == 119  # 2024-02-03


def test_catalog_documents_every_feature_once():
    names = [spec.name for spec in CATALOG]
    assert len(names) == len(set(names))
    assert all(spec.level == "individual" and spec.description and spec.unit for spec in CATALOG)


# --------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def synthetic():
    tables = synthesize(persons=3000, seed=0).tables
    population = population_at(tables, "2024-07-01")
    return tables, population, individual_features(population)


def test_prevalence_is_sensible_on_the_synthetic_population(synthetic):
    _, population, out = synthetic
    age = out["ind_age"]
    hypertension = out["ind_cond_hypertension"]
    assert hypertension[age >= 60].mean() > 3 * hypertension[(age >= 18) & (age < 45)].mean()
    assert out["ind_charlson"][age >= 60].mean() > out["ind_charlson"][age < 45].mean()
    assert out.loc[age < 12, "ind_pregnant"].sum() == 0
    assert out.loc[out["ind_sex"] == "M", "ind_pregnant"].sum() == 0
    assert 0 < out["ind_pregnant"].mean() < 0.05
    assert "ind_lab_hba1c_last" in out.columns
    assert "ind_lab_hba1c_change" in out.columns
    assert "ind_lab_cd4_last" not in out.columns  # persons with HIV only: under 1 %
    diabetic = out["ind_cond_diabetes"] == 1
    assert (
        out.loc[diabetic, "ind_lab_hba1c_last"].mean()
        > out.loc[~diabetic, "ind_lab_hba1c_last"].mean()
    )
    assert out["ind_days_since_last_contact"].notna().mean() > 0.9


def test_condition_flags_agree_with_icd10_matches(synthetic):
    _, population, out = synthetic
    events = population.events
    icd = events.loc[~events["kind"].isin(["lab", "vaccination", "screening"])]
    codes = icd["code"].cat.remove_unused_categories()
    n = len(out)

    def flag(specs) -> np.ndarray:
        hit = [icd10_matches(c, specs) for c in codes.cat.categories]
        hit = np.array([*hit, False])  # a missing code (-1) matches nothing
        has = np.zeros(n, dtype=bool)
        has[icd["pos"].to_numpy()[hit[codes.cat.codes.to_numpy()]]] = True
        return has

    for name, specs in CONDITION_GROUPS.items():
        np.testing.assert_array_equal(out[f"ind_cond_{name}"].to_numpy(), flag(specs), name)
    charlson = {name: flag(specs) for name, (_, specs) in CHARLSON.items()}
    for mild, severe in CHARLSON_HIERARCHY.items():
        charlson[mild] &= ~charlson[severe]
    expected = sum(CHARLSON[name][0] * has for name, has in charlson.items())
    np.testing.assert_array_equal(out["ind_charlson"].to_numpy(), expected)


def test_features_ignore_events_on_or_after_as_of(synthetic):
    tables, population, out = synthetic
    as_of = population.as_of
    events = tables.events
    earlier = Tables(
        territories=tables.territories,
        households=tables.households,
        persons=tables.persons.assign(pregnant=np.int8(1)),  # end-of-data flag: not read
        events=events.loc[events["date"] < as_of].reset_index(drop=True),
    )
    again = individual_features(population_at(earlier, as_of))
    pd.testing.assert_frame_equal(again, out)


def test_diagnosis_events_set_condition_flags_and_count_no_visit():
    events = [
        ("P1", ago(30), "outpatient", "J06", None),
        ("P1", ago(30), "diagnosis", "I10", None),  # a secondary diagnosis of that visit
        ("P1", ago(400), "diagnosis", "E11.9", None),  # a problem-list condition
    ]
    out = features([person("P1", "1960-01-01")], events)
    assert out.loc[:, ["ind_cond_hypertension", "ind_cond_diabetes"]].iloc[0].tolist() == [1, 1]
    assert out["ind_n_outpatient_365d"].iloc[0] == 1
    assert out["ind_charlson"].iloc[0] == 1  # E11.9: diabetes without complication
