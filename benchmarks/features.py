"""Benchmark the feature builders: time and peak memory of each level at 1 M persons.

Usage::

    python benchmarks/features.py                      # 1 M bogota persons, as_of 2024-01-01
    python benchmarks/features.py --persons 200000 --data /tmp/bench200k

The population is synthesised once into ``--data`` (kept for later runs), then every level is
built in a fresh process that reads the data directory, so memory the generator used is not
counted. Peak memory is the process's resident set, sampled every 5 ms during each stage.
For reference the same run times a plain DuckDB SQL query that computes the individual
utilisation counts (events by kind over 90 and 365 days) straight from the Parquet file.

Budget (issue 4): all three levels for 1 M persons in <= 60 s and <= 6 GiB peak.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _measure import measure

KINDS = ("outpatient", "emergency", "hospitalization", "pharmacy", "lab")


def duckdb_utilisation(events_file: Path, as_of: str) -> float:
    import duckdb

    counts = ",\n".join(
        f"count(*) FILTER (WHERE kind = '{k}' AND date >= DATE '{as_of}' - INTERVAL {d} DAY) "
        f"AS n_{k}_{d}d"
        for k in KINDS
        for d in (90, 365)
    )
    query = f"""
        SELECT person_id, {counts}
        FROM read_parquet('{events_file}')
        WHERE date < DATE '{as_of}' AND date >= DATE '{as_of}' - INTERVAL 365 DAY
        GROUP BY person_id
    """
    start = time.perf_counter()
    with duckdb.connect() as con:
        con.execute("SET threads TO 2")
        con.execute(query).fetch_df()
    return time.perf_counter() - start


def child(data: Path, as_of: str) -> None:
    """Run in a fresh process: build each level, print the measurements as JSON."""
    import masrisk
    from masrisk.features import family, individual, population_at, territorial

    rows: list[dict] = []
    tables = measure(rows, "load_tables (read + validate)", masrisk.load_tables, data)
    config = masrisk.load_config("bogota")
    population = measure(rows, "population at as_of", population_at, tables, as_of)
    person_level = measure(rows, "individual", individual.individual_features, population)
    by_household = measure(
        rows, "family", family.family_features, population, person_level, tables.households
    )
    by_territory = measure(
        rows,
        "territorial",
        territorial.territorial_features,
        tables,
        population,
        outcomes=config.outcomes,
    )
    del tables, population, person_level, by_household, by_territory
    full_tables = masrisk.load_tables(data)
    features = measure(
        rows,
        "build_features (all three levels)",
        masrisk.build_features,
        full_tables,
        as_of=as_of,
        config=config,
    )
    duck = duckdb_utilisation(data / "events.parquet", as_of)
    print(
        json.dumps(
            {
                "rows": rows,
                "duckdb": duck,
                "persons": len(features),
                "columns": features.shape[1],
                "individual_columns": sum(c.startswith("ind_") for c in features.columns),
                "events": len(full_tables.events),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--profile", default="bogota")
    parser.add_argument("--as-of", default="2024-01-01")
    parser.add_argument("--data", type=Path, default=None, help="data directory (made if absent)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.as_of)
        return

    data = args.data or Path(tempfile.gettempdir()) / f"masrisk-bench-{args.profile}-{args.persons}"
    if not (data / "events.parquet").is_file():
        from masrisk.synth import synthesize

        print(f"synthesising {args.persons:,} persons into {data} ...", file=sys.stderr)
        synthesize(args.profile, persons=args.persons, seed=0).write(data)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(data), "--as-of", args.as_of],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"profile {args.profile}: {result['persons']:,} persons present at {args.as_of}, "
        f"{result['events']:,} events, {result['columns']} feature columns"
    )
    print(f"{'stage':<36} | {'seconds':>8} | {'peak GiB':>8}")
    print("-" * 58)
    for row in result["rows"]:
        print(f"{row['stage']:<36} | {row['seconds']:>8.1f} | {row['peak_gib']:>8.2f}")
    levels = {r["stage"]: r for r in result["rows"]}
    total = levels["build_features (all three levels)"]
    individual = levels["individual"]["seconds"]
    print("-" * 58)
    print(f"{'DuckDB SQL: utilisation counts only':<36} | {result['duckdb']:>8.1f} |")
    print(
        f"ratio individual level / DuckDB query: {individual / result['duckdb']:.2f} "
        f"(the level builds {result['individual_columns']} ind_ columns, "
        f"the query only the {2 * len(KINDS)} utilisation counts)"
    )
    ok = total["seconds"] <= 60 and total["peak_gib"] <= 6
    print(
        f"budget at {args.persons:,}: {total['seconds']:.1f} s of 60 s, "
        f"{total['peak_gib']:.2f} GiB of 6 GiB: {'ok' if ok else 'OVER'}"
    )


if __name__ == "__main__":
    main()
