"""Class 3: a bundle is data, not instructions; every attack is a BundleError naming the file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pytest

import masrisk
from masrisk.exceptions import BundleError
from tests.hostile.conftest import refused, run


def rewrite(bundle: Path, name: str, text: str | None = None, *, entry: str | None = None) -> None:
    """Change one file of a bundle and recompute its manifest, as an attacker would."""
    if text is not None:
        (bundle / name).write_text(text)
    manifest = json.loads((bundle / "manifest.json").read_text())
    target = bundle / name
    manifest["sha256"][entry or name] = (
        hashlib.sha256(target.read_bytes()).hexdigest() if target.is_file() else "0" * 64
    )
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def metadata_with(bundle: Path, tmp_path: Path, change) -> Path:
    copy = shutil.copytree(bundle, tmp_path / "model")
    metadata = json.loads((copy / "metadata.json").read_text())
    change(metadata)
    rewrite(copy, "metadata.json", json.dumps(metadata))
    return copy


@pytest.mark.parametrize("profile", ["/etc/shadow", "/dev/zero", "../configs/bogota", "x" * 500])
def test_the_profile_is_a_name_from_a_fixed_set(bundle, data, tmp_path, profile):
    copy = metadata_with(bundle, tmp_path, lambda m: m.update(profile=profile))
    with pytest.raises(BundleError, match="metadata.json"):
        masrisk.load_bundle(copy)
    started = time.monotonic()
    result = run("score", "--model", copy, "--data", data, "--as-of", "2025-01-01",
                 "--out", tmp_path / "s.parquet")  # fmt: skip
    refused(result, "profile")
    assert time.monotonic() - started < 60
    assert "root:" not in result.stderr


@pytest.mark.parametrize(
    ("key", "value"), [("n_jobs", 10**9), ("n_jobs", 0), ("random_state", -5), ("n_jobs", "2")]
)
def test_numeric_parameters_have_bounds(bundle, tmp_path, key, value):
    copy = metadata_with(bundle, tmp_path, lambda m: m["params"].update({key: value}))
    with pytest.raises(BundleError, match=key):
        masrisk.load_bundle(copy)


@pytest.mark.parametrize("entry", ["../outside.txt", "/etc/passwd", "sub/booster.txt"])
def test_manifest_entries_are_plain_file_names_inside_the_bundle(bundle, tmp_path, entry):
    copy = shutil.copytree(bundle, tmp_path / "model")
    (tmp_path / "outside.txt").write_text("secret")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sha256"][entry] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="manifest.json"):
        masrisk.load_bundle(copy)


def test_a_symbolic_link_in_a_bundle_is_refused(bundle, tmp_path):
    copy = shutil.copytree(bundle, tmp_path / "model")
    (tmp_path / "elsewhere.json").write_text((copy / "report.json").read_text())
    (copy / "report.json").unlink()
    (copy / "report.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(BundleError, match="report.json"):
        masrisk.load_bundle(copy)


def test_an_oversized_file_is_refused_before_it_is_read(bundle, tmp_path):
    copy = shutil.copytree(bundle, tmp_path / "model")
    with open(copy / "report.json", "r+b") as handle:  # sparse: 2 GiB on paper, no disk used
        handle.truncate(2 * 1024**3)
    started = time.monotonic()
    with pytest.raises(BundleError, match="report.json"):
        masrisk.load_bundle(copy)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text.replace("num_leaves=7", "num_leaves=700", 1),
        lambda text: text.replace("left_child=", "left_child=99999 ", 1),
        lambda text: text.replace("split_feature=", "split_feature=100000 ", 1),
        lambda text: "tree\nversion=v4\nnum_class=1\n" + "Tree=0\nnum_leaves=-3\n",
    ],
)
def test_a_crafted_booster_is_refused_not_a_crash(bundle, tmp_path, damage):
    copy = shutil.copytree(bundle, tmp_path / "model")
    rewrite(copy, "booster.txt", damage((copy / "booster.txt").read_text()))
    with pytest.raises(BundleError, match="booster.txt"):
        masrisk.load_bundle(copy)


@pytest.mark.parametrize(
    "calibrator",
    [
        {"method": "sigmoid", "intercept": float("nan"), "slope": 1.0, "x": [], "y": []},
        {"method": "sigmoid", "intercept": 0.0, "slope": -1.0, "x": [], "y": []},
        {"method": "isotonic", "intercept": 0.0, "slope": 1.0, "x": [0, 1], "y": [0.2, 7.0]},
        {"method": "exec", "intercept": 0.0, "slope": 1.0, "x": [], "y": []},
    ],
)
def test_a_tampered_calibrator_is_refused(bundle, tmp_path, calibrator):
    copy = shutil.copytree(bundle, tmp_path / "model")
    text = json.dumps(calibrator).replace("NaN", "NaN")
    rewrite(copy, "calibrator.json", text)
    with pytest.raises(BundleError, match="calibrator.json"):
        masrisk.load_bundle(copy)


def test_no_bundle_file_is_executed_or_imported(bundle):
    files = {p.name for p in Path(bundle).iterdir()}
    assert not {n for n in files if n.endswith((".pkl", ".pickle", ".joblib", ".py"))}
    assert os.access(bundle / "metadata.json", os.R_OK)


def test_a_trained_booster_with_infinite_thresholds_passes_the_check():
    """LightGBM itself writes ``inf`` thresholds (a split sending every number one way)."""
    from pathlib import Path

    from masrisk.bundle import load_bundle
    from masrisk.exceptions import BundleError
    from masrisk.models.booster_text import check_booster_text

    root = Path(__file__).resolve().parents[2] / "models" / "hospitalization_12m"
    features = load_bundle(root).metadata.feature_names
    text = (root / "booster.txt").read_text()
    start = text.index("\nthreshold=") + len("\nthreshold=")
    first = text[start:].split()[0]

    def with_threshold(value):
        return text[:start] + value.ljust(len(first)) + text[start + len(first) :]

    check_booster_text(root / "booster.txt", with_threshold("inf"), features)
    with pytest.raises(BundleError, match="not finite"):
        check_booster_text(root / "booster.txt", with_threshold("nan"), features)
