"""Class 5: a user's mistake is exit 2 with one clear message, never a traceback or exit 1."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from tests.hostile.conftest import CUT_OFFS, refused, run

BAD_DATES = ["2025-13-01", "tomorrow", "2023-02-30", "01/02/2025", "2025-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("date", BAD_DATES)
def test_a_date_that_is_not_iso_8601_is_refused_at_the_edge(data, bundle, tmp_path, date):
    refused(run("score", "--model", bundle, "--data", data, "--as-of", date,
                "--out", tmp_path / "s.parquet"), "--as-of", "YYYY-MM-DD")  # fmt: skip
    refused(run("train", "--data", data, "--config", "bogota", "--outcome",
                "hospitalization_12m", "--train-as-of", date, "--valid-as-of", "2024-01-01",
                "--out", tmp_path / "m"), "--train-as-of")  # fmt: skip
    assert not list(tmp_path.iterdir())


def test_a_cut_off_outside_the_data_is_refused_with_the_range(data, bundle, tmp_path):
    refused(run("score", "--model", bundle, "--data", data, "--as-of", "1900-01-01",
                "--out", tmp_path / "s.parquet"), "2021-01-01")  # fmt: skip


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999", "x"])
def test_a_seed_out_of_range_is_refused(tmp_path, seed):
    refused(run("synth", "--persons", 1000, "--seed", seed, "--out", tmp_path / "d"), "--seed")


def write_csv(data, directory, change) -> None:
    """Write the data directory's tables as CSV files into ``directory``, each changed."""
    directory.mkdir()
    for path in data.glob("*.parquet"):
        change(path.stem, pd.read_parquet(path)).to_csv(directory / f"{path.stem}.csv", index=False)


def test_timestamps_with_an_offset_are_problems_not_crashes(data, tmp_path):
    def offset(name, frame):
        if name != "events":
            return frame
        return frame.assign(date=frame["date"].dt.strftime("%Y-%m-%dT00:00:00+01:00"))

    write_csv(data, tmp_path / "offset", offset)
    result = run("validate", tmp_path / "offset")
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr


def test_an_empty_persons_table_is_a_problem_not_a_crash(data, tmp_path):
    empty = tmp_path / "empty"
    write_csv(data, empty, lambda n, f: f.iloc[:0] if n in ("persons", "events") else f)
    result = run("validate", empty)
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    refused(run("train", "--data", empty, "--config", "bogota", "--outcome",
                "hospitalization_12m", *CUT_OFFS, "--out", tmp_path / "m"), "persons")  # fmt: skip


def test_an_empty_pseudonym_key_is_refused(data, scores, tmp_path):
    key = tmp_path / "key"
    key.write_text("")
    refused(run("plan", "--scores", scores, "--data", data, "--config", "bogota",
                "--out", tmp_path / "plans", "--pseudonym-key-file", key), "empty")  # fmt: skip
    assert not (tmp_path / "plans").exists()


@pytest.mark.parametrize("text", ["{", "[" * 100_000 + "]" * 100_000, '{"a": ' * 50_000])
def test_a_malformed_or_deeply_nested_bundle_file_is_a_bundle_error(bundle, data, tmp_path,
                                                                     text):  # fmt: skip
    import hashlib
    import shutil

    bad = shutil.copytree(bundle, tmp_path / "model")
    (bad / "metadata.json").write_text(text)
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["sha256"]["metadata.json"] = hashlib.sha256(text.encode()).hexdigest()
    (bad / "manifest.json").write_text(json.dumps(manifest))
    refused(run("score", "--model", bad, "--data", data, "--as-of", "2025-01-01",
                "--out", tmp_path / "s.parquet"), "metadata.json")  # fmt: skip


def test_export_fhir_without_its_extra_says_what_to_install(data, scores, tmp_path):
    import subprocess

    code = (
        "import sys; sys.modules['fhir'] = None; sys.modules['fhir.resources'] = None;"
        "sys.argv = ['masrisk', 'export', 'fhir', '--scores', sys.argv[1], '--plans',"
        " sys.argv[2], '--out', sys.argv[3]];"
        "from masrisk.cli import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", code, str(scores), str(tmp_path / "plans"),
                             str(tmp_path / "fhir")], capture_output=True, text=True,
                            check=False)  # fmt: skip
    refused(result, "masrisk[interop]")
