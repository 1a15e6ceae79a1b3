"""OMOP CDM: synthetic population -> OMOP -> masrisk gives back the same persons and events,
through files, DuckDB, SQLite and a real PostgreSQL server; and bad CDMs fail clearly."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import masrisk
from masrisk.exceptions import MasriskError, ParameterError, ValidationError
from masrisk.io import from_omop, to_omop
from masrisk.io.omop import NOT_CARRIED
from tests._postgres import postgres_server
from tests.conftest import make_frames

PERSON_COLUMNS = ["person_id", "household_id", "birth_date", "sex", "insurer", "regime"]


@pytest.fixture(scope="module")
def population() -> masrisk.Tables:
    return masrisk.synthesize(profile="bogota", persons=1000, seed=11).tables


@pytest.fixture(scope="session")
def postgres_url():
    with postgres_server() as url:
        yield url


def events_frame(events: pd.DataFrame) -> pd.DataFrame:
    """Events comparable across a round trip: codes as plain text, one sort order."""
    out = events.assign(
        kind=events["kind"].astype("str"),
        code=events["code"].astype(object).where(events["code"].notna(), None),
    )
    order = ["person_id", "date", "kind", "code", "value"]
    return out.sort_values(order, na_position="first", ignore_index=True)[order]


def persons_frame(persons: pd.DataFrame, columns=PERSON_COLUMNS) -> pd.DataFrame:
    return persons[columns].sort_values("person_id", ignore_index=True)


def assert_same_persons_and_events(original: masrisk.Tables, back: masrisk.Tables) -> None:
    columns = [c for c in PERSON_COLUMNS if c in original.persons.columns]
    assert set(back.persons.columns) == set(columns)
    pd.testing.assert_frame_equal(
        persons_frame(original.persons, columns), persons_frame(back.persons, columns)
    )
    pd.testing.assert_frame_equal(events_frame(original.events), events_frame(back.events))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_folder_round_trip_gives_back_persons_and_events(population, tmp_path, file_format):
    written = to_omop(population, tmp_path / "cdm", format=file_format)
    assert sorted(p.name for p in (tmp_path / "cdm").iterdir()) == sorted(
        f"{table}.{file_format}" for table in written
    )
    assert written["person"] == len(population.persons)
    assert written["death"] == int((population.events["kind"] == "death").sum())
    assert_same_persons_and_events(population, from_omop(tmp_path / "cdm"))


def test_duckdb_round_trip_gives_back_persons_events_and_places(population, tmp_path):
    path = tmp_path / "cdm.duckdb"
    to_omop(population, f"duckdb:///{path}", schema="cdm")
    back = from_omop(path, schema="cdm")
    assert_same_persons_and_events(population, back)
    # households and territories come back from location; zone is not carried
    pd.testing.assert_frame_equal(
        back.households.sort_values("household_id", ignore_index=True),
        population.households[["household_id", "territory_id"]],
    )
    columns = ["territory_id", "population", "lon", "lat"]
    pd.testing.assert_frame_equal(
        back.territories[columns].sort_values("territory_id", ignore_index=True),
        population.territories[columns].sort_values("territory_id", ignore_index=True),
    )
    assert set(back.territories["zone"].astype("str")) == {"urban"}


def test_duckdb_tables_are_cdm_tables_that_sql_can_query(population, tmp_path):
    path = tmp_path / "cdm.duckdb"
    to_omop(population, path)
    with duckdb.connect(str(path), read_only=True) as con:
        columns = [r[0] for r in con.execute("DESCRIBE visit_occurrence").fetchall()]
        assert columns[:4] == [
            "visit_occurrence_id",
            "person_id",
            "visit_concept_id",
            "visit_start_date",
        ]
        emergency = con.execute(
            "SELECT count(*) FROM visit_occurrence WHERE visit_concept_id = 9203"
        ).fetchall()[0][0]
        deaths = con.execute("SELECT count(DISTINCT person_id) FROM death").fetchall()[0][0]
    kinds = population.events["kind"]
    assert emergency == int((kinds == "emergency").sum())
    assert deaths == population.events.loc[kinds == "death", "person_id"].nunique()


def test_postgresql_round_trip_gives_back_persons_and_events(population, postgres_url):
    import sqlalchemy as sa

    # a URL without a driver uses psycopg 3 (SQLAlchemy's default, psycopg2, is not installed)
    plain_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    written = to_omop(population, plain_url, schema="cdm")
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM cdm.measurement")).scalar()
        kind = connection.execute(
            sa.text(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = 'cdm' "
                "AND table_name = 'measurement' AND column_name = 'measurement_date'"
            )
        ).scalar()
    engine.dispose()
    assert count == written["measurement"] == int((population.events["kind"] == "lab").sum())
    assert kind == "date"
    back = from_omop(postgres_url, schema="cdm", chunksize=5000)
    assert_same_persons_and_events(population, back)


def test_sqlite_through_sqlalchemy_round_trip(tmp_path):
    tables = masrisk.Tables.from_frames(make_frames())
    url = f"sqlite:///{tmp_path / 'cdm.sqlite'}"
    to_omop(tables, url)
    back = from_omop(url, ids="source")
    assert_same_persons_and_events(tables, back)


def test_events_without_codes_are_written_and_read_back(tmp_path):
    frames = make_frames()
    events = frames["events"]
    frames["events"] = events[events["kind"].isin(["outpatient", "emergency"])].drop(
        columns=[c for c in ("code", "value") if c in events.columns]
    )
    tables = masrisk.Tables.from_frames(frames)
    to_omop(tables, tmp_path / "cdm")
    back = from_omop(tmp_path / "cdm", ids="source")
    assert len(back.events) == len(tables.events)
    assert back.events["code"].isna().all()


def test_text_ids_come_back_with_ids_source_and_facilities_too(tmp_path):
    tables = masrisk.Tables.from_frames(make_frames())
    to_omop(tables, tmp_path / "cdm")
    numbered = from_omop(tmp_path / "cdm")
    assert numbered.persons["person_id"].tolist() == list(range(1, 9))
    back = from_omop(tmp_path / "cdm", ids="source", territories=tables.territories)
    assert_same_persons_and_events(tables, back)
    pd.testing.assert_frame_equal(back.territories, tables.territories)
    columns = ["facility_id", "lon", "lat", "level"]
    pd.testing.assert_frame_equal(back.facilities[columns], tables.facilities[columns])
    assert back.adjacency is None  # not carried


def test_given_households_bring_back_the_deprivation_flags(population, tmp_path):
    to_omop(population, tmp_path / "cdm")
    back = from_omop(
        tmp_path / "cdm", households=population.households, territories=population.territories
    )
    pd.testing.assert_frame_equal(back.households, population.households)
    # the contract reads numbers as float64 (the synthetic stratum is int8)
    pd.testing.assert_frame_equal(back.territories, population.territories, check_dtype=False)


def test_given_tables_may_be_csv_files_with_text_cells(tmp_path):
    tables = masrisk.Tables.from_frames(make_frames())
    frames = make_frames()
    frames["households"]["household_id"] = [1, 2, 3, 4]  # integer ids, written as CSV text
    frames["persons"]["household_id"] = frames["persons"]["household_id"].str[1:].astype(int)
    tables = masrisk.Tables.from_frames(frames)
    to_omop(tables, tmp_path / "cdm")
    territories = tmp_path / "territories.csv"
    households = tmp_path / "households.csv"
    tables.territories.drop(columns="population").to_csv(territories, index=False)
    tables.households.to_csv(households, index=False)
    back = from_omop(tmp_path / "cdm", households=households, territories=territories)
    assert back.households["household_id"].tolist() == [1, 2, 3, 4]
    assert back.territories["population"].tolist() == [4, 2, 2]  # counted from persons


events_strategy = st.lists(
    st.tuples(
        st.integers(0, 2),  # person
        st.integers(0, 1500),  # days after 2020-01-01
        st.sampled_from(
            [
                "outpatient",
                "emergency",
                "hospitalization",
                "pharmacy",
                "lab",
                "vaccination",
                "screening",
                "death",
            ]
        ),  # fmt: skip
        st.sampled_from(["I10X", "E11.9", "J44", None]),
        st.one_of(st.none(), st.floats(0.125, 500, width=32)),
    ),
    max_size=25,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=events_strategy)
def test_any_events_survive_a_round_trip(rows):
    vocabulary = {"lab": "HBA1C", "vaccination": "FLU", "screening": "MAMMOGRAPHY"}
    events = pd.DataFrame(
        {
            "person_id": pd.Series([p + 1 for p, *_ in rows], dtype="int64"),
            "date": [pd.Timestamp("2020-01-01") + pd.Timedelta(days=d) for _, d, *_ in rows],
            "kind": [k for _, _, k, *_ in rows],
            "code": [vocabulary.get(k, c) for _, _, k, c, _ in rows],
            "value": [v if k == "lab" else None for _, _, k, _, v in rows],
        },
        columns=["person_id", "date", "kind", "code", "value"],
    )
    tables = masrisk.Tables.from_frames(
        {
            "territories": pd.DataFrame(
                {"territory_id": ["T1"], "zone": ["urban"], "population": [3]}
            ),
            "households": pd.DataFrame({"household_id": [7], "territory_id": ["T1"]}),
            "persons": pd.DataFrame(
                {
                    "person_id": [1, 2, 3],
                    "household_id": [7, 7, 7],
                    "birth_date": ["1950-01-01", "1990-06-30", "2019-12-31"],
                    "sex": ["F", "M", "F"],
                }
            ),  # fmt: skip
            "events": events,
        }
    )
    with duckdb.connect() as con:
        to_omop(tables, con)
        back = from_omop(con, chunksize=4)
    assert_same_persons_and_events(tables, back)


def test_reading_in_small_chunks_gives_the_same_tables(population, tmp_path):
    to_omop(population, tmp_path / "cdm")
    small = from_omop(tmp_path / "cdm", chunksize=1999)
    assert_same_persons_and_events(population, small)


# --------------------------------------------------------------------------- OMOP written by others


def write_cdm(folder: Path, **tables: pd.DataFrame | None) -> Path:
    """A small hand-made CDM as CSV files: two persons in one household unless replaced."""
    base = {
        "person": pd.DataFrame(
            {
                "person_id": [1, 2],
                "gender_concept_id": [8532, 8507],
                "year_of_birth": [1950, 1980],
                "month_of_birth": [3, None],
                "day_of_birth": [9, None],
                "location_id": [10, 10],
            }
        ),
        "location": pd.DataFrame({"location_id": [10], "county": ["T1"]}),
    }
    base.update(tables)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in base.items():
        if frame is not None:
            frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def visits(*rows: tuple[int, int, int, str]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["visit_occurrence_id", "person_id", "visit_concept_id", "visit_start_date"]
    )


def conditions(*rows: tuple[int, int, int, str, int | None]) -> pd.DataFrame:
    columns = [
        "condition_occurrence_id",
        "person_id",
        "visit_occurrence_id",
        "condition_source_value",
        "condition_status_concept_id",
    ]
    return pd.DataFrame(rows, columns=columns)


def test_birth_date_from_parts_sex_from_concepts_and_household_from_location(tmp_path):
    back = from_omop(write_cdm(tmp_path))
    assert back.persons["birth_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "1950-03-09",
        "1980-01-01",  # month and day unknown: 1 January
    ]
    assert back.persons["sex"].astype("str").tolist() == ["F", "M"]
    assert back.persons["household_id"].tolist() == [10, 10]
    assert back.territories[["territory_id", "population"]].values.tolist() == [["T1", 2]]


def test_the_primary_diagnosis_codes_the_visit_and_the_rest_are_counted(tmp_path, caplog):
    folder = write_cdm(
        tmp_path,
        visit_occurrence=visits((1, 1, 9202, "2023-01-05"), (2, 2, 262, "2023-02-01")),
        condition_occurrence=conditions(
            (5, 1, 1, "J06.9", None),
            (6, 1, 1, "I10X", 32902),
            (7, 2, 2, "I21.0", None),
            (8, 2, None, "E11.9", None),
        ),  # fmt: skip
    )
    with caplog.at_level(logging.WARNING, logger="masrisk"):
        back = from_omop(folder, chunksize=1)  # a visit's diagnoses in different chunks
    events = events_frame(back.events)
    assert events[["person_id", "kind", "code"]].values.tolist() == [
        [1, "outpatient", "I10X"],
        [2, "hospitalization", "I21.0"],
    ]
    assert "1 diagnoses that code no event" in caplog.text
    assert "1 conditions without a visit" in caplog.text
    every = events_frame(from_omop(folder, diagnoses="all").events)
    assert every["code"].tolist() == ["I10X", "J06.9", "I21.0"]


def test_dispensations_take_their_visits_diagnosis_and_vaccines_their_code(tmp_path):
    drugs = pd.DataFrame(
        {
            "drug_exposure_id": [1, 2, 3],
            "person_id": [1, 1, 2],
            "drug_exposure_start_date": ["2023-01-05", "2023-03-01", "2023-04-01"],
            "drug_source_value": ["enalapril 20mg", "FLU", None],
            "visit_occurrence_id": [1, None, None],
        }
    )
    folder = write_cdm(
        tmp_path,
        visit_occurrence=visits((1, 1, 9202, "2023-01-05")),
        condition_occurrence=conditions((1, 1, 1, "I10X", 32902)),
        drug_exposure=drugs,
    )
    events = events_frame(from_omop(folder).events)
    assert events[["person_id", "kind", "code"]].values.tolist() == [
        [1, "outpatient", "I10X"],
        [1, "pharmacy", "I10X"],
        [1, "vaccination", "FLU"],
        [2, "pharmacy", None],
    ]


def test_procedures_measurements_and_deaths(tmp_path, caplog):
    folder = write_cdm(
        tmp_path,
        procedure_occurrence=pd.DataFrame(
            {
                "person_id": [1, 2],
                "procedure_date": ["2023-05-01", "2023-05-02"],
                "procedure_source_value": ["MAMMOGRAPHY", "47.09"],
            }
        ),  # fmt: skip
        measurement=pd.DataFrame(
            {
                "measurement_id": [1],
                "person_id": [2],
                "measurement_date": ["2023-06-01"],
                "measurement_source_value": ["HBA1C"],
                "value_as_number": [7.25],
            }
        ),  # fmt: skip
        death=pd.DataFrame(
            {"person_id": [1], "death_date": ["2024-01-02"], "cause_source_value": ["I64X"]}
        ),
    )
    with caplog.at_level(logging.WARNING, logger="masrisk"):
        events = events_frame(from_omop(folder).events)
    assert events.drop(columns="value").values.tolist() == [
        [1, pd.Timestamp("2023-05-01"), "screening", "MAMMOGRAPHY"],
        [1, pd.Timestamp("2024-01-02"), "death", "I64X"],
        [2, pd.Timestamp("2023-06-01"), "lab", "HBA1C"],
    ]
    assert events["value"].tolist()[2] == 7.25
    assert events["value"].iloc[:2].isna().all()
    assert "1 procedures that are not screenings" in caplog.text


def test_file_and_column_names_are_matched_without_case(tmp_path):
    folder = write_cdm(tmp_path, person=None, location=None)
    person = pd.DataFrame(
        {"PERSON_ID": [3], "GENDER_CONCEPT_ID": [8507], "YEAR_OF_BIRTH": [1970],
         "LOCATION_ID": [1]}
    )  # fmt: skip
    person.to_csv(folder / "PERSON.csv", index=False)
    pd.DataFrame({"LOCATION_ID": [1], "COUNTY": ["T9"]}).to_parquet(folder / "Location.parquet")
    back = from_omop(folder)
    assert back.persons["person_id"].tolist() == [3]
    assert back.households["territory_id"].tolist() == ["T9"]


def test_missing_tables_and_columns_are_listed_at_once(tmp_path):
    person = pd.DataFrame({"person_id": [1], "year_of_birth": [1950], "location_id": [1]})
    folder = write_cdm(
        tmp_path,
        person=person,
        location=None,
        measurement=pd.DataFrame({"person_id": [1], "measurement_date": ["2020-01-01"]}),
    )
    with pytest.raises(ValidationError) as caught:
        from_omop(folder)
    found = {(p.table, p.column, p.rule) for p in caught.value.problems}
    assert found == {
        ("person", "gender_concept_id", "missing column"),
        ("location", None, "missing table"),
        ("measurement", "measurement_source_value", "missing column"),
        ("measurement", "value_as_number", "missing column"),
    }
    assert str(folder) in str(caught.value)


def test_bad_values_are_reported_with_table_column_and_ids(tmp_path):
    folder = write_cdm(
        tmp_path,
        person=pd.DataFrame(
            {
                "person_id": [1, 2],
                "gender_concept_id": [8532, 8551],
                "year_of_birth": [1950, 1980],
                "location_id": [10, None],
            }
        ),  # fmt: skip
        visit_occurrence=visits(
            (1, 1, 9202, "2023-13-45"), (2, 9, 9202, "2023-01-01"), (3, 1, 581478, "2023-01-01")
        ),
        location=pd.DataFrame({"location_id": [10, 10], "county": ["T1", "T2"]}),
    )
    with pytest.raises(ValidationError) as caught:
        from_omop(folder)
    problems = {(p.table, p.column, p.rule): p for p in caught.value.problems}
    assert problems["visit_occurrence", "visit_start_date", "not a date"].examples == (
        "visit_occurrence_id 1",
    )
    assert problems["visit_occurrence", "person_id", "matches no person.person_id"].rows == 1
    unmapped = problems["visit_occurrence", "visit_concept_id", "visit concept with no event kind"]
    assert unmapped.examples == ("concept 581478",)
    assert "visit_kinds" in unmapped.detail
    gender = problems["person", "gender_concept_id", "neither female (8532) nor male (8507)"]
    assert gender.examples == ("person_id 2",)
    assert problems["person", "location_id", "missing value"].examples == ("person_id 2",)
    assert problems["location", "location_id", "duplicate id"].rows == 2


def test_visit_kinds_map_or_leave_out_other_visit_concepts(tmp_path, caplog):
    folder = write_cdm(
        tmp_path,
        visit_occurrence=visits((1, 1, 581478, "2023-01-01"), (2, 2, 38004193, "2023-01-02")),
    )
    with caplog.at_level(logging.WARNING, logger="masrisk"):
        back = from_omop(folder, visit_kinds={581478: "emergency", 38004193: None})
    assert back.events["kind"].astype("str").tolist() == ["emergency"]
    assert "1 visits that are no event" in caplog.text


def test_writing_refuses_to_replace_tables_unless_told(population, tmp_path):
    path = tmp_path / "cdm.duckdb"
    to_omop(population, path)
    with pytest.raises(MasriskError, match="already exist.*overwrite"):
        to_omop(population, path)
    tables = masrisk.Tables.from_frames(make_frames())
    to_omop(tables, path, overwrite=True)
    assert len(from_omop(path).persons) == len(tables.persons)


def test_writing_refuses_vaccinations_without_a_code(tmp_path):
    frames = make_frames()
    frames["events"].loc[4, "code"] = None  # P3's vaccination
    message = (
        r"events\.code: vaccination or screening without a code in 1 row \(e\.g\. person_id 'P3'\)"
    )
    with pytest.raises(MasriskError, match=message):
        to_omop(masrisk.Tables.from_frames(frames), tmp_path / "cdm")
    assert not (tmp_path / "cdm").exists()


def test_a_missing_source_or_bad_url_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="OMOP source not found"):
        from_omop(tmp_path / "nowhere")
    with pytest.raises(MasriskError, match="cannot open database"):
        from_omop("postgresql://nobody:secret@/db?host=/nonexistent")
    (tmp_path / "fake.duckdb").write_text("not a database")
    with pytest.raises(MasriskError, match="cannot open the DuckDB database"):
        from_omop(tmp_path / "fake.duckdb")


def test_bad_arguments_name_the_parameter_and_the_value(tmp_path):
    with pytest.raises(ParameterError, match="ids must be 'omop' or 'source', got 'row'"):
        from_omop(tmp_path, ids="row")
    with pytest.raises(ParameterError, match="diagnoses must be 'primary' or 'all', got 'some'"):
        from_omop(tmp_path, diagnoses="some")


def test_readme_example_runs_and_not_carried_fields_are_documented(tmp_path, monkeypatch):
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Interoperability: OMOP CDM", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(example, namespace)  # noqa: S102 - our own README
    assert_same_persons_and_events(namespace["tables"], namespace["back"])
    for field in ("zone", "deprivation", "pregnancy", "capacity", 'ids="source"'):
        assert field in section
    assert {"territories.zone", "persons.pregnant, persons.disability"} <= set(NOT_CARRIED)


# --------------------------------------------------------------------------- command line


def test_cli_import_omop_writes_a_data_directory(population, tmp_path):
    from masrisk.cli import app

    to_omop(population, tmp_path / "cdm.duckdb")
    out = tmp_path / "data"
    runner = CliRunner()
    result = runner.invoke(
        app, ["import", "omop", str(tmp_path / "cdm.duckdb"), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    back = masrisk.load_tables(out)
    assert_same_persons_and_events(population, back)
    again = runner.invoke(app, ["import", "omop", str(tmp_path / "cdm.duckdb"), "--out", str(out)])
    assert again.exit_code == 2
    assert "--overwrite" in again.output
    elsewhere = str(tmp_path / "elsewhere")
    missing = runner.invoke(app, ["import", "omop", str(tmp_path / "none"), "--out", elsewhere])
    assert missing.exit_code == 2
    assert "OMOP source not found" in missing.output


def test_postgres_fixture_skips_only_without_the_server(monkeypatch):
    import tests._postgres as postgres

    monkeypatch.setattr(postgres, "server_binaries", lambda: None)
    with pytest.raises(pytest.skip.Exception, match="server binaries"), postgres.postgres_server():
        pass
