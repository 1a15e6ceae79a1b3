"""Class 4, races: a reader sees the old output or the new; a killed run leaves nothing behind."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from copy import deepcopy
from dataclasses import replace
from pathlib import Path

import pytest

import masrisk
from tests.hostile.conftest import CUT_OFFS, digest, ok, run

REWRITER = """
import sys, time
import masrisk
a, b, target, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
versions = [masrisk.load_bundle(a), masrisk.load_bundle(b)]
end, k = time.monotonic() + seconds, 0
while time.monotonic() < end:
    v = versions[k % 2]
    masrisk.save_bundle(v.model, target, metadata=v.metadata, report=v.report, overwrite=True)
    k += 1
    if k == 2:
        print("rewriting", flush=True)
"""


@pytest.fixture(scope="module")
def second_bundle(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("second") / "model"
    ok(run("train", "--data", data, "--config", "bogota", "--outcome", "hospitalization_12m",
           *CUT_OFFS, "--seed", "7", "--calibration", "isotonic", "--out", out,
           "--quiet"))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def recalibrated(bundle, tmp_path_factory) -> Path:
    """The bundle with another calibrator and description: a second version, without training."""
    first = masrisk.load_bundle(bundle)
    calibrator = first.model.calibrator_
    model = clone_with(
        first.model, calibrator_=replace(calibrator, intercept=calibrator.intercept + 1)
    )
    out = tmp_path_factory.mktemp("recalibrated") / "model"
    metadata = {**first.metadata.to_dict(), "data_description": "the second version"}
    masrisk.save_bundle(model, out, metadata=metadata, report=first.report)
    return out


def clone_with(model, **fitted):
    """A copy of a fitted model with some fitted attributes replaced."""
    copy = deepcopy(model)
    for name, value in fitted.items():
        setattr(copy, name, value)
    return copy


def signature(bundle) -> tuple:
    """What tells two versions of a bundle apart, in each of its files."""
    booster = bundle.model.booster_
    text = booster.model_to_string() if booster is not None else ""
    return (repr(bundle.model.calibrator_), text, bundle.metadata.model_dump_json(),
            repr(bundle.model.baseline_))  # fmt: skip


def load_while_rewritten(first: Path, second: Path, target: Path, loads: int) -> None:
    """Load ``target`` ``loads`` times while another process saves the two versions over it.

    Fails on the old loader, which hashed and parsed each file by its path: a rewrite between
    two files gave a bundle mixing both versions (185 mixes in 3,970 loads in issue 15).
    """
    versions = {signature(masrisk.load_bundle(b)) for b in (first, second)}
    assert len(versions) == 2
    start = masrisk.load_bundle(first)
    masrisk.save_bundle(start.model, target, metadata=start.metadata, report=start.report)
    writer = subprocess.Popen(
        [sys.executable, "-c", REWRITER, str(first), str(second), str(target), "600"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert writer.stdout.readline() == "rewriting\n"  # loads start once the writer has
        for _ in range(loads):
            assert signature(masrisk.load_bundle(target)) in versions
    finally:
        writer.kill()
        writer.communicate()


def test_loading_while_another_process_rewrites_gives_old_or_new(bundle, recalibrated, tmp_path):
    load_while_rewritten(bundle, recalibrated, tmp_path / "model", 100)


@pytest.mark.slow
def test_a_thousand_loads_while_another_process_rewrites_give_old_or_new_never_a_mix(
    bundle, second_bundle, tmp_path
):
    load_while_rewritten(bundle, second_bundle, tmp_path / "model", 1000)


def commands(data: Path, bundle: Path, scores: Path, contributions: Path, root: Path) -> dict:
    """Each command twice: an old output, and a new one the killed runs try to write."""

    def synth(seed):
        return ("synth", "--persons", 1000, "--seed", seed, "--out", root / "synth", "--quiet")

    def train(seed):
        return ("train", "--data", data, "--config", "bogota", "--outcome",
                "hospitalization_12m", *CUT_OFFS, "--seed", seed, "--out", root / "model",
                "--quiet")  # fmt: skip

    def score(as_of):
        return ("score", "--model", bundle, "--data", data, "--as-of", as_of,
                "--out", root / "scores.parquet", "--quiet")  # fmt: skip

    def explain(as_of):
        return ("explain", "--model", bundle, "--data", data, "--as-of", as_of,
                "--out", root / "contributions.parquet", "--quiet")  # fmt: skip

    def plan(drivers):
        extra = ("--contributions", contributions) if drivers else ()
        return ("plan", "--scores", scores, "--data", data, "--config", "bogota",
                "--out", root / "plans", "--quiet", *extra)  # fmt: skip

    return {
        "synth": (synth(1), synth(2), root / "synth"),
        "train": (train(1), train(2), root / "model"),
        "score": (score("2024-06-01"), score("2025-01-01"), root / "scores.parquet"),
        "explain": (explain("2024-06-01"), explain("2025-01-01"), root / "contributions.parquet"),
        "plan": (plan(False), plan(True), root / "plans"),
    }


def cli(args) -> list[str]:
    return [sys.executable, "-m", "masrisk", *map(str, args)]


@pytest.mark.slow
def test_a_kill_at_twenty_moments_leaves_the_old_output_or_the_new_and_no_temporary(
    data, bundle, scores, tmp_path
):
    contributions = tmp_path / "drivers.parquet"
    ok(run("explain", "--model", bundle, "--data", data, "--as-of", "2025-01-01",
           "--out", contributions, "--quiet"))  # fmt: skip
    rng = random.Random(20)
    for name, (old, new, out) in commands(data, bundle, scores, contributions, tmp_path).items():
        ok(run(*old))
        before = digest(out)
        started = time.monotonic()
        ok(run(*new, "--overwrite"))
        duration = time.monotonic() - started
        after = digest(out)
        assert before != after, name
        ok(run(*old, "--overwrite"))
        for _ in range(4):
            process = subprocess.Popen(cli([*new, "--overwrite"]), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(rng.uniform(0.2, duration))
            process.kill()
            process.wait()
            assert digest(out) in (before, after), name
        ok(run(*new, "--overwrite"))
        assert digest(out) == after, name
        leftovers = [p.name for p in out.parent.iterdir() if ".masrisk-tmp-" in p.name]
        assert leftovers == [], (name, leftovers)
