"""A bundle's files on disk, read as data from an untrusted source (see :mod:`masrisk.bundle`).

:func:`snapshot` reads every file of the manifest once, checked; :func:`read_json` parses one.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydantic

from masrisk.exceptions import BundleError
from masrisk.models.facts import describe_problems
from masrisk.outputs import MARKER

__all__ = ["BOOSTER", "FILES", "MANIFEST", "MAX_BYTES", "read_json", "snapshot", "text"]

MANIFEST = "manifest.json"
#: The files a bundle may hold besides its manifest; the booster is absent for the baseline.
FILES = frozenset(
    {"metadata.json", "calibrator.json", "baseline.json", "report.json", "model_card.md"}
)
BOOSTER = "booster.txt"
#: The most bytes a bundle's file may hold, by suffix; a larger one is refused unread.
MAX_BYTES: dict[str, int] = {".json": 16 * 2**20, ".md": 16 * 2**20, ".txt": 2**30}
#: Reads of a bundle that another process replaced meanwhile, before giving up.
_ATTEMPTS = 10
_SHA256 = re.compile(r"[0-9a-f]{64}")


class _Changed(BundleError):
    """A file missing or changed: final, unless another process replaced the bundle meanwhile."""


def snapshot(directory: Path) -> dict[str, bytes]:
    """Read every file of the manifest once, checked; again if the bundle was replaced meanwhile.

    The directory is opened once and its files read through it, so a bundle swapped or
    renamed over while it is read is read whole from the tree that was opened, or fails as
    :class:`_Changed` and is read again from the new one.
    """
    for attempt in range(_ATTEMPTS):
        try:
            handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            if attempt == 0:  # later, the directory may be between two renames
                raise BundleError(f"no bundle directory at {directory}") from None
            time.sleep(0.01 * attempt)
            continue
        try:
            return _read_files(directory, handle)
        except _Changed as exc:
            if attempt + 1 == _ATTEMPTS or _still_there(directory, handle):
                raise BundleError(str(exc)) from None
        finally:
            os.close(handle)
        time.sleep(0.01 * attempt)
    raise BundleError(f"no bundle directory at {directory}")  # gone while it was read


def _still_there(directory: Path, handle: int) -> bool:
    """Whether ``directory`` is still the directory opened as ``handle``."""
    try:
        now, opened = os.stat(directory), os.fstat(handle)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino)


def _read_files(directory: Path, handle: int) -> dict[str, bytes]:
    """Read the manifest's files of the directory opened as ``handle``, checked, by name."""
    try:
        sums = _manifest(directory, _read_at(directory, handle, MANIFEST))
    except _Changed:
        message = f"{directory}: {MANIFEST} is missing; this is not a masrisk bundle"
        raise _Changed(message) from None
    for name in sorted(set(os.listdir(handle)) - {MANIFEST, MARKER} - set(sums)):
        raise BundleError(f"{directory / name}: file not in the manifest; the bundle was altered")
    for name in sorted(FILES - {"model_card.md"} - set(sums)):
        raise BundleError(f"{directory / name}: missing from the bundle's manifest")
    files = {}
    for name, expected in sorted(sums.items()):
        files[name] = _read_at(directory, handle, name)
        if hashlib.sha256(files[name]).hexdigest() != expected:
            raise _Changed(
                f"{directory / name}: checksum mismatch; the file was changed after the bundle "
                "was written"
            )
    return files


def _manifest(directory: Path, raw: bytes) -> dict[str, str]:
    """Return the manifest's checksums by file name: plain names of bundle files only."""
    file = directory / MANIFEST
    sums = read_json(file, raw, lambda data: data["sha256"])
    if not isinstance(sums, dict):
        raise BundleError(f"{file}: unreadable manifest (sha256 is not a mapping)")
    for name, expected in sums.items():
        if name in ("", ".", "..") or name != os.path.basename(name) or "\0" in name:
            raise BundleError(f"{file}: entry {name!r} is not a plain file name inside the bundle")
        if name not in FILES | {BOOSTER}:
            raise BundleError(f"{file}: entry {name!r} is not a file of a masrisk bundle")
        if not (isinstance(expected, str) and _SHA256.fullmatch(expected)):
            raise BundleError(f"{file}: entry {name!r} has no SHA-256 ({expected!r:.80})")
    return sums


def _read_at(directory: Path, handle: int, name: str) -> bytes:
    """Read the plain file ``name`` of the directory opened as ``handle``, its size capped."""
    file = directory / name
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=handle)
    except FileNotFoundError:
        raise _Changed(f"{file}: missing from the bundle") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BundleError(f"{file}: a symbolic link; a bundle holds plain files only") from None
        raise BundleError(f"{file}: cannot be read ({exc.strerror})") from None
    limit = MAX_BYTES[Path(name).suffix]
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BundleError(f"{file}: not a regular file; a bundle holds plain files only")
        data = stream.read(limit + 1) if info.st_size <= limit else b""
    if info.st_size > limit or len(data) > limit:
        raise BundleError(
            f"{file}: larger than the {limit:,} bytes a bundle's {Path(name).suffix} file may hold"
        )
    return data


def text(file: Path, data: bytes) -> str:
    """Decode a file of the bundle as UTF-8, or raise a BundleError naming it."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{file}: not UTF-8 text ({exc})") from None


def _finite_float(text: str) -> float:
    """Parse a JSON number, or a constant (NaN, Infinity), refusing one that is not finite."""
    number = float(text)
    if not np.isfinite(number):
        raise ValueError(f"{text}: numbers must be finite")
    return number


def read_json(file: Path, data: bytes, parse: Callable[[Any], Any]) -> Any:
    """Parse a JSON file of the bundle, or raise a BundleError naming it and the field."""
    try:
        document = json.loads(
            text(file, data), parse_float=_finite_float, parse_constant=_finite_float
        )
    except RecursionError:
        raise BundleError(f"{file}: unreadable (JSON nested too deeply)") from None
    except ValueError as exc:
        raise BundleError(f"{file}: unreadable ({exc})") from None
    try:
        return parse(document)
    except pydantic.ValidationError as exc:
        raise BundleError(f"{file}: {describe_problems(exc)}") from None
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise BundleError(f"{file}: unreadable ({type(exc).__name__}: {exc})") from None
