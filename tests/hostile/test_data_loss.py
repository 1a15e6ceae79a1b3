"""Class 1, data loss: no command deletes or overwrites what masrisk did not write."""

from __future__ import annotations

import shutil

import pytest

from tests.hostile.conftest import CUT_OFFS, digest, ok, refused, run


def train(data, out, *extra):
    return run("train", "--data", data, "--config", "bogota", "--outcome",
               "hospitalization_12m", *CUT_OFFS, "--out", out, "--quiet", *extra)  # fmt: skip


@pytest.mark.parametrize("victim", ["data", "folder", "file"])
def test_train_overwrite_never_deletes_what_is_not_a_bundle(data, tmp_path, victim):
    copy = shutil.copytree(data, tmp_path / "data")
    targets = {
        "data": copy,
        "folder": tmp_path / "thesis",
        "file": tmp_path / "notes.txt",
    }
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.docx").write_text("precious")
    (tmp_path / "notes.txt").write_text("precious")
    target = targets[victim]
    before = digest(target)
    refused(train(copy, target, "--overwrite"), str(target))
    assert digest(target) == before


@pytest.mark.slow
def test_train_overwrite_replaces_its_own_bundle(data, bundle, tmp_path):
    out = shutil.copytree(bundle, tmp_path / "model")
    refused(train(data, out), "--overwrite")
    ok(train(data, out, "--overwrite", "--seed", "5"))
    assert digest(out) != digest(bundle)
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize("command", ["score", "explain"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_score_and_explain_never_overwrite_the_input(data, bundle, tmp_path, command, overwrite):
    copy = shutil.copytree(data, tmp_path / "data")
    victim = copy / "persons.parquet"
    before = digest(copy)
    extra = ("--overwrite",) if overwrite else ()
    result = run(command, "--model", bundle, "--data", copy, "--as-of", "2025-01-01",
                 "--out", victim, *extra)  # fmt: skip
    refused(result, str(victim))
    assert digest(copy) == before


@pytest.mark.parametrize("command", ["score", "explain"])
def test_score_and_explain_replace_their_own_output_only_when_asked(data, bundle, tmp_path,
                                                                    command):  # fmt: skip
    out = tmp_path / f"{command}.csv"
    args = (command, "--model", bundle, "--data", data, "--as-of", "2025-01-01", "--out", out)
    ok(run(*args))
    before = digest(out)
    refused(run(*args), "--overwrite")
    assert digest(out) == before
    ok(run(*args, "--overwrite"))


@pytest.mark.parametrize("command", ["synth", "demo"])
def test_synth_and_demo_never_replace_a_directory_they_did_not_write(tmp_path, command):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "records.csv").write_text("person_id\n1\n")
    before = digest(mine)
    for extra in ((), ("--overwrite",)):
        refused(run(command, "--out", mine, "--persons", 5000, *extra), str(mine))
        assert digest(mine) == before


def test_an_import_never_replaces_a_data_directory_masrisk_did_not_write(data, tmp_path):
    import masrisk
    from masrisk.io import to_omop
    from masrisk.outputs import MARKER

    cdm = tmp_path / "cdm"
    to_omop(masrisk.load_tables(data), cdm)
    mine = shutil.copytree(data, tmp_path / "mine")
    (mine / MARKER).unlink()  # the same files, but the user's own
    before = digest(mine)
    refused(run("import", "omop", cdm, "--out", mine, "--overwrite", "--quiet"), str(mine))
    assert digest(mine) == before
    own = shutil.copytree(data, tmp_path / "own")
    refused(run("import", "omop", cdm, "--out", own, "--quiet"), "--overwrite")
    ok(run("import", "omop", cdm, "--out", own, "--overwrite", "--quiet"))
    assert digest(own) != digest(data)
