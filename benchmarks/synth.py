"""Benchmark of the synthetic population: time to generate and write, and peak memory.

Each size runs in a fresh Python process, so its peak resident memory is its own:

    python benchmarks/synth.py --persons 20000 1000000 --profile bogota

Budget: 1 M persons (bogota) in at most 60 s (generate + write) and 4 GiB peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
BUDGET_SECONDS, BUDGET_GIB = 60.0, 4.0


def child(profile: str, persons: int, seed: int) -> None:
    """Generate and write one population; print its figures as JSON."""
    sys.path.insert(0, str(SRC))
    from masrisk.synth import synthesize

    start = time.perf_counter()
    population = synthesize(profile, persons=persons, seed=seed)
    generated = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        population.write(Path(tmp) / "data", format="parquet")
        written = time.perf_counter()
    tables = population.tables
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "persons": len(tables.persons),
                "households": len(tables.households),
                "territories": len(tables.territories),
                "events": len(tables.events),
                "generate_s": generated - start,
                "write_s": written - generated,
                "peak_gib": peak_kib / 2**20,
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--profile", choices=("bogota", "mexico"), default="bogota")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.profile, args.persons[0], args.seed)
        return 0
    header = ("persons", "households", "territories", "events", "generate s", "write s", "peak GiB")
    print(f"profile {args.profile}, seed {args.seed}")
    print(" | ".join(f"{h:>11}" for h in header))
    over = False
    for persons in args.persons:
        command = [sys.executable, __file__, "--child", "--persons", str(persons)]
        command += ["--profile", args.profile, "--seed", str(args.seed)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        cells = (
            f"{r['persons']:,}",
            f"{r['households']:,}",
            f"{r['territories']:,}",
            f"{r['events']:,}",
            f"{r['generate_s']:.1f}",
            f"{r['write_s']:.1f}",
            f"{r['peak_gib']:.2f}",
        )
        print(" | ".join(f"{c:>11}" for c in cells), flush=True)
        if persons == 1_000_000 and args.profile == "bogota":
            total = r["generate_s"] + r["write_s"]
            over = total > BUDGET_SECONDS or r["peak_gib"] > BUDGET_GIB
            print(
                f"budget at 1 M: {total:.1f} s of {BUDGET_SECONDS:.0f} s, "
                f"{r['peak_gib']:.2f} GiB of {BUDGET_GIB:.0f} GiB: {'OVER' if over else 'ok'}"
            )
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
