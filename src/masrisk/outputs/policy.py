"""Write every output one way: refused if it exists, replaced only when masrisk wrote it, atomic.

The output policy of every command and Python writer:

- an output path that exists is refused unless ``overwrite=True`` (``--overwrite``); an
  empty directory counts as new;
- with ``overwrite``, only an output that masrisk itself wrote is replaced: a directory holding
  the marker file :data:`MARKER` (or a bundle's manifest), a Parquet file whose schema
  metadata names masrisk, a CSV file whose header is the one being written. Input data, a
  folder holding other things, a symbolic link or a file of another kind are never replaced;
- the output is written beside its target (``.<name>.masrisk-tmp-<pid>-<random>``) and
  appears in one step (:func:`replace_directory`): a reader sees the old output or the new one;
- temporary files left by a run that died are removed by the next run that writes there.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from masrisk.exceptions import OutputExistsError

__all__ = [
    "MARKER",
    "PARQUET_KEY",
    "OutputExistsError",
    "check_output",
    "clean_stale",
    "output_directory",
    "output_file",
    "replace_directory",
    "replace_file",
    "share",
]

#: The file that marks a directory as masrisk's own output (JSON: what it is, which version).
MARKER = ".masrisk-output.json"
#: The file that marks a directory of each kind written by masrisk 0.1, before the marker.
_LEGACY_MARKERS = {"bundle": "manifest.json"}
#: What a Parquet file masrisk wrote carries in its schema metadata.
PARQUET_KEY = b"masrisk"
_TEMP_NAME = re.compile(r"\.(?P<name>.+)\.masrisk-tmp-(?P<pid>\d+)-[^/]*")


def share(path: str | os.PathLike) -> None:
    """Give a file or folder made private by ``mkstemp``/``mkdtemp`` the umask's permissions.

    Results are meant to be shared as any file the user writes would be.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if Path(path).is_dir() else 0o666) & ~umask)


def check_output(
    path: str | os.PathLike,
    *,
    overwrite: bool,
    kind: str,
    header: tuple[str, ...] | None = None,
) -> None:
    """Refuse an output path that exists, unless ``overwrite`` and masrisk wrote it.

    Parameters
    ----------
    path : path-like
        Where the output goes: a directory, or a ``.parquet``/``.csv`` file.
    overwrite : bool
        Whether an existing output of masrisk's may be replaced.
    kind : str
        What is written (``"bundle"``, ``"scores"``, ...): another kind is never replaced.
    header : tuple of str, optional
        The columns of the CSV table about to be written: an existing CSV file is masrisk's
        when its header is the same. Without it, a CSV file passes this check and is checked
        by :func:`output_file` against the header it writes, before replacing anything.

    Raises
    ------
    OutputExistsError
        Naming the path and why it is not replaced.
    """
    target = Path(path)
    if not target.exists() and not target.is_symlink():
        return
    if target.is_dir() and not target.is_symlink() and next(target.iterdir(), None) is None:
        return  # an empty directory: nothing to lose, filled as if new
    if not overwrite:
        raise OutputExistsError(
            f"{target} exists; masrisk does not replace it unless asked (--overwrite, or "
            "overwrite=True), and then only if masrisk wrote it"
        )
    reason = _not_ours(target, kind, header)
    if reason:
        raise OutputExistsError(f"{target} is not replaced: {reason}; choose another output path")


def _not_ours(target: Path, kind: str, header: tuple[str, ...] | None) -> str:
    """Why ``target`` is not an output of this kind masrisk wrote, or ``""`` when it is."""
    if target.is_symlink():
        return "it is a symbolic link"
    if target.is_dir():
        return _not_our_directory(target, kind)
    if not target.is_file():
        return "it is not a regular file"
    if target.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            metadata = pq.read_schema(target).metadata or {}
        except Exception:  # noqa: BLE001 - unreadable as Parquet: not ours either way
            metadata = {}
        written = metadata.get(PARQUET_KEY)
        if written is None:
            return "it is a Parquet file masrisk did not write"
        return "" if written == kind.encode() else f"it is masrisk's {written.decode()!r} table"
    if target.suffix == ".csv":
        if header is None or _csv_header(target) == ",".join(header):
            return ""  # without the header, checked again when the table is written
        return "it is a CSV file with other columns than the table being written"
    return "it is a file masrisk did not write"


def _csv_header(file: Path) -> str:
    with open(file, encoding="utf-8", errors="replace") as handle:
        return handle.readline().rstrip("\r\n")


def _not_our_directory(target: Path, kind: str) -> str:
    marker = target / MARKER
    if marker.is_file() and not marker.is_symlink():
        try:
            written = json.loads(marker.read_text(encoding="utf-8"))["kind"]
        except (ValueError, KeyError, TypeError, OSError):
            return f"its {MARKER} is unreadable"
        return "" if written == kind else f"it is masrisk's {written!r} output, not a {kind}"
    if kind in _LEGACY_MARKERS and (target / _LEGACY_MARKERS[kind]).is_file():
        return ""
    return f"it is a directory masrisk did not write (no {MARKER})"


@contextlib.contextmanager
def output_directory(
    path: str | os.PathLike, *, kind: str, overwrite: bool = False
) -> Iterator[Path]:
    """Write a directory beside ``path`` and, when the block ends without error, put it there.

    ``kind`` (``"bundle"``, ``"plans"``, ...) is recorded in its :data:`MARKER`; ``overwrite``
    replaces an output of masrisk's of that kind (:func:`check_output`).

    Yields
    ------
    pathlib.Path
        The staging directory to fill.

    Raises
    ------
    OutputExistsError
        As :func:`check_output`.
    """
    target = Path(path)
    staging = Path(tempfile.mkdtemp(**_staging(target, overwrite=overwrite, kind=kind)))
    try:
        yield staging
        from masrisk._version import __version__

        marker = {"kind": kind, "masrisk": __version__}
        (staging / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        share(staging)
        check_output(target, overwrite=overwrite, kind=kind)  # again: another may have written
        replace_directory(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when all went well


@contextlib.contextmanager
def output_file(
    path: str | os.PathLike,
    *,
    kind: str,
    overwrite: bool = False,
    header: tuple[str, ...] | None = None,
) -> Iterator[Path]:
    """Write a file beside ``path`` and, when the block ends without error, rename it there.

    ``kind`` and ``header`` are as :func:`check_output` takes them.

    Yields
    ------
    pathlib.Path
        The temporary file to write (it exists, empty).
    """
    target = Path(path)
    _staging(target, overwrite=overwrite, kind=kind, header=header)
    with replace_file(target) as temporary:
        yield temporary
        if header is None and target.suffix == ".csv":
            header = tuple(_csv_header(temporary).split(","))
        check_output(target, overwrite=overwrite, kind=kind, header=header)


@contextlib.contextmanager
def replace_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file beside ``path``; rename it there when the block ends without error.

    Unlike :func:`output_file`, nothing is checked. The file gets the umask's permissions.
    """
    target = Path(path)
    handle, name = tempfile.mkstemp(prefix=_temp_prefix(target), dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        share(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def replace_directory(staging: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move a finished ``staging`` directory to ``target``, replacing it in one step.

    A new ``target`` is a rename; an existing one is swapped with ``staging`` by Linux's
    ``renameat2(RENAME_EXCHANGE)`` and the old tree removed. Elsewhere the old one is moved to
    a temporary name first (a crash between the two renames leaves it there, and the next
    run's :func:`clean_stale` puts it back).
    """
    staging, target = Path(staging), Path(target)
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)
        return
    backup = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), dir=target.parent))
    os.replace(target, backup / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(backup / target.name, target)
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


def clean_stale(target: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of ``target`` left by runs that are no longer alive.

    An old output left by an interrupted two-rename swap is put back at a missing ``target``;
    temporaries of live processes stay. Returns what was removed.
    """
    target = Path(target)
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in target.parent.iterdir():
            match = _TEMP_NAME.fullmatch(entry.name)
            if not match or match["name"] != target.name or _alive(int(match["pid"])):
                continue
            kept = entry / target.name
            if not target.exists() and kept.is_dir():
                os.rename(kept, target)  # the old output of a swap cut short
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _staging(target: Path, **check: Any) -> dict[str, Any]:
    """Check the output, clean its stale temporaries; the temporary's ``prefix`` and ``dir``."""
    check_output(target, **check)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    return {"prefix": _temp_prefix(target), "dir": target.parent}


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.masrisk-tmp-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically with Linux's ``renameat2``; ``False`` where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p] * 2 + [ctypes.c_uint]
    done = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    if done == 0:
        return True
    error = ctypes.get_errno()
    if error in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this file system cannot swap
        return False
    raise OSError(error, os.strerror(error), str(second))
