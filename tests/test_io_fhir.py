"""FHIR R4 export: every resource validates, reads back to the scores and plans, bad input is
refused with every problem named, and ``masrisk export fhir`` wires it."""

from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.group import Group
from fhir.resources.R4B.riskassessment import RiskAssessment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import masrisk
from masrisk.cli import app
from masrisk.exceptions import Problems
from masrisk.io import export_fhir
from masrisk.io.fhir.resources import to_line
from masrisk.outputs import MARKER, write_table
from masrisk.planning.planner import plan
from tests.test_demo_bundle import DEMO

AS_OF = "2025-01-01"
FHIR_ID = r"[A-Za-z0-9\-.]{1,64}"


def read(path: Path, kind: type) -> list:
    """Read an NDJSON file: lines end in "\\n" only (a JSON string may hold U+0085 or U+2028)."""
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [kind.model_validate_json(line) for line in text.split("\n")[:-1]]


def extension(detail, name: str):
    (found,) = [e for e in detail.extension if e.url == f"urn:masrisk:{name}"]
    return found


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Scores (Parquet and CSV) and a plans directory of a small synthetic city."""
    root = tmp_path_factory.mktemp("fhir")
    population = masrisk.synthesize("bogota", persons=1000, seed=5)
    config = masrisk.load_config("bogota")
    bundle = masrisk.load_bundle(DEMO)
    features = masrisk.build_features(
        population.tables, as_of=AS_OF, config=config, lab_codes=bundle.metadata["lab_codes"]
    )
    scores = masrisk.score(bundle, population.tables, as_of=AS_OF, config=config)
    drivers = masrisk.explain(bundle, features, tables=population.tables).drivers("territory")
    plans = plan(scores, population.tables, config=config, persons=features, drivers=drivers)
    write_table(scores, root / "scores.parquet")
    write_table(scores, root / "scores.csv")
    plans.write(root / "plans")
    write_table(scores.head(60), root / "few.parquet")
    # a plans directory of one territory, for the tests that export often
    (root / "one").mkdir()
    summary = json.loads((root / "plans" / "summary.json").read_text(encoding="utf-8"))
    summary["territories"] = summary["territories"][:1]
    (root / "one" / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    name = f"{summary['territories'][0]['territory_id']}.json"
    (root / "one" / name).write_bytes((root / "plans" / name).read_bytes())
    return root


@pytest.fixture(scope="module")
def exported(inputs):
    return export_fhir(
        inputs / "scores.parquet", inputs / "plans", inputs / "out", model=DEMO, chunk_size=500
    )


@pytest.fixture(scope="module")
def scores(inputs) -> pd.DataFrame:
    return pd.read_parquet(inputs / "scores.parquet")


def test_every_resource_validates_and_counts_match_the_inputs(inputs, exported, scores):
    summary = json.loads((inputs / "plans" / "summary.json").read_text(encoding="utf-8"))
    territories = [t["territory_id"] for t in summary["territories"]]
    assessments = read(exported.files["RiskAssessment"], RiskAssessment)
    care_plans = read(exported.files["CarePlan"], CarePlan)
    groups = read(exported.files["Group"], Group)
    assert len(assessments) == len(scores) == exported.counts["RiskAssessment"]
    assert len(care_plans) == len(groups) == len(territories) == exported.counts["CarePlan"]
    assert sorted(p.subject.identifier.value for p in care_plans) == sorted(territories)
    assert len({a.id for a in assessments}) == len(assessments)
    assert (exported.outcome, exported.as_of) == ("hospitalization_12m", AS_OF)


def test_risk_assessments_carry_each_persons_risk_tier_and_the_model(exported, scores):
    assessments = read(exported.files["RiskAssessment"], RiskAssessment)
    by_person = {a.subject.identifier.value: a for a in assessments}
    expected = scores.assign(person_id=scores["person_id"].astype(str)).set_index("person_id")
    assert set(by_person) == set(expected.index)
    read_risk = np.array(
        [np.float32(by_person[p].prediction[0].probabilityDecimal) for p in expected.index]
    )
    np.testing.assert_array_equal(read_risk, expected["risk"].to_numpy())
    tiers = [by_person[p].prediction[0].qualitativeRisk.coding[0].code for p in expected.index]
    assert tiers == expected["tier"].astype(str).tolist()
    sha = hashlib.sha256((DEMO / "manifest.json").read_bytes()).hexdigest()
    end = (date.fromisoformat(AS_OF) + timedelta(days=364)).isoformat()
    for person, assessment in list(by_person.items())[:50]:
        assert assessment.status == "final"
        assert assessment.subject.reference == f"Patient/{person}"
        assert str(assessment.occurrenceDateTime) == AS_OF
        prediction = assessment.prediction[0]
        assert prediction.outcome.coding[0].code == "hospitalization_12m"
        assert (str(prediction.whenPeriod.start), str(prediction.whenPeriod.end)) == (AS_OF, end)
        assert assessment.basis[0].identifier.value == sha
        assert "hospitalization_12m" in assessment.basis[0].display


def test_care_plans_hold_the_plans_interventions_and_territories(inputs, exported):
    groups = {g.id: g for g in read(exported.files["Group"], Group)}
    for care_plan in read(exported.files["CarePlan"], CarePlan):
        territory = care_plan.subject.identifier.value
        document = json.loads((inputs / "plans" / f"{territory}.json").read_text("utf-8"))
        assert (care_plan.status, care_plan.intent) == ("active", "plan")
        assert care_plan.category[1].coding[0].code == str(document["phase"])
        group = groups[care_plan.subject.reference.removeprefix("Group/")]
        assert group.identifier[0].value == territory
        assert group.quantity == document["population"]
        assert group.characteristic[0].valueCodeableConcept.coding[0].code == document["zone"]
        activities = [
            {
                "name": activity.detail.code.coding[0].code,
                "axis": extension(activity.detail, "activity-axis").valueCoding.code,
                "setting": extension(activity.detail, "activity-setting").valueCoding.code,
                "persons": extension(activity.detail, "activity-persons").valueInteger,
                "hours": float(
                    extension(activity.detail, "activity-team-hours").valueQuantity.value
                ),
            }
            for activity in care_plan.activity or []
        ]
        assert activities == document["interventions"]
        assert all(a.detail.status == "not-started" for a in care_plan.activity or [])
        if document["drivers"]:
            assert document["drivers"][0]["description"] in care_plan.note[0].text


def test_csv_scores_in_two_processes_give_the_same_files(inputs, exported, tmp_path):
    again = export_fhir(
        inputs / "scores.csv", inputs / "plans", tmp_path / "out", model=DEMO,
        chunk_size=300, workers=2,
    )  # fmt: skip
    for kind, path in exported.files.items():
        assert again.files[kind].read_bytes() == path.read_bytes(), kind


def test_without_the_model_there_is_no_basis_and_no_horizon(inputs, tmp_path):
    export = export_fhir(inputs / "few.parquet", inputs / "one", tmp_path / "out")
    assessment = read(export.files["RiskAssessment"], RiskAssessment)[0]
    assert assessment.basis is None
    assert assessment.prediction[0].whenPeriod is None
    care_plan = read(export.files["CarePlan"], CarePlan)[0]
    assert (str(care_plan.period.start), care_plan.period.end) == (AS_OF, None)


def test_bad_scores_are_refused_listing_every_problem_and_nothing_is_written(inputs, tmp_path):
    scores = pd.read_parquet(inputs / "few.parquet")
    scores["person_id"] = scores["person_id"].astype(str)
    ids = scores["person_id"].tolist()
    scores.loc[3, "risk"] = 1.5
    scores["tier"] = scores["tier"].astype(str)
    scores.loc[7, "tier"] = "urgent"
    scores.loc[9, "person_id"] = ids[8]
    scores.loc[13, "person_id"] = None
    scores["as_of"] = scores["as_of"].astype(str)
    scores.loc[11, "as_of"] = "2024-06-01"
    write_table(scores, tmp_path / "bad.csv")
    with pytest.raises(masrisk.ValidationError) as caught:
        export_fhir(tmp_path / "bad.csv", inputs / "one", tmp_path / "out", chunk_size=5)
    found = {(p.column, p.rule): p.examples for p in caught.value.problems}
    assert found[("risk", "not a probability in [0, 1]")] == (repr(ids[3]),)
    assert found[("tier", "not one of case_management, disease_management, "
                          "promotion_prevention")] == (repr(ids[7]),)  # fmt: skip
    assert found[("person_id", "duplicate id")] == (repr(ids[8]),)
    assert found[("person_id", "missing id")] == ("row 14",)
    assert found[("as_of", f"more than one cut-off (the first is {AS_OF!r})")] == ("'2024-06-01'",)
    assert str(tmp_path / "bad.csv") in str(caught.value)
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.csv"]


def test_missing_columns_plans_and_other_outcomes_are_refused(inputs, tmp_path):
    scores = pd.read_parquet(inputs / "scores.parquet")
    write_table(scores.drop(columns=["risk", "tier"]), tmp_path / "few.parquet")
    with pytest.raises(masrisk.ValidationError, match=r"scores\.risk: missing column") as caught:
        export_fhir(tmp_path / "few.parquet", inputs / "plans", tmp_path / "out")
    assert [p.column for p in caught.value.problems] == ["risk", "tier"]
    with pytest.raises(masrisk.ValidationError, match="plans: no such directory"):
        export_fhir(inputs / "scores.parquet", tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(masrisk.ValidationError, match="scores: no such file"):
        export_fhir(tmp_path / "nothing.parquet", inputs / "plans", tmp_path / "out")
    write_table(scores.assign(outcome="mortality_12m"), tmp_path / "other.parquet")
    with pytest.raises(masrisk.ValidationError, match="differs from the plans' outcome"):
        export_fhir(tmp_path / "other.parquet", inputs / "plans", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_broken_plans_file_is_named(inputs, tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    for path in (inputs / "plans").glob("*.json"):
        (plans / path.name).write_bytes(path.read_bytes())
    summary = json.loads((plans / "summary.json").read_text(encoding="utf-8"))
    first, second = (t["territory_id"] for t in summary["territories"][:2])
    (plans / f"{first}.json").unlink()
    (plans / f"{second}.json").write_text('{"territory_id": ', encoding="utf-8")
    with pytest.raises(masrisk.ValidationError) as caught:
        export_fhir(inputs / "scores.parquet", plans, tmp_path / "out")
    columns = {p.column: p.rule for p in caught.value.problems}
    assert columns[f"{first}.json"] == "missing file"
    assert columns[f"{second}.json"].startswith("not valid JSON")


def test_an_existing_directory_is_replaced_only_when_asked_and_only_an_export(inputs, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "RiskAssessment.ndjson").write_text("theirs\n", encoding="utf-8")
    with pytest.raises(masrisk.OutputExistsError, match="did not write"):
        export_fhir(inputs / "few.parquet", inputs / "one", foreign, overwrite=True)
    assert (foreign / "RiskAssessment.ndjson").read_text(encoding="utf-8") == "theirs\n"
    out = tmp_path / "out"
    export_fhir(inputs / "few.parquet", inputs / "one", out)
    with pytest.raises(FileExistsError):
        export_fhir(inputs / "few.parquet", inputs / "one", out)
    export = export_fhir(inputs / "few.parquet", inputs / "one", out, overwrite=True)
    assert sorted(p.name for p in out.iterdir() if p.name != MARKER) == sorted(
        p.name for p in export.files.values()
    )


@pytest.mark.parametrize(("name", "value"), [("chunk_size", 0), ("workers", -1)])
def test_bad_arguments_name_the_parameter_and_the_value(inputs, tmp_path, name, value):
    with pytest.raises(
        masrisk.ParameterError, match=f"{name} must be an integer >= 1, got {value}"
    ):
        export_fhir(inputs / "few.parquet", inputs / "one", tmp_path / "out", **{name: value})
    assert not (tmp_path / "out").exists()


def test_a_resource_the_library_refuses_is_reported_with_its_json_path():
    problems = Problems(source="test")
    broken = {"resourceType": "RiskAssessment", "status": "final", "id": "not_valid"}
    assert to_line(RiskAssessment, broken, "P1", problems) is None
    with pytest.raises(masrisk.ValidationError) as caught:
        problems.raise_if_any()
    paths = {p.column for p in caught.value.problems}
    assert {"id", "subject"} <= paths
    assert all(
        p.table == "RiskAssessment" and p.examples == ("'P1'",) for p in caught.value.problems
    )


person_ids = st.lists(
    st.text(min_size=1, max_size=12).filter(lambda s: s.strip() and s == s.strip()),
    min_size=1,
    max_size=6,
    unique=True,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ids=person_ids, data=st.data())
def test_any_ids_and_risks_read_back_exactly(inputs, ids, data):
    risks = data.draw(st.lists(st.floats(0, 1, width=32), min_size=len(ids), max_size=len(ids)))
    scores = pd.DataFrame(
        {
            "person_id": ids,
            "outcome": "hospitalization_12m",
            "as_of": pd.Timestamp(AS_OF),
            "risk": np.array(risks, dtype="float32"),
            "tier": "promotion_prevention",
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_table(scores, Path(tmp) / "scores.parquet")
        export = export_fhir(Path(tmp) / "scores.parquet", inputs / "one", Path(tmp) / "out")
        assessments = read(export.files["RiskAssessment"], RiskAssessment)
    assert [a.subject.identifier.value for a in assessments] == ids
    read_back = [np.float32(Decimal(a.prediction[0].probabilityDecimal)) for a in assessments]
    assert read_back == list(scores["risk"])
    for person, assessment in zip(ids, assessments, strict=True):
        valid = pd.Series([person]).str.fullmatch(FHIR_ID)[0]
        expected = f"Patient/{person}" if valid else None
        assert assessment.subject.reference == expected


def test_export_fhir_command(inputs, tmp_path):
    runner = CliRunner()
    out = tmp_path / "fhir"
    args = ["export", "fhir", "--scores", inputs / "scores.parquet", "--plans", inputs / "plans"]
    result = runner.invoke(app, [*map(str, args), "--out", str(out), "--model", str(DEMO)])
    assert result.exit_code == 0, result.output
    n = len(pd.read_parquet(inputs / "scores.parquet"))
    assert f"{n:,}" in result.stderr
    assert len((out / "RiskAssessment.ndjson").read_text("utf-8").splitlines()) == n
    again = runner.invoke(app, [*map(str, args), "--out", str(out)])
    assert again.exit_code == 2
    assert "--overwrite" in again.stderr
    wrong = runner.invoke(
        app, ["export", "fhir", "--scores", str(inputs / "plans" / "summary.json"),
              "--plans", str(inputs / "plans"), "--out", str(tmp_path / "other")],
    )  # fmt: skip
    assert wrong.exit_code == 2
    assert "not a .parquet or .csv file" in wrong.stderr
    assert "Traceback" not in wrong.output
