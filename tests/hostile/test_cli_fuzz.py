"""Every command, every option, random values: the only exit codes are 0 and 2, never a traceback.

The command tree is read from the CLI itself, so a new option is fuzzed without a change here.
Values are drawn by the option's type: paths from a few real and unreal ones (all inside the
test's directory), integers from the whole range, strings from random text and near-dates.
Options that would reach another machine (a database URL, a Dask scheduler) get only local or
junk values: a test never sends traffic off this machine.

The default run draws, for each command, three command lines that give every option and three
that give a random few; the ``slow`` run sixty of the latter. On the code of issue 15 the
default run fails: a date with an offset or ``2023-02-30`` was a traceback and exit 1.
"""

from __future__ import annotations

import enum
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from masrisk.cli import app

ROOT = typer.main.get_command(app)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NEAR_DATES = st.dates().map(str) | st.sampled_from(
    ["2025-13-01", "2023-02-30", "tomorrow", "01/02/2025", "2025-01-01T00:00:00+01:00", ""]
)
NUMBERS = st.integers(-(10**13), 10**13).map(str) | st.sampled_from(["nan", "1e400", "-0"])
#: Sizes that make a run long: a value they accept is replaced by a cheap one, others kept.
CHEAP = {"persons": 1000, "chunk_size": 100_000, "workers": 1, "partitions": 2}
#: Options that name a remote service: junk only, so nothing is ever contacted.
REMOTE = {"scheduler", "source"}


def commands(group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = dict(commands(ROOT))


def kind_of(param) -> str:
    """The option's Python type, read from typer's descriptor or click's type."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if annotation is None:  # typer on the real click
        name = type(param.type).__name__.lower()
        return {"choice": "choice", "path": "path", "intparamtype": "int"}.get(name, "str")
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "choice"
    return {Path: "path", int: "int", float: "int", bool: "bool"}.get(annotation, "str")


def choices(param) -> list[str]:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if annotation is not None:
        return [member.value for member in annotation]
    return list(param.type.choices)


def value(param, paths: list[str]) -> st.SearchStrategy[str]:
    kind = kind_of(param)
    if param.name in REMOTE:
        return st.sampled_from(["not a url", "::", *paths])
    if kind == "choice":
        return st.sampled_from([*choices(param), "junk"])
    if kind == "path":
        return st.sampled_from(paths)
    if kind == "int" and param.name in CHEAP:
        cheap = CHEAP[param.name]
        return st.integers(-(10**13), 10**13).map(
            lambda n: str(cheap if 1 <= n <= 10**8 else n)
        ) | st.sampled_from(["nan", "1e400"])  # fmt: skip
    if kind == "int":
        return NUMBERS
    if "as_of" in (param.name or "") or "date" in (param.name or ""):
        return NEAR_DATES
    return NEAR_DATES | NUMBERS | TEXT | st.sampled_from(["bogota", "mexico"])


@st.composite
def invocations(draw, command: tuple[str, ...], paths: list[str], every_option: bool):
    """Draw a command line: every option of the command given, or each optional one or not."""
    args = list(command)
    for param in COMMANDS[command].params:
        if param.name in ("help", "version"):
            continue
        option = param.opts[0].startswith("-")
        if option and param.is_flag:
            if param.name == "quiet" or every_option or draw(st.booleans()):
                args.append(param.opts[0])
            continue
        # An output left to its default would land in the working directory.
        given = param.required or param.name == "out" or every_option
        if not given and not draw(st.booleans()):
            continue
        # The demo with a new output would run the whole pipeline for every example.
        usable = [p for p in paths if command != ("demo",) or Path(p).exists()]
        drawn = draw(value(param, usable))
        if param.name == "engine":
            drawn = draw(st.sampled_from(["pandas", "junk"]))  # no cluster per example
        args += [param.opts[0], drawn] if option else [drawn]
    return args


@pytest.fixture(scope="module")
def paths(data, scores, bundle, tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("fuzz")
    junk = root / "junk.csv"
    junk.write_bytes(b"\x00\xff,\n\x01")
    return [str(p) for p in (data, scores, bundle, junk, root / "missing", root / "new.parquet",
                             data / "persons.parquet", root)]  # fmt: skip


def fuzz(command, paths: list[str], out: Path, *, every_option: bool, examples: int) -> None:
    """Run ``examples`` drawn command lines in this process: exit 0 or 2, never a traceback."""
    runner = CliRunner()

    @settings(max_examples=examples, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(args=invocations(command, [*paths, str(out)], every_option))
    def check(args):
        result = runner.invoke(app, args)
        crash = result.exception if not isinstance(result.exception, SystemExit) else None
        assert crash is None, (args, repr(crash))
        assert result.exit_code in (0, 2), (args, result.exit_code, result.output)
        assert "Traceback" not in result.output, (args, result.output)

    check()


@pytest.mark.parametrize("every_option", [True, False], ids=["every option", "some options"])
@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_random_options_give_exit_0_or_2_and_no_traceback(command, every_option, paths, tmp_path):
    fuzz(command, paths, tmp_path / "out", every_option=every_option, examples=3)


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_many_random_options_give_exit_0_or_2_and_no_traceback(command, paths, tmp_path):
    fuzz(command, paths, tmp_path / "out", every_option=False, examples=60)
