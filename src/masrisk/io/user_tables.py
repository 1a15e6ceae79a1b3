"""Tables a caller gives beside a source (households, territories, members), and their ids."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from masrisk.exceptions import Problems
from masrisk.schema import read_table_file

__all__ = ["TableInput", "align_ids", "read_user_table", "to_source_ids", "to_text"]

#: A table given by the caller: a frame, a ``.parquet``/``.csv`` path, or nothing.
TableInput = pd.DataFrame | str | os.PathLike | None

_CANONICAL_INTEGER = re.compile(r"-?[1-9][0-9]{0,17}|0")


def read_user_table(value: TableInput, name: str) -> pd.DataFrame | None:
    """Return the caller's table ``name``: a frame as given, a file read (CSV cells as text).

    Raises
    ------
    FileNotFoundError
        If the path is not a file.
    masrisk.ValidationError
        If the file is neither ``.parquet`` nor ``.csv``, or cannot be read.
    """
    if value is None or isinstance(value, pd.DataFrame):
        return value
    path = Path(value)
    if not path.is_file():
        raise FileNotFoundError(f"{name} file not found: {path}")
    found = Problems(str(path))
    if path.suffix.lower() not in (".parquet", ".csv"):
        found.add(name, None, "not a .parquet or .csv file", detail=str(path))
    else:
        try:
            return read_table_file(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
            found.add(name, None, "unreadable file", detail=f"{path.name}: {exc}")
    found.raise_if_any()
    return None


def to_text(values: pd.Series) -> pd.Series:
    """Text with surrounding spaces removed; empty text is missing."""
    text = values.astype("str").str.strip().where(values.notna())
    return text.mask(text == "")


def to_source_ids(values: pd.Series) -> pd.Series:
    """Source values as ids: integers when every one is an integer written plainly, else text.

    Integer ids written out by :func:`masrisk.io.to_omop` come back as integers, while ids
    such as ``"007"`` keep their zeros.
    """
    text = to_text(values)
    present = text.dropna()
    if len(present) and present.str.fullmatch(_CANONICAL_INTEGER.pattern).all():
        return pd.to_numeric(text).astype("Int64" if text.isna().any() else "int64")
    return text


def align_ids(values: pd.Series, like: pd.Series) -> pd.Series:
    """Ids read as text (CSV) next to integer ids, or the reverse, made the same type."""
    integer = pd.api.types.is_integer_dtype(like.dtype)
    if integer and not pd.api.types.is_integer_dtype(values.dtype):
        converted = to_source_ids(values)
        return converted if pd.api.types.is_integer_dtype(converted.dtype) else values
    if not integer and pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("str")
    return values
