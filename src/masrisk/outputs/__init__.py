"""Every output written one way: refused if it exists, replaced only when masrisk wrote it, atomic.

- :mod:`~masrisk.outputs.policy`: the output policy, for directories and files;
- :mod:`~masrisk.outputs.tables`: tables as Parquet or CSV under it.
"""

from __future__ import annotations

from masrisk.outputs.policy import (
    MARKER,
    OutputExistsError,
    check_output,
    clean_stale,
    output_directory,
    output_file,
    replace_directory,
    share,
)
from masrisk.outputs.tables import (
    TABLE_SUFFIXES,
    ChunkedTableWriter,
    write_data_directory,
    write_table,
)

__all__ = [
    "MARKER",
    "TABLE_SUFFIXES",
    "ChunkedTableWriter",
    "OutputExistsError",
    "check_output",
    "clean_stale",
    "output_directory",
    "output_file",
    "replace_directory",
    "share",
    "write_data_directory",
    "write_table",
]
