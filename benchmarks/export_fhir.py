"""Benchmark the FHIR export: resources per second and peak memory of ``export_fhir``.

Usage::

    python benchmarks/export_fhir.py                              # 200,000 persons, 1 worker
    python benchmarks/export_fhir.py --persons 1000000 --workers 1 2

The plans come from a small synthetic city (2,000 persons, its 50 territories); the scores
file is generated directly with ``--persons`` rows (ids, a beta-distributed risk, tiers) and
written as Parquet. Nearly all the time is ``fhir.resources`` validating and serialising each
``RiskAssessment``, so it grows linearly with the persons; memory holds a few chunks at a time.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _measure import measure

MODEL = Path(__file__).resolve().parents[1] / "models" / "hospitalization_12m"


def inputs(root: Path, persons: int, seed: int = 0) -> tuple[Path, Path]:
    """Write a plans directory and a scores file of ``persons`` rows; return their paths."""
    import numpy as np
    import pandas as pd

    import masrisk
    from masrisk.outputs import write_table
    from masrisk.planning import plan

    population = masrisk.synthesize("bogota", persons=2000, seed=seed)
    config = masrisk.load_config("bogota")
    bundle = masrisk.load_bundle(MODEL)
    features = masrisk.build_features(
        population.tables, as_of="2025-01-01", config=config, lab_codes=bundle.metadata["lab_codes"]
    )
    scores = masrisk.score(bundle, population.tables, as_of="2025-01-01", config=config)
    plan(scores, population.tables, config=config, persons=features).write(root / "plans")
    rng = np.random.default_rng(seed)
    risk = rng.beta(1, 20, persons).astype("float32")
    cuts = [risk >= np.quantile(risk, 0.97), risk >= np.quantile(risk, 0.8)]
    tiers = np.select(cuts, ["case_management", "disease_management"], "promotion_prevention")
    big = pd.DataFrame(
        {
            "person_id": [f"P{i:08d}" for i in range(persons)],
            "outcome": "hospitalization_12m",
            "as_of": pd.Timestamp("2025-01-01"),
            "risk": risk,
            "tier": tiers,
        }
    )
    return write_table(big, root / "scores.parquet"), root / "plans"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--chunk-size", type=int, default=20_000)
    args = parser.parse_args(argv)

    from masrisk.io import export_fhir

    with tempfile.TemporaryDirectory() as tmp:
        scores, plans = inputs(Path(tmp), args.persons)
        rows: list[dict] = []
        for workers in args.workers:
            measure(
                rows, f"{workers} worker(s)", export_fhir, scores, plans, Path(tmp) / "fhir",
                model=MODEL, chunk_size=args.chunk_size, workers=workers, overwrite=True,
            )  # fmt: skip
    print(f"{args.persons:,} persons, chunks of {args.chunk_size:,}")
    for row in rows:
        rate = args.persons / row["seconds"]
        print(
            f"{row['stage']:>12}: {row['seconds']:7.1f} s, {rate:7,.0f} RiskAssessments/s, "
            f"peak {row['peak_gib']:.2f} GiB (parent process)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
