"""Explanations: exact TreeSHAP, sums by level and group, communities, plain words, plots."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import masrisk
from masrisk.explanations import (
    FEATURE_GROUPS,
    LEVEL_COLUMNS,
    describe,
    explain,
    feature_group,
    feature_level,
)
from masrisk.explanations.contributions import linear_contributions

AS_OF = "2025-01-01"


@pytest.fixture(scope="module")
def population() -> masrisk.SyntheticPopulation:
    return masrisk.synthesize("bogota", persons=6000, seed=4)


@pytest.fixture(scope="module")
def bundle() -> masrisk.Bundle:
    from tests.test_demo_bundle import DEMO

    return masrisk.load_bundle(DEMO)


@pytest.fixture(scope="module")
def features(population, bundle) -> pd.DataFrame:
    return masrisk.build_features(
        population.tables,
        as_of=AS_OF,
        config=masrisk.load_config("bogota"),
        lab_codes=bundle.metadata["lab_codes"],
    )


@pytest.fixture(scope="module")
def explanation(bundle, features, population) -> masrisk.Explanation:
    return explain(bundle, features, tables=population.tables, chunk_size=2500)


# --------------------------------------------------------------------------- exactness


def test_contributions_equal_shap_tree_explainer(bundle, features, explanation):
    from masrisk.explanations.plots import import_shap

    shap = import_shap()
    X = bundle.prepare(features).iloc[:300]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "LightGBM binary classifier", UserWarning)
        explainer = shap.TreeExplainer(bundle.model.booster_)
        expected = np.asarray(explainer.shap_values(X))
    np.testing.assert_allclose(explanation.values.iloc[:300].to_numpy(), expected, atol=1e-6)
    assert explanation.base_value == pytest.approx(float(np.ravel(explainer.expected_value)[0]))


def test_each_row_sums_to_the_raw_score_and_risk_is_monotone_in_it(bundle, features, explanation):
    raw = bundle.model.decision_function(bundle.prepare(features))
    np.testing.assert_allclose(explanation.log_odds.to_numpy(), raw, atol=1e-9)
    risk = bundle.predict_risk(features)
    order = np.argsort(raw)
    assert (np.diff(risk[order]) >= 0).all()


def test_chunk_size_changes_nothing(bundle, features, explanation):
    whole = explain(bundle, features, chunk_size=len(features))
    pd.testing.assert_frame_equal(whole.values, explanation.values)


def test_a_fitted_model_and_its_bundle_explain_alike(bundle, features, explanation):
    direct = explain(bundle.model, bundle.prepare(features))
    np.testing.assert_array_equal(direct.values.to_numpy(), explanation.values.to_numpy())


def test_the_logistic_baseline_is_explained_by_its_linear_terms(bundle, features):
    X = bundle.prepare(features)
    values, intercept = linear_contributions(bundle.model.baseline_, X)
    np.testing.assert_allclose(
        intercept + values.sum(axis=1), bundle.model.baseline_.decision_function(X), atol=1e-9
    )
    assert values.shape == X.shape


# --------------------------------------------------------------------------- levels and groups


def test_levels_and_groups_add_up_to_the_total(explanation):
    total = explanation.values.sum(axis=1)
    assert list(explanation.levels.columns) == list(LEVEL_COLUMNS)
    np.testing.assert_allclose(explanation.levels.sum(axis=1), total, atol=1e-9)
    np.testing.assert_allclose(explanation.groups.sum(axis=1), total, atol=1e-9)


def test_every_feature_of_the_model_has_a_named_group(bundle):
    groups = {feature_group(name) for name in bundle.features}
    assert not any(g.startswith("other") for g in groups)
    assert groups == {name for name, _ in FEATURE_GROUPS}
    assert feature_group("ind_something_new") == "other individual"
    with pytest.raises(ValueError, match="no level prefix"):
        feature_level("age")


def test_family_and_territorial_levels_carry_real_weight(explanation):
    """The synthetic truth gives family and territory real weight; the model must see it."""
    shares = explanation.level_shares()
    assert shares.sum() == pytest.approx(1.0)
    assert shares["family"] >= 0.10, shares
    assert shares["territorial"] >= 0.10, shares
    assert shares["individual"] >= 0.30, shares


def test_contributions_table_follows_the_contract(explanation):
    table = explanation.to_frame()
    features = list(explanation.values.columns)
    assert list(table.columns) == ["person_id", *features, "base_value", *LEVEL_COLUMNS]
    assert table["person_id"].tolist() == explanation.values.index.tolist()
    np.testing.assert_allclose(
        table[list(LEVEL_COLUMNS)].sum(axis=1), explanation.values.sum(axis=1), rtol=1e-5, atol=1e-5
    )


# --------------------------------------------------------------------------- communities


def test_aggregation_by_territory_is_the_mean_per_person(explanation):
    by_territory = explanation.aggregate("territory", by="level")
    assert by_territory["persons"].sum() == len(explanation.values)
    some = by_territory.index[0]
    members = explanation.territories[explanation.territories == some].index
    expected = explanation.levels.loc[members].mean()
    np.testing.assert_allclose(by_territory.loc[some, list(LEVEL_COLUMNS)], expected)
    households = explanation.aggregate("household", by="group")
    assert households["persons"].sum() == len(explanation.values)


def test_drivers_are_the_largest_risk_raising_features_in_words(explanation):
    drivers = explanation.drivers("territory", top=4)
    assert list(drivers.columns) == [
        "territory_id", "rank", "feature", "group", "level", "contribution", "description",
    ]  # fmt: skip
    assert drivers.groupby("territory_id").size().max() <= 4
    assert (drivers["contribution"] > 0).all()
    for _, rows in drivers.groupby("territory_id"):
        assert rows["contribution"].is_monotonic_decreasing
        assert rows["rank"].tolist() == list(range(1, len(rows) + 1))
    first = drivers.iloc[0]
    members = explanation.territories == first["territory_id"]
    assert first["contribution"] == pytest.approx(
        explanation.values.loc[members, first["feature"]].mean()
    )
    assert drivers["description"].str.len().gt(5).all()


def test_a_person_top_contributions(explanation):
    person = explanation.log_odds.idxmax()
    top = explanation.person(person, top=6)
    assert len(top) == 6
    assert top["contribution"].abs().is_monotonic_decreasing
    with pytest.raises(KeyError, match="not in this explanation"):
        explanation.person("nobody")


def test_aggregation_needs_the_tables(bundle, features):
    alone = explain(bundle, features.iloc[:50])
    with pytest.raises(ValueError, match="give explain\\(\\) the tables"):
        alone.drivers("territory")
    with pytest.raises(ValueError, match="'household' or 'territory'"):
        alone.aggregate("city")


# --------------------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("name", "value", "share", "expected"),
    [
        ("ind_n_hospitalization_365d", 3.0, False, "3 hospitalisations in the last year"),
        ("ind_n_emergency_90d", 1.0, False, "1 emergency visit in the last 90 days"),
        ("fam_mpi_poor", 1, False, "household in multidimensional poverty"),
        ("fam_mpi_poor", 0.25, True, "25% of persons: household in multidimensional poverty"),
        ("ind_cond_diabetes", 1, False, "diabetes recorded"),
        ("ind_gap_mammography", 1, False, "mammography overdue"),
        ("ter_km_to_level1", 2.345, True, "2.3 km to the nearest primary-care facility"),
        ("ter_eb_rate_hospitalization_12m", 0.071, False,
         "territory's past hospitalisation rate (smoothed) 7.1%"),
        ("ind_days_since_last_contact", math.nan, False, "days since last contact: not recorded"),
        ("ter_zone", "rural", True, "zone: rural"),
    ],
)  # fmt: skip
def test_plain_words(name, value, share, expected):
    assert describe(name, value, share=share) == expected


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(
        [
            *masrisk.feature_catalog()["name"].str.replace(r"\{\w+\}", "x_y", regex=True),
            "ind_lab_hba1c_last",
            "ter_gistar_mortality_12m",
        ]
    ),
    value=st.one_of(st.floats(allow_infinity=False), st.integers(-5, 500)),
    share=st.booleans(),
)
def test_describe_never_fails_and_says_something(name, value, share):
    text = describe(name, value, share=share)
    assert isinstance(text, str)
    assert len(text) > 3


# --------------------------------------------------------------------------- display


def test_repr_and_html_state_the_level_shares(explanation):
    assert "family" in repr(explanation)
    html = explanation._repr_html_()
    assert "<table>" in html
    assert "territorial" in html


def test_plots_draw(explanation):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    person = explanation.log_odds.idxmax()
    territory = explanation.territories[person]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # shap's own deprecations
            assert explanation.plot.waterfall(person).patches
            assert explanation.plot.beeswarm(sample=500).collections
        levels = explanation.plot.levels(top=10)
        assert len(levels.patches) == 10 * 3
        drivers = explanation.plot.drivers(territory, top=5)
        assert 1 <= len(drivers.patches) <= 5
        assert drivers.get_yticklabels()[0].get_text()
    finally:
        plt.close("all")
