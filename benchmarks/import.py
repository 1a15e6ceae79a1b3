"""Benchmark the RIPS and OMOP importers: files/s, events/s and peak memory of each import.

Usage::

    python benchmarks/import.py                                    # 1 M bogota persons, seed 0
    python benchmarks/import.py --persons 20000 --work /tmp/masrisk-import-20k
    python benchmarks/import.py --formats rips omop-duckdb         # some of the formats
    python benchmarks/import.py --keep-data                        # reuse WORK's data, exports

A synthetic city (``masrisk.synthesize("bogota", persons=N, seed=S)``) is written to
``WORK/data``, then exported in each format and imported back:

- **rips**: ``to_rips(tables, WORK/rips, providers=40)`` (one JSON document per provider and
  month), read by ``from_rips`` with the city's households, territories and the membership
  table the export wrote (``WORK/rips-members.parquet``), as a SISBÉN frame would give them;
- **omop-parquet**, **omop-csv**: ``to_omop`` to a folder of CDM tables, ``from_omop`` of it;
- **omop-duckdb**: ``to_omop`` to ``WORK/omop.duckdb``, ``from_omop`` of it;
- **omop-postgres**: a throw-away PostgreSQL cluster on a Unix socket (``postgres_server``
  of ``tests/_postgres.py``, so the server binaries must be installed, else the row is
  skipped), ``to_omop`` and ``from_omop`` through psycopg 3 (``COPY`` both ways). The cluster
  lives for one run, so this export is redone even with ``--keep-data``.

Each export and each import runs in a fresh process, one after the other, so its time and
peak resident memory (sampled every 5 ms, ``_measure.measure``) are its own; the PostgreSQL
server's own memory is not counted. The import is timed from the call to the validated
``Tables`` (reading the user's households and territories files included, for RIPS); the
files were just written, so they are read from the page cache: this measures parsing, not the
disk. ``events`` are the imported tables' events; ``files`` the JSON documents, the CDM table
files, the DuckDB file or, for PostgreSQL, the CDM tables (``MiB``: the database's size,
its catalogs included).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from _measure import measure

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("rips", "omop-parquet", "omop-csv", "omop-duckdb", "omop-postgres")
PROVIDERS = 40
IMPORT_HEADER = ("format", "files", "MiB", "persons", "events", "seconds", "files/s", "events/s",
                 "persons/s", "MiB/s", "peak GiB")  # fmt: skip


# ----------------------------------------------------------------------------- child processes
def synth_child(work: Path, persons: int, seed: int) -> dict:
    from masrisk.synth import synthesize

    rows: list[dict] = []
    population = measure(rows, "synthesize", synthesize, "bogota", persons=persons, seed=seed)
    measure(rows, "write data directory", population.write, work / "data")
    return {"rows": rows, "sizes": {name: len(frame) for name, frame in population.tables.items()}}


def target(work: Path, fmt: str, url: str | None) -> Path | str:
    """Where the export of ``fmt`` goes (and the import reads from)."""
    if fmt == "omop-postgres":
        return url
    return work / {"rips": "rips", "omop-duckdb": "omop.duckdb"}.get(fmt, fmt)


def footprint(work: Path, fmt: str, url: str | None) -> tuple[int, int]:
    """Files (tables, for PostgreSQL) and bytes of an export."""
    where = target(work, fmt, url)
    if fmt == "omop-postgres":
        import sqlalchemy as sa

        engine = sa.create_engine(where)
        with engine.connect() as con:
            size = con.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
            tables = con.execute(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar()
        engine.dispose()
        return int(tables), int(size)
    if where.is_file():
        return 1, where.stat().st_size
    files = [p for p in where.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def export_child(work: Path, fmt: str, url: str | None) -> dict:
    import masrisk
    from masrisk.io import to_omop, to_rips

    tables = masrisk.load_tables(work / "data")
    where, rows = target(work, fmt, url), []
    if fmt == "rips":
        members = work / "rips-members.parquet"
        measure(rows, fmt, to_rips, tables, where, providers=PROVIDERS, members_path=members,
                overwrite=True)  # fmt: skip
    else:
        file_format = "csv" if fmt == "omop-csv" else "parquet"
        measure(rows, fmt, to_omop, tables, where, format=file_format, overwrite=True)
    files, size = footprint(work, fmt, url)
    return {**rows[0], "files": files, "bytes": size, "events": len(tables.events)}


def import_child(work: Path, fmt: str, url: str | None) -> dict:
    from masrisk.io import from_omop, from_rips

    files, size = footprint(work, fmt, url)
    rows: list[dict] = []
    note = ""
    if fmt == "rips":
        data = work / "data"
        result = measure(
            rows, fmt, from_rips, target(work, fmt, url),
            households=data / "households.parquet", territories=data / "territories.parquet",
            members=work / "rips-members.parquet",
        )  # fmt: skip
        tables, counts = result.tables, result.counts
        note = (
            f"{counts['documents']:,} documents, {counts['user_entries']:,} user entries, "
            f"{counts['problems']:,} problems, {counts['unmatched_persons']:,} unmatched"
        )
    else:
        tables = measure(rows, fmt, from_omop, target(work, fmt, url))
    return {**rows[0], "files": files, "bytes": size, "persons": len(tables.persons),
            "events": len(tables.events), "note": note}  # fmt: skip


# ----------------------------------------------------------------------------- parent process
def run(args: list[str]) -> dict | None:
    """Run a child; its result, or ``None`` (with its error printed) if it failed."""
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        print(f"benchmark process {' '.join(args[:4])} failed:\n{out.stderr[-3000:]}", flush=True)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def export_and_import(work: Path, fmt: str, keep: bool, url: str | None = None):
    """The export (an earlier run's, marked ``reused``, with ``keep``) and import of ``fmt``."""
    common = ["--work", str(work), "--format", fmt] + (["--url", url] if url else [])
    done = work / f"{fmt}.exported"
    if keep and done.is_file():
        exported = {**json.loads(done.read_text()), "reused": True}
    else:
        done.unlink(missing_ok=True)
        exported = run(["--child", "export", *common])
        if exported is None:
            return None, None
        done.write_text(json.dumps(exported))
    return exported, run(["--child", "import", *common])


def postgres(work: Path, keep: bool):
    """Export and import through a throw-away PostgreSQL cluster; a reason if it cannot."""
    sys.path.insert(0, str(ROOT))
    try:
        import pytest
        from tests._postgres import postgres_server, server_binaries
    except ImportError as exc:
        return None, None, f"cannot import tests/_postgres.py ({exc})"
    if server_binaries() is None:
        return None, None, "PostgreSQL server binaries (initdb, pg_ctl) not found"
    try:
        with postgres_server() as url:
            (work / "omop-postgres.exported").unlink(missing_ok=True)  # a new, empty cluster
            return (*export_and_import(work, "omop-postgres", keep, url), None)
    except (pytest.skip.Exception, pytest.fail.Exception) as exc:
        return None, None, f"PostgreSQL did not start: {exc}"


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print a table: first column left-aligned, the others right-aligned."""
    full = [r for r in rows if len(r) == len(header)]
    widths = [max([len(h), *(len(r[i]) for r in full)]) for i, h in enumerate(header)]
    widths[0] = max(widths[0], *(len(r[0]) for r in rows))

    def line(cells: tuple[str, ...]) -> str:
        if len(cells) != len(header):  # a row that only says why it is missing
            return f"{cells[0]:<{widths[0]}} | {' '.join(cells[1:])}"
        return " | ".join(
            f"{c:<{w}}" if i == 0 else f"{c:>{w}}"
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    head = line(header)
    print(f"\n{title}\n{head}\n{'-' * len(head)}")
    for row in rows:
        print(line(row))


def import_rows(imports: dict[str, dict | None], skipped: dict[str, str]) -> list[tuple]:
    rows = []
    for fmt, r in imports.items():
        if r is None:
            rows.append((fmt, skipped.get(fmt, "failed (see above)")))
            continue
        mib, s = r["bytes"] / 2**20, r["seconds"]
        rows.append((fmt, f"{r['files']:,}", f"{mib:,.1f}", f"{r['persons']:,}",
                     f"{r['events']:,}", f"{s:.1f}", rate(r["files"], s), rate(r["events"], s),
                     rate(r["persons"], s), rate(mib, s), f"{r['peak_gib']:.2f}"))  # fmt: skip
    return rows


def export_rows(
    synth: dict | None, exports: dict[str, dict | None], skipped: dict[str, str]
) -> list[tuple]:
    rows = [
        (f"synth / {r['stage']}", "", "", f"{r['seconds']:.1f}", "", f"{r['peak_gib']:.2f}")
        for r in (synth["rows"] if synth else [])
    ]
    for fmt, r in exports.items():
        if r is None:
            rows.append((f"to {fmt}", skipped.get(fmt, "failed (see above)")))
            continue
        stage = f"to {fmt}" + (" (reused)" if r.get("reused") else "")
        rows.append((stage, f"{r['files']:,}", f"{r['bytes'] / 2**20:,.1f}", f"{r['seconds']:.1f}",
                     rate(r["events"], r["seconds"]), f"{r['peak_gib']:.2f}"))  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/masrisk-import"))
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument(
        "--keep-data", action="store_true", help="reuse WORK's synthetic data and exports"
    )
    parser.add_argument("--child", choices=("synth", "export", "import"), help=argparse.SUPPRESS)
    parser.add_argument("--format", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "synth":
            result = synth_child(args.work, args.persons, args.seed)
        else:
            child = export_child if args.child == "export" else import_child
            result = child(args.work, args.format, args.url)
        print(json.dumps(result))
        return 0
    return parent(args)


def parent(args: argparse.Namespace) -> int:
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    synth = None
    if not (args.keep_data and (work / "data" / "events.parquet").is_file()):
        shutil.rmtree(work / "data", ignore_errors=True)
        for fmt in FORMATS:  # exports of other data are stale
            (work / f"{fmt}.exported").unlink(missing_ok=True)
        synth = run(["--child", "synth", "--work", str(work), "--persons", str(args.persons),
                     "--seed", str(args.seed)])  # fmt: skip
        if synth is None:
            return 1
    exports, imports, skipped = {}, {}, {}
    for fmt in args.formats:
        if fmt == "omop-postgres":
            exports[fmt], imports[fmt], reason = postgres(work, args.keep_data)
            if reason:
                skipped[fmt] = f"skipped: {reason}"
        else:
            exports[fmt], imports[fmt] = export_and_import(work, fmt, args.keep_data)
        print(f"{fmt}: finished", file=sys.stderr, flush=True)
    sizes = synth["sizes"] if synth else None
    city = ", ".join(f"{k} {v:,}" for k, v in sizes.items()) if sizes else f"reused {work}/data"
    print(
        f"synthetic city (bogota, seed {args.seed}): {city}. 1-min load average before "
        f"{load_before:.2f}, after {os.getloadavg()[0]:.2f}, on {os.cpu_count()} CPUs"
    )
    table(
        "exports (each in a fresh process; events/s of the city's events)",
        ("stage", "files", "MiB", "seconds", "events/s", "peak GiB"),
        export_rows(synth, exports, skipped),
    )
    table(
        "imports (each in a fresh process; persons and events of the imported tables)",
        IMPORT_HEADER,
        import_rows(imports, skipped),
    )
    for fmt, r in imports.items():
        if r and r["note"]:
            print(f"{fmt}: {r['note']}")
    failed = [f for f in args.formats if imports.get(f) is None and f not in skipped]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
