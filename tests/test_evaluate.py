"""Evaluation measures and the report, checked by hand, against references and by simulation."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import expit, logit
from scipy.stats import norm
from sklearn.metrics import average_precision_score, roc_auc_score

from masrisk.evaluate import (
    ESTIMABLE_WITH_EVENTS,
    METRIC_KEYS,
    EvaluationReport,
    auc_with_ci,
    brier,
    calibration_curve,
    calibration_intercept_slope,
    capture_at_top,
    metrics,
    net_benefit,
    scaled_brier,
    subgroup_metrics,
)
from masrisk.exceptions import ValidationError


def _simulate(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Risks on the logit scale around 10% and outcomes drawn from them (well calibrated)."""
    rng = np.random.default_rng(seed)
    risk = expit(rng.normal(-2.5, 1.0, n))
    return rng.binomial(1, risk), risk


# --- discrimination -------------------------------------------------------------------------


def test_auc_of_hand_example():
    auc, low, high = auc_with_ci([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    # pairs (positive, negative): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3 of 4
    assert auc == 0.75
    assert low <= auc <= high


def test_auc_equals_sklearn_with_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    risk = np.round(rng.uniform(size=500), 1)  # many ties
    assert auc_with_ci(y, risk)[0] == pytest.approx(roc_auc_score(y, risk), abs=1e-12)


def test_delong_interval_equals_the_slow_pairwise_formula():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 80)
    risk = np.round(rng.uniform(size=80) * 0.7 + 0.3 * y, 2)
    positive, negative = risk[y == 1], risk[y == 0]
    # psi(x, y) = 1 if x > y, 1/2 if tied: the DeLong (1988) structural components
    psi = (positive[:, None] > negative[None, :]) + 0.5 * (positive[:, None] == negative[None, :])
    auc = psi.mean()
    variance = psi.mean(axis=1).var(ddof=1) / positive.size
    variance += psi.mean(axis=0).var(ddof=1) / negative.size
    half = norm.ppf(0.975) * math.sqrt(variance)
    assert auc_with_ci(y, risk) == pytest.approx((auc, auc - half, auc + half), abs=1e-12)


def test_delong_interval_contains_auc_and_narrows_with_n():
    widths = []
    for n in (500, 5_000, 50_000):
        y, risk = _simulate(n, seed=n)
        auc, low, high = auc_with_ci(y, risk)
        assert low < roc_auc_score(y, risk) < high
        assert auc == pytest.approx(roc_auc_score(y, risk), abs=1e-12)
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(10, rel=0.3)  # width ~ 1/sqrt(n)


def test_wider_level_gives_wider_interval():
    y, risk = _simulate(2_000)
    _, low90, high90 = auc_with_ci(y, risk, level=0.90)
    _, low99, high99 = auc_with_ci(y, risk, level=0.99)
    assert low99 < low90
    assert high90 < high99


def test_auc_is_nan_when_one_class_is_absent():
    assert all(math.isnan(v) for v in auc_with_ci([0, 0, 0], [0.1, 0.2, 0.3]))
    auc, low, high = auc_with_ci([0, 0, 1], [0.1, 0.2, 0.3])  # one positive: no variance
    assert auc == 1.0
    assert math.isnan(low)
    assert math.isnan(high)


def test_capture_at_top_by_hand():
    y = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    risk = [0.9, 0.6, 0.2, 0.7, 0.4, 0.3, 0.1, 0.1, 0.05, 0.5]
    # by risk: .9(1) .7(0) .6(1) .5(0) .4(0) .3(0) .2(1) ...
    assert capture_at_top(y, risk, fractions=(0.1, 0.2, 0.3, 0.5, 0.7, 1.0)) == {
        0.1: pytest.approx(1 / 3),
        0.2: pytest.approx(1 / 3),
        0.3: pytest.approx(2 / 3),
        0.5: pytest.approx(2 / 3),
        0.7: pytest.approx(1.0),
        1.0: pytest.approx(1.0),
    }


def test_capture_breaks_ties_by_row_order_and_rounds_up():
    assert capture_at_top([0, 1, 0, 0], [0.5] * 4, fractions=(0.25, 0.5)) == {0.25: 0.0, 0.5: 1.0}
    y = np.zeros(100)
    y[7] = 1  # the 8th highest risk
    risk = np.linspace(1.0, 0.01, 100)
    # 0.07 * 100 is 7.000000000000001 in floating point: still the top 7, not 8
    assert capture_at_top(y, risk, fractions=(0.07, 0.08, 0.001)) == {
        0.07: 0.0,
        0.08: 1.0,
        0.001: 0.0,  # at least one person
    }


# --- calibration ----------------------------------------------------------------------------


def test_calibration_matches_direct_likelihood_maximisation():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60).astype(float)
    risk = rng.uniform(0.02, 0.98, 60)
    x = logit(risk)

    def loss(beta, offset):
        eta = beta[0] + offset
        return -np.sum(y * eta - np.logaddexp(0, eta))

    intercept = minimize(loss, [0.0], args=(x,), method="BFGS").x[0]
    slope = minimize(lambda b: loss([b[0]], b[1] * x), [0.0, 1.0], method="BFGS").x[1]
    got = calibration_intercept_slope(y, risk)
    assert got == pytest.approx((intercept, slope), abs=1e-5)


def test_calibration_of_a_calibrated_model_is_intercept_0_slope_1():
    y, risk = _simulate(200_000, seed=4)
    intercept, slope = calibration_intercept_slope(y, risk)
    assert intercept == pytest.approx(0.0, abs=0.03)
    assert slope == pytest.approx(1.0, abs=0.03)


def test_overconfident_risks_have_slope_one_half():
    y, risk = _simulate(200_000, seed=5)
    intercept, slope = calibration_intercept_slope(y, expit(2 * logit(risk)))
    assert slope == pytest.approx(0.5, abs=0.03)


def test_risks_too_high_have_negative_intercept():
    y, risk = _simulate(200_000, seed=6)
    intercept, slope = calibration_intercept_slope(y, expit(logit(risk) + 0.5))
    assert intercept == pytest.approx(-0.5, abs=0.03)
    assert slope == pytest.approx(1.0, abs=0.03)  # a shift leaves the slope alone


def test_calibration_is_nan_when_undefined():
    assert all(math.isnan(v) for v in calibration_intercept_slope([1, 1], [0.2, 0.3]))
    # risks that separate the classes perfectly: the slope's estimate does not exist
    intercept, slope = calibration_intercept_slope([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert math.isfinite(intercept)
    assert math.isnan(slope)


def test_calibration_clips_risks_of_exactly_0_and_1():
    intercept, slope = calibration_intercept_slope([0, 1, 0, 1, 1, 0], [0, 0.7, 0.4, 1, 0.3, 0.5])
    assert math.isfinite(intercept)
    assert math.isfinite(slope)


def test_brier_and_scaled_brier_by_hand():
    y, risk = [0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3]
    assert brier(y, risk) == pytest.approx((0.01 + 0.04 + 0.16 + 0.09) / 4)  # 0.075
    assert scaled_brier(y, risk) == pytest.approx(1 - 0.075 / 0.25)  # prevalence 0.5
    assert scaled_brier(y, [0.5] * 4) == pytest.approx(0.0)
    assert math.isnan(scaled_brier([0, 0], [0.1, 0.2]))


def test_calibration_curve_by_hand():
    y = [0, 0, 1, 0, 1, 1]
    risk = [0.1, 0.2, 0.3, 0.6, 0.7, 0.8]
    curve = calibration_curve(y, risk, bins=3)
    assert list(curve.columns) == ["bin", "mean_risk", "observed_rate", "n"]
    assert curve["n"].tolist() == [2, 2, 2]
    assert curve["mean_risk"].tolist() == pytest.approx([0.15, 0.45, 0.75])
    assert curve["observed_rate"].tolist() == pytest.approx([0.0, 0.5, 1.0])
    uniform = calibration_curve(y, risk, bins=2, strategy="uniform")  # [0, .5) and [.5, 1]
    assert uniform["bin"].tolist() == [0, 1]
    assert uniform["observed_rate"].tolist() == pytest.approx([1 / 3, 2 / 3])


def test_calibration_curve_drops_empty_bins_and_keeps_ties_together():
    curve = calibration_curve([0, 1, 1, 0], [0.3, 0.3, 0.3, 0.9], bins=4)
    assert curve["n"].tolist() == [3, 1]
    uniform = calibration_curve([0, 1], [0.05, 0.95], bins=10, strategy="uniform")
    assert uniform["bin"].tolist() == [0, 9]


# --- usefulness -----------------------------------------------------------------------------


def test_net_benefit_by_hand():
    y = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    risk = [0.9, 0.6, 0.2, 0.7, 0.4, 0.3, 0.1, 0.1, 0.05, 0.5]
    curve = net_benefit(y, risk, thresholds=[0.25, 0.5, 0.95])
    assert list(curve.columns) == ["threshold", "model", "treat_all", "treat_none"]
    # t=.25: treated .9 .7 .6 .5 .4 .3 -> TP 2, FP 4; t=.5 (treated when risk >= t): TP 2, FP 2
    assert curve["model"].tolist() == pytest.approx(
        [2 / 10 - 4 / 10 * (0.25 / 0.75), 2 / 10 - 2 / 10 * 1.0, 0.0]
    )
    odds = np.array([0.25 / 0.75, 1.0, 0.95 / 0.05])
    assert curve["treat_all"].to_numpy() == pytest.approx(0.3 - 0.7 * odds)
    assert curve["treat_none"].tolist() == [0.0, 0.0, 0.0]


def test_net_benefit_rejects_thresholds_outside_0_1():
    with pytest.raises(ValueError, match="thresholds"):
        net_benefit([0, 1], [0.2, 0.8], thresholds=[0.0, 0.5])


def test_default_decision_curve_has_thresholds_1_to_50_percent():
    curve = net_benefit([0, 1], [0.2, 0.8])
    assert curve["threshold"].tolist() == pytest.approx([k / 100 for k in range(1, 51)])


# --- metrics and subgroups ------------------------------------------------------------------


def test_metrics_has_every_key_with_the_values_of_each_measure():
    y, risk = _simulate(3_000, seed=7)
    values = metrics(y, risk)
    assert tuple(values) == METRIC_KEYS
    assert (values["n"], values["events"]) == (3_000, int(y.sum()))
    assert isinstance(values["n"], int)
    assert isinstance(values["events"], int)
    assert values["prevalence"] == pytest.approx(y.mean())
    assert (values["auc"], values["auc_low"], values["auc_high"]) == auc_with_ci(y, risk)
    assert values["average_precision"] == pytest.approx(average_precision_score(y, risk))
    assert values["brier"] == brier(y, risk)
    assert values["scaled_brier"] == scaled_brier(y, risk)
    assert (values["calibration_intercept"], values["calibration_slope"]) == (
        calibration_intercept_slope(y, risk)
    )
    capture = capture_at_top(y, risk)
    assert [values[f"capture_top_{k}pct"] for k in (1, 5, 10)] == list(capture.values())


def test_invalid_inputs_are_listed_together():
    with pytest.raises(ValidationError) as caught:
        metrics([0, 1, 2, np.nan], [0.1, 1.2, 0.3])
    text = str(caught.value)
    assert "3 problems" in text
    assert "y_true: not 0/1 in 2 rows" in text
    assert "risk: not a probability in [0, 1] in 1 row (e.g. 1.2)" in text
    assert "3 risks for 4 labels" in text


def _groups_frame(n: int, seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    zone = rng.choice(["urban", "rural"], n).astype(object)
    zone[:40] = None  # missing zone
    insurer = np.where(np.arange(n) < 12, "tiny", "big")  # 12 persons: too few events
    return pd.DataFrame(
        {
            "sex": pd.Categorical(rng.choice(["F", "M"], n), categories=["M", "F", "X"]),
            "zone": zone,
            "insurer": insurer,
            "deprivation_quintile": rng.integers(1, 6, n),
        }
    )


def test_subgroup_frame_is_tidy_with_overall_row_first():
    y, risk = _simulate(2_000, seed=9)
    table = subgroup_metrics(y, risk, _groups_frame(2_000))
    assert list(table.columns) == ["attribute", "group", *METRIC_KEYS]
    assert table.iloc[0][["attribute", "group"]].tolist() == ["overall", "all"]
    overall = metrics(y, risk)
    assert table.iloc[0][list(METRIC_KEYS)].tolist() == pytest.approx(list(overall.values()))
    pairs = list(zip(table["attribute"], table["group"], strict=True))
    # categorical order, unused category dropped; sorted values; "missing" last
    assert pairs[1:3] == [("sex", "M"), ("sex", "F")]
    assert pairs[3:6] == [("zone", "rural"), ("zone", "urban"), ("zone", "missing")]
    assert [g for a, g in pairs if a == "deprivation_quintile"] == ["1", "2", "3", "4", "5"]
    for attribute in ("sex", "zone", "insurer", "deprivation_quintile"):
        rows = table[table["attribute"] == attribute]
        assert rows["n"].sum() == 2_000
        assert rows["events"].sum() == y.sum()


def test_subgroup_with_too_few_events_has_nan_auc_but_counts_and_brier():
    y, risk = _simulate(2_000, seed=9)
    table = subgroup_metrics(y, risk, _groups_frame(2_000), min_events=5)
    tiny = table[table["group"] == "tiny"].iloc[0]
    assert tiny["n"] == 12
    assert tiny["events"] == y[:12].sum() < 5
    assert tiny["brier"] == pytest.approx(brier(y[:12], risk[:12]))
    assert tiny["prevalence"] == pytest.approx(y[:12].mean())
    assert all(math.isnan(tiny[key]) for key in ESTIMABLE_WITH_EVENTS)
    missing = table[table["group"] == "missing"].iloc[0]
    assert missing["n"] == 40
    assert missing["brier"] == pytest.approx(brier(y[:40], risk[:40]))
    big = table[table["group"] == "big"].iloc[0]
    assert big["auc"] == pytest.approx(roc_auc_score(y[12:], risk[12:]))


def test_subgroup_groups_must_match_the_rows():
    with pytest.raises(ValidationError, match="3 rows for 2 labels"):
        subgroup_metrics([0, 1], [0.2, 0.8], pd.DataFrame({"sex": ["F", "M", "F"]}))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1),
            st.floats(0.0, 1.0, exclude_min=True, exclude_max=True, allow_subnormal=False),
        ),
        min_size=2,
        max_size=80,
    ).filter(lambda rows: len({y for y, _ in rows}) == 2)
)
def test_metrics_are_in_range_for_any_predictions(rows):
    y = np.array([r[0] for r in rows])
    risk = np.array([r[1] for r in rows])
    values = metrics(y, risk)
    assert 0.0 <= values["auc"] <= 1.0
    if not math.isnan(values["auc_low"]):
        assert 0.0 <= values["auc_low"] <= values["auc"] <= values["auc_high"] <= 1.0
    for key in ("prevalence", "average_precision", "brier", "scaled_brier"):
        assert math.isfinite(values[key])
    assert math.isfinite(values["calibration_intercept"])
    assert not math.isinf(values["calibration_slope"])  # NaN only under separation
    shares = list(capture_at_top(y, risk, fractions=(0.01, 0.1, 0.25, 0.5, 1.0)).values())
    assert all(0.0 <= s <= 1.0 for s in shares)
    assert shares == sorted(shares)
    assert shares[-1] == 1.0


def test_calibration_intercept_is_finite_when_risks_underflow():
    """Risks of 1e-308 beside 0.9 once sent the intercept's Newton steps into a flat tail."""
    y = np.array([1, 1, 1, 1, 1, 0, 1])
    risk = np.array(
        [1e-07, 2e-06, 2.2250738585072014e-308, 1e-20, 2.2250738585072014e-308, 1e-20, 0.9]
    )
    intercept, _ = calibration_intercept_slope(y, risk)
    x = logit(np.clip(risk, 1e-6, 1 - 1e-6))
    assert expit(x + intercept).sum() == pytest.approx(y.sum())  # the likelihood's maximum


# --- the report -----------------------------------------------------------------------------


@pytest.fixture
def report() -> EvaluationReport:
    y, risk = _simulate(3_000, seed=10)
    baseline = expit(0.6 * logit(risk) - 0.9)  # too moderate
    return EvaluationReport.from_predictions(
        "hospitalization",
        "valid as_of 2024-01-01, horizon 365 days",
        y,
        {"lightgbm": risk, "logistic_baseline": baseline},
        _groups_frame(3_000),
        chosen_model="lightgbm",
        choice_reason="higher AUC and slope closer to 1 (baseline <too moderate>)",
    )


def test_report_frames_have_documented_columns(report):
    assert list(report.overall.index) == ["lightgbm", "logistic_baseline"]
    assert report.overall.index.name == "model"
    assert list(report.overall.columns) == list(METRIC_KEYS)
    assert list(report.subgroups.columns) == ["model", "attribute", "group", *METRIC_KEYS]
    assert list(report.calibration.columns) == ["model", "bin", "mean_risk", "observed_rate", "n"]
    assert list(report.decision_curve.columns) == ["model", "threshold", "net_benefit"]
    models = report.decision_curve["model"].unique().tolist()
    assert models == ["lightgbm", "logistic_baseline", "treat_all", "treat_none"]
    assert report.to_frame().equals(report.overall)


def test_report_round_trips_through_json(report):
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    again = EvaluationReport.from_dict(data)
    assert again == report
    for name in ("overall", "subgroups", "calibration", "decision_curve"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(report, name))
    auc = data["subgroups"]["data"][data["subgroups"]["columns"].index("auc")]
    assert auc.count(None) == report.subgroups["auc"].isna().sum() >= 2  # NaN -> None


def test_report_markdown_shows_models_choice_and_subgroups(report):
    text = report.to_markdown()
    assert "lightgbm (chosen)" in text
    assert "logistic_baseline" in text
    assert "AUC [95% CI]" in text
    assert "calibration slope" in text
    assert "higher AUC and slope closer to 1" in text
    assert "## Subgroups (lightgbm)" in text
    assert "| insurer | tiny | 12 |" in text
    auc, low, high = report.overall.loc["lightgbm", ["auc", "auc_low", "auc_high"]]
    assert f"{auc:.3f} [{low:.3f}, {high:.3f}]" in text


def test_report_html_escapes_text(report):
    page = report._repr_html_()
    assert "&lt;too moderate&gt;" in page
    assert "<too moderate>" not in page
    assert page.startswith("<div>")
    assert "<table>" in page


def test_report_rejects_a_chosen_model_that_was_not_evaluated():
    with pytest.raises(ValueError, match="chosen_model 'xgboost'"):
        EvaluationReport.from_predictions(
            "death", "test", [0, 1], {"lightgbm": [0.2, 0.7]}, None,
            chosen_model="xgboost", choice_reason="",
        )  # fmt: skip


def test_report_plots_return_axes_with_a_line_per_model(report):
    from matplotlib.axes import Axes

    ax = report.plot_calibration()
    assert isinstance(ax, Axes)
    assert len(ax.get_figure().axes[0].lines) == 1 + 2  # the diagonal and two models
    ax = report.plot_decision_curve()
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["lightgbm", "logistic_baseline", "treat_all", "treat_none"]


def test_report_plots_draw_on_a_given_axes(report):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert report.plot_decision_curve(ax=ax) is ax


def test_importing_evaluate_does_not_import_matplotlib():
    code = "import sys, masrisk.evaluate; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
