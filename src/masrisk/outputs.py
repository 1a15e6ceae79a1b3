"""Write result tables atomically, as Parquet or CSV chosen by the file's suffix."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import pandas as pd

__all__ = ["TABLE_SUFFIXES", "ChunkedTableWriter", "replace_directory", "share", "write_table"]

TABLE_SUFFIXES: tuple[str, ...] = (".parquet", ".csv")


def share(path: str | os.PathLike) -> None:
    """Give a file or folder made private by ``mkstemp``/``mkdtemp`` the umask's permissions.

    Results are meant to be shared as any file the user writes would be.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if Path(path).is_dir() else 0o666) & ~umask)


def replace_directory(staging: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move a finished ``staging`` directory to ``target``, replacing it as one step.

    An existing ``target`` is moved aside first and put back if the move fails, so a reader
    sees the old directory or the new one, never a mix or nothing.
    """
    staging, target = Path(staging), Path(target)
    if not target.exists():
        os.replace(staging, target)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, backup / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(backup / target.name, target)
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` to ``path`` (``.parquet`` or ``.csv``): a temporary file, then a rename.

    Raises
    ------
    ValueError
        If the suffix is neither ``.parquet`` nor ``.csv``.
    """
    target = Path(path)
    if target.suffix not in TABLE_SUFFIXES:
        raise ValueError(f"{target}: the file must end in .parquet or .csv")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        if target.suffix == ".parquet":
            frame.to_parquet(temporary, index=False)
        else:
            frame.to_csv(temporary, index=False, date_format="%Y-%m-%d")
        share(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


class ChunkedTableWriter:
    """Write a table chunk by chunk to ``.parquet`` or ``.csv``, then rename it into place.

    Memory holds one chunk at a time. The file appears only when the ``with`` block ends
    without an error; otherwise the temporary file is removed.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> with ChunkedTableWriter(path) as writer:
    ...     writer.write(pd.DataFrame({"a": [1, 2]}))
    ...     writer.write(pd.DataFrame({"a": [3]}))
    >>> pd.read_parquet(path)["a"].tolist()
    [1, 2, 3]
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.suffix not in TABLE_SUFFIXES:
            raise ValueError(f"{self.path}: the file must end in .parquet or .csv")
        self._temporary: Path | None = None
        self._parquet = None
        self.rows = 0

    def __enter__(self) -> ChunkedTableWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.close(handle)
        self._temporary = Path(name)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``; every chunk must have the first one's columns and dtypes."""
        if self._temporary is None:
            raise RuntimeError("use ChunkedTableWriter in a with block")
        if self.path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
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
    ) -> None:
        assert self._temporary is not None
        try:
            if self._parquet is not None:
                self._parquet.close()
            if kind is None:
                share(self._temporary)
                os.replace(self._temporary, self.path)
        finally:
            self._temporary.unlink(missing_ok=True)
