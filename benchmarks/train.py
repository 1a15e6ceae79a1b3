"""Benchmark training and scoring: time and peak memory of each stage at 1 M persons.

Usage::

    python benchmarks/train.py                          # 1 M bogota persons, seed 1
    python benchmarks/train.py --data /tmp/acc/big      # an existing data directory
    python benchmarks/train.py --persons 100000 --data /tmp/bench100k

The population is synthesised once into ``--data`` (kept for later runs) unless it is there
already; the stages then run in a fresh process that reads the data directory, so memory the
generator used is not counted. Peak memory is the process's resident set, sampled every 5 ms
during each stage (so it includes the tables, loaded first). The stages are those of
:func:`masrisk.train` and of scoring:

(a) ``masrisk.train``: features and labels at the training and the validation cut-off,
    ``RiskModel.fit`` (the logistic baseline, the complexity search with early stopping, the
    choice and the calibration) and the evaluation report, each timed inside it;
(b) writing the bundle, (c) loading it back (checksums verified);
(d) ``masrisk.score``: features at the scoring cut-off, risk and tier for everyone present.

Budget (issue): training <= 5 min and scoring <= 30 s at 1 M persons on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _measure import Timed, measure

OUTCOME = "hospitalization_12m"
TRAINING_BUDGET_S = 300
SCORING_BUDGET_S = 30


def train_timed(tables, config, train_as_of: str, valid_as_of: str):
    """``masrisk.train``, timing the stages inside it."""
    import lightgbm

    from masrisk import models, training
    from masrisk.engines import steps

    timers = {
        "features": Timed(steps.features_of),
        "labels": Timed(steps.labels_of),
        "fit": Timed(models.RiskModel.fit),
        "report": Timed(training.EvaluationReport.from_predictions),
        "lightgbm_train": Timed(lightgbm.train),
    }
    baseline_fits: list[float] = []
    make_baseline = models.make_baseline

    def timed_make_baseline(*args, **kwargs):
        pipeline = make_baseline(*args, **kwargs)
        timed_fit = Timed(pipeline.fit)
        timed_fit.calls = baseline_fits
        pipeline.fit = timed_fit
        return pipeline

    originals = {
        (steps, "features_of"): steps.features_of,
        (steps, "labels_of"): steps.labels_of,
        (models.RiskModel, "fit"): models.RiskModel.fit,
        (training, "EvaluationReport"): training.EvaluationReport,
        (lightgbm, "train"): lightgbm.train,
        (models, "make_baseline"): make_baseline,
    }

    class TimedReport:
        from_predictions = staticmethod(timers["report"])

    steps.features_of, steps.labels_of = timers["features"], timers["labels"]
    models.RiskModel.fit = lambda self, *a, **k: timers["fit"](self, *a, **k)
    training.EvaluationReport = TimedReport
    lightgbm.train, models.make_baseline = timers["lightgbm_train"], timed_make_baseline
    try:
        model, report = training.train(
            tables,
            config=config,
            outcome=OUTCOME,
            train_as_of=train_as_of,
            valid_as_of=valid_as_of,
        )
    finally:
        for (owner, name), original in originals.items():
            setattr(owner, name, original)
    inside = {name: timer.calls for name, timer in timers.items()}
    inside["baseline_fit"] = baseline_fits
    return model, report, inside


def child(data: Path, args: argparse.Namespace) -> None:
    """Run in a fresh process: each stage, then print the measurements as JSON."""
    import masrisk

    rows: list[dict] = []
    tables = measure(rows, "load_tables (read + validate)", masrisk.load_tables, data)
    config = masrisk.load_config("bogota")
    model, report, inside = measure(
        rows,
        "(a) masrisk.train",
        train_timed,
        tables,
        config,
        args.train_as_of,
        args.valid_as_of,
    )
    bundle_dir = Path(tempfile.mkdtemp()) / "bundle"
    measure(
        rows, "(b) save_bundle", masrisk.save_bundle, model, bundle_dir, report=report.to_dict()
    )
    bundle = measure(rows, "(c) load_bundle", masrisk.load_bundle, bundle_dir)
    scores = measure(
        rows, "(d) masrisk.score", masrisk.score, bundle, tables, as_of=args.as_of, config=config
    )
    overall = report.overall
    metadata = model.training_
    print(
        json.dumps(
            {
                "rows": rows,
                "inside": inside,
                "search": model.search_.to_dict(orient="records"),
                "chosen": model.chosen_,
                "reason": model.choice_reason_,
                "validation_auc": overall["auc"].to_dict(),
                "n_train": metadata["train_persons"],
                "n_valid": metadata["valid_persons"],
                "events_train": metadata["train_events"],
                "events_valid": metadata["valid_events"],
                "features": len(model.features_),
                "scored": len(scores),
                "events": len(tables.events),
                "bundle_mib": sum(p.stat().st_size for p in bundle_dir.iterdir()) / 2**20,
            }
        )
    )


def _auc(y, risk) -> float:
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y, risk)


def print_result(result: dict, args: argparse.Namespace) -> None:
    print(
        f"{result['events']:,} events; trained on {result['n_train']:,} persons "
        f"({result['events_train']:,} events) at {args.train_as_of}, validated on "
        f"{result['n_valid']:,} ({result['events_valid']:,} events) at {args.valid_as_of}, "
        f"{result['features']} features; scored {result['scored']:,} persons at {args.as_of}"
    )
    print(f"{'stage':<38} | {'seconds':>8} | {'peak GiB':>8}")
    print("-" * 60)
    for row in result["rows"]:
        print(f"{row['stage']:<38} | {row['seconds']:>8.1f} | {row['peak_gib']:>8.2f}")
    stages = {r["stage"][:3]: r["seconds"] for r in result["rows"]}
    inside = {name: sum(calls) for name, calls in result["inside"].items()}
    boosting = result["inside"]["lightgbm_train"]
    print("-" * 60)
    print("inside masrisk.train:")
    print(f"  features, 2 cut-offs                 | {inside['features']:>8.1f}")
    print(f"  labels, 2 cut-offs                   | {inside['labels']:>8.1f}")
    print(f"  RiskModel.fit                        | {inside['fit']:>8.1f}")
    print(f"    logistic baseline fit              | {inside['baseline_fit']:>8.1f}")
    for trial, seconds in zip(result["search"], boosting, strict=True):
        name = f"lightgbm {trial['num_leaves']} leaves, {trial['trees']} trees"
        print(f"    {name:<34} | {seconds:>8.1f}   AUC {trial['valid_auc']:.4f}")
    rest = inside["fit"] - sum(boosting) - inside["baseline_fit"]
    print(f"    rest (predict, AUC, calibration)   | {rest:>8.1f}")
    print(f"  EvaluationReport                     | {inside['report']:>8.1f}")
    print(f"chosen: {result['chosen']}: {result['reason']}")
    auc = result["validation_auc"]
    print(
        "validation AUC (cross-fitted calibrated risks): "
        + ", ".join(f"{name} {value:.4f}" for name, value in auc.items())
    )
    print(f"bundle size {result['bundle_mib']:.2f} MiB")
    training = stages["(a)"]
    scoring = stages["(c)"] + stages["(d)"]
    print(
        f"budget at {result['n_train']:,}: training (a) {training:.0f} s of "
        f"{TRAINING_BUDGET_S} s: {'ok' if training <= TRAINING_BUDGET_S else 'OVER'}; "
        f"scoring (c + d) {scoring:.1f} s of {SCORING_BUDGET_S} s: "
        f"{'ok' if scoring <= SCORING_BUDGET_S else 'OVER'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None, help="data directory (made if absent)")
    parser.add_argument("--train-as-of", default="2023-01-01")
    parser.add_argument("--valid-as-of", default="2024-01-01")
    parser.add_argument("--as-of", default="2025-01-01", help="scoring cut-off")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return

    data = args.data or Path(tempfile.gettempdir()) / f"masrisk-bench-bogota-{args.persons}"
    if not (data / "events.parquet").is_file():
        from masrisk.synth import synthesize

        print(f"synthesising {args.persons:,} persons into {data} ...", file=sys.stderr)
        synthesize("bogota", persons=args.persons, seed=args.seed).write(data)
    load_before = os.getloadavg()[0]
    dates = ["--train-as-of", args.train_as_of, "--valid-as-of", args.valid_as_of]
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(data), *dates, "--as-of", args.as_of],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    if out.returncode:
        sys.exit(f"the benchmark process failed:\n{out.stderr}")
    print(
        f"data {data} (1-min load average before the run {load_before:.2f}, "
        f"after {os.getloadavg()[0]:.2f}, on {os.cpu_count()} CPUs)"
    )
    print_result(json.loads(out.stdout.strip().splitlines()[-1]), args)


if __name__ == "__main__":
    main()
