"""Benchmark the whole pipeline at Bogotá's size on one machine: time and peak memory per stage.

Usage::

    python benchmarks/city.py                                # 7.9 M persons, bogota, seed 0
    python benchmarks/city.py --persons 1000000 --work /tmp/city1m
    python benchmarks/city.py --keep-data --work /tmp/city   # reuse the synthetic data
    python benchmarks/city.py --synth-only                   # the synth stage alone

Three processes, one after the other, so each one's peak resident memory is its own:

1. **synth**: ``masrisk.synthesize(persons=N)`` written to ``WORK/data`` (budget 10 min);
2. **data -> plans**, the budget's span (<= 30 min and <= 20 GiB):
   - *partition*: DuckDB splits the data directory by territory into partitions of about
     1 M persons (:func:`masrisk.scale.partitions.partition_data`);
   - *train*: ``masrisk.train`` on the partition loop
     (:class:`masrisk.scale.loop.PartitionEngine`): each partition is read once, for the
     counts of everyone at 2023-01-01 and 2024-01-01 and the features and labels of a sample
     of households (``--train-persons``, 1 M by default); the features are finished with the
     territorial features and lab codes of everyone, and the model fitted and evaluated;
   - *score+explain+plan*: ``masrisk.engines.stages.run`` on the loop, which reads every
     partition once (the counts and features at 2025-01-01), then explains and scores each
     partition's finished features, streams the contributions to partitioned Parquet and
     keeps the planning columns; then the plans are written.

Peak memory is the process's resident set, sampled every 5 ms, per step. The table's
``s / 1 M persons`` column divides by the persons of the city (scored, explained), so runs
at two sizes tell whether the pipeline scales linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from _measure import measure

SYNTH_BUDGET_S = 600
PIPELINE_BUDGET_S, PIPELINE_BUDGET_GIB = 1800, 20.0
MACHINE_GIB = 24.0

#: The engine's steps, as the table names them; the others finish the features.
STAGE_OF = {
    "read_part": "read (counts, features, labels)",
    "fit": "fit",
    "subgroups": "evaluate",
    "explained": "explain + score",
}


class Steps:
    """A ``hook(step, partition)`` that adds up time and tracks peak memory per step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak: dict[str, float] = {}
        self._step, self._since = None, time.perf_counter()
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def __call__(self, step: str | None, partition: int = -1) -> None:
        now = time.perf_counter()
        with self._lock:
            if self._step is not None:
                self.seconds[self._step] = self.seconds.get(self._step, 0.0) + now - self._since
            self._step, self._since = step, now

    def prefix(self, prefix: str):
        """Return a hook that names the engine's steps as the table shows them."""
        return lambda step, partition=-1: self(
            f"{prefix} / {STAGE_OF.get(step, 'finish features')}", partition
        )

    def close(self) -> None:
        self(None)
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            with open("/proc/self/statm") as f:
                gib = int(f.read().split()[1]) * 4096 / 2**30
            with self._lock:
                if self._step is not None:
                    self.peak[self._step] = max(self.peak.get(self._step, 0.0), gib)
            time.sleep(0.005)


def synth_child(work: Path, persons: int, seed: int) -> None:
    from masrisk.synth import synthesize

    rows: list[dict] = []
    population = measure(rows, "synthesize", synthesize, "bogota", persons=persons, seed=seed)
    measure(rows, "write data directory", population.write, work / "data")
    tables = population.tables
    sizes = {name: len(frame) for name, frame in tables.items()}
    print(json.dumps({"rows": rows, "sizes": sizes}))


def pipeline_child(work: Path, train_persons: int, persons_per_partition: int) -> None:
    import masrisk
    from masrisk.bundle import save_bundle
    from masrisk.engines import stages
    from masrisk.outputs import write_table
    from masrisk.scale.loop import PartitionEngine
    from masrisk.scale.partitions import partition_data

    config = masrisk.load_config("bogota")
    steps = Steps()
    start = time.perf_counter()
    steps("partition (DuckDB)")
    data = partition_data(
        work / "data", work / "partitioned", persons_per_partition=persons_per_partition,
        overwrite=True,
    )  # fmt: skip
    persons = int(data.sizes["persons"].sum())
    sample = min(1.0, train_persons / persons)
    model, report = masrisk.train(
        PartitionEngine(data, hook=steps.prefix("train")),
        config=config,
        outcome="hospitalization_12m",
        train_as_of="2023-01-01",
        valid_as_of="2024-01-01",
        sample=sample if sample < 1 else None,
    )
    steps("train / save bundle")
    save_bundle(model, work / "model", report=report.to_dict(), overwrite=True)
    bundle = masrisk.load_bundle(work / "model")
    engine = PartitionEngine(data, hook=steps.prefix("score+explain+plan"))
    scores, explained, plans = stages.run(
        bundle, engine, as_of="2025-01-01", config=config, out=work / "outputs" / "contributions",
        overwrite=True,
    )  # fmt: skip
    steps("score+explain+plan / write")
    write_table(scores, work / "outputs" / "scores.parquet", overwrite=True)
    plans.write(work / "plans", overwrite=True)
    steps.close()
    total = time.perf_counter() - start
    row = report.overall.loc[report.chosen_model]
    print(
        json.dumps(
            {
                "steps": [
                    {"stage": k, "seconds": v, "peak_gib": steps.peak.get(k, 0.0)}
                    for k, v in steps.seconds.items()
                ],
                "total_s": total,
                "persons": persons,
                "scored": len(scores),
                "partitions": data.partitions,
                "sizes": data.sizes.sum().to_dict(),
                "train_persons": model.training_["train_persons"],
                "valid_persons": model.training_["valid_persons"],
                "auc": float(row["auc"]),
                "slope": float(row["calibration_slope"]),
                "chosen": report.chosen_model,
                "level_shares": explained.level_shares.round(3).to_dict(),
                "territories": len(plans),
            }
        )
    )


def run(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        sys.exit(f"the benchmark process failed:\n{out.stderr[-5000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _print_synth(rows: list[dict], load_before: float) -> None:
    print(f"1-min load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}")
    for row in rows:
        print(f"{row['stage']:<34} | {row['seconds']:>8.1f} s | peak {row['peak_gib']:>6.2f} GiB")
    total = sum(row["seconds"] for row in rows)
    print(f"synth {total / 60:.1f} min of {SYNTH_BUDGET_S / 60:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=7_900_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/masrisk-city"))
    parser.add_argument("--train-persons", type=int, default=1_000_000)
    parser.add_argument("--persons-per-partition", type=int, default=1_000_000)
    parser.add_argument("--keep-data", action="store_true", help="reuse WORK/data if present")
    parser.add_argument("--synth-only", action="store_true", help="stop after the synth stage")
    parser.add_argument("--child", choices=("synth", "pipeline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "synth":
        synth_child(args.work, args.persons, args.seed)
        return
    if args.child == "pipeline":
        pipeline_child(args.work, args.train_persons, args.persons_per_partition)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    rows = []
    if not (args.keep_data and (args.work / "data" / "events.parquet").is_file()):
        shutil.rmtree(args.work / "data", ignore_errors=True)
        synth = run(["--child", "synth", "--work", str(args.work), "--persons", str(args.persons),
                     "--seed", str(args.seed)])  # fmt: skip
        rows += [{**r, "stage": f"synth / {r['stage']}"} for r in synth["rows"]]
        print("synthetic city:", ", ".join(f"{k} {v:,}" for k, v in synth["sizes"].items()))
        if args.synth_only:
            _print_synth(rows, load_before)
            return
    result = run(["--child", "pipeline", "--work", str(args.work),
                  "--train-persons", str(args.train_persons),
                  "--persons-per-partition", str(args.persons_per_partition)])  # fmt: skip
    rows += result["steps"]
    n = result["persons"]
    print(
        f"{n:,} persons in {result['partitions']} partitions "
        f"({result['sizes']['events']:,} events); trained on {result['train_persons']:,} "
        f"persons, validated on {result['valid_persons']:,}; {result['scored']:,} scored and "
        f"explained; {result['territories']} community plans. 1-min load average before "
        f"{load_before:.2f}, after {os.getloadavg()[0]:.2f}, on {os.cpu_count()} CPUs"
    )
    print(
        f"model: {result['chosen']}, validation AUC {result['auc']:.4f}, calibration slope "
        f"{result['slope']:.3f}; |contribution| by level: "
        + ", ".join(f"{k} {v:.1%}" for k, v in result["level_shares"].items())
    )
    print(f"{'stage':<34} | {'seconds':>8} | {'s / 1 M persons':>15} | {'peak GiB':>8}")
    print("-" * 75)
    for row in rows:
        print(
            f"{row['stage']:<34} | {row['seconds']:>8.1f} | {row['seconds'] * 1e6 / n:>15.1f} "
            f"| {row['peak_gib']:>8.2f}"
        )
    synth_s = sum(r["seconds"] for r in rows if r["stage"].startswith("synth"))
    total, peak = result["total_s"], max(r["peak_gib"] for r in result["steps"])
    print("-" * 75)
    print(f"{'data -> plans':<34} | {total:>8.1f} | {total * 1e6 / n:>15.1f} | {peak:>8.2f}")
    verdicts = [
        f"data -> plans {total / 60:.1f} min of {PIPELINE_BUDGET_S / 60:.0f} "
        f"({'ok' if total <= PIPELINE_BUDGET_S else 'OVER'}), peak {peak:.1f} GiB of "
        f"{PIPELINE_BUDGET_GIB:.0f} ({'ok' if peak <= PIPELINE_BUDGET_GIB else 'OVER'})"
    ]
    if synth_s:
        synth_peak = max(r["peak_gib"] for r in rows if r["stage"].startswith("synth"))
        verdicts.append(
            f"synth {synth_s / 60:.1f} min of {SYNTH_BUDGET_S / 60:.0f} "
            f"({'ok' if synth_s <= SYNTH_BUDGET_S else 'OVER'}), peak {synth_peak:.1f} GiB of "
            f"{MACHINE_GIB:.0f} ({'ok' if synth_peak <= MACHINE_GIB else 'OVER'})"
        )
    print("budget: " + "; ".join(verdicts))


if __name__ == "__main__":
    main()
