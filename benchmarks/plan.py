"""Benchmark the planner: time and peak memory of ``masrisk.planning.plan`` at Bogotá's size.

Usage::

    python benchmarks/plan.py                   # 7.9 M persons, 1,170 territories, 20 districts
    python benchmarks/plan.py --persons 1000000

The inputs the planner reads are generated directly (a full synthetic population of 7.9 M
persons would need more memory than scoring it): 1,170 territories in 20 districts (31 rural),
households of about 3.2 persons with the poverty-index flags, one score per person (risk from a
beta distribution, tiers by the config's percentiles) and the features eligibility reads
(life-course stage, sex, age and the catalogue's ``requires_any`` flags at a few per cent).
The stages are timed inside ``plan`` and the plans directory is written to a temporary
directory. Budget (issue): <= 60 s in all for 1,170 territories x the catalogue.
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

BUDGET_S = 60
TERRITORIES = 1170
DISTRICTS = 20
RURAL = 31


def inputs(persons: int, seed: int = 0):
    """Tables, scores and features of a Bogotá-sized city, generated directly."""
    import numpy as np
    import pandas as pd

    from masrisk.codes import MPI_INDICATORS
    from masrisk.config import load_config
    from masrisk.planning import load_catalog
    from masrisk.tables import Tables
    from masrisk.tiers import assign_tiers

    rng = np.random.default_rng(seed)
    territory_ids = np.array([f"T{t:04d}" for t in range(TERRITORIES)], dtype=object)
    deprivation = rng.beta(2, 5, TERRITORIES)
    territories = pd.DataFrame(
        {
            "territory_id": territory_ids,
            "zone": pd.Categorical(
                np.where(np.arange(TERRITORIES) >= TERRITORIES - RURAL, "rural", "urban")
            ),
            "population": rng.integers(2000, 12000, TERRITORIES),
            "district": [f"D{t % DISTRICTS:02d}" for t in range(TERRITORIES)],
        }
    )
    n_households = int(persons / 3.16)
    household_territory = rng.integers(0, TERRITORIES, n_households)
    flags = rng.random((n_households, len(MPI_INDICATORS))) < deprivation[household_territory, None]
    households = pd.DataFrame(flags.astype("int8"), columns=list(MPI_INDICATORS))
    households.insert(0, "household_id", np.arange(n_households))
    households.insert(1, "territory_id", territory_ids[household_territory])
    household = np.sort(rng.integers(0, n_households, persons))
    territory = household_territory[household]
    risk = rng.beta(1.2, 15, persons) * (1 + deprivation[territory])
    config = load_config("bogota")
    scores = pd.DataFrame(
        {
            "person_id": np.arange(persons),
            "household_id": household,
            "territory_id": territory_ids[territory],
            "outcome": pd.Categorical(["hospitalization_12m"] * persons),
            "as_of": pd.Timestamp("2025-01-01"),
            "risk": risk.astype("float32"),
            "tier": assign_tiers(risk, config.tiers).array,
        }
    )
    age = rng.gamma(2.0, 17.0, persons).clip(0, 100)
    stage = pd.cut(
        age,
        [-1, 5, 11, 17, 28, 59, 121],
        labels=["primera_infancia", "infancia", "adolescencia", "juventud", "adultez", "vejez"],
    )
    features = {"ind_age": age.astype("float32"), "ind_life_stage": stage,
                "ind_sex": pd.Categorical(rng.choice(["F", "M"], persons))}  # fmt: skip
    for column in load_catalog().required_columns:
        if column not in features and column != "tier":
            features[column] = (rng.random(persons) < 0.04).astype("float32")
    person_features = pd.DataFrame(features, index=pd.Index(np.arange(persons), name="person_id"))
    empty = pd.DataFrame({"person_id": [], "household_id": []})
    tables = Tables(territories=territories, households=households, persons=empty, events=empty)
    return tables, scores, person_features, config


def child(persons: int) -> None:
    from masrisk.planning import planner

    rows: list[dict] = []
    tables, scores, features, config = measure(rows, "generate inputs", inputs, persons)
    timers = {
        name: Timed(getattr(planner, name))
        for name in ("_eligibility_by_territory", "allocate", "rank_households", "_prioritise")
    }
    for name, timer in timers.items():
        setattr(planner, name, timer)
    plans = measure(
        rows, "plan (all stages)", planner.plan, scores, tables, config=config, persons=features
    )
    out = Path(tempfile.mkdtemp()) / "plans"
    measure(rows, "write plans directory", plans.write, out)
    allocation = plans.allocation
    print(
        json.dumps(
            {
                "rows": rows,
                "inside": {name: timer.seconds for name, timer in timers.items()},
                "solver": {
                    "status": allocation.status,
                    "gap": allocation.gap,
                    "seconds": allocation.seconds,
                },
                "persons": len(scores),
                "territories": len(plans),
                "interventions": int(allocation.persons.shape[1]),
                "hours": plans.summary.total_hours,
                "capacity": plans.summary.capacity_hours,
                "files": len(list(out.iterdir())),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=7_900_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.persons)
        return
    load_before = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--persons", str(args.persons)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        sys.exit(f"the benchmark process failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"{result['persons']:,} persons, {result['territories']:,} territories, "
        f"{result['interventions']} interventions (1-min load average before {load_before:.2f}, "
        f"after {os.getloadavg()[0]:.2f}, on {os.cpu_count()} CPUs)"
    )
    print(f"{'stage':<34} | {'seconds':>8} | {'peak GiB':>8}")
    print("-" * 56)
    for row in result["rows"]:
        print(f"{row['stage']:<34} | {row['seconds']:>8.1f} | {row['peak_gib']:>8.2f}")
    print("-" * 56)
    print("inside plan:")
    labels = {
        "_prioritise": "territories: priority and phases",
        "_eligibility_by_territory": "eligibility and benefit (T x I)",
        "allocate": "capacity allocation (HiGHS MILP)",
        "rank_households": "households ranked for visits",
    }
    for name, label in labels.items():
        print(f"  {label:<32} | {result['inside'][name]:>8.1f}")
    solver = result["solver"]
    print(
        f"solver: {solver['status']}, gap {solver['gap']:.4%}, {solver['seconds']:.2f} s; "
        f"{result['hours']:,.0f} of {result['capacity']:,.0f} team-hours allocated; "
        f"{result['files']} files written"
    )
    total = sum(r["seconds"] for r in result["rows"] if r["stage"] != "generate inputs")
    print(
        f"budget: plan + write {total:.1f} s of {BUDGET_S} s: "
        f"{'ok' if total <= BUDGET_S else 'OVER'}"
    )


if __name__ == "__main__":
    main()
