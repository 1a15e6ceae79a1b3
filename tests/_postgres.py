"""A throw-away PostgreSQL server for tests: its own cluster, on a Unix socket only.

``postgres_server()`` finds Debian's server binaries (``pg_config --bindir`` or
``/usr/lib/postgresql/*/bin``), runs ``initdb`` in a temporary directory, starts the server
with ``listen_addresses=''`` (no TCP port: nothing outside this machine can reach it), and
yields a SQLAlchemy URL for psycopg 3. PostgreSQL refuses to run as root, so as root the
cluster belongs to the ``postgres`` system user. The test that uses it is skipped only when
the server binaries are absent (``.ci/run`` installs them).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "masrisk"
DATABASE = "omop"


def server_binaries() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        candidates.append(Path(result.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return command if owner is None else ["runuser", "-u", owner, "--", *command]


def _owner() -> str | None:
    """The system user to run the server as: none needed unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    pytest.fail("running as root, and no 'postgres' or 'nobody' user to run PostgreSQL as")


#: The longest parent directory of a cluster: the server's Unix socket lives in the cluster's
#: directory, and a socket path holds at most 107 bytes.
_MAX_PARENT = 64


def _cluster_parent(owner: str | None) -> Path:
    """A directory to hold the cluster: the temporary directory, or a system one.

    The temporary directory (``TMPDIR``) will not do when its path is too long for a socket
    or when the server's user cannot enter it (a mode-0700 directory of root's); then the
    first of ``/tmp``, ``/var/tmp`` and ``/dev/shm`` that suits is used.
    """
    for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        path = Path(candidate)
        if len(str(path)) <= _MAX_PARENT and path.is_dir() and _enterable(path, owner):
            return path
    pytest.fail(
        f"no directory for a PostgreSQL cluster: {tempfile.gettempdir()} is too long or closed "
        f"to {owner or 'this user'}, and so are /tmp, /var/tmp and /dev/shm"
    )


def _enterable(path: Path, owner: str | None) -> bool:
    """Whether ``owner`` (this user when ``None``) can reach ``path`` through its parents."""
    if owner is None:
        return os.access(path, os.W_OK | os.X_OK)
    command = _as_owner(["test", "-x", str(path)], owner)
    return subprocess.run(command, capture_output=True, check=False, timeout=30).returncode == 0


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a fresh cluster; yield ``postgresql+psycopg://masrisk@/omop?host=<socket dir>``."""
    binaries = server_binaries()
    if binaries is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
            "'postgresql' package (.ci/run does)"
        )
    owner = _owner()
    root = Path(tempfile.mkdtemp(prefix="masrisk-pg-", dir=_cluster_parent(owner)))
    data, log = root / "data", root / "server.log"
    pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w"]
    try:
        if owner is not None:
            shutil.chown(root, user=owner)
        _start(binaries, data, pg_ctl, root, owner)
        yield f"postgresql+psycopg://{USER}@/{DATABASE}?host={root}"
    finally:
        subprocess.run(
            _as_owner([*pg_ctl, "-m", "fast", "stop"], owner), capture_output=True, timeout=60
        )
        shutil.rmtree(root, ignore_errors=True)


def _start(binaries: Path, data: Path, pg_ctl: list[str], root: Path, owner: str | None) -> None:
    import psycopg

    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8"]
    options = f"-k {root} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
    try:
        for command in ([*initdb, "--no-sync"], [*pg_ctl, "-o", options, "start"]):
            subprocess.run(
                _as_owner(command, owner), check=True, capture_output=True, text=True, timeout=60
            )
    except subprocess.CalledProcessError as exc:
        log = data.parent / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
        pytest.fail(f"PostgreSQL did not start: {exc.stderr}{detail}")
    with psycopg.connect(host=str(root), user=USER, dbname="postgres", autocommit=True) as con:
        con.execute(f"CREATE DATABASE {DATABASE}")
