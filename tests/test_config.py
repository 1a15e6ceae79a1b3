"""Typed configurations: the shipped ones load; bad ones fail naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from masrisk import ConfigError, load_config
from masrisk.config import BUNDLED_CONFIGS, config_path

REQUIRED_OUTCOMES = {"hospitalization_12m", "emergency_12m", "mortality_12m", "cardiovascular_12m"}


@pytest.mark.parametrize("name", BUNDLED_CONFIGS)
def test_shipped_configs_define_the_required_outcomes(name):
    config = load_config(name)
    assert config.profile == name
    assert set(config.outcomes) >= REQUIRED_OUTCOMES
    assert config.outcomes["mortality_12m"].kinds == ("death",)
    assert all(o.horizon_days == 365 for o in config.outcomes.values())


def test_shipped_configs_match_the_repository_copies():
    repo = Path(__file__).resolve().parents[1] / "configs"
    for name in BUNDLED_CONFIGS:
        assert config_path(name).read_text() == (repo / f"{name}.yaml").read_text()


def test_config_loads_from_a_path_and_a_dict(tmp_path):
    data = {"profile": "mine", "outcomes": {"death_90d": {"kinds": ["death"], "horizon_days": 90}}}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_config(path) == load_config(data)
    assert load_config(path).outcomes["death_90d"].horizon_days == 90


def _bogota() -> dict:
    return yaml.safe_load(config_path("bogota").read_text())


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda c: c.update(colour="red"), "colour: unknown key"),
        (
            lambda c: c["outcomes"]["mortality_12m"].update(horizon=3),
            "outcomes.mortality_12m.horizon",
        ),
        (
            lambda c: c["outcomes"]["mortality_12m"].update(horizon_days=-3),
            "outcomes.mortality_12m.horizon_days",
        ),
        (
            lambda c: c["outcomes"]["mortality_12m"].update(kinds=["funeral"]),
            "outcomes.mortality_12m.kinds: unknown kind 'funeral'",
        ),
        (
            lambda c: c["outcomes"]["cardiovascular_12m"].update(codes=["heart"]),
            "outcomes.cardiovascular_12m.codes",
        ),
        (
            lambda c: c["outcomes"]["cardiovascular_12m"].update(kinds=[]),
            "outcomes.cardiovascular_12m.kinds",
        ),
        (lambda c: c.pop("profile"), "profile: Field required"),
        (lambda c: c["outcomes"].update({"Bad Name": {"kinds": ["death"]}}), "outcome names"),
    ],
)
def test_bad_config_names_the_key(tmp_path, edit, key):
    data = _bogota()
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert key in str(info.value)
    assert str(path) in str(info.value)


def test_extra_event_kinds_extend_the_known_kinds():
    data = _bogota() | {"extra_event_kinds": ["home_visit"]}
    data["outcomes"]["home_12m"] = {"kinds": ["home_visit"]}
    config = load_config(data)
    assert "home_visit" in config.event_kinds
    assert "death" in config.event_kinds


def test_missing_file_and_bad_yaml_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("outcomes: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)
