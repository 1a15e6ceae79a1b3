"""``masrisk train`` and ``masrisk score`` as a user meets them: processes, exit codes, files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from masrisk.scoring import SCORE_COLUMNS
from tests.test_cli import run

CUT_OFFS = ("--train-as-of", "2023-01-01", "--valid-as-of", "2024-01-01")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "data"
    result = run("synth", "--persons", 3000, "--seed", 2, "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("model") / "hospitalization_12m"
    result = run(
        "train", "--data", data, "--config", "bogota", "--outcome", "hospitalization_12m",
        *CUT_OFFS, "--out", out, "--data-description", "synthetic Bogotá, 3,000 persons, seed 2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out, result.stderr


def test_train_writes_a_bundle_with_its_card_and_reports_the_metrics(trained):
    bundle, stderr = trained
    names = {p.name for p in bundle.iterdir()}
    assert {"manifest.json", "metadata.json", "calibrator.json", "baseline.json"} <= names
    assert {"model_card.md", "report.json"} <= names
    metadata = json.loads((bundle / "metadata.json").read_text())
    assert metadata["train_as_of"] == "2023-01-01"
    assert metadata["valid_as_of"] == "2024-01-01"
    assert metadata["outcome_definition"]["name"] == "hospitalization_12m"
    card = (bundle / "model_card.md").read_text()
    assert "hospitalization_12m" in card
    assert "Limitations" in card
    assert "- Source: synthetic Bogotá, 3,000 persons, seed 2." in card
    assert "- Calibration: sigmoid recalibration" in card
    assert "AUC" in stderr
    assert "logistic_baseline" in stderr
    assert "ranks the validation period better" in stderr
    assert f"Wrote {bundle}" in stderr


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_score_writes_one_row_per_person_with_a_tier(trained, data, tmp_path, suffix):
    bundle, _ = trained
    out = tmp_path / f"scores{suffix}"
    result = run("score", "--model", bundle, "--data", data, "--as-of", "2025-01-01", "--out", out)
    assert result.returncode == 0, result.stderr
    scores = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert tuple(scores.columns) == SCORE_COLUMNS
    assert scores["person_id"].is_unique
    assert scores["risk"].between(0, 1, inclusive="neither").all()
    shares = scores["tier"].value_counts(normalize=True)
    assert shares["case_management"] == pytest.approx(0.03, abs=0.001)
    assert shares["disease_management"] == pytest.approx(0.17, abs=0.001)
    assert "case_management" in result.stderr


def test_score_is_deterministic(trained, data, tmp_path):
    bundle, _ = trained
    outputs = []
    for name in ("a.parquet", "b.parquet"):
        args = ("--model", bundle, "--data", data, "--as-of", "2025-01-01", "--quiet")
        assert run("score", *args, "--out", tmp_path / name).returncode == 0
        outputs.append(pd.read_parquet(tmp_path / name))
    pd.testing.assert_frame_equal(*outputs)


def test_tampered_bundle_exits_2_naming_the_file(trained, data, tmp_path):
    bundle, _ = trained
    copy = tmp_path / "bundle"
    copy.mkdir()
    for path in bundle.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    calibrator = copy / "calibrator.json"
    calibrator.write_bytes(calibrator.read_bytes().replace(b"0", b"1", 1))
    result = run(
        "score", "--model", copy, "--data", data, "--as-of", "2025-01-01",
        "--out", tmp_path / "s.parquet",
    )  # fmt: skip
    assert result.returncode == 2
    assert "BundleError" in result.stderr
    assert "calibrator.json" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "s.parquet").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--outcome", "hospitalization_12m", "--train-as-of", "2023-06-01",
          "--valid-as-of", "2024-01-01"), "at least 365 days after train_as_of"),
        (("--outcome", "hospitalization_12m", "--train-as-of", "2023-01-01",
          "--valid-as-of", "2024-06-01"), "horizon"),
        (("--outcome", "flu_12m", *CUT_OFFS), "flu_12m"),
    ],
    ids=["overlapping-cut-offs", "horizon-past-the-data", "unknown-outcome"],
)  # fmt: skip
def test_train_refuses_bad_requests_with_exit_2(data, tmp_path, args, message):
    out = tmp_path / "model"
    result = run("train", "--data", data, "--config", "bogota", *args, "--out", out, "--quiet")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_train_does_not_overwrite_an_existing_bundle(trained, data):
    bundle, _ = trained
    before = {p.name: p.read_bytes() for p in bundle.iterdir()}
    result = run(
        "train", "--data", data, "--config", "bogota", "--outcome", "hospitalization_12m",
        *CUT_OFFS, "--out", bundle, "--quiet",
    )  # fmt: skip
    assert result.returncode == 2
    assert "exists" in result.stderr
    assert {p.name: p.read_bytes() for p in bundle.iterdir()} == before


def test_score_refuses_an_unknown_output_format(trained, data, tmp_path):
    bundle, _ = trained
    result = run(
        "score", "--model", bundle, "--data", data, "--as-of", "2025-01-01",
        "--out", tmp_path / "scores.xlsx",
    )  # fmt: skip
    assert result.returncode == 2
    assert ".parquet or .csv" in result.stderr
