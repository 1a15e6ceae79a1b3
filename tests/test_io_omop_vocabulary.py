"""Condition records of OMOP CDMs as ICD-10 codes: source values, ICD-9-CM, SNOMED CT anchors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masrisk.codes import CONDITION_DEFINITIONS, icd10_matches
from masrisk.io.omop.vocabulary import ConditionCodes

GIBLEED = Path(__file__).resolve().parents[1].parent / "shared/data/omop/gibleed"
HYPERTENSION, DIABETES, HEART_FAILURE = 316866, 201820, 316139


def reader(tables: dict[str, pd.DataFrame]):
    def read(table, columns):
        if table in tables:
            yield tables[table][columns]

    return read


def codes(vocabulary, concept, source, source_concept=None) -> list[list[str]]:
    concept = pd.Series(concept, dtype="Int64")
    source_concept = pd.Series(source_concept or [0] * len(concept), dtype="Int64")
    out = vocabulary.codes(concept, pd.Series(source, dtype=object), source_concept)
    assert out.groupby("row")["first"].sum().eq(1).all()
    return out.groupby("row")["code"].agg(list).reindex(range(len(concept))).tolist()


ANCESTORS = pd.DataFrame(
    {
        "ancestor_concept_id": [HYPERTENSION, HYPERTENSION, HEART_FAILURE, DIABETES],
        "descendant_concept_id": [320128, 312648, 312648, 201826],  # 312648: both groups
    }
)


def test_icd10_source_values_are_kept_and_icd9cm_ones_become_their_groups_code():
    vocabulary = ConditionCodes.none()
    found = codes(vocabulary, [0] * 5, ["E11.9", "I10X", "401.9", "25000", "493.90"])
    assert found == [["E11.9"], ["I10X"], ["I10"], ["E14.9"], ["J45.9"]]


def test_a_source_vocabulary_in_concept_decides_over_the_shape_of_the_code():
    concept = pd.DataFrame(
        {"concept_id": [44821949, 35207668], "vocabulary_id": ["ICD9CM", "ICD10CM"],
         "concept_code": ["401.9", "I10"]}
    )  # fmt: skip
    vocabulary = ConditionCodes.from_tables(reader({"concept": concept}))
    found = codes(vocabulary, [0, 0], ["4019", "I10"], [44821949, 35207668])
    assert found == [["I10"], ["I10"]]


def test_standard_concepts_take_the_code_of_every_group_of_their_ancestors():
    vocabulary = ConditionCodes.from_tables(reader({"concept_ancestor": ANCESTORS}))
    found = codes(
        vocabulary,
        [320128, 312648, 201826, 4112343, 312648],
        ["59621000", "SNOMED-X", "44054006", "195662009", "I11.0"],
    )
    assert found[0] == ["I10"]
    assert found[1] == ["I10", "I50.9"]
    assert found[2] == ["E14.9"]
    assert found[3] == ["195662009"]  # no group: the source value, as written
    assert found[4] == ["I11.0"]  # I11.0 is hypertension and heart failure already


def test_anchors_are_found_by_their_snomed_id_in_a_cdm_with_its_own_concept_ids():
    concept = pd.DataFrame(
        {"concept_id": [9_000_001, HYPERTENSION], "vocabulary_id": ["SNOMED", "Gender"],
         "concept_code": ["38341003", "X"]}
    )  # fmt: skip
    ancestors = pd.DataFrame(
        {"ancestor_concept_id": [9_000_001, HYPERTENSION], "descendant_concept_id": [7, 8]}
    )
    vocabulary = ConditionCodes.from_tables(
        reader({"concept": concept, "concept_ancestor": ancestors})
    )
    assert codes(vocabulary, [7, 8], ["a", "b"]) == [["I10"], ["b"]]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(list(CONDITION_DEFINITIONS)), min_size=1, max_size=6))
def test_every_record_of_a_group_gets_a_code_inside_that_group(names):
    anchors = [CONDITION_DEFINITIONS[n].snomed for n in names]
    usable = [(n, a[0][1]) for n, a in zip(names, anchors, strict=True) if a]
    vocabulary = ConditionCodes.none()
    if usable:
        ancestors = pd.DataFrame(
            {"ancestor_concept_id": [c for _, c in usable],
             "descendant_concept_id": range(1, len(usable) + 1)}
        )  # fmt: skip
        vocabulary = ConditionCodes.from_tables(reader({"concept_ancestor": ancestors}))
        found = codes(vocabulary, list(range(1, len(usable) + 1)), ["0"] * len(usable))
        for (name, _), got in zip(usable, found, strict=True):
            assert any(icd10_matches(c, CONDITION_DEFINITIONS[name].icd10) for c in got)


def test_every_groups_code_is_inside_its_icd10_ranges_and_no_other_group():
    for name, group in CONDITION_DEFINITIONS.items():
        assert icd10_matches(group.code, group.icd10), name
        others = [n for n, g in CONDITION_DEFINITIONS.items() if icd10_matches(group.code, g.icd10)]
        assert others == [name]


@pytest.mark.skipif(not GIBLEED.is_dir(), reason=f"the Eunomia GiBleed CDM is not at {GIBLEED}")
def test_on_gibleed_every_record_under_an_anchor_is_coded_into_its_group():
    def read(table, columns):
        path = GIBLEED / f"{table.upper()}.csv"
        if path.is_file():
            for chunk in pd.read_csv(path, chunksize=100_000, dtype=str):
                yield chunk.rename(columns=str.lower)[columns]

    vocabulary = ConditionCodes.from_tables(read)
    conditions = pd.read_csv(GIBLEED / "CONDITION_OCCURRENCE.csv", dtype=str)
    concept = pd.to_numeric(conditions["CONDITION_CONCEPT_ID"]).astype("Int64")
    out = vocabulary.codes(
        concept,
        conditions["CONDITION_SOURCE_VALUE"],
        pd.to_numeric(conditions["CONDITION_SOURCE_CONCEPT_ID"]).astype("Int64"),
    )
    ancestors = pd.read_csv(GIBLEED / "CONCEPT_ANCESTOR.csv")
    for name in ("asthma", "copd", "ischaemic_heart_disease", "dementia"):
        anchors = [c for _, c in CONDITION_DEFINITIONS[name].snomed]
        under = ancestors.loc[ancestors["ANCESTOR_CONCEPT_ID"].isin(anchors)]
        rows = pd.Index(range(len(concept)))[concept.isin(under["DESCENDANT_CONCEPT_ID"])]
        assert len(rows) > 50, name
        coded = out[out["row"].isin(rows)].groupby("row")["code"].agg(list)
        group = CONDITION_DEFINITIONS[name].icd10
        assert all(any(icd10_matches(c, group) for c in got) for got in coded), name
