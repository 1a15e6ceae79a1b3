"""``masrisk explain``: the contributions file, streamed in chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import masrisk
from masrisk.explanations import LEVEL_COLUMNS
from tests.test_cli import run
from tests.test_demo_bundle import DEMO

CONFIG = masrisk.load_config("bogota")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "data"
    result = run("synth", "--persons", 2500, "--seed", 6, "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_explain_writes_the_contributions_of_everyone(data, tmp_path, suffix):
    out = tmp_path / f"contributions{suffix}"
    args = ("--model", DEMO, "--data", data, "--as-of", "2025-01-01", "--out", out)
    result = run("explain", *args, "--chunk-size", 700)
    assert result.returncode == 0, result.stderr
    assert "Wrote" in result.stderr
    table = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)

    bundle = masrisk.load_bundle(DEMO)
    tables = masrisk.load_tables(data)
    features = masrisk.build_features(
        tables, as_of="2025-01-01", lab_codes=bundle.metadata["lab_codes"], config=CONFIG
    )
    expected = masrisk.explain(bundle, features).to_frame()
    assert list(table.columns) == ["person_id", *bundle.features, "base_value", *LEVEL_COLUMNS]
    assert table["person_id"].tolist() == expected["person_id"].tolist()
    np.testing.assert_allclose(
        table.drop(columns="person_id").to_numpy(dtype="float64"),
        expected.drop(columns="person_id").to_numpy(dtype="float64"),
        rtol=1e-5,
        atol=1e-6,
    )


def test_explain_refuses_a_tampered_bundle(data, tmp_path):
    copy = tmp_path / "bundle"
    copy.mkdir()
    for path in DEMO.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "booster.txt").write_text("tree\n", encoding="utf-8")
    out = tmp_path / "c.parquet"
    result = run("explain", "--model", copy, "--data", data, "--as-of", "2025-01-01", "--out", out)
    assert result.returncode == 2
    assert "booster.txt" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_explain_refuses_an_unknown_output_format(data, tmp_path):
    args = ("--model", DEMO, "--data", data, "--as-of", "2025-01-01")
    result = run("explain", *args, "--out", tmp_path / "c.json")
    assert result.returncode == 2
    assert ".parquet or .csv" in result.stderr
