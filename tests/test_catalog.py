"""The interventions catalogue: the shipped one is complete, bad ones fail naming the key,
and eligibility follows each intervention's rules."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

from masrisk import ConfigError
from masrisk.planning import (
    AXES,
    ROUTES,
    SETTINGS,
    STAGES,
    Intervention,
    InterventionCatalog,
    catalog_path,
    eligibility,
    load_catalog,
)
from masrisk.tiers import TIERS

REPO_CATALOG = Path(__file__).resolve().parents[1] / "configs" / "interventions.yaml"


def _shipped() -> dict:
    return yaml.safe_load(catalog_path().read_text(encoding="utf-8"))


def _entry(name: str, axis: str, route: str, **extra) -> dict:
    return {
        "name": name,
        "description": f"{name} for testing.",
        "axis": axis,
        "route": route,
        "setting": "primary_care",
        "hours_per_person": 1.0,
        "relative_risk_reduction": 0.05,
        "source": "test",
        **extra,
    }


def _minimal() -> dict:
    """A smallest complete catalogue: one intervention per route, every axis, all stages."""
    return {
        "interventions": [
            _entry(f"item_{k}", AXES[k % len(AXES)], route) for k, route in enumerate(ROUTES)
        ]
    }


def _intervention(**extra) -> Intervention:
    return Intervention(**_entry("test_item", "prevention", "general", **extra))


# ------------------------------------------------------------------ the shipped catalogue


def test_shipped_catalog_covers_every_axis_route_and_stage():
    catalog = load_catalog()
    assert len(catalog) >= 30
    assert {i.axis for i in catalog.interventions} == set(AXES)
    assert {i.route for i in catalog.interventions} == set(ROUTES)
    assert {s for i in catalog.interventions for s in i.stages} == set(STAGES)
    assert {i.setting for i in catalog.interventions} == set(SETTINGS)
    assert len(set(catalog.names)) == len(catalog)


def test_shipped_catalog_is_the_repository_copy():
    assert catalog_path().read_text(encoding="utf-8") == REPO_CATALOG.read_text(encoding="utf-8")
    assert load_catalog() == load_catalog("default") == load_catalog(REPO_CATALOG)
    assert load_catalog(_shipped()) == load_catalog()


def test_shipped_catalog_values_are_conservative_and_sourced():
    catalog = load_catalog()
    for item in catalog.interventions:
        assert 0 < item.relative_risk_reduction <= 0.15, item.name
        assert 0 < item.hours_per_person <= 40, item.name
        assert item.min_coverage <= 0.3, item.name
        assert item.source.strip(), item.name
    lines = REPO_CATALOG.read_text(encoding="utf-8").splitlines()
    rrr_lines = [k for k, line in enumerate(lines) if line.strip().startswith("relative_risk")]
    assert len(rrr_lines) == len(catalog)
    assert all(lines[k - 1].strip().startswith("# ") for k in rrr_lines)


def test_shipped_catalog_has_the_core_interventions_of_the_routes():
    catalog = load_catalog()
    core = {
        "prenatal_control": ("maternal_perinatal", "prevention"),
        "vaccination_catch_up_pai": ("infectious", "prevention"),
        "tb_directly_observed_treatment": ("infectious", "diagnosis_treatment"),
        "hypertension_diabetes_programme": (
            "cardio_cerebrovascular_metabolic",
            "diagnosis_treatment",
        ),
        "cardiac_rehabilitation": ("cardio_cerebrovascular_metabolic", "rehabilitation"),
        "palliative_home_care_cancer": ("cancer", "palliative_care"),
    }
    for name, (route, axis) in core.items():
        assert (catalog[name].route, catalog[name].axis) == (route, axis)
    assert catalog["prenatal_control"].min_coverage > 0
    assert catalog["nurse_case_management"].tiers == ("case_management",)
    assert catalog["mammography_screening"].level_of_care == 2


def test_to_frame_has_one_row_per_intervention():
    catalog = load_catalog()
    frame = catalog.to_frame()
    assert list(frame.columns) == [
        "name",
        "axis",
        "route",
        "setting",
        "level_of_care",
        "hours_per_person",
        "relative_risk_reduction",
        "min_coverage",
        "source",
        "eligible",
    ]
    assert frame["name"].tolist() == list(catalog.names)
    row = frame.set_index("name").loc["mammography_screening"]
    assert row["eligible"] == "F, 50-69 y, adultez/vejez, with ind_gap_mammography"
    assert "prenatal_control" in catalog._repr_html_()
    summary = catalog["nurse_case_management"].summary()
    assert summary.startswith(
        "nurse_case_management: diagnosis_treatment, general, home (level 1);"
    )
    assert "; tier case_management; 10 h/person, RRR 0.05, min coverage 0.2" in summary


def test_unknown_intervention_name_suggests_close_ones():
    with pytest.raises(KeyError, match="did you mean 'prenatal_control'"):
        load_catalog()["prenatal_contrl"]


# ------------------------------------------------------------------ validation


def _set(index: int, key: str, value):
    def change(data: dict) -> None:
        data["interventions"][index][key] = value

    return change


def _drop_where(key: str, value: str):
    def change(data: dict) -> None:
        data["interventions"] = [i for i in data["interventions"] if i[key] != value]

    return change


def _duplicate_name(data: dict) -> None:
    data["interventions"][1]["name"] = data["interventions"][0]["name"]


def _only_old_age(data: dict) -> None:
    for item in data["interventions"]:
        item["stages"] = ["vejez"]


def _drop_key(index: int, key: str):
    def change(data: dict) -> None:
        del data["interventions"][index][key]

    return change


BAD = {
    "axis": (_set(3, "axis", "cure"), "interventions[3].axis: Input should be 'promotion'"),
    "route": (_set(2, "route", "dental"), "interventions[2].route: Input should be"),
    "setting": (_set(1, "setting", "hospital"), "interventions[1].setting: Input should be"),
    "level": (_set(0, "level_of_care", 4), "interventions[0].level_of_care: Input should be"),
    "stage": (_set(0, "stages", ["adulthood"]), "interventions[0].stages: unknown stage"),
    "no stage": (_set(0, "stages", []), "interventions[0].stages: give at least one stage"),
    "tier": (_set(4, "tiers", ["high"]), "interventions[4].tiers: unknown tier ['high']"),
    "sex": (_set(0, "sex", "X"), "interventions[0].sex: Input should be 'F' or 'M'"),
    "ages": (
        lambda d: d["interventions"][5].update(min_age=70, max_age=50),
        "interventions[5]: min_age (70) is above max_age (50)",
    ),
    "ages outside stages": (
        lambda d: d["interventions"][5].update(stages=["infancia"], min_age=60),
        "interventions[5]: no age in 60-120 falls in the stages infancia",
    ),
    "feature typo": (
        _set(6, "requires_any", ["ind_cond_diabetis"]),
        "interventions[6].requires_any: unknown feature 'ind_cond_diabetis'; "
        "did you mean 'ind_cond_diabetes'",
    ),
    "placeholder": (
        _set(6, "requires_any", ["ind_lab_{lab}_last"]),
        "interventions[6].requires_any: 'ind_lab_{lab}_last' is a placeholder",
    ),
    "indicator typo": (
        _set(6, "requires_any", ["fam_dep_overcrowding"]),
        "interventions[6].requires_any: unknown feature 'fam_dep_overcrowding'",
    ),
    "category": (_set(6, "requires_any", ["ind_sex"]), "'ind_sex' is a category"),
    "rrr too big": (
        _set(7, "relative_risk_reduction", 0.6),
        "interventions[7].relative_risk_reduction: Input should be less than 0.5",
    ),
    "rrr zero": (
        _set(7, "relative_risk_reduction", 0),
        "interventions[7].relative_risk_reduction: Input should be greater than 0",
    ),
    "hours": (_set(8, "hours_per_person", 0), "interventions[8].hours_per_person: Input should"),
    "coverage": (_set(8, "min_coverage", 1.5), "interventions[8].min_coverage: Input should"),
    "name": (_set(0, "name", "Bad Name"), "interventions[0].name: String should match pattern"),
    "unknown key": (_set(0, "cost", 3), "interventions[0].cost: unknown key"),
    "missing source": (_drop_key(0, "source"), "interventions[0].source: Field required"),
    "duplicate": (_duplicate_name, "interventions[1].name: 'item_0' is already the name of"),
    "axis uncovered": (
        _drop_where("axis", "palliative_care"),
        "interventions: no intervention for axis 'palliative_care'",
    ),
    "route uncovered": (
        _drop_where("route", "infectious"),
        "interventions: no intervention for route 'infectious'",
    ),
    "stage uncovered": (_only_old_age, "interventions: no intervention for stage 'infancia'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_catalog_is_rejected_naming_the_key(case):
    change, expected = BAD[case]
    data = _minimal()
    load_catalog(copy.deepcopy(data))  # the base is valid
    change(data)
    with pytest.raises(ConfigError) as info:
        load_catalog(data)
    assert expected in str(info.value)


def test_error_names_the_intervention_and_the_file(tmp_path):
    data = _shipped()
    data["interventions"][3]["axis"] = "cure"
    data["interventions"][9]["hours_per_person"] = -1
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    message = str(info.value)
    assert str(path) in message
    name = data["interventions"][3]["name"]
    assert "interventions[3].axis: Input should be" in message
    assert f"(got 'cure') [in {name!r}]" in message
    assert "interventions[9].hours_per_person" in message


def test_unreadable_sources_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_catalog(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("interventions: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_catalog(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping with the key `interventions`"):
        load_catalog(listed)
    with pytest.raises(ConfigError, match="interventions: Field required"):
        load_catalog({})


def test_placeholder_feature_with_a_concrete_name_is_accepted():
    names = ["ind_lab_hba1c_last", "fam_dep_critical_overcrowding", "ter_svi_illiteracy"]
    assert _intervention(requires_any=names).requires_any == tuple(names)


def test_stages_and_tiers_are_kept_in_canonical_order():
    item = _intervention(
        stages=["vejez", "infancia"], tiers=["promotion_prevention", "case_management"]
    )
    assert item.stages == ("infancia", "vejez")
    assert item.tiers == ("case_management", "promotion_prevention")
    assert _intervention().stages == STAGES
    assert _intervention().tiers == TIERS


# ------------------------------------------------------------------ Mexico's levels of care


def test_levels_of_care_round_trip_through_yaml(tmp_path):
    data = _minimal()
    data["interventions"][0]["level_of_care"] = 2
    data["interventions"][1].update(level_of_care=3, setting="specialist")
    catalog = load_catalog(data)
    assert [i.level_of_care for i in catalog.interventions][:3] == [2, 3, 1]
    path = tmp_path / "mexico.yaml"
    path.write_text(yaml.safe_dump(catalog.model_dump(mode="json"), sort_keys=False))
    again = load_catalog(path)
    assert again == catalog
    assert again.to_frame()["level_of_care"].tolist()[:3] == [2, 3, 1]
    assert load_catalog(again.model_dump()) == catalog


# ------------------------------------------------------------------ eligibility


def _persons() -> pd.DataFrame:
    rows = [
        # stage, sex, age, tier, diabetes, hypertension
        ("vejez", "F", 70.0, "case_management", 1.0, 0.0),  # P1: all rules met
        ("vejez", "M", 70.0, "case_management", 1.0, 0.0),  # P2: wrong sex
        ("adultez", "F", 59.9, "case_management", 1.0, 0.0),  # P3: wrong stage and age
        ("vejez", "F", 70.0, "disease_management", 1.0, 0.0),  # P4: wrong tier
        ("vejez", "F", 80.9, "case_management", 0.0, 1.0),  # P5: 80 completed years, HT only
        ("vejez", "F", 81.0, "case_management", 1.0, 1.0),  # P6: too old
        ("vejez", "F", 70.0, "case_management", np.nan, 0.2),  # P7: NaN and below 0.5
        ("vejez", "F", np.nan, "case_management", 1.0, 1.0),  # P8: unknown age
        (None, None, np.nan, None, np.nan, np.nan),  # P9: nothing known
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "ind_life_stage",
            "ind_sex",
            "ind_age",
            "tier",
            "ind_cond_diabetes",
            "ind_cond_hypertension",
        ],
        index=pd.Index([f"P{k}" for k in range(1, 10)], name="person_id"),
    )
    frame["ind_life_stage"] = pd.Categorical(frame["ind_life_stage"], categories=STAGES[::-1])
    frame["ind_cond_diabetes"] = frame["ind_cond_diabetes"].astype("float32")
    return frame


def _flags(text: str) -> list[bool]:
    return [c == "T" for c in text]


#: Who `_restricted()` admits among `_persons()`: P1 (all rules met) and P5 (hypertension only).
RESTRICTED_ELIGIBLE = _flags("TFFFTFFFF")


def _restricted() -> Intervention:
    return Intervention(
        **_entry(
            "restricted",
            "diagnosis_treatment",
            "cardio_cerebrovascular_metabolic",
            stages=["vejez"],
            sex="F",
            tiers=["case_management"],
            min_age=65,
            max_age=80,
            requires_any=["ind_cond_diabetes", "ind_cond_hypertension"],
        )
    )


def test_eligibility_applies_stage_sex_tier_age_and_requires_any():
    persons = _persons()
    everyone = _intervention()
    result = eligibility([_restricted(), everyone], persons)
    assert list(result.columns) == ["restricted", "test_item"]
    assert result.index.equals(persons.index)
    assert all(dtype == np.dtype(bool) for dtype in result.dtypes)
    assert result["restricted"].tolist() == RESTRICTED_ELIGIBLE
    assert result["test_item"].all()  # no rule, so unknown values do not exclude


def test_eligibility_reads_only_the_columns_it_needs():
    persons = _persons()[["ind_age"]]
    result = eligibility([_intervention(min_age=60)], persons)
    assert result["test_item"].tolist() == _flags("TTFTTTTFF")


def test_eligibility_accepts_nullable_and_string_columns():
    persons = _persons()
    persons["ind_life_stage"] = persons["ind_life_stage"].astype("string")
    persons["ind_cond_hypertension"] = persons["ind_cond_hypertension"].astype("Float64")
    persons.loc["P7", "ind_cond_hypertension"] = pd.NA
    result = eligibility([_restricted()], persons)
    assert result["restricted"].tolist() == RESTRICTED_ELIGIBLE


def test_eligibility_names_the_missing_column_and_the_intervention():
    persons = _persons().drop(columns=["ind_cond_hypertension", "tier"])
    with pytest.raises(ValueError, match="persons lacks columns") as info:
        eligibility([_restricted()], persons)
    message = str(info.value)
    assert "column 'tier', needed by intervention 'restricted'" in message
    assert "column 'ind_cond_hypertension', needed by intervention 'restricted'" in message


def test_eligibility_rejects_unknown_values_and_text_features():
    persons = _persons()
    persons.loc["P2", "ind_sex"] = "male"
    with pytest.raises(
        ValueError,
        match=r"persons.ind_sex: 1 unknown value \(e.g. \['male'\]\); expected one of F, M",
    ):
        eligibility([_restricted()], persons)
    persons = _persons()
    persons["ind_cond_diabetes"] = "yes"
    with pytest.raises(ValueError, match="persons.ind_cond_diabetes: not numeric"):
        eligibility([_restricted()], persons)


def test_eligibility_rejects_repeated_names():
    with pytest.raises(ValueError, match="repeated: \\['test_item'\\]"):
        eligibility([_intervention(), _intervention()], _persons())


def test_eligibility_of_the_shipped_catalog_has_one_column_per_intervention():
    catalog = load_catalog()
    rng = np.random.default_rng(0)
    n = 500
    age = rng.uniform(0, 95, n)
    persons = pd.DataFrame(
        {c: rng.integers(0, 2, n).astype("float32") for c in catalog.required_columns}
    )
    persons["ind_age"] = age
    persons["ind_life_stage"] = pd.cut(
        np.floor(age), [-1, 5, 11, 17, 28, 59, 120], labels=list(STAGES)
    )
    persons["ind_sex"] = rng.choice(["F", "M"], n)
    persons["tier"] = rng.choice(list(TIERS), n)
    result = eligibility(catalog, persons)
    assert list(result.columns) == list(catalog.names)
    men = persons["ind_sex"] == "M"
    assert not result.loc[men, "prenatal_control"].any()
    assert not result.loc[persons["ind_age"] >= 2, "breastfeeding_promotion"].any()
    assert result["healthy_lifestyle_community_group"].sum() == (persons["ind_age"] >= 18).sum()
    assert result.any().sum() > 30


# ------------------------------------------------------------------ property


FEATURES = ("ind_cond_diabetes", "ind_pregnant", "fam_older_adult_alone")
VALUES = st.sampled_from([0.0, 0.49, 0.5, 1.0, 3.0, math.nan])


@st.composite
def interventions(draw) -> Intervention:
    extra = {
        "stages": draw(st.none() | st.lists(st.sampled_from(STAGES), min_size=1, unique=True)),
        "tiers": draw(st.none() | st.lists(st.sampled_from(TIERS), min_size=1, unique=True)),
        "sex": draw(st.sampled_from([None, "F", "M"])),
        "min_age": draw(st.none() | st.integers(0, 100)),
        "max_age": draw(st.none() | st.integers(0, 120)),
        "requires_any": draw(st.lists(st.sampled_from(FEATURES), unique=True, max_size=3)),
    }
    try:
        return _intervention(**{k: v for k, v in extra.items() if v is not None})
    except PydanticValidationError:
        reject()


@st.composite
def person_frames(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 25))

    def column(values: st.SearchStrategy) -> list:
        return draw(st.lists(values, min_size=n, max_size=n))

    return pd.DataFrame(
        {
            "ind_life_stage": column(st.sampled_from([*STAGES, None])),
            "ind_sex": column(st.sampled_from(["F", "M", None])),
            "ind_age": column(st.floats(0, 120) | st.just(math.nan)),
            "tier": column(st.sampled_from([*TIERS, None])),
            **{feature: column(VALUES) for feature in FEATURES},
        },
        index=pd.RangeIndex(100, 100 + n),
    )


def _eligible_by_hand(item: Intervention, row: pd.Series) -> bool:
    age = row["ind_age"]
    return (
        (item.stages == STAGES or row["ind_life_stage"] in item.stages)
        and (item.sex is None or row["ind_sex"] == item.sex)
        and (item.tiers == TIERS or row["tier"] in item.tiers)
        and (item.min_age is None or (not math.isnan(age) and math.floor(age) >= item.min_age))
        and (item.max_age is None or (not math.isnan(age) and math.floor(age) <= item.max_age))
        and (not item.requires_any or any(row[f] >= 0.5 for f in item.requires_any))
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(item=interventions(), persons=person_frames())
def test_eligibility_never_marks_a_person_outside_the_rules(item, persons):
    result = eligibility([item], persons)[item.name]
    assert result.index.equals(persons.index)
    for (_, row), eligible in zip(persons.iterrows(), result, strict=True):
        assert eligible == _eligible_by_hand(item, row)
        if eligible:
            assert item.stages == STAGES or row["ind_life_stage"] in item.stages
            assert item.sex in (None, row["ind_sex"])
            assert item.tiers == TIERS or row["tier"] in item.tiers
            if item.min_age is not None or item.max_age is not None:
                low, high = item.min_age or 0, 120 if item.max_age is None else item.max_age
                assert low <= math.floor(row["ind_age"]) <= high


def test_catalog_object_can_be_built_directly():
    catalog = InterventionCatalog.model_validate(_minimal())
    assert len(catalog) == len(ROUTES)
    assert catalog.required_columns == ()
