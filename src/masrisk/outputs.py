"""Write result tables atomically, as Parquet or CSV chosen by the file's suffix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["TABLE_SUFFIXES", "write_table"]

TABLE_SUFFIXES: tuple[str, ...] = (".parquet", ".csv")


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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's file is private; results are shared
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
