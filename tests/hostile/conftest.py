"""What the hostile tests share: a small population, a trained bundle, scores, and a digest."""

from __future__ import annotations

import hashlib
import subprocess
import traceback
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from masrisk.cli import app

CUT_OFFS = ("--train-as-of", "2023-01-01", "--valid-as-of", "2024-01-01")


def run(*args: object) -> subprocess.CompletedProcess[str]:
    """Run ``masrisk ARGS`` in this process (no start-up cost): its exit status and outputs.

    An exception the command lets through is exit 1 with its traceback, as the console
    script would end (its traceback shown with ``--debug``): ``refused`` and ``ok`` fail on it.
    Warnings are shown, not raised, as outside the test suite.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        result = CliRunner().invoke(app, [str(a) for a in args])
    code, stderr = result.exit_code, result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        code, stderr = 1, stderr + "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(list(args), code, result.stdout, stderr)


def digest(path: Path) -> dict[str, str]:
    """Every file under ``path`` (or ``path`` itself) by its SHA-256: to prove nothing changed."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files}  # fmt: skip


def ok(result) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def refused(result, *words: str) -> None:
    """Exit 2, one clear message naming what is wrong, and no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in result.stderr, (word, result.stderr)


@pytest.fixture(scope="package")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "data"
    ok(run("synth", "--persons", 1000, "--seed", 3, "--out", out, "--quiet"))
    return out


@pytest.fixture(scope="package")
def bundle(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "model"
    ok(run("train", "--data", data, "--config", "bogota", "--outcome", "hospitalization_12m",
           *CUT_OFFS, "--out", out, "--quiet"))  # fmt: skip
    return out


@pytest.fixture(scope="package")
def scores(data, bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scores") / "scores.parquet"
    ok(run("score", "--model", bundle, "--data", data, "--as-of", "2025-01-01", "--out", out))
    return out
