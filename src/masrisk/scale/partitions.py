"""Split a data directory by territory, out of core, into partitioned Parquet.

A city does not fit in memory as one set of frames, but each of its territories does, and
every feature but a territory's neighbourhood depends on one territory only.
:func:`partition_data` groups whole territories into partitions of about equal population,
in DuckDB (streamed, its memory bounded), and writes::

    OUT/
      partitions.json                 # territory -> partition, counts per partition
      territories.parquet             # the small tables, whole
      adjacency.parquet, facilities.parquet
      households/part=K/*.parquet     # the big tables, one folder per partition (Hive style)
      persons/part=K/*.parquet
      events/part=K/*.parquet
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from masrisk.exceptions import Problem, ValidationError
from masrisk.outputs import output_directory
from masrisk.schema import normalize_and_validate, read_table_file, table_files
from masrisk.tables import CONTRACT, Tables

__all__ = ["PARTITIONED_TABLES", "PartitionedData", "open_partitioned", "partition_data"]

#: The tables split by partition; the others are small and kept whole.
PARTITIONED_TABLES: tuple[str, ...] = ("households", "persons", "events")
_SMALL_TABLES = tuple(name for name in CONTRACT if name not in PARTITIONED_TABLES)
_MANIFEST = "partitions.json"
_FORMAT = 1


@dataclass(frozen=True)
class PartitionedData:
    """A data directory split by territory (:func:`partition_data`).

    Attributes
    ----------
    path : pathlib.Path
        The partitioned directory.
    territory_partition : pandas.Series
        Partition number of each territory, indexed by ``territory_id``.
    sizes : pandas.DataFrame
        Households, persons and events per partition.
    """

    path: Path
    territory_partition: pd.Series
    sizes: pd.DataFrame
    _small: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @property
    def partitions(self) -> int:
        """Number of partitions."""
        return len(self.sizes)

    def small_tables(self) -> dict[str, pd.DataFrame]:
        """Return the tables kept whole (territories, adjacency, facilities), as on disk."""
        if not self._small:
            for name in _SMALL_TABLES:
                file = self.path / f"{name}.parquet"
                if file.is_file():
                    self._small[name] = read_table_file(file)
        return dict(self._small)

    def frames(self, partition: int) -> dict[str, pd.DataFrame]:
        """Return one partition's frames as on disk: its big tables, the small ones whole."""
        if not 0 <= partition < self.partitions:
            raise IndexError(f"partition {partition} out of range(0, {self.partitions})")
        frames = self.small_tables()
        for name in PARTITIONED_TABLES:
            categories = [c.name for c in CONTRACT[name].columns if c.kind == "category"]
            frame = read_table_file(self.path / name / f"part={partition}", categories=categories)
            key = CONTRACT[name].key
            if key is not None and not frame[key].is_monotonic_increasing:
                # DuckDB's partitioned writes do not keep ORDER BY: sorted here, the rows
                # (and so a model trained on them) are the same on every run
                frame = frame.sort_values(key, kind="stable", ignore_index=True)
            frames[name] = frame
        return frames

    def tables(self, partition: int, *, extra_kinds: Iterable[str] = ()) -> Tables:
        """Read and validate one partition: its households, persons and events, whole.

        The territories, adjacency and facilities are the whole city's, so territorial
        features see every neighbour.
        """
        return normalize_and_validate(
            self.frames(partition),
            source=f"{self.path} (partition {partition})",
            extra_kinds=extra_kinds,
        )


def open_partitioned(path: str | Path) -> PartitionedData:
    """Open a directory written by :func:`partition_data`."""
    directory = Path(path)
    manifest = directory / _MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(f"{directory} is not a partitioned data directory: no {_MANIFEST}")
    meta = json.loads(manifest.read_text())
    territory_partition = pd.Series(
        meta["territory_partition"], name="partition", dtype="int64"
    ).rename_axis("territory_id")
    sizes = pd.DataFrame(meta["sizes"]).rename_axis("partition")
    return PartitionedData(directory, territory_partition, sizes)


def partition_data(
    source: str | Path,
    out: str | Path,
    *,
    persons_per_partition: int = 1_000_000,
    partitions: int | None = None,
    memory_limit: str = "4GB",
    threads: int | None = None,
    overwrite: bool = False,
) -> PartitionedData:
    """Split a data directory into partitions of whole territories, out of core.

    Parameters
    ----------
    source : str or pathlib.Path
        A data directory (``<table>.parquet`` or ``<table>.csv`` per table).
    out : str or pathlib.Path
        The partitioned directory, written under the output policy (``overwrite``).
    persons_per_partition : int
        Target persons per partition, unless ``partitions`` is given (a million persons take
        about 4 GiB through features, scoring and explanations).
    partitions : int, optional
        At most the number of territories with residents.
    memory_limit, threads
        DuckDB's memory limit (it spills to disk beyond it) and threads (all by default).
    overwrite : bool

    Returns
    -------
    PartitionedData

    Raises
    ------
    masrisk.ValidationError
        If a household, person or event refers to an id its parent table lacks (it would
        belong to no partition), or a required table is missing.
    """
    import duckdb

    source, out = Path(source), Path(out)
    files = _table_files(source)
    with output_directory(out, kind="partitions", overwrite=overwrite) as work:
        with duckdb.connect() as con:
            con.execute(f"SET memory_limit = {_literal(memory_limit)}")
            con.execute(f"SET temp_directory = {_literal(work / '.spill')}")
            con.execute("SET preserve_insertion_order = false")
            if threads:
                con.execute(f"SET threads = {int(threads)}")
            for name, file in files.items():
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM {_reader(file)}")
            _check_references(con, str(source))
            small = {name: read_table_file(files[name]) for name in _SMALL_TABLES if name in files}
            territory_partition = _assign(
                con, small["territories"], persons_per_partition, partitions
            )
            for name, frame in small.items():
                frame.to_parquet(work / f"{name}.parquet", index=False)
            sizes = _write_partitions(con, territory_partition, work)
        (work / ".spill").exists() and shutil.rmtree(work / ".spill")
        manifest = {
            "format": _FORMAT,
            "source": str(source),
            "territory_partition": {str(k): int(v) for k, v in territory_partition.items()},
            "sizes": {column: sizes[column].tolist() for column in sizes.columns},
        }
        (work / _MANIFEST).write_text(json.dumps(manifest, indent=1))
    return open_partitioned(out)


def _table_files(source: Path) -> dict[str, Path]:
    """Return the file of each table; refuse a table given twice or a required one missing."""
    files, problems = table_files(source)
    problems += [
        Problem(name, None, "missing table", detail=f"add {name}.parquet")
        for name, spec in CONTRACT.items()
        if spec.required and name not in files and not any(p.table == name for p in problems)
    ]
    if problems:
        raise ValidationError(problems, source=str(source))
    return files


def _literal(value: object) -> str:
    """Return ``value`` as a SQL string literal: quoted, its quotes doubled (never code)."""
    return "'" + str(value).replace("'", "''") + "'"


def _reader(file: Path) -> str:
    if file.suffix == ".parquet":
        return f"read_parquet({_literal(file)})"
    # As masrisk reads CSV: every cell as text, so ids keep their leading zeros.
    return f"read_csv({_literal(file)}, all_varchar = true, header = true)"


def _check_references(con: Any, source: str) -> None:
    """Rows whose parent id is unknown would fall in no partition: refuse them, by name."""
    problems = []
    for child, column, parent, key in (
        ("households", "territory_id", "territories", "territory_id"),
        ("persons", "household_id", "households", "household_id"),
        ("events", "person_id", "persons", "person_id"),
    ):
        rows, examples = con.execute(
            f"""
            SELECT count(*), list(DISTINCT CAST(c.{column} AS VARCHAR))[1:5]
            FROM {child} c ANTI JOIN {parent} p ON c.{column} = p.{key}
            """
        ).fetchone()
        if rows:
            examples = tuple(f"'{e}'" for e in examples)
            rule = f"value matches no {parent}.{key}"
            problems.append(Problem(child, column, rule, rows=int(rows), examples=examples))
    if problems:
        raise ValidationError(problems, source=source)


def _assign(
    con: Any,
    territories: pd.DataFrame,
    persons_per_partition: int,
    partitions: int | None,
) -> pd.Series:
    """Partition of each territory: contiguous runs of the territories table, equal persons."""
    counts = con.execute(
        """
        SELECT CAST(h.territory_id AS VARCHAR) AS territory_id, count(*) AS persons
        FROM persons p JOIN households h ON p.household_id = h.household_id
        GROUP BY 1
        """
    ).fetch_df()
    ids = territories["territory_id"].astype("str")
    residents = counts.set_index("territory_id")["persons"].reindex(ids).fillna(0).to_numpy()
    total = residents.sum()
    if partitions is None:
        if persons_per_partition < 1:
            raise ValueError(f"persons_per_partition must be positive, got {persons_per_partition}")
        partitions = max(1, int(np.ceil(total / persons_per_partition)))
    if partitions < 1:
        raise ValueError(f"partitions must be positive, got {partitions}")
    # Each territory goes where the middle of its residents falls; runs never straddle.
    middle = np.cumsum(residents) - residents / 2
    raw = np.minimum((middle * partitions / max(total, 1)).astype("int64"), partitions - 1)
    part = pd.factorize(raw, sort=True)[0]  # drop empty partitions, keep the order
    return pd.Series(part, index=pd.Index(ids, name="territory_id"), name="partition")


def _write_partitions(con: Any, territory_partition: pd.Series, work: Path) -> pd.DataFrame:
    """Write households, persons and events by partition; return their counts."""
    mapping = territory_partition.reset_index()  # noqa: F841 - read by DuckDB by name
    con.execute(
        """
        CREATE TEMP TABLE household_part AS
        SELECT h.household_id, m.partition FROM households h
        JOIN mapping m ON CAST(h.territory_id AS VARCHAR) = m.territory_id
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE person_part AS SELECT p.person_id, h.partition
        FROM persons p JOIN household_part h ON p.household_id = h.household_id
        """
    )
    queries = {
        "households": "SELECT h.*, m.partition AS part FROM households h "
        "JOIN household_part m ON h.household_id = m.household_id ORDER BY h.household_id",
        "persons": "SELECT p.*, m.partition AS part FROM persons p "
        "JOIN person_part m ON p.person_id = m.person_id ORDER BY p.person_id",
        "events": "SELECT e.*, m.partition AS part FROM events e "
        "JOIN person_part m ON e.person_id = m.person_id",
    }
    for name, query in queries.items():
        # Households and persons are asked in id order, which DuckDB's partitioned writes
        # do not keep: :meth:`PartitionedData.frames` sorts them; events need no order.
        con.execute(
            f"COPY ({query}) TO {_literal(work / name)} (FORMAT parquet, PARTITION_BY (part))"
        )
    n = int(territory_partition.max()) + 1 if len(territory_partition) else 0
    return pd.DataFrame(
        {name: [_rows(work / name / f"part={k}") for k in range(n)] for name in queries},
        index=pd.RangeIndex(n, name="partition"),
    )


def _rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(folder.glob("*.parquet")))
