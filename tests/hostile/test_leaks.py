"""Class 7, leaks: no secret on the command line, no unbounded size."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import ok, refused, run


def test_the_pseudonym_key_is_never_a_command_line_value(data, scores, tmp_path):
    in_clear = run("plan", "--scores", scores, "--data", data, "--config", "bogota",
                   "--out", tmp_path / "p", "--pseudonymize", "secret")  # fmt: skip
    refused(in_clear, "--pseudonym-key-file")
    key = tmp_path / "key"
    key.write_text("secret\n")
    ok(run("plan", "--scores", scores, "--data", data, "--config", "bogota",
           "--out", tmp_path / "plans", "--pseudonym-key-file", key, "--quiet"))  # fmt: skip
    summary = (tmp_path / "plans" / "summary.json").read_text()
    assert "secret" not in summary


@pytest.mark.parametrize("persons", ["1000000000000", "100000001"])
def test_synth_persons_has_an_upper_bound(tmp_path, persons):
    refused(run("synth", "--persons", persons, "--out", tmp_path / "d"), "--persons")
    assert not (tmp_path / "d").exists()
