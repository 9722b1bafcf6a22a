"""Which database engine the tests' bots and stores use, and a database for each test.

`TEST_DATABASE=postgres` (the second pass of `.ci/run`) runs every scenario against a real
PostgreSQL: `database(path)` then hands out a fresh PostgreSQL database per path (the same one
for the same path, so a test that reopens its store sees its rows). Unset (`sqlite`, the
default), `database(path)` is the SQLite file `path` itself. Tests that are about SQLite's own
files (WAL, legacy files, a full or read-only disk) are marked `sqlite_only`.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer

__all__ = ["database", "database_url", "engine", "postgres_server", "sqlite_only"]

_server: PostgresServer | None = None
_urls: dict[str, str] = {}

#: Skips a test when the suite runs against PostgreSQL (it is about SQLite's own files).
sqlite_only = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE", "sqlite") == "postgres",
    reason="about SQLite's own files",
)


def engine() -> str:
    """`sqlite` (default) or `postgres`, from `TEST_DATABASE`."""
    return os.environ.get("TEST_DATABASE", "sqlite")


def postgres_server() -> PostgresServer:
    """The suite's PostgreSQL server, started on first use and stopped at exit.

    Raises:
        RuntimeError: PostgreSQL cannot be started here (the caller skips, or fails in CI).
    """
    global _server
    if _server is None:
        _server = PostgresServer.start()
        atexit.register(_server.stop)
    return _server


async def database(path: Path) -> str | Path:
    """Where a test's store lives: `path` (SQLite), or the PostgreSQL database for it."""
    if engine() != "postgres":
        return path
    key = str(path)
    if key not in _urls:
        _urls[key] = await postgres_server().create_database()
    return _urls[key]


async def database_url(path: Path) -> str | None:
    """The `DATABASE_URL` standing in for the SQLite file `path` when the suite runs on
    PostgreSQL (None on SQLite): pass it with `database_path=path` to `load_settings`."""
    target = await database(path)
    return target if isinstance(target, str) else None
