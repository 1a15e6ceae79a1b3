"""The command line as a user meets it: real processes, exit codes, messages, files."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import masrisk
from masrisk.outputs import MARKER

#: The terminal width the commands see: fixed, so that no assertion depends on the width of
#: the terminal the tests run in (tables fit the width; lines of text are never wrapped).
WIDTH = "160"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "masrisk", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": WIDTH},
    )


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def valid_csv_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("valid") / "data"
    result = run(
        "synth",
        "--profile",
        "bogota",
        "--persons",
        2000,
        "--seed",
        3,
        "--out",
        out,
        "--format",
        "csv",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    return out


def test_version_comes_from_package_metadata():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"masrisk {masrisk.__version__}"


def test_import_is_light():
    heavy = "('pandas', 'lightgbm', 'shap', 'sklearn')"
    code = f"import masrisk, sys; print(sorted(m for m in {heavy} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("profile", ["bogota", "mexico"])
def test_synth_then_validate_succeeds(tmp_path, profile):
    data, truth = tmp_path / "data", tmp_path / "truth.parquet"
    result = run(
        "synth",
        "--profile",
        profile,
        "--persons",
        3000,
        "--seed",
        1,
        "--out",
        data,
        "--truth",
        truth,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in data.iterdir()) == sorted(
        [MARKER, *(f"{name}.parquet" for name in masrisk.CONTRACT)]
    )
    assert truth.is_file()
    result = run("validate", data)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_synth_is_deterministic_through_the_cli(tmp_path):
    for name in ("a", "b"):
        assert (
            run("synth", "--persons", 1500, "--seed", 7, "--out", tmp_path / name, "-q").returncode
            == 0
        )
    a, b = masrisk.load_tables(tmp_path / "a"), masrisk.load_tables(tmp_path / "b")
    for name, frame in a.items():
        pd.testing.assert_frame_equal(frame, getattr(b, name))


def test_truth_inside_the_data_directory_is_refused(tmp_path):
    result = run(
        "synth", "--persons", 1500, "--out", tmp_path / "d", "--truth", tmp_path / "d" / "t.csv"
    )
    assert result.returncode == 2
    assert "truth" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("synth", "--profile", "paris", "--out", "x"),
        ("synth", "--persons", "10", "--out", "x"),
        ("validate",),
        ("nonsense",),
    ],
)
def test_bad_arguments_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_missing_directory_exits_2(tmp_path):
    result = run("validate", tmp_path / "nowhere")
    assert result.returncode == 2
    assert "not found" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- defects

Edit = Callable[[pd.DataFrame], pd.DataFrame]


def _cell(
    column: str, value: str, where: Callable[[pd.DataFrame], pd.Series] | None = None
) -> Edit:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame.index[where(frame)] if where is not None else frame.index
        frame.loc[rows[0], column] = value
        return frame

    return edit


def _is_lab(frame: pd.DataFrame) -> pd.Series:
    return frame["kind"] == "lab"


DEFECTS: dict[str, tuple[str, Edit | None, str]] = {
    "missing table": ("events", None, "events: missing table"),
    "missing column": ("persons", lambda f: f.drop(columns="sex"), "persons.sex: missing column"),
    "duplicate id": (
        "persons",
        lambda f: pd.concat([f, f.iloc[[5]]]),
        "persons.person_id: duplicate id",
    ),
    "missing id": ("households", _cell("household_id", ""), "households.household_id: missing id"),
    "event of no person": (
        "events",
        _cell("person_id", "999999999"),
        "events.person_id: value matches no",
    ),
    "person in no household": (
        "persons",
        _cell("household_id", "999999999"),
        "persons.household_id: value matches no",
    ),
    "household in no territory": (
        "households",
        _cell("territory_id", "NOWHERE"),
        "households.territory_id: value matches no",
    ),
    "neighbour that is no territory": (
        "adjacency",
        _cell("neighbor_id", "NOWHERE"),
        "adjacency.neighbor_id: value matches no",
    ),
    "duplicate facility": (
        "facilities",
        lambda f: pd.concat([f, f.iloc[[0]]]),
        "facilities.facility_id: duplicate id",
    ),
    "unparseable birth date": (
        "persons",
        _cell("birth_date", "1990-13-01"),
        "persons.birth_date: not a date",
    ),
    "unparseable event date": ("events", _cell("date", "2021-02-30"), "events.date: not a date"),
    "birth after last event": (
        "persons",
        _cell("birth_date", "2030-01-01"),
        "persons.birth_date: birth date after the last event date",
    ),
    "older than 120": (
        "persons",
        _cell("birth_date", "1850-06-01"),
        "persons.birth_date: age outside 0-120",
    ),
    "unknown sex": ("persons", _cell("sex", "X"), "persons.sex: unknown value"),
    "unknown zone": ("territories", _cell("zone", "suburban"), "territories.zone: unknown value"),
    "unknown kind": ("events", _cell("kind", "surgery"), "events.kind: unknown value"),
    "unknown facility level": (
        "facilities",
        _cell("level", "4"),
        "facilities.level: unknown facility level",
    ),
    "negative population": (
        "territories",
        _cell("population", "-5"),
        "territories.population: negative",
    ),
    "non-integer population": (
        "territories",
        _cell("population", "12.5"),
        "territories.population: not an integer",
    ),
    "non-numeric value": ("events", _cell("value", "high", _is_lab), "events.value: not a number"),
    "flag not 0/1": (
        "households",
        _cell("dep_illiteracy", "yes"),
        "households.dep_illiteracy: not a 0/1 flag",
    ),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_defect_exits_2_naming_table_and_column(valid_csv_dir, tmp_path, defect):
    table, edit, expected = DEFECTS[defect]
    data = tmp_path / "data"
    shutil.copytree(valid_csv_dir, data)
    file = data / f"{table}.csv"
    if edit is None:
        file.unlink()
    else:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        edit(frame).to_csv(file, index=False)
    before = digest(data)
    result = run("validate", data)
    assert result.returncode == 2, result.stdout
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert digest(data) == before
