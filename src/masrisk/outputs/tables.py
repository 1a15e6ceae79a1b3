"""Write result tables under the output policy, as Parquet or CSV chosen by the suffix."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import pandas as pd

from masrisk.exceptions import ConfigError, ParameterError
from masrisk.outputs.policy import PARQUET_KEY, output_directory, output_file

if TYPE_CHECKING:
    from masrisk.tables import Tables

__all__ = ["TABLE_SUFFIXES", "ChunkedTableWriter", "write_data_directory", "write_table"]

TABLE_SUFFIXES: tuple[str, ...] = (".parquet", ".csv")


def write_table(
    frame: pd.DataFrame, path: str | os.PathLike, *, kind: str = "table", overwrite: bool = False
) -> Path:
    """Write ``frame`` to ``path`` (``.parquet`` or ``.csv``) under the output policy.

    ``kind`` names the table (``"scores"``, ``"contributions"``, ...): with ``overwrite``, only
    a table of the same kind that masrisk wrote is replaced.

    Raises
    ------
    masrisk.ConfigError
        If the suffix is neither ``.parquet`` nor ``.csv``.
    OutputExistsError
        As :func:`~masrisk.outputs.check_output`.
    """
    header = tuple(map(str, frame.columns))
    with ChunkedTableWriter(path, kind=kind, overwrite=overwrite, columns=header) as writer:
        writer.write(frame)
    return writer.path


def write_data_directory(
    tables: Tables | Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    format: str = "parquet",  # noqa: A002 - the word of every writer's option
    overwrite: bool = False,
    beside: Mapping[str, tuple[pd.DataFrame, str]] | None = None,
) -> Path:
    """Write a data directory, ``<table>.parquet`` or ``<table>.csv`` per table, in one step.

    The directory is written beside ``path`` and moved into place when complete
    (:func:`~masrisk.outputs.output_directory`): a reader never sees half a population, and
    with ``overwrite`` only a data directory masrisk wrote is replaced. ``beside`` adds
    files to it: file name -> (frame, kind).

    Raises
    ------
    masrisk.exceptions.ParameterError
        If ``format`` is neither ``"parquet"`` nor ``"csv"``.
    OutputExistsError
        If ``path`` exists and may not be replaced.
    """
    if format not in ("parquet", "csv"):
        raise ParameterError("format", "'parquet' or 'csv'", format)
    target = Path(path)
    with output_directory(target, kind="data", overwrite=overwrite) as staging:
        for name, frame in tables.items():
            write_table(frame, staging / f"{name}.{format}", kind="data")
        for file, (frame, kind) in (beside or {}).items():
            write_table(frame, staging / file, kind=kind)
    return target


class ChunkedTableWriter:
    """Write a table chunk by chunk to ``.parquet`` or ``.csv``, then rename it into place.

    One chunk is in memory at a time; the file appears only when the ``with`` block ends
    without an error, under the output policy (a CSV file is masrisk's by ``columns``).

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> with ChunkedTableWriter(path, kind="example") as writer:
    ...     writer.write(pd.DataFrame({"a": [1, 2]}))
    ...     writer.write(pd.DataFrame({"a": [3]}))
    >>> pd.read_parquet(path)["a"].tolist()
    [1, 2, 3]
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        kind: str = "table",
        overwrite: bool = False,
        columns: tuple[str, ...] | None = None,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        if self.path.suffix not in TABLE_SUFFIXES:
            raise ConfigError(f"{self.path}: a table's file must end in .parquet or .csv")
        self._file = output_file(self.path, kind=kind, overwrite=overwrite, header=columns)
        self._temporary: Path | None = None
        self._parquet = None
        self.rows = 0

    def __enter__(self) -> ChunkedTableWriter:
        self._temporary = self._file.__enter__()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``; every chunk must have the first one's columns and dtypes."""
        if self._temporary is None:
            raise RuntimeError("use ChunkedTableWriter in a with block")
        if self.path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            metadata = {**(table.schema.metadata or {}), PARQUET_KEY: self.kind.encode()}
            table = table.replace_schema_metadata(metadata)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._temporary, table.schema)
            self._parquet.write_table(table)
        else:
            frame.to_csv(
                self._temporary,
                mode="w" if self.rows == 0 else "a",
                header=self.rows == 0,
                index=False,
                date_format="%Y-%m-%d",
            )
        self.rows += len(frame)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        try:
            if self._parquet is not None:
                self._parquet.close()
        except BaseException as exc:
            self._file.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self._file.__exit__(kind, error, traceback)
