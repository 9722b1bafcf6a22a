"""A real PostgreSQL server for the tests: the one `.ci/run` started, or a throwaway cluster.

`TEST_POSTGRES_URL` (set by `.ci/run`) names a server and a database the tests may create
databases from. Without it, `PostgresServer.start()` runs Debian's `initdb` and `pg_ctl` in a
temporary folder on a free loopback port (as the `postgres` user when the tests run as root,
since PostgreSQL refuses to run as root), and `stop()` removes it. Each test gets a database of
its own (`create_database`), so tests never see each other's rows.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

__all__ = ["PostgresServer", "postgres_binaries"]


def postgres_binaries() -> Path | None:
    """The folder holding `initdb` and `pg_ctl` (PATH first, then Debian's layout), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A PostgreSQL server the tests own (or were given); `admin_url` reaches its `postgres`
    database as a superuser."""

    def __init__(self, admin_url: str, folder: Path | None = None, bin_dir: Path | None = None):
        self.admin_url = admin_url
        self._folder = folder
        self._bin = bin_dir

    @classmethod
    def start(cls) -> PostgresServer:
        """Use `TEST_POSTGRES_URL`, or start a cluster of our own.

        Raises:
            RuntimeError: no PostgreSQL binaries, or the cluster did not start (with its log).
        """
        given = os.environ.get("TEST_POSTGRES_URL")
        if given:
            return cls(given)
        bin_dir = postgres_binaries()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (no initdb); .ci/run installs it")
        folder = Path(tempfile.mkdtemp(prefix="seam-bot-pg-"))
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        data, port = folder / "data", _free_port()
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = subprocess.run(
            [
                *as_user,
                *(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "30"),
                *("-l", str(folder / "server.log"), "start"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if started.returncode != 0:
            log = (folder / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")
        return cls(f"postgresql://postgres@127.0.0.1:{port}/postgres", folder, bin_dir)

    async def create_database(self) -> str:
        """A new, empty database on this server; returns its URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        """Stop and remove a cluster this object started (a given server is left alone)."""
        if self._folder is None or self._bin is None:
            return
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        with contextlib.suppress(Exception):
            subprocess.run(
                [
                    *as_user,
                    *(str(self._bin / "pg_ctl"), "-D", str(self._folder / "data")),
                    *("-m", "immediate", "-w", "stop"),
                ],
                capture_output=True,
                timeout=30,
                check=False,
            )
        time.sleep(0.1)
        shutil.rmtree(self._folder, ignore_errors=True)
