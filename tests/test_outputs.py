"""The output policy: nothing that exists is replaced unless asked, and then only masrisk's own."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from masrisk.outputs import (
    MARKER,
    ChunkedTableWriter,
    OutputExistsError,
    clean_stale,
    output_directory,
    write_table,
)
from masrisk.outputs.policy import replace_file

FRAME = pd.DataFrame({"person_id": ["P1", "P2"], "risk": [0.1, 0.2]})


def tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_an_existing_output_is_refused_without_overwrite(tmp_path):
    out = write_table(FRAME, tmp_path / "scores.parquet", kind="scores")
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_table(FRAME.head(1), out, kind="scores")
    assert out.read_bytes() == before
    write_table(FRAME.head(1), out, kind="scores", overwrite=True)
    assert len(pd.read_parquet(out)) == 1


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_overwrite_never_replaces_a_table_masrisk_did_not_write(tmp_path, suffix):
    victim = tmp_path / f"persons{suffix}"
    other = pd.DataFrame({"person_id": ["P1"], "birth_date": ["1980-01-01"]})
    other.to_parquet(victim) if suffix == ".parquet" else other.to_csv(victim, index=False)
    before = victim.read_bytes()
    with pytest.raises(OutputExistsError, match="not replaced"):
        write_table(FRAME, victim, kind="scores", overwrite=True)
    assert victim.read_bytes() == before


def test_overwrite_never_replaces_an_output_of_another_kind(tmp_path):
    data = tmp_path / "data"
    with output_directory(data, kind="data") as staging:
        write_table(FRAME, staging / "persons.parquet", kind="data")
    before = tree(data)
    with pytest.raises(OutputExistsError, match="'data' output, not a bundle"):
        output_directory(data, kind="bundle", overwrite=True).__enter__()
    with pytest.raises(OutputExistsError, match="'data' table"):
        write_table(FRAME, data / "persons.parquet", kind="scores", overwrite=True)
    assert tree(data) == before


def test_a_directory_holding_other_things_or_a_link_is_never_replaced(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    link = tmp_path / "link"
    link.symlink_to(mine)
    for target in (mine, link):
        with pytest.raises(OutputExistsError, match="not replaced"):
            output_directory(target, kind="plans", overwrite=True).__enter__()
    assert (mine / "thesis.docx").read_text() == "precious"
    assert link.is_symlink()


def test_a_directory_replaces_its_older_self_in_one_step(tmp_path):
    out = tmp_path / "plans"
    for text in ("old", "new"):
        with output_directory(out, kind="plans", overwrite=True) as staging:
            (staging / "summary.json").write_text(text)
    assert (out / "summary.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plans"]
    assert (out / MARKER).is_file()


def test_a_failure_inside_the_block_leaves_the_old_output_and_no_temporary(tmp_path):
    out = tmp_path / "plans"
    with output_directory(out, kind="plans") as staging:
        (staging / "summary.json").write_text("old")

    def interrupted() -> None:
        with output_directory(out, kind="plans", overwrite=True) as staging:
            (staging / "summary.json").write_text("half")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        interrupted()
    assert (out / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plans"]


def test_a_file_replaced_in_one_step_follows_the_umask_and_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "person.csv"
    target.write_text("old")
    previous = os.umask(0o022)
    try:
        with replace_file(target) as temporary:
            temporary.write_text("new")
    finally:
        os.umask(previous)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o644

    def interrupted() -> None:
        with replace_file(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        interrupted()
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["person.csv"]


def test_the_temporaries_of_a_dead_run_are_cleaned_by_the_next(tmp_path):
    # A process that has exited: its pid names its leftovers.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    left = tmp_path / f".scores.parquet.masrisk-tmp-{pid}-abc"
    left.write_text("health data")
    alive = tmp_path / f".scores.parquet.masrisk-tmp-{os.getpid()}-xyz"
    alive.write_text("being written")
    write_table(FRAME, tmp_path / "scores.parquet", kind="scores")
    assert not left.exists()
    assert alive.exists()  # a live writer's temporary is left alone


def test_a_swap_cut_short_is_put_back_by_the_next_run(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    aside = tmp_path / f".plans.masrisk-tmp-{int(dead.stdout)}-abc"
    (aside / "plans").mkdir(parents=True)
    (aside / "plans" / "summary.json").write_text("old")
    assert clean_stale(tmp_path / "plans") == [aside]
    assert (tmp_path / "plans" / "summary.json").read_text() == "old"


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_chunked_writer_follows_the_policy(tmp_path, suffix):
    out = tmp_path / f"contributions{suffix}"
    columns = tuple(FRAME.columns)
    with ChunkedTableWriter(out, kind="contributions", columns=columns) as writer:
        writer.write(FRAME)
    with pytest.raises(OutputExistsError):
        ChunkedTableWriter(out, kind="contributions", columns=columns).__enter__()
    with ChunkedTableWriter(out, kind="contributions", overwrite=True, columns=columns) as w:
        w.write(FRAME.head(1))
        w.write(FRAME.tail(1))
    read = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert read["person_id"].tolist() == ["P1", "P2"]
