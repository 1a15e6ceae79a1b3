"""OMOP tables in a database reached through SQLAlchemy: PostgreSQL (psycopg 3), SQLite, ...

Reading streams rows from a server-side cursor where the driver has one; writing creates the
CDM tables in one transaction and sends rows with ``COPY`` when the driver is psycopg
(``DataFrame.to_sql`` otherwise).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from masrisk.exceptions import MasriskError
from masrisk.io.omop.store import Store, arrow_table, csv_batches, ddl, rebatch, to_pandas

__all__ = ["SQLStore", "engine_for"]

_COPY_ROWS = 200_000  # rows sent to COPY at a time


class SQLStore(Store):
    """A database reached through SQLAlchemy (PostgreSQL with psycopg 3, SQLite, ...)."""

    def __init__(self, engine: Any, *, schema: str | None, own: bool) -> None:
        self.engine = engine
        self.name = engine.url.render_as_string(hide_password=True)
        self.schema = schema
        self.own = own

    def _load_catalog(self) -> dict[str, tuple[str, dict[str, str]]]:
        import sqlalchemy as sa

        found = sa.inspect(self.engine).get_multi_columns(schema=self.schema)
        return {
            table.lower(): (table, {c["name"].lower(): c["name"] for c in columns})
            for (_, table), columns in found.items()
        }

    def _qualified(self, table: str) -> str:
        quote = self.engine.dialect.identifier_preparer.quote
        return quote(table) if self.schema is None else f"{quote(self.schema)}.{quote(table)}"

    def read(self, table: str, columns: Sequence[str], chunksize: int) -> Iterator[pd.DataFrame]:
        """Yield chunks from a server-side cursor where the driver has one."""
        import sqlalchemy as sa

        quote = self.engine.dialect.identifier_preparer.quote
        name, stored = self._tables()[table]
        select = ", ".join(f"{quote(stored[c])} AS {quote(c)}" for c in columns)
        sql = f"SELECT {select} FROM {self._qualified(name)}"
        if self.engine.dialect.driver == "psycopg":
            yield from self._copy_out(sql, table, list(columns), chunksize)
            return
        with self.engine.connect().execution_options(stream_results=True) as connection:
            yield from pd.read_sql_query(sa.text(sql), connection, chunksize=chunksize)

    def _copy_out(
        self, sql: str, table: str, columns: list[str], chunksize: int
    ) -> Iterator[pd.DataFrame]:
        """Stream ``COPY (sql) TO STDOUT`` as CSV through Arrow: far faster than a cursor."""
        with self.engine.connect() as connection:
            cursor = connection.connection.driver_connection.cursor()
            copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)"
            with cursor.copy(copy_sql) as copy:
                stream = io.BufferedReader(_CopyStream(copy), buffer_size=1 << 20)
                for chunk in rebatch(csv_batches(stream, columns, table), chunksize):
                    yield to_pandas(chunk)

    def write(self, tables: dict[str, pd.DataFrame], *, overwrite: bool) -> None:
        """Create the tables in one transaction; rows go by ``COPY`` with psycopg."""
        import sqlalchemy as sa

        self._refuse_existing(list(tables), overwrite)
        self._catalog = None
        with self.engine.begin() as connection:
            if self.schema is not None:
                quote = self.engine.dialect.identifier_preparer.quote
                connection.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}"))
            for table, frame in tables.items():
                qualified = self._qualified(table)
                connection.execute(sa.text(f"DROP TABLE IF EXISTS {qualified}"))
                connection.execute(sa.text(ddl(qualified, table)))
                self._insert(connection, table, qualified, frame)

    def _insert(self, connection: Any, table: str, qualified: str, frame: pd.DataFrame) -> None:
        data = arrow_table(table, frame)
        if self.engine.dialect.driver == "psycopg":
            import pyarrow.csv as pcsv

            options = pcsv.WriteOptions(include_header=False)
            cursor = connection.connection.driver_connection.cursor()
            with cursor.copy(f"COPY {qualified} FROM STDIN WITH (FORMAT csv)") as copy:
                for start in range(0, data.num_rows, _COPY_ROWS):  # bounded memory
                    buffer = io.BytesIO()
                    pcsv.write_csv(data.slice(start, _COPY_ROWS), buffer, options)
                    copy.write(buffer.getvalue())
            return
        data.to_pandas().to_sql(
            table, connection, schema=self.schema, if_exists="append", index=False
        )

    def close(self) -> None:
        """Dispose of the engine if this store created it."""
        if self.own:
            self.engine.dispose()


class _CopyStream(io.RawIOBase):
    """A readable binary stream over the blocks of a psycopg ``COPY ... TO STDOUT``."""

    def __init__(self, copy: Any) -> None:
        self._blocks = iter(copy)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._pending = bytes(block)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def engine_for(url: str) -> Any:
    """Return a SQLAlchemy engine for ``url``, connected once so a bad URL fails here, clearly."""
    try:
        import sqlalchemy as sa
    except ImportError as exc:  # pragma: no cover - sqlalchemy is in the interop extra
        raise MasriskError("database URLs need SQLAlchemy: pip install 'masrisk[interop]'") from exc
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        url = f"postgresql+psycopg://{rest}"
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
    except (ImportError, sa.exc.ArgumentError, sa.exc.DBAPIError) as exc:
        shown = re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)
        raise MasriskError(f"cannot open database {shown}: {exc}") from exc
    return engine
