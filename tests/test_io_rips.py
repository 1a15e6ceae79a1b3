"""RIPS (Resolution 2275 of 2023) in and out: round trip, bad files, persons, deaths, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import masrisk
from masrisk.cli import app
from masrisk.codes import normalize_icd10
from masrisk.exceptions import OutputExistsError, ParameterError, ValidationError
from masrisk.io import from_rips, to_rips
from masrisk.io.rips import RipsProblem
from masrisk.io.rips.codes import read_icd10, write_icd10
from masrisk.synth import synthesize

NOT_ICD = ("lab", "vaccination", "screening")


@pytest.fixture(scope="module")
def population():
    return synthesize("bogota", persons=1_000, seed=11).tables


@pytest.fixture(scope="module")
def exported(population, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rips") / "rips"
    return folder, to_rips(population, folder, providers=3)


@pytest.fixture(scope="module")
def imported(population, exported):
    folder, export = exported
    return from_rips(
        folder,
        households=population.households,
        territories=population.territories,
        members=export.members,
    )


def _events(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "person_id": frame["person_id"].to_numpy(),
            "date": frame["date"].to_numpy(),
            "kind": frame["kind"].astype("str").to_numpy(),
            "code": frame["code"].astype("str").to_numpy(),
        }
    )
    return out.sort_values(list(out.columns), ignore_index=True)


# ---------------------------------------------------------------- round trip


def test_round_trip_gives_back_the_events(population, exported, imported):
    events = population.events
    icd = ~events["kind"].isin(NOT_ICD)
    code = events["code"].astype(object)
    expected = events.assign(code=code.where(~icd, code.map(normalize_icd10)))
    expected = pd.concat([expected, exported[1].added_events], ignore_index=True)
    pd.testing.assert_frame_equal(_events(imported.tables.events), _events(expected))


def test_round_trip_gives_back_the_persons(population, imported):
    columns = ["person_id", "household_id", "birth_date", "sex", "regime"]
    expected = population.persons[columns].sort_values("person_id", ignore_index=True)
    # a person without any service has no RIPS user entry, so no tipoUsuario: no regime
    served = expected["person_id"].isin(population.events["person_id"])
    expected["regime"] = expected["regime"].where(served)
    got = imported.tables.persons
    assert list(got.columns) == columns
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_categorical=False)
    assert imported.counts["members_without_services"] == int((~served).sum())


def test_round_trip_keeps_the_users_places_and_reports_nothing(population, imported):
    # dtypes as the data contract gives them (stratum: a number)
    pd.testing.assert_frame_equal(imported.tables.households, population.households)
    pd.testing.assert_frame_equal(
        imported.tables.territories, population.territories, check_dtype=False
    )
    assert imported.problems == ()
    assert imported.unmatched.empty
    assert imported.counts["files"] == imported.counts["documents"] > 1


def test_a_person_in_many_invoices_is_one_person(exported, imported):
    folder, export = exported
    seen: dict[tuple[str, str], int] = {}
    for path in export.files:
        for user in json.loads(path.read_text("utf-8"))["usuarios"]:
            key = (user["tipoDocumentoIdentificacion"], user["numDocumentoIdentificacion"])
            seen[key] = seen.get(key, 0) + 1
    assert max(seen.values()) > 5
    assert imported.counts["user_entries"] == sum(seen.values())
    assert len(imported.tables.persons) - imported.counts["members_without_services"] == len(seen)


def test_deaths_ride_on_the_last_emergency_or_admission(population, exported, imported):
    events = population.events
    deaths = events[events["kind"] == "death"]
    carriers = events[events["kind"].isin(["emergency", "hospitalization"])]
    before = deaths.merge(carriers[["person_id", "date"]], on="person_id", suffixes=("", "_c"))
    carried = set(before.loc[before["date_c"] <= before["date"], "person_id"])
    added = exported[1].added_events
    assert set(added["person_id"]) == set(deaths["person_id"]) - carried
    assert (added["kind"] == "emergency").all()
    got = imported.tables.events
    assert (got["kind"] == "death").sum() == len(deaths) > 0


def test_export_reports_what_rips_cannot_carry(population, exported):
    export = exported[1]
    assert export.not_carried["value"] == int(population.events["value"].notna().sum()) > 0
    assert export.not_carried["insurer"] == len(population.persons)
    assert export.not_carried["events"] == 0


def test_export_refuses_a_folder_of_json_files(population, exported):
    with pytest.raises(FileExistsError, match="overwrite"):
        to_rips(population, exported[0])


def test_exported_documents_follow_resolution_2275(exported):
    document = json.loads(exported[1].files[0].read_text("utf-8"))
    assert {"numDocumentoIdObligado", "numFactura", "usuarios"} <= set(document)
    user = document["usuarios"][0]
    assert user["codZonaTerritorialResidencia"] in ("01", "02")
    assert user["tipoUsuario"] in ("01", "04", "05", "06", "12")
    for group, records in user["servicios"].items():
        for record in records:
            date = record.get("fechaInicioAtencion") or record.get("fechaDispensAdmon")
            assert len(date) == len("2024-01-01 08:00"), group
            diagnosis = record["codDiagnosticoPrincipal"]
            assert len(diagnosis) == 4
            assert "." not in diagnosis


# ---------------------------------------------------------------- hand-made documents


def _user(number="52100200", *, kind="CC", birth="1980-01-01", sex="F", zone="02", **services):
    return {
        "tipoDocumentoIdentificacion": kind,
        "numDocumentoIdentificacion": number,
        "tipoUsuario": "04",
        "fechaNacimiento": birth,
        "codSexo": sex,
        "codPaisResidencia": "170",
        "codMunicipioResidencia": "11001",
        "codZonaTerritorialResidencia": zone,
        "incapacidad": "NO",
        "consecutivo": 1,
        "codPaisOrigen": "170",
        "servicios": services,
    }


def _visit(date="2023-02-10 08:10", code="I10X"):
    return {"fechaInicioAtencion": date, "codConsulta": "890201", "codDiagnosticoPrincipal": code}


def _write(folder: Path, name: str, users=None, *, text: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = {"numDocumentoIdObligado": "814006170", "numFactura": name, "usuarios": users}
    (folder / f"{name}.json").write_text(text if text is not None else json.dumps(document))
    return folder / f"{name}.json"


def _problems(result) -> dict[tuple[str, str], str]:
    return {(p.table, p.column): p.rule for p in result.problems}


def test_bad_files_are_reported_and_good_ones_still_read(tmp_path):
    good = [_user("1", consultas=[_visit(), _visit("2023-03-01 09:00", "E119")])]
    _write(tmp_path, "good", good)
    _write(tmp_path, "broken", text='{"numFactura": "X", "usuarios": [')
    _write(tmp_path, "nousers", None)
    unknown = [_user("2", consultas=[_visit()], terapias=[{"fechaInicioAtencion": "2023-01-01"}])]
    _write(tmp_path, "group", unknown)
    dates = [_user("3", consultas=[_visit("2023-02-10 08:10"), _visit("2023-02-30 08:10")])]
    _write(tmp_path, "dates", dates)
    result = from_rips(tmp_path)
    problems = _problems(result)
    assert problems == {
        ("broken.json", None): "invalid JSON",
        ("nousers.json", "usuarios"): "missing usuarios",
        ("group.json", "usuarios[0].servicios.terapias"): "unknown service group",
        ("dates.json", "usuarios[0].servicios.consultas[1].fechaInicioAtencion"): "not a date",
    }
    assert all(isinstance(p, RipsProblem) for p in result.problems)  # the former name
    broken = next(p for p in result.problems if p.table == "broken.json")
    assert "line 1" in broken.detail
    date = next(p for p in result.problems if p.rule == "not a date")
    assert str(date) == (
        "dates.json.usuarios[0].servicios.consultas[1].fechaInicioAtencion: not a date "
        "(e.g. '2023-02-30 08:10')"
    )
    events = result.tables.events
    assert events.groupby("person_id").size().to_dict() == {"CC-1": 2, "CC-2": 1, "CC-3": 1}
    assert result.counts["files"] == 5
    assert result.counts["documents"] == 3
    masrisk.validate(result.tables)


def test_deeply_nested_or_huge_number_documents_are_problems_of_their_file(tmp_path):
    _write(tmp_path, "deep", text="[" * 100_000 + "]" * 100_000)
    _write(tmp_path, "huge", text='{"usuarios": [], "numFactura": ' + "9" * 5_000 + "}")
    _write(tmp_path, "good", [_user("1", consultas=[_visit()])])
    result = from_rips(tmp_path)
    assert _problems(result) == {
        ("deep.json", None): "invalid JSON",
        ("huge.json", None): "unreadable file",
    }
    assert result.tables.events["person_id"].tolist() == ["CC-1"]


def test_icd10_codes_lose_their_x_filler_in_the_import(tmp_path):
    visits = [_visit(code=c) for c in ("A09X", "E119", "I10X", "U07.1", "10X")]
    result = from_rips(_write(tmp_path, "codes", [_user(consultas=visits)]).parent)
    assert result.tables.events["code"].isna().sum() == 1
    assert set(result.tables.events["code"].dropna()) == {"A09", "E119", "I10", "U071"}
    assert _problems(result) == {
        ("codes.json", "usuarios[0].servicios.consultas[4].codDiagnosticoPrincipal"): (
            "not an ICD-10 code"
        )
    }


@given(
    letter=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    digits=st.integers(0, 99),
    fourth=st.one_of(st.none(), st.integers(0, 9)),
    dotted=st.booleans(),
)
def test_icd10_x_filler_parsing(letter, digits, fourth, dotted):
    three = f"{letter}{digits:02d}"
    code = three if fourth is None else f"{three}{'.' if dotted else ''}{fourth}"
    written = write_icd10(code)
    assert len(written) == 4
    assert "." not in written
    assert written.endswith("X") == (fourth is None)
    assert read_icd10(written) == normalize_icd10(code) == code.replace(".", "")
    assert read_icd10(three + "X") == three
    assert read_icd10(written.lower()) == read_icd10(written)


def test_procedures_become_labs_vaccines_and_screenings_by_cups(tmp_path):
    procedures = [
        {"fechaInicioAtencion": "2023-01-05 07:00", "codProcedimiento": "903426"},
        {"fechaInicioAtencion": "2023-01-06 07:00", "codProcedimiento": "876802"},
        {"fechaInicioAtencion": "2023-01-07 07:00", "codProcedimiento": "895100"},
        {"fechaInicioAtencion": "2023-01-08 07:00", "codProcedimiento": "895100"},
    ]
    folder = _write(tmp_path, "procedures", [_user(procedimientos=procedures)]).parent
    result = from_rips(folder)
    events = result.tables.events
    assert list(zip(events["kind"], events["code"], strict=True)) == [
        ("lab", "HBA1C"),
        ("screening", "MAMMOGRAPHY"),
    ]
    assert result.unmapped_cups == {"'895100'": 2}
    assert result.counts["procedures_unmapped"] == 2
    ecg = from_rips(folder, cups={"895100": ("screening", "ECG")}).tables.events
    assert (ecg["code"] == "ECG").sum() == 2


def test_death_is_the_egress_of_an_emergency_or_admission(tmp_path):
    stay = {
        "fechaInicioAtencion": "2023-03-01 22:00",
        "codDiagnosticoPrincipal": "I219",
        "condicionDestinoUsuarioEgreso": "02",
        "codDiagnosticoCausaMuerte": "I64X",
        "fechaEgreso": "2023-03-04 05:30",
    }
    again = {**stay, "fechaInicioAtencion": "2023-03-02 10:00", "fechaEgreso": "2023-03-06 01:00"}
    alive = {**stay, "condicionDestinoUsuarioEgreso": "01", "codDiagnosticoCausaMuerte": None}
    folder = tmp_path / "deaths"
    _write(folder, "a", [_user("7", urgencias=[stay, alive], hospitalizacion=[again])])
    result = from_rips(folder)
    events = result.tables.events
    days = events["date"].dt.strftime("%Y-%m-%d")
    rows = list(zip(days, events["kind"], events["code"], strict=True))
    assert rows == [
        ("2023-03-01", "emergency", "I219"),
        ("2023-03-01", "emergency", "I219"),
        ("2023-03-02", "hospitalization", "I219"),
        ("2023-03-04", "death", "I64"),
    ]
    assert _problems(result) == {
        ("a.json", "usuarios[0].servicios.hospitalizacion[0].fechaEgreso"): (
            "second death of the same person"
        )
    }


def test_disagreeing_invoices_keep_the_most_frequent_birth_date(tmp_path):
    folder = tmp_path / "conflict"
    births = ("1981-06-30", "1980-01-01", "1980-01-01", "1981-06-30", "1981-06-30")
    for name, birth in zip("abcfg", births, strict=True):
        _write(folder, name, [_user("9", birth=birth, consultas=[_visit()])])
    _write(folder, "d", [_user("8", sex="M", consultas=[_visit()])])
    _write(folder, "e", [_user("8", sex="F", consultas=[_visit()])])
    result = from_rips(folder)
    persons = result.tables.persons.set_index("person_id")
    assert persons.loc["CC-9", "birth_date"] == pd.Timestamp("1981-06-30")
    assert persons.loc["CC-8", "sex"] == "M"  # a tie: the first seen wins
    problems = {p.column: (p.table, p.rule) for p in result.problems}
    assert problems["usuarios[0].fechaNacimiento"] == (
        "b.json",
        "fechaNacimiento differs across invoices",
    )
    birth = next(p for p in result.problems if p.rule.startswith("fechaNacimiento"))
    assert birth.detail == "'1981-06-30' in 3, '1980-01-01' in 2; kept '1981-06-30'"
    assert problems["usuarios[0].codSexo"] == ("e.json", "codSexo differs across invoices")
    assert len(result.tables.events) == 7


def test_persons_that_cannot_be_imported_are_reported_with_their_services(tmp_path):
    users = [
        _user("1", sex="I", consultas=[_visit()]),
        _user("2", birth="1980-13-01", consultas=[_visit(), _visit()]),
        _user(
            "3",
            birth="2023-02-20",
            consultas=[_visit("2023-02-10 08:10"), _visit("2023-03-01 08:00")],
        ),
        {"tipoDocumentoIdentificacion": "CC", "servicios": {"consultas": [_visit()]}},
    ]
    result = from_rips(_write(tmp_path, "people", users).parent)
    rules = _problems(result)
    assert rules[("people.json", "usuarios[0].codSexo")] == "sex not F or M"
    assert rules[("people.json", "usuarios[0]")] == "person left out: sex not F or M"
    assert rules[("people.json", "usuarios[1].fechaNacimiento")] == "not a date"
    assert rules[("people.json", "usuarios[2].servicios.consultas[0].fechaInicioAtencion")] == (
        "service before the user's fechaNacimiento"
    )
    assert rules[("people.json", "usuarios[3].numDocumentoIdentificacion")] == (
        "missing identity document"
    )
    assert result.tables.persons["person_id"].tolist() == ["CC-3"]
    assert len(result.tables.events) == 1
    assert result.counts["persons_left_out"] == 2
    assert result.counts["events_left_out"] == 3


# ---------------------------------------------------------------- households and members


def _places():
    territories = pd.DataFrame({"territory_id": ["T1"], "zone": ["urban"], "population": [2]})
    households = pd.DataFrame({"household_id": ["H1"], "territory_id": ["T1"]})
    members = pd.DataFrame(
        {
            "document_type": ["CC", "TI", "RC"],
            "document_number": ["1", "2", "3"],
            "household_id": ["H1", "H1", "H1"],
            "birth_date": ["1980-01-01", "2010-05-05", None],
            "sex": ["F", "M", "F"],
        }
    )
    return households, territories, members


def test_persons_missing_from_the_members_are_kept_in_households_of_their_own(tmp_path):
    households, territories, members = _places()
    users = [_user("1", consultas=[_visit()]), _user("5", zone="01", consultas=[_visit()])]
    folder = _write(tmp_path, "members", users).parent
    result = from_rips(folder, households=households, territories=territories, members=members)
    persons = result.tables.persons.set_index("person_id")
    assert persons["household_id"].to_dict() == {"CC-1": "H1", "CC-5": "RIPS-CC-5", "TI-2": "H1"}
    unmatched = result.unmatched
    assert unmatched[["person_id", "household_id", "territory_id"]].values.tolist() == [
        ["CC-5", "RIPS-CC-5", "RIPS-11001-R"]
    ]
    territories = result.tables.territories.set_index("territory_id")
    assert territories.loc["RIPS-11001-R", "zone"] == "rural"
    assert result.counts["members_without_services"] == 1  # TI-2; RC-3 has no birth date
    assert result.counts["members_left_out"] == 1
    masrisk.validate(result.tables)


def test_without_places_every_person_has_a_household_of_their_own(tmp_path):
    users = [_user(str(k), consultas=[_visit()]) for k in range(4)]
    result = from_rips(_write(tmp_path, "alone", users).parent)
    assert len(result.tables.households) == len(result.unmatched) == 4
    assert result.tables.territories["territory_id"].tolist() == ["RIPS-11001-U"]
    assert result.tables.territories["population"].tolist() == [4]


def test_members_that_do_not_fit_the_households_are_refused(tmp_path):
    households, territories, members = _places()
    bad = pd.concat([members, members.iloc[[0]].assign(household_id="H9")], ignore_index=True)
    folder = _write(tmp_path, "x", [_user("1", consultas=[_visit()])]).parent
    with pytest.raises(ValidationError) as error:
        from_rips(folder, households=households, territories=territories, members=bad)
    rules = {(p.column, p.rule) for p in error.value.problems}
    assert rules == {
        (None, "duplicate document"),
        ("household_id", "value matches no households.household_id"),
    }
    with pytest.raises(ValidationError, match="members given without households"):
        from_rips(folder, members=members)


def test_bad_arguments_are_masrisk_errors_naming_the_parameter_and_value(tmp_path):
    folder = _write(tmp_path, "x", [_user("1", consultas=[_visit()])]).parent
    with pytest.raises(ParameterError, match=r"cups must be .* got \['surgery'\]"):
        from_rips(folder, cups={"999999": ("surgery", "S1")})
    result = from_rips(folder)
    with pytest.raises(ParameterError, match="format must be 'parquet' or 'csv', got 'xlsx'"):
        result.write(tmp_path / "out", format="xlsx")
    result.write(tmp_path / "out")
    with pytest.raises(OutputExistsError, match="overwrite"):
        result.write(tmp_path / "out")


# ---------------------------------------------------------------- command line


def test_import_rips_command_writes_a_valid_data_directory(population, exported, tmp_path):
    folder, export = exported
    rips = tmp_path / "rips"
    shutil.copytree(folder, rips)
    _write(rips, "broken", text="{")
    population.households.to_csv(tmp_path / "households.csv", index=False)
    population.territories.to_csv(tmp_path / "territories.csv", index=False)
    export.members.to_csv(tmp_path / "members.csv", index=False)
    out = tmp_path / "data"
    args = ["import", "rips", str(rips), "--out", str(out)]
    for name in ("households", "territories", "members"):
        args += [f"--{name}", str(tmp_path / f"{name}.csv")]
    runner = CliRunner()
    result = runner.invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "broken.json: invalid JSON - line 1" in result.stderr
    assert f"{len(population.persons):,}" in result.stderr
    problems = pd.read_csv(out / "import_problems.csv")
    assert problems[["file", "rule"]].values.tolist() == [["broken.json", "invalid JSON"]]
    check = runner.invoke(app, ["validate", str(out)])
    assert check.exit_code == 0, check.output
    persons = masrisk.load_tables(out).persons
    assert np.array_equal(
        np.sort(persons["person_id"].astype("int64")), population.persons["person_id"]
    )
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "--overwrite" in again.stderr
    missing = runner.invoke(
        app, ["import", "rips", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]
    )
    assert missing.exit_code == 2
    assert "Traceback" not in missing.output


def test_integer_ids_stay_integers_when_persons_are_unmatched_or_left_out(tmp_path):
    territories = pd.DataFrame({"territory_id": [10], "zone": ["urban"], "population": [2]})
    households = pd.DataFrame({"household_id": [1, 2], "territory_id": [10, 10]})
    members = pd.DataFrame(
        {
            "document_type": ["CC", "CC", "CC"],
            "document_number": ["1", "2", "3"],
            "household_id": ["1", "2", "2"],  # text, as read from a CSV
            "person_id": [100, 200, 300],
            "birth_date": ["1980-01-01", "1990-01-01", "2000-01-01"],
            "sex": ["F", "M", "M"],
        }
    )
    users = [
        _user("1", consultas=[_visit()]),
        _user("4", consultas=[_visit()]),
        _user("5", sex="I", consultas=[_visit()]),
    ]
    folder = _write(tmp_path, "ints", users).parent
    result = from_rips(folder, households=households, territories=territories, members=members)
    persons = result.tables.persons
    assert persons["person_id"].tolist() == [100, 200, 300, 301]
    assert persons["household_id"].tolist() == [1, 2, 2, 3]
    assert persons["household_id"].dtype == "int64"
    assert result.tables.territories["territory_id"].tolist() == [10, 11]
    assert result.unmatched["person_id"].tolist() == [301]
    assert result.tables.events["person_id"].tolist() == [100, 301]


def test_values_of_the_wrong_json_type_are_reported_not_raised(tmp_path):
    users = [
        ["not", "a", "user"],
        _user("1", birth={"year": 1980}, consultas=[_visit()]),
        _user("1", consultas=["a visit", _visit()]),
        {**_user("2"), "servicios": [_visit()]},
        _user("3", consultas={"fechaInicioAtencion": "2023-01-01"}),
        _user(4, consultas=[_visit(date=20230101)]),
    ]
    result = from_rips(_write(tmp_path, "types", users).parent)
    assert _problems(result) == {
        ("types.json", "usuarios[0]"): "not an object",
        ("types.json", "usuarios[1].fechaNacimiento"): "not a date",
        ("types.json", "usuarios[2].servicios.consultas[0]"): "not an object",
        ("types.json", "usuarios[3].servicios"): "servicios is not an object",
        ("types.json", "usuarios[4].servicios.consultas"): "not a list",
        ("types.json", "usuarios[5].servicios.consultas[0].fechaInicioAtencion"): "not a date",
    }
    # CC-1: the valid birth date of its second entry wins over the first's object
    assert result.tables.persons["person_id"].tolist() == ["CC-1", "CC-2", "CC-3", "CC-4"]
    assert result.tables.events["person_id"].tolist() == ["CC-1", "CC-1"]


def test_services_before_the_birth_date_kept_are_left_out(tmp_path):
    folder = tmp_path / "newborn"
    _write(folder, "a", [_user("6", birth="2023-02-20", consultas=[_visit("2023-03-01 08:00")])])
    for name in ("b", "c"):
        _write(folder, name, [_user("6", birth="2023-03-15", consultas=[_visit("2023-04-01")])])
    result = from_rips(folder)
    assert result.tables.events["date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-04-01"] * 2
    rules = {(p.table, p.rule) for p in result.problems}
    assert rules == {
        ("b.json", "fechaNacimiento differs across invoices"),
        ("a.json", "services before the birth date kept for this person left out"),
    }
    assert result.counts["events_left_out"] == 1
