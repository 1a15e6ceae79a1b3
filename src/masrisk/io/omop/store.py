"""Where OMOP tables live: a folder of CSV/Parquet files, a DuckDB file, or a SQL database.

Every store tells a table's columns, reads its rows in chunks and writes tables, whatever the
place. Names are matched without regard to case (OHDSI exports write ``PERSON.csv`` as often
as ``person.csv``); frames come back with lower-case column names.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from masrisk.exceptions import MasriskError
from masrisk.io.omop.cdm import CDM_TABLES
from masrisk.outputs.policy import replace_file

__all__ = ["Store", "arrow_table", "csv_batches", "ddl", "open_store", "rebatch", "to_pandas"]

_DUCKDB_SUFFIXES = (".duckdb", ".ddb")
_ARROW_TYPES = {
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "VARCHAR": pa.string(),
    "DOUBLE PRECISION": pa.float64(),
}


class Store:
    """Base class: a place holding OMOP tables. Subclasses implement the four methods."""

    #: Where the tables are, for messages.
    name: str = ""

    _catalog: dict[str, tuple[str, dict[str, str]]] | None = None

    def columns(self, table: str) -> dict[str, str] | None:
        """Return ``{lower-case name: name as stored}`` of ``table``, or ``None`` if absent."""
        return self._tables().get(table, (table, None))[1]

    def _tables(self) -> dict[str, tuple[str, dict[str, str]]]:
        """Tables of a database, read once: ``{lower name: (stored name, columns)}``."""
        if self._catalog is None:
            self._catalog = self._load_catalog()
        return self._catalog

    def _load_catalog(self) -> dict[str, tuple[str, dict[str, str]]]:
        raise NotImplementedError

    def read(self, table: str, columns: Sequence[str], chunksize: int) -> Iterator[pd.DataFrame]:
        """Yield chunks of ``table`` with only ``columns`` (lower-case names, all present)."""
        raise NotImplementedError

    def write(self, tables: dict[str, pd.DataFrame], *, overwrite: bool) -> None:
        """Create each table with all its CDM columns, filled from the frame's columns."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection, if the store opened one."""

    def _refuse_existing(self, tables: Sequence[str], overwrite: bool) -> None:
        present = [t for t in tables if self.columns(t) is not None]
        if present and not overwrite:
            raise MasriskError(
                f"{self.name}: OMOP tables already exist ({', '.join(present)}); "
                "pass overwrite=True (--overwrite) to replace them"
            )


def arrow_table(table: str, frame: pd.DataFrame) -> pa.Table:
    """Return ``frame`` as an Arrow table with every CDM column of ``table``, typed as the DDL."""
    arrays, names = [], []
    for name, sql_type in CDM_TABLES[table]:
        kind = _ARROW_TYPES[sql_type]
        if name not in frame.columns:
            arrays.append(pa.nulls(len(frame), type=kind))
        elif kind == pa.date32():
            days = frame[name].to_numpy(dtype="datetime64[D]")
            arrays.append(pa.array(days, from_pandas=True).cast(kind))
        elif isinstance(frame[name].dtype, pd.CategoricalDtype):
            # dictionary-encoded, then decoded by Arrow: no Python string per row
            arrays.append(pa.array(frame[name], from_pandas=True).dictionary_decode().cast(kind))
        else:
            arrays.append(pa.array(frame[name], type=kind, from_pandas=True))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


class FolderStore(Store):
    """A folder with one ``<table>.parquet`` or ``<table>.csv`` per OMOP table."""

    def __init__(self, path: Path, *, file_format: str = "parquet") -> None:
        self.path = path
        self.name = str(path)
        self.file_format = file_format

    def _file(self, table: str) -> Path | None:
        if not self.path.is_dir():
            return None
        found = [
            p
            for p in self.path.iterdir()
            if p.stem.lower() == table and p.suffix.lower() in (".parquet", ".csv")
        ]
        if len(found) > 1:
            names = ", ".join(sorted(p.name for p in found))
            raise MasriskError(f"{self.name}: table {table} is given twice ({names}); keep one")
        return found[0] if found else None

    def columns(self, table: str) -> dict[str, str] | None:
        """Return the columns of ``<table>.parquet`` or ``<table>.csv``, or ``None``."""
        file = self._file(table)
        if file is None:
            return None
        try:
            if file.suffix.lower() == ".parquet":
                import pyarrow.parquet as pq

                names = pq.ParquetFile(file).schema_arrow.names
            else:
                names = list(pd.read_csv(file, nrows=0, encoding="utf-8").columns)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
            raise MasriskError(f"{file}: unreadable file: {exc}") from exc
        return {str(n).lower(): str(n) for n in names}

    def read(self, table: str, columns: Sequence[str], chunksize: int) -> Iterator[pd.DataFrame]:
        """Yield chunks: Parquet row batches, or CSV cells as text (empty cells missing)."""
        file = self._file(table)
        stored = self.columns(table) or {}
        wanted = [stored[c] for c in columns]
        if file is None:
            return
        if file.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            batches = pq.ParquetFile(file).iter_batches(batch_size=chunksize, columns=wanted)
        else:
            batches = csv_batches(file, wanted, table)
        for chunk in rebatch(batches, chunksize):
            yield to_pandas(chunk).set_axis(list(columns), axis=1)

    def write(self, tables: dict[str, pd.DataFrame], *, overwrite: bool) -> None:
        """Write one file per table, each through a temporary file and a rename."""
        self._refuse_existing(list(tables), overwrite)
        self.path.mkdir(parents=True, exist_ok=True)
        for table, frame in tables.items():
            old = self._file(table)
            target = self.path / f"{table}.{self.file_format}"
            _write_atomic(arrow_table(table, frame), target)
            if old is not None and old != target:
                old.unlink()


def to_pandas(data: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    """Arrow -> pandas keeping integer ids integers when some are missing, dates as datetimes."""
    integers = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype()}
    return data.to_pandas(types_mapper=integers.get, date_as_object=False)


def csv_batches(file: Any, columns: list[str], table: str) -> Iterator[pa.RecordBatch]:
    """Stream the ``columns`` of a CSV file (a path or a binary stream); empty cells are missing.

    Each block's column is typed as the CDM says when every cell parses; otherwise it stays
    text, for the converters to report the cells that do not.
    """
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    types = {name: _ARROW_TYPES[kind] for name, kind in CDM_TABLES.get(table, ())}
    try:
        reader = pcsv.open_csv(
            file,
            read_options=pcsv.ReadOptions(block_size=16 << 20),
            convert_options=pcsv.ConvertOptions(
                include_columns=columns,
                column_types=dict.fromkeys(columns, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
        for batch in reader:
            arrays = []
            for name, array in zip(batch.schema.names, batch.columns, strict=True):
                kind = types.get(name.lower(), pa.string())
                with contextlib.suppress(pa.ArrowInvalid):
                    array = pc.cast(array, kind)
                arrays.append(array)
            yield pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
    except pa.ArrowInvalid as exc:
        raise MasriskError(f"{file}: unreadable CSV file: {exc}") from exc


def rebatch(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup record batches into tables of ``rows`` rows (the last may be shorter)."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


def _write_atomic(data: pa.Table, target: Path) -> None:
    with replace_file(target) as temporary:
        if target.suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(data, temporary)
        else:
            import pyarrow.csv as pcsv

            pcsv.write_csv(data, temporary)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ddl(qualified: str, table: str) -> str:
    """Return the ``CREATE TABLE`` statement of CDM ``table`` under the name ``qualified``."""
    columns = ", ".join(f"{_quote(n)} {t}" for n, t in CDM_TABLES[table])
    return f"CREATE TABLE {qualified} ({columns})"


class DuckDBStore(Store):
    """A DuckDB database file (or an open ``duckdb`` connection)."""

    def __init__(self, connection: Any, *, name: str, schema: str | None, own: bool) -> None:
        self.connection = connection
        self.name = name
        self.schema = schema
        self.own = own

    def _schema(self) -> str:
        if self.schema is not None:
            return self.schema
        # fetchall: DuckDB wants every result read before the next statement
        return self.connection.execute("SELECT current_schema()").fetchall()[0][0]

    def _prefix(self) -> str:
        """``"catalog"."schema"``: a file named like a schema makes the bare name ambiguous."""
        catalog = self.connection.execute("SELECT current_database()").fetchall()[0][0]
        return f"{_quote(catalog)}.{_quote(self._schema())}"

    def _load_catalog(self) -> dict[str, tuple[str, dict[str, str]]]:
        rows = self.connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_catalog = current_database() "
            "ORDER BY table_name, ordinal_position",
            [self._schema()],
        ).fetchall()
        catalog: dict[str, tuple[str, dict[str, str]]] = {}
        for table, column in rows:
            catalog.setdefault(table.lower(), (table, {}))[1][column.lower()] = column
        return catalog

    def read(self, table: str, columns: Sequence[str], chunksize: int) -> Iterator[pd.DataFrame]:
        """Yield chunks of Arrow record batches as pandas frames."""
        name, stored = self._tables()[table]
        select = ", ".join(f"{_quote(stored[c])} AS {_quote(c)}" for c in columns)
        where = f"{self._prefix()}.{_quote(name)}"
        relation = self.connection.sql(f"SELECT {select} FROM {where}")
        if hasattr(relation, "to_arrow_reader"):
            reader = relation.to_arrow_reader(batch_size=chunksize)
        else:  # duckdb 1.x
            reader = relation.fetch_record_batch(chunksize)
        for batch in reader:
            yield to_pandas(batch)

    def write(self, tables: dict[str, pd.DataFrame], *, overwrite: bool) -> None:
        """Create the tables in one transaction: all of them appear, or none."""
        self._refuse_existing(list(tables), overwrite)
        con, schema = self.connection, self._prefix()
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for table, frame in tables.items():
                qualified = f"{schema}.{_quote(table)}"
                con.execute(f"DROP TABLE IF EXISTS {qualified}")
                con.execute(ddl(qualified, table))
                con.register("masrisk_omop_rows", arrow_table(table, frame))
                con.execute(f"INSERT INTO {qualified} SELECT * FROM masrisk_omop_rows")
                con.unregister("masrisk_omop_rows")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            self._catalog = None

    def close(self) -> None:
        """Close the connection if this store opened it."""
        if self.own:
            self.connection.close()


def open_store(
    location: Any, *, schema: str | None = None, create: bool = False, file_format: str = "parquet"
) -> Store:
    """Return the store at ``location``: a folder, a DuckDB file or URL, or a SQLAlchemy URL.

    ``location`` may also be an open ``duckdb`` connection or a SQLAlchemy ``Engine``, which
    the store does not close. ``postgresql://`` and ``postgres://`` URLs without a driver
    use psycopg 3. With ``create=False`` a folder or DuckDB file that does not exist raises
    :class:`FileNotFoundError`.
    """
    kind = type(location).__module__.split(".")[0]
    if kind in ("duckdb", "_duckdb"):
        return DuckDBStore(location, name="DuckDB connection", schema=schema, own=False)
    if kind == "sqlalchemy":
        from masrisk.io.omop.sql import SQLStore

        return SQLStore(location, schema=schema, own=False)
    text = os.fspath(location)
    if text.startswith("duckdb:///"):
        return _duckdb_file(Path(text[len("duckdb:///") :]), schema, create)
    if "://" in text:
        from masrisk.io.omop.sql import SQLStore, engine_for

        return SQLStore(engine_for(text), schema=schema, own=True)
    path = Path(text)
    if path.suffix.lower() in _DUCKDB_SUFFIXES or path.is_file():
        return _duckdb_file(path, schema, create)
    if not create and not path.is_dir():
        raise FileNotFoundError(f"OMOP source not found: {path} (a folder, .duckdb file or URL)")
    if schema is not None:
        raise MasriskError(f"{path}: a folder of OMOP files has no schema; leave schema out")
    return FolderStore(path, file_format=file_format)


def _duckdb_file(path: Path, schema: str | None, create: bool) -> DuckDBStore:
    import duckdb

    if not create and not path.is_file():
        raise FileNotFoundError(f"DuckDB file not found: {path}")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = duckdb.connect(str(path), read_only=not create)
    except duckdb.Error as exc:
        raise MasriskError(f"{path}: cannot open the DuckDB database: {exc}") from exc
    connection.execute("SET enable_progress_bar = false")  # a library prints nothing
    return DuckDBStore(connection, name=str(path), schema=schema, own=True)
