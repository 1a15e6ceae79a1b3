"""Benchmark explanations: time per million persons and peak memory of ``masrisk.explain``.

Usage::

    python benchmarks/explain.py                       # 1 M bogota persons, seed 1
    python benchmarks/explain.py --data /tmp/acc/big   # an existing data directory

In a fresh process that reads the data directory: features and labels at 2023-01-01 and
2024-01-01; the **default** model (``RiskModel``'s shallow complexity search) and an
**unconstrained** LightGBM (63 leaves, no depth limit, no L2: LightGBM's usual settings, with
the same early stopping and learning rate) fitted on the same data; their validation AUC;
then every person present at 2025-01-01 explained by ``masrisk.explain`` with the default
model, and a sample explained by ``shap.TreeExplainer`` (same LightGBM code underneath) and by
the unconstrained model, scaled to a million rows.

Budget (issue): 1 M persons explained in <= 2 min on 2 cores with the default model, at a
cost of <= 0.005 validation AUC against the unconstrained model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from _measure import measure

OUTCOME = "hospitalization_12m"
BUDGET_S = 120
AUC_BUDGET = 0.005
UNCONSTRAINED = {"num_leaves": 63, "max_depth": -1, "lambda_l2": 0.0}


def fit_unconstrained(X, y, X_valid, y_valid):
    """LightGBM's usual settings (63 leaves, no depth limit), early-stopped like RiskModel."""
    import lightgbm as lgb

    from masrisk.models import _BASE_PARAMS, _MAX_ROUNDS, _PATIENCE

    params = {**_BASE_PARAMS, "min_data_in_leaf": max(20, len(X) // 2000), **UNCONSTRAINED}
    train = lgb.Dataset(X, y)
    booster = lgb.train(
        {**params, "num_threads": 2},
        train,
        _MAX_ROUNDS,
        valid_sets=[lgb.Dataset(X_valid, y_valid, reference=train)],
        callbacks=[lgb.early_stopping(_PATIENCE, verbose=False)],
    )
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))


def leaves(booster) -> list[int]:
    return [tree["num_leaves"] for tree in booster.dump_model()["tree_info"]]


def child(data: Path, sample: int) -> None:
    import numpy as np
    import shap
    from sklearn.metrics import roc_auc_score

    import masrisk
    from masrisk.features import build_features, build_labels, lab_codes_in
    from masrisk.models import RiskModel

    rows: list[dict] = []
    tables = masrisk.load_tables(data)
    config = masrisk.load_config("bogota")
    X = build_features(tables, as_of="2023-01-01", config=config)
    lab_codes = lab_codes_in(X.columns)
    X_valid = build_features(tables, as_of="2024-01-01", config=config, lab_codes=lab_codes)
    y = build_labels(tables, as_of="2023-01-01", outcome=OUTCOME, config=config)
    y_valid = build_labels(tables, as_of="2024-01-01", outcome=OUTCOME, config=config)
    fit = {"X_valid": X_valid, "y_valid": y_valid}
    default = measure(rows, "fit default model", RiskModel(OUTCOME).fit, X, y, **fit)
    booster = measure(rows, "fit unconstrained", fit_unconstrained, X, y, X_valid, y_valid)
    auc = {
        "default": float(roc_auc_score(y_valid, default.decision_function(X_valid))),
        "unconstrained": float(roc_auc_score(y_valid, booster.predict(X_valid, raw_score=True))),
    }
    del X, X_valid
    X_score = build_features(tables, as_of="2025-01-01", config=config, lab_codes=lab_codes)
    explanation = measure(rows, "masrisk.explain, everyone", masrisk.explain, default, X_score)
    shares = explanation.level_shares().to_dict()
    n = len(X_score)
    del explanation
    part = default.select_features(X_score.iloc[:sample])
    measure(rows, f"masrisk.explain, {sample:,} rows", masrisk.explain, default, part)
    if default.booster_ is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # shap's note on list outputs
            explainer = shap.TreeExplainer(default.booster_)
            measure(rows, f"shap.TreeExplainer, {sample:,} rows", explainer.shap_values, part)
    measure(
        rows,
        f"unconstrained TreeSHAP, {sample:,} rows",
        booster.predict,
        part,
        pred_contrib=True,
        num_threads=2,
    )
    trees = {
        name: {"trees": b.num_trees(), "leaves": float(np.mean(leaves(b)))}
        for name, b in (("default", default.booster_), ("unconstrained", booster))
        if b is not None
    }
    print(json.dumps({"rows": rows, "auc": auc, "n": n, "sample": sample, "shares": shares,
                      "trees": trees, "chosen": default.choice_reason_}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None, help="data directory (made if absent)")
    parser.add_argument("--sample", type=int, default=50_000, help="rows for the comparisons")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.sample)
        return
    data = args.data or Path(tempfile.gettempdir()) / f"masrisk-bench-bogota-{args.persons}"
    if not (data / "events.parquet").is_file():
        from masrisk.synth import synthesize

        print(f"synthesising {args.persons:,} persons into {data} ...", file=sys.stderr)
        synthesize("bogota", persons=args.persons, seed=args.seed).write(data)
    load_before = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(data), "--sample", str(args.sample)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        sys.exit(f"the benchmark process failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    n, sample = result["n"], result["sample"]
    print(
        f"data {data}: {n:,} persons explained at 2025-01-01 (1-min load average before "
        f"{load_before:.2f}, after {os.getloadavg()[0]:.2f}, on {os.cpu_count()} CPUs)"
    )
    for name, shape in result["trees"].items():
        print(f"{name} model: {shape['trees']} trees, {shape['leaves']} leaves on average")
    print(f"default model: {result['chosen']}")
    print(f"{'stage':<36} | {'seconds':>8} | {'s per 1 M':>9} | {'peak GiB':>8}")
    print("-" * 70)
    for row in result["rows"]:
        rows = n if "everyone" in row["stage"] else sample if "rows" in row["stage"] else None
        per_million = f"{row['seconds'] * 1e6 / rows:>9.1f}" if rows else f"{'':>9}"
        print(
            f"{row['stage']:<36} | {row['seconds']:>8.1f} | {per_million} | {row['peak_gib']:>8.2f}"
        )
    stages = {row["stage"]: row["seconds"] for row in result["rows"]}
    shap_seconds = stages.get(f"shap.TreeExplainer, {sample:,} rows", float("nan"))
    ratio = shap_seconds / stages[f"masrisk.explain, {sample:,} rows"]
    print(f"shap.TreeExplainer / masrisk.explain on the same rows: {ratio:.2f}")
    auc = result["auc"]
    cost = auc["unconstrained"] - auc["default"]
    print(
        f"validation AUC: default {auc['default']:.4f}, unconstrained {auc['unconstrained']:.4f} "
        f"(cost {cost:+.4f}, budget {AUC_BUDGET})"
    )
    print(
        "share of |contribution| by level: "
        + ", ".join(f"{k} {v:.1%}" for k, v in result["shares"].items())
    )
    per_million = stages["masrisk.explain, everyone"] * 1e6 / n
    print(
        f"budget: {per_million:.0f} s per 1 M persons of {BUDGET_S} s: "
        f"{'ok' if per_million <= BUDGET_S else 'OVER'}; AUC cost {cost:+.4f} of {AUC_BUDGET}: "
        f"{'ok' if cost <= AUC_BUDGET else 'OVER'}"
    )


if __name__ == "__main__":
    main()
