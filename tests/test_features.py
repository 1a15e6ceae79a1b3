"""build_features and build_labels across levels: who is present, point in time, catalogue."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import masrisk
from masrisk import Tables, build_features, build_labels, feature_catalog, load_config
from masrisk.features import describe_column, population_at
from masrisk.synth import synthesize
from tests.conftest import make_frames

CONFIG = masrisk.load_config("bogota")

AS_OF = pd.Timestamp("2024-01-01")


@pytest.fixture(scope="module")
def synthetic() -> Tables:
    return synthesize("bogota", persons=3000, seed=0).tables


@pytest.fixture(scope="module")
def features(synthetic) -> pd.DataFrame:
    return build_features(synthetic, as_of=AS_OF, config=CONFIG)


def test_one_row_per_person_present_at_as_of(synthetic, features):
    persons = synthetic.persons
    dead_before = synthetic.events.loc[
        (synthetic.events["kind"] == "death") & (synthetic.events["date"] < AS_OF), "person_id"
    ]
    present = persons.loc[(persons["birth_date"] < AS_OF) & ~persons["person_id"].isin(dead_before)]
    assert features.index.name == "person_id"
    assert features.index.tolist() == present["person_id"].tolist()
    assert len(dead_before) > 0
    assert not features.index.isin(dead_before).any()


def test_every_column_says_its_level_and_has_a_compact_dtype(features):
    assert features.columns.is_unique
    assert all(c[:4] in {"ind_", "fam_", "ter_"} for c in features.columns)
    for level in ("ind_", "fam_", "ter_"):
        assert any(c.startswith(level) for c in features.columns)
    wide = [c for c, t in features.dtypes.items() if str(t) in {"float64", "int64", "object"}]
    assert wide == []


def test_a_declared_feature_takes_the_level_of_its_prefix():
    from masrisk.features.catalog import FeatureSpec, feature

    assert feature("fam_size", "Members", "persons") == FeatureSpec(
        "fam_size", "family", "Members", "persons"
    )
    with pytest.raises(ValueError, match="no level prefix"):
        feature("size", "Members", "persons")


def test_catalogue_documents_every_column(features):
    undocumented = [c for c in features.columns if describe_column(c) is None]
    assert undocumented == []
    catalog = feature_catalog()
    assert catalog["name"].is_unique
    assert (catalog["description"].str.len() > 10).all()
    assert (catalog["unit"].str.len() > 0).all()
    for level, prefix in (("individual", "ind_"), ("family", "fam_"), ("territorial", "ter_")):
        assert catalog.loc[catalog["level"] == level, "name"].str.startswith(prefix).all()


def test_family_and_territorial_features_are_shared_by_members(synthetic, features):
    households = synthetic.persons.set_index("person_id").loc[features.index, "household_id"]
    family = [c for c in features.columns if c.startswith("fam_")]
    per_household = features[family].groupby(households.to_numpy()).nunique(dropna=False)
    assert (per_household <= 1).all().all()


def test_levels_select_columns(synthetic, features):
    only_family = build_features(synthetic, as_of=AS_OF, levels=["family"], config=CONFIG)
    assert all(c.startswith("fam_") for c in only_family.columns)
    pd.testing.assert_frame_equal(only_family, features[only_family.columns])
    with pytest.raises(ValueError, match="levels"):
        build_features(synthetic, as_of=AS_OF, levels=["cosmic"], config=CONFIG)


def test_same_inputs_give_identical_features(synthetic, features):
    pd.testing.assert_frame_equal(build_features(synthetic, as_of=AS_OF, config=CONFIG), features)


def test_explicit_lab_codes_fix_the_lab_columns(synthetic):
    frame = build_features(
        synthetic, as_of=AS_OF, levels=["individual"], lab_codes=["HBA1C", "NOPE"], config=CONFIG
    )
    labs = sorted(c for c in frame.columns if c.startswith("ind_lab_"))
    assert labs == [
        "ind_lab_hba1c_change",
        "ind_lab_hba1c_last",
        "ind_lab_nope_change",
        "ind_lab_nope_last",
    ]
    assert frame["ind_lab_nope_last"].isna().all()


# --------------------------------------------------------------------------- labels


def test_labels_count_events_in_the_horizon_only():
    tables = Tables.from_frames(make_frames())
    config = load_config("bogota")
    # P1 is admitted on 2024-02-03; P4 has an emergency on 2024-05-05; P7 dies on 2024-03-03.
    admitted = build_labels(tables, as_of=AS_OF, outcome="hospitalization_12m", config=config)
    assert admitted[admitted == 1].index.tolist() == ["P1"]
    assert admitted.dtype == "int8"
    died = build_labels(tables, as_of=AS_OF, outcome="mortality_12m", config=config)
    assert died[died == 1].index.tolist() == ["P7"]
    # The admission is 33 days after as_of: a 30-day horizon misses it, a 34-day one sees it.
    short = config.outcomes["hospitalization_12m"].model_copy(update={"horizon_days": 33})
    assert build_labels(tables, as_of=AS_OF, outcome=short, config=CONFIG).sum() == 0
    longer = short.model_copy(update={"horizon_days": 34})
    assert build_labels(tables, as_of=AS_OF, outcome=longer, config=CONFIG).sum() == 1


def test_labels_match_icd10_ranges_in_any_style():
    tables = Tables.from_frames(make_frames())
    cardio = build_labels(tables, as_of=AS_OF, outcome="cardiovascular_12m", config=CONFIG)
    # P1's admission is coded I21.0 (in I20-I25); P7's death I64X (in I60-I69).
    assert cardio[cardio == 1].index.tolist() == ["P1", "P7"]


def test_labels_and_features_have_the_same_rows(synthetic, features):
    labels = build_labels(synthetic, as_of=AS_OF, outcome="hospitalization_12m", config=CONFIG)
    assert labels.index.equals(features.index)
    assert 0.02 < labels.mean() < 0.15


def test_unknown_outcome_is_a_config_error(synthetic):
    with pytest.raises(masrisk.ConfigError, match="no such outcome"):
        build_labels(synthetic, as_of=AS_OF, outcome="happiness_12m", config=CONFIG)


def test_as_of_must_be_a_date():
    tables = Tables.from_frames(make_frames())
    with pytest.raises(ValueError, match="without a time of day"):
        population_at(tables, "2024-01-01 12:00")


# --------------------------------------------------------------------------- point in time

_KINDS = ["outpatient", "emergency", "hospitalization", "pharmacy", "lab", "death"]
_CODES = ["I10X", "I21.0", "E119", "HBA1C", "J449", "Z34", "C50", "MAMMOGRAPHY", "PENTA"]


@st.composite
def event_edits(draw: st.DrawFn, *, after: bool) -> list[tuple]:
    """Edits to events on/after as_of (after=True) or before it, never a death before it."""
    edits = []
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["add", "remove", "change"]))
        offset = draw(st.integers(0, 800)) if after else -draw(st.integers(1, 800))
        kinds = _KINDS if after else _KINDS[:-1]
        edits.append(
            (
                action,
                draw(st.sampled_from([f"P{i}" for i in range(1, 9)])),
                AS_OF + pd.Timedelta(days=offset),
                draw(st.sampled_from(kinds)),
                draw(st.sampled_from(_CODES)),
                draw(st.floats(0, 20, allow_nan=False)),
                draw(st.integers(0, 100)),
            )
        )
    return edits


def _edit(frames: dict, edits: list[tuple], *, after: bool) -> dict:
    events = frames["events"].copy()
    dates = pd.to_datetime(events["date"])
    for action, person, date, kind, code, value, k in edits:
        side = (dates >= AS_OF) if after else ((dates < AS_OF) & (events["kind"] != "death"))
        rows = events.index[side.to_numpy()]
        if action == "add" or len(rows) == 0:
            new = {
                "person_id": person,
                "date": f"{date:%Y-%m-%d}",
                "kind": kind,
                "code": code,
                "value": str(value) if kind == "lab" else None,
            }
            events = pd.concat([events, pd.DataFrame([new])], ignore_index=True)
        elif action == "remove":
            events = events.drop(index=rows[k % len(rows)])
        else:
            row = rows[k % len(rows)]
            events.loc[row, ["kind", "code"]] = [kind, code]
            events.loc[row, "value"] = str(value) if kind == "lab" else None
        dates = pd.to_datetime(events["date"])
    return frames | {"events": events}


def _born_before_events(frames: dict) -> bool:
    born = frames["persons"].set_index("person_id")["birth_date"]
    events = frames["events"]
    return bool(
        (pd.to_datetime(events["date"]) >= pd.to_datetime(events["person_id"].map(born))).all()
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=event_edits(after=True))
def test_events_on_or_after_as_of_change_no_feature(edits):
    frames = make_frames()
    before = build_features(Tables.from_frames(frames), as_of=AS_OF, config=CONFIG)
    after = build_features(
        Tables.from_frames(_edit(frames, edits, after=True)), as_of=AS_OF, config=CONFIG
    )
    pd.testing.assert_frame_equal(before, after)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=event_edits(after=False))
def test_events_before_as_of_change_no_label(edits):
    frames = make_frames()
    edited = _edit(frames, edits, after=False)
    assume(_born_before_events(edited))  # an event before birth is invalid data
    for outcome in ("hospitalization_12m", "mortality_12m", "cardiovascular_12m"):
        before = build_labels(
            Tables.from_frames(frames), as_of=AS_OF, outcome=outcome, config=CONFIG
        )
        after = build_labels(
            Tables.from_frames(edited), as_of=AS_OF, outcome=outcome, config=CONFIG
        )
        pd.testing.assert_series_equal(before, after)
