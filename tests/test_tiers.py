"""The risk pyramid's tiers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from masrisk import ConfigError, load_config
from masrisk.config import TiersConfig
from masrisk.tiers import TIERS, assign_tiers


@given(
    risk=arrays("float64", st.integers(1, 400), elements=st.floats(0, 1)),
    top=st.floats(0.005, 0.2),
    next_=st.floats(0.005, 0.5),
)
def test_percentile_tiers_have_their_shares_and_respect_the_ranking(risk, top, next_):
    tiers = assign_tiers(risk, TiersConfig(case_management=top, disease_management=next_))
    counts = tiers.value_counts(sort=False)
    assert counts["case_management"] == round(top * len(risk))
    assert counts["disease_management"] == round(next_ * len(risk))
    codes = tiers.cat.codes.to_numpy()
    for higher, lower in ((0, 1), (1, 2)):
        if (codes == higher).any() and (codes == lower).any():
            assert risk[codes == higher].min() >= risk[codes == lower].max()


def test_absolute_tiers_use_risk_thresholds():
    tiers = TiersConfig(method="absolute", case_management=0.3, disease_management=0.1)
    result = assign_tiers(np.array([0.3, 0.29, 0.1, 0.0999, 0.9]), tiers)
    assert result.tolist() == [
        "case_management",
        "disease_management",
        "disease_management",
        "promotion_prevention",
        "case_management",
    ]
    assert list(result.cat.categories) == list(TIERS)


def test_equal_risks_are_split_deterministically():
    risk = np.full(100, 0.1)
    first = assign_tiers(risk, TiersConfig())
    assert first.tolist() == assign_tiers(risk, TiersConfig()).tolist()
    assert first.iloc[:3].tolist() == ["case_management"] * 3


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ({"case_management": 0.6, "disease_management": 0.5}, "leave a share below 1"),
        ({"method": "absolute", "case_management": 0.1, "disease_management": 0.2}, "above"),
        ({"case_management": 1.5}, "tiers.case_management"),
        ({"method": "pyramid"}, "tiers.method"),
    ],
)
def test_bad_tiers_are_config_errors(tiers, message):
    data = load_config("bogota").model_dump(mode="json") | {"tiers": tiers}
    with pytest.raises(ConfigError, match=message):
        load_config(data)


def test_shipped_configs_put_3_and_17_percent_in_the_upper_tiers():
    for name in ("bogota", "mexico"):
        tiers = load_config(name).tiers
        assert (tiers.method, tiers.case_management, tiers.disease_management) == (
            "percentile",
            0.03,
            0.17,
        )
