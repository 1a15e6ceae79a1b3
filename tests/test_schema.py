"""The data contract: reading, dtypes, and every validation rule."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import masrisk
from masrisk import Tables, ValidationError, load_tables, validate
from masrisk.codes import EVENT_KINDS
from tests.conftest import make_frames

Frames = dict[str, pd.DataFrame]


def write_dir(frames: Frames, directory: Path, fmt: str = "csv") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        if fmt == "csv":
            frame.to_csv(directory / f"{name}.csv", index=False)
        else:
            frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def problems_of(frames: Frames, **kwargs) -> list[masrisk.Problem]:
    with pytest.raises(ValidationError) as info:
        Tables.from_frames(frames, **kwargs)
    return list(info.value.problems)


# --------------------------------------------------------------------------- valid data


def test_valid_tables_get_contract_dtypes(frames):
    tables = Tables.from_frames(frames)
    assert tables.persons["birth_date"].dtype == "datetime64[ns]"
    assert tables.events["date"].dtype == "datetime64[ns]"
    assert list(tables.events["kind"].cat.categories) == list(EVENT_KINDS)
    assert list(tables.persons["sex"].cat.categories) == ["F", "M"]
    assert list(tables.territories["zone"].cat.categories) == ["urban", "rural"]
    assert isinstance(tables.events["code"].dtype, pd.CategoricalDtype)
    assert tables.events["value"].dtype == "float32"
    assert tables.events["value"].iloc[1] == pytest.approx(7.9, rel=1e-6)
    assert tables.territories["population"].dtype == "int64"
    assert tables.facilities["level"].dtype == "int8"
    assert tables.households["dep_illiteracy"].dtype == "int8"
    assert tables.persons["pregnant"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0]


def test_ids_and_extra_columns_are_kept_as_given(frames):
    frames["persons"]["person_id"] = ["007", "P2", "P3", "P4", "P5", "P6", "P7", "P8"]
    frames["events"].loc[0:2, "person_id"] = "007"
    frames["persons"]["bmi"] = np.linspace(18, 35, 8)
    tables = Tables.from_frames(frames)
    assert tables.persons["person_id"].iloc[0] == "007"
    assert tables.persons["bmi"].tolist() == pytest.approx(np.linspace(18, 35, 8).tolist())


def test_input_frames_are_not_modified(frames):
    before = {name: frame.copy() for name, frame in frames.items()}
    Tables.from_frames(frames)
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, before[name])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_load_tables_reads_a_directory(frames, tmp_path, fmt):
    tables = load_tables(write_dir(frames, tmp_path, fmt))
    assert len(tables.persons) == 8
    assert tables.adjacency is not None
    assert tables.facilities is not None
    assert tables.persons["birth_date"].iloc[6] == pd.Timestamp("1940-02-29")


def test_csv_and_parquet_give_equal_tables(frames, tmp_path):
    from_csv = load_tables(write_dir(frames, tmp_path / "csv", "csv"))
    from_parquet = load_tables(write_dir(frames, tmp_path / "pq", "parquet"))
    for name, frame in from_csv.items():
        pd.testing.assert_frame_equal(frame, getattr(from_parquet, name), check_dtype=False)


def test_optional_tables_may_be_absent(frames):
    del frames["adjacency"], frames["facilities"]
    tables = Tables.from_frames(frames)
    assert tables.adjacency is None
    assert tables.facilities is None


def test_age_may_replace_birth_date(frames):
    frames["persons"] = (
        frames["persons"].drop(columns="birth_date").assign(age=[74, 69, 4, 36, 49, 14, 84, 25])
    )
    tables = Tables.from_frames(frames)
    last = pd.Timestamp("2024-12-31")
    age = (last - tables.persons["birth_date"]).dt.days / 365.25
    assert np.floor(age).tolist() == [74, 69, 4, 36, 49, 14, 84, 25]


def test_reading_never_changes_files(frames, tmp_path):
    directory = write_dir(frames, tmp_path)
    frames["persons"].loc[0, "sex"] = "X"
    write_dir({"persons": frames["persons"]}, directory)
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}
    with pytest.raises(ValidationError):
        load_tables(directory)
    assert digest == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()
    }


def test_a_csv_with_two_columns_of_one_name_is_refused(frames, tmp_path):
    directory = write_dir(frames, tmp_path)
    path = directory / "territories.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(f"{line},{line.split(',')[1]}" for line in lines), encoding="utf-8")
    with pytest.raises(
        ValidationError, match=r"territories: duplicate column names \(e.g. 'zone'\)"
    ):
        load_tables(directory)


def test_numbers_are_never_coerced_out_of_range(frames):
    frames["territories"]["population"] = [10**9, 0, 3]
    frames["events"]["value"] = frames["events"]["value"].where(
        frames["events"]["value"].isna(), 3e38
    )
    tables = Tables.from_frames(frames)
    assert tables.territories["population"].tolist() == [10**9, 0, 3]
    assert np.isfinite(tables.events["value"].dropna()).all()


def test_range_rules_come_from_the_column_specs():
    contract = masrisk.CONTRACT
    assert contract["territories"].column("population").ranges() == (
        ("negative", 0, float("inf")),
        ("above 1,000,000,000", -float("inf"), 10**9),
    )
    assert contract["facilities"].column("lat").ranges() == (("outside -90 to 90", -90.0, 90.0),)
    (rule, low, high), beyond = contract["persons"].column("age").ranges()
    assert (rule, low, high) == ("age outside 0-120", 0, 120)
    assert beyond[0] == "beyond the float32 range (±3.4e+38)"
    assert contract["events"].column("date").ranges() == (
        ("date out of range 1850-2200", "1850-01-01", "2200-01-01"),
    )
    assert contract["persons"].column("sex").ranges() == ()


def test_missing_directory_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load_tables(tmp_path / "nope")


def test_config_may_add_event_kinds(frames):
    frames["events"].loc[0, "kind"] = "home_visit"
    with pytest.raises(ValidationError, match="events.kind: unknown value"):
        Tables.from_frames(frames)
    tables = Tables.from_frames(frames, extra_kinds=["home_visit"])
    assert tables.events["kind"].iloc[0] == "home_visit"


# --------------------------------------------------------------------------- every rule


def _set(table: str, column: str, row: int, value: object) -> Callable[[Frames], None]:
    def mutate(frames: Frames) -> None:
        frame = frames[table]
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value

    return mutate


def _drop_table(table: str) -> Callable[[Frames], None]:
    return lambda frames: frames.pop(table)


def _drop_column(table: str, column: str) -> Callable[[Frames], None]:
    def mutate(frames: Frames) -> None:
        frames[table] = frames[table].drop(columns=column)

    return mutate


def _duplicate_row(table: str, row: int) -> Callable[[Frames], None]:
    def mutate(frames: Frames) -> None:
        frames[table] = pd.concat([frames[table], frames[table].iloc[[row]]], ignore_index=True)

    return mutate


def _ages(ages: list[int]) -> Callable[[Frames], None]:
    def mutate(frames: Frames) -> None:
        frames["persons"] = frames["persons"].drop(columns="birth_date").assign(age=ages)

    return mutate


RULES = {
    "missing table": (_drop_table("events"), "events", None, "missing table"),
    "missing column": (_drop_column("persons", "sex"), "persons", "sex", "missing column"),
    "missing birth date and age": (
        _drop_column("persons", "birth_date"),
        "persons",
        "birth_date",
        "missing column",
    ),
    "duplicate id": (_duplicate_row("persons", 2), "persons", "person_id", "duplicate id"),
    "missing id": (
        _set("households", "household_id", 3, None),
        "households",
        "household_id",
        "missing id",
    ),
    "missing reference": (
        _set("events", "person_id", 0, None),
        "events",
        "person_id",
        "missing reference",
    ),
    "event to no person": (
        _set("events", "person_id", 0, "P99"),
        "events",
        "person_id",
        "matches no persons.person_id",
    ),
    "person to no household": (
        _set("persons", "household_id", 0, "H9"),
        "persons",
        "household_id",
        "matches no households.household_id",
    ),
    "household to no territory": (
        _set("households", "territory_id", 0, "T9"),
        "households",
        "territory_id",
        "matches no territories.territory_id",
    ),
    "adjacency to no territory": (
        _set("adjacency", "neighbor_id", 0, "T9"),
        "adjacency",
        "neighbor_id",
        "matches no territories.territory_id",
    ),
    "duplicate facility": (
        _set("facilities", "facility_id", 1, "F1"),
        "facilities",
        "facility_id",
        "duplicate id",
    ),
    "unparseable date": (
        _set("persons", "birth_date", 1, "1990-13-01"),
        "persons",
        "birth_date",
        "not a date",
    ),
    "unparseable event date": (
        _set("events", "date", 3, "yesterday"),
        "events",
        "date",
        "not a date",
    ),
    "missing event date": (_set("events", "date", 3, None), "events", "date", "missing value"),
    "event date out of range": (
        _set("events", "date", 3, "1800-01-01"),
        "events",
        "date",
        "date out of range 1850-2200",
    ),
    "birth after last event": (
        _set("persons", "birth_date", 1, "2025-06-01"),
        "persons",
        "birth_date",
        "birth date after the last event date",
    ),
    "older than 120": (
        _set("persons", "birth_date", 1, "1880-01-01"),
        "persons",
        "birth_date",
        "age outside 0-120",
    ),
    "age outside range": (
        _ages([70, 69, 4, 36, 49, 14, 130, 25]),
        "persons",
        "age",
        "age outside 0-120",
    ),
    "event before birth": (
        _set("events", "date", 4, "2019-05-05"),
        "events",
        "date",
        "event before the person's birth date",
    ),
    "unknown sex": (_set("persons", "sex", 0, "X"), "persons", "sex", "unknown value"),
    "unknown zone": (
        _set("territories", "zone", 0, "suburban"),
        "territories",
        "zone",
        "unknown value",
    ),
    "unknown kind": (_set("events", "kind", 0, "surgery"), "events", "kind", "unknown value"),
    "unknown facility level": (
        _set("facilities", "level", 0, 4),
        "facilities",
        "level",
        "unknown facility level",
    ),
    "negative population": (
        _set("territories", "population", 0, -3),
        "territories",
        "population",
        "negative",
    ),
    "non-integer population": (
        _set("territories", "population", 0, 2.5),
        "territories",
        "population",
        "not an integer",
    ),
    "non-numeric value": (_set("events", "value", 1, "high"), "events", "value", "not a number"),
    "flag not 0/1": (_set("persons", "pregnant", 0, 2), "persons", "pregnant", "not a 0/1 flag"),
    "coordinate out of range": (
        _set("territories", "lat", 0, 95.0),
        "territories",
        "lat",
        "outside -90 to 90",
    ),
    "population beyond int64": (
        _set("territories", "population", 0, 1e300),
        "territories",
        "population",
        "above 1,000,000,000",
    ),
    "lab value beyond float32": (
        _set("events", "value", 1, "1e300"),
        "events",
        "value",
        "beyond the float32 range",
    ),
}


@pytest.mark.parametrize("case", list(RULES))
def test_each_rule_is_reported_with_table_column_and_example(frames, case):
    mutate, table, column, rule = RULES[case]
    mutate(frames)
    problems = problems_of(frames)
    matching = [p for p in problems if p.table == table and p.column == column and rule in p.rule]
    assert matching, f"expected {table}.{column} {rule!r}, got {[str(p) for p in problems]}"
    problem = matching[0]
    if problem.rows:
        assert 1 <= len(problem.examples) <= 5
    assert (f"{table}.{column}" if column else table) in str(problem)


def test_every_problem_is_reported_at_once(frames):
    for case in ("unknown sex", "event to no person", "negative population", "unparseable date"):
        RULES[case][0](frames)
    problems = problems_of(frames)
    assert {(p.table, p.column) for p in problems} == {
        ("persons", "sex"),
        ("events", "person_id"),
        ("territories", "population"),
        ("persons", "birth_date"),
    }
    message = str(ValidationError(problems, source="data/"))
    assert message.startswith("4 problems in data/")


def test_examples_show_at_most_five_ids(frames):
    frames["events"]["kind"] = "surgery"
    frames["persons"]["household_id"] = [f"H{i}" for i in range(10, 18)]
    problems = {p.column: p for p in problems_of(frames)}
    assert problems["household_id"].rows == 8
    assert len(problems["household_id"].examples) == 5
    assert problems["kind"].examples == ("'surgery' (12 rows)",)


def test_id_type_mismatch_is_explained(frames):
    frames["territories"]["territory_id"] = [1, 2, 3]
    problem = next(p for p in problems_of(frames) if p.column == "territory_id")
    assert "text" in problem.detail
    assert "numbers" in problem.detail


def test_validate_accepts_tables_and_raises_on_bad_ones(frames):
    validate(Tables.from_frames(frames))
    frames["persons"].loc[0, "sex"] = "X"
    with pytest.raises(ValidationError, match=r"persons\.sex: unknown value"):
        validate(frames)


def test_problems_convert_to_a_frame(frames):
    frames["persons"].loc[0, "sex"] = "X"
    frame = problems_of_error(frames).to_frame()
    assert frame.columns.tolist() == ["table", "column", "rule", "rows", "examples", "detail"]
    assert frame.loc[0, "table"] == "persons"


def problems_of_error(frames: Frames) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        Tables.from_frames(frames)
    return info.value


# --------------------------------------------------------------------------- random corruption

_GARBAGE = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["", "n/a", "1990-13-01", "2024-02-30", "9999-12-31", "urban", "F", "lab"]),
)


@st.composite
def corruptions(draw: st.DrawFn) -> list[tuple]:
    names = list(make_frames())
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        table = draw(st.sampled_from(names))
        action = draw(st.sampled_from(["set", "drop_column", "drop_table", "duplicate", "retype"]))
        steps.append((action, table, draw(st.integers(0, 50)), draw(_GARBAGE)))
    return steps


def _apply(frames: Frames, steps: list[tuple]) -> None:
    for action, table, k, value in steps:
        if table not in frames:
            continue
        frame = frames[table]
        if frame.shape[1] == 0 or len(frame) == 0:
            continue  # nothing left to corrupt
        column = frame.columns[k % frame.shape[1]]
        if action == "set":
            frame[column] = frame[column].astype(object)
            frame.loc[k % len(frame), column] = value
        elif action == "drop_column":
            frames[table] = frame.drop(columns=column)
        elif action == "drop_table":
            del frames[table]
        elif action == "duplicate":
            frames[table] = pd.concat([frame, frame.iloc[[k % len(frame)]]], ignore_index=True)
        else:
            frame[column] = frame[column].astype(str)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=corruptions())
def test_random_corruption_raises_only_validation_error(steps):
    frames = make_frames()
    _apply(frames, steps)
    error = None
    try:
        tables = Tables.from_frames(frames)
    except ValidationError as caught:
        error = caught
    if error is None:
        assert len(tables.persons) == len(frames["persons"])
    else:
        assert error.problems
        assert {p.table for p in error.problems} <= set(masrisk.CONTRACT)
