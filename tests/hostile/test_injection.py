"""Class 2, injection: a path or a name from the user never becomes SQL."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from masrisk.scale.partitions import partition_data

NAMES = ["O'Higgins", "x'); COPY (SELECT 42) TO 'pwned.csv' (FORMAT csv); --", 'a"b; DROP TABLE t']


@pytest.mark.parametrize("name", NAMES)
def test_a_folder_name_with_quotes_is_read_and_runs_nothing(data, tmp_path, name):
    source = shutil.copytree(data, tmp_path / name / "data")
    out = partition_data(source, tmp_path / name / "parts", partitions=2)
    assert sum(len(pd.read_parquet(p)) for p in (out.path / "persons").rglob("*.parquet")) == len(
        pd.read_parquet(data / "persons.parquet")
    )
    assert not list(tmp_path.rglob("pwned.csv"))
    assert not list(tmp_path.parent.rglob("pwned.csv"))
