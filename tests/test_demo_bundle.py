"""The demo bundle shipped in ``models/`` loads, matches today's features and scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import masrisk
from masrisk.features import build_features

DEMO = Path(__file__).resolve().parents[1] / "models" / "hospitalization_12m"


@pytest.fixture(scope="module")
def bundle() -> masrisk.Bundle:
    return masrisk.load_bundle(DEMO)  # verifies every checksum


def test_demo_bundle_is_small_and_says_it_is_synthetic(bundle):
    assert sum(p.stat().st_size for p in DEMO.iterdir()) < 5 * 2**20
    assert bundle.profile == bundle.metadata.profile == "bogota"
    assert bundle.metadata.outcome_definition.name == "hospitalization_12m"
    assert bundle.metadata["lab_codes"] == bundle.lab_codes  # read as the dict it once was
    card = (DEMO / "model_card.md").read_text(encoding="utf-8")
    assert "- Source: synthetic Bogotá population" in card
    report = json.loads((DEMO / "report.json").read_text(encoding="utf-8"))
    assert report == bundle.report


def test_demo_bundle_features_are_those_the_code_builds_today(bundle):
    """If this fails, the features changed: re-create the bundle (see the README)."""
    tables = masrisk.synthesize("bogota", persons=2000, seed=11).tables
    config = masrisk.load_config("bogota")
    features = build_features(tables, as_of="2025-01-01", config=config, lab_codes=bundle.lab_codes)
    assert list(features.columns) == bundle.features
    scores = masrisk.score(bundle, tables, as_of="2025-01-01", config=config)
    assert scores["risk"].between(0, 1, inclusive="neither").all()
    assert len(scores) == len(features)
