"""PostgreSQL under the same `Store`: a connection that speaks the subset of aiosqlite it uses.

Why one `Store` over two drivers instead of two stores: every rule that must hold across
processes is already written as one SQL statement that the database makes atomic (`INSERT ...
ON CONFLICT ... DO UPDATE ... WHERE`, conditional `UPDATE ... WHERE state = 'running'` read
through its row count), and both SQLite and PostgreSQL run that SQL unchanged. Keeping one text
of it means the two engines cannot drift apart; what differs is only how a statement reaches
the server, and that is this module:

* `?` placeholders become `$1, $2, …`; a `bool` parameter is sent as `0`/`1` like SQLite's;
* aiosqlite's implicit transactions are kept: the first write opens one, `commit` ends it;
* `lastrowid` comes from `RETURNING` on the tables with an identity key;
* the schema version (`PRAGMA user_version` on SQLite) lives in the table
  `bot_schema_version`; `BEGIN IMMEDIATE` (one migrating process at a time) takes a
  transaction-scoped advisory lock; `INTEGER PRIMARY KEY AUTOINCREMENT` becomes an identity
  column; SQLite's other pragmas are no-ops here;
* one connection, one statement at a time (like aiosqlite's one thread), so what a task reads
  inside another task's open transaction is what SQLite would show.

The server's clock (`server_now`) times leases, so processes on several hosts agree on when a
lease expired (PostgreSQL manual, "Date/Time Functions": `now()` is the transaction's start).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import asyncpg

__all__ = ["PgConnection", "PgCursor"]

#: Tables whose primary key the database assigns, and that key (for `lastrowid`).
_IDENTITY_KEYS = {
    "audit": "id",
    "scans": "scan_id",
    "alert_digests": "digest_id",
    "remedy_journal": "journal_id",
}
_INSERT_INTO = re.compile(r"^\s*INSERT\s+INTO\s+([a-z_]+)", re.IGNORECASE)
_VERSION_SET = re.compile(r"^\s*PRAGMA\s+user_version\s*=\s*(\d+)\s*$", re.IGNORECASE)
_STATUS_COUNT = re.compile(r"(\d+)\s*$")
#: The advisory lock that lets one process at a time migrate (any constant of our own).
_MIGRATION_LOCK = 7_262_026


def _placeholders(sql: str) -> str:
    """`?` -> `$1`, `$2`, … (the Store's SQL has no `?` inside string literals)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _param(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


class PgCursor:
    """What aiosqlite's cursor offers the Store: rows, `rowcount`, `lastrowid`."""

    def __init__(
        self, rows: Sequence[asyncpg.Record] = (), rowcount: int = -1, lastrowid: int | None = None
    ) -> None:
        self._rows = list(rows)
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchall(self) -> list[asyncpg.Record]:
        """Every row of the result."""
        return list(self._rows)

    async def fetchone(self) -> asyncpg.Record | None:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    async def close(self) -> None:
        """Nothing to release (the rows are already read)."""


class _Pending:
    """`await conn.execute(...)` and `async with conn.execute(...) as cursor` both work."""

    def __init__(self, conn: PgConnection, sql: str, params: Iterable[Any]) -> None:
        self._run = conn._execute(sql, tuple(params))
        self._cursor: PgCursor | None = None

    def __await__(self) -> Any:
        return self._run.__await__()

    async def __aenter__(self) -> PgCursor:
        self._cursor = await self._run
        return self._cursor

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class PgConnection:
    """An asyncpg connection wearing the part of `aiosqlite.Connection` the Store uses.

    Open it with `PgConnection.connect(url)`. Errors are asyncpg's (`asyncpg.PostgresError`,
    `OSError` for a server that cannot be reached); the Store turns them into `StoreError`.
    """

    row_factory: Any = None  # set by the Store for aiosqlite; rows here are always Records

    def __init__(self, raw: asyncpg.Connection) -> None:
        self._raw = raw
        self._tx: Any = None
        self._lock = asyncio.Lock()
        self._advisory: dict[str, str] = {}  # lock name -> holder, held by this session

    @classmethod
    async def connect(cls, url: str, *, connect_timeout: float = 10.0) -> PgConnection:
        """Connect to `url` and make sure the schema-version table exists.

        Raises:
            OSError, asyncpg.PostgresError, TimeoutError: the server cannot be used.
        """
        raw = await asyncpg.connect(url, timeout=connect_timeout)
        try:
            # One process at a time (two starting at once would race on CREATE TABLE).
            async with raw.transaction():
                await raw.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
                await raw.execute(
                    "CREATE TABLE IF NOT EXISTS bot_schema_version (id INTEGER PRIMARY KEY"
                    " CHECK (id = 1), version INTEGER NOT NULL)"
                )
                await raw.execute(
                    "INSERT INTO bot_schema_version (id, version) VALUES (1, 0)"
                    " ON CONFLICT (id) DO NOTHING"
                )
        except BaseException:
            await raw.close()
            raise
        return cls(raw)

    # ------------------------------------------------------------------ aiosqlite's API

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Pending:
        """Run one statement (see the module docstring for what is translated)."""
        return _Pending(self, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> PgCursor:
        """Run one statement once per row of parameters, inside the current transaction."""
        batch = [tuple(_param(v) for v in row) for row in rows]
        async with self._lock:
            await self._begin()
            if batch:
                await self._raw.executemany(_placeholders(sql), batch)
        return PgCursor(rowcount=len(batch))

    async def commit(self) -> None:
        """End the open transaction, if any, keeping its writes."""
        async with self._lock:
            if self._tx is not None:
                tx, self._tx = self._tx, None
                await tx.commit()

    async def rollback(self) -> None:
        """End the open transaction, if any, dropping its writes."""
        async with self._lock:
            if self._tx is not None:
                tx, self._tx = self._tx, None
                await tx.rollback()

    async def close(self) -> None:
        """Close the connection (an open transaction is rolled back by the server)."""
        await self._raw.close()

    async def try_advisory_lock(self, name: str, holder: str) -> bool:
        """Take the session advisory lock `name` for `holder` (True), or find it held by another
        session or another holder here (False). Held until `advisory_unlock` or until this
        connection ends (the server releases it when a killed process's connection drops)."""
        if name in self._advisory:
            return self._advisory[name] == holder
        async with self._lock:
            got = await self._raw.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", name)
        if got:
            self._advisory[name] = holder
        return bool(got)

    def advisory_holder(self, name: str) -> str | None:
        """Who holds the advisory lock `name` in this session, if this session holds it."""
        return self._advisory.get(name)

    def advisory_transfer(self, name: str, holder: str) -> None:
        """Hand an advisory lock this session holds to another holder of this process (its
        lease expired; the lock itself stays with the session)."""
        if name in self._advisory:
            self._advisory[name] = holder

    async def advisory_unlock(self, name: str, holder: str) -> None:
        """Give the advisory lock `name` up, if `holder` holds it here."""
        if self._advisory.get(name) != holder:
            return
        del self._advisory[name]
        async with self._lock:
            await self._raw.fetchval("SELECT pg_advisory_unlock(hashtext($1))", name)

    async def server_now(self) -> datetime:
        """The database server's clock (aware UTC)."""
        async with self._lock:
            value = await self._raw.fetchval("SELECT now()")
        assert isinstance(value, datetime)
        return value

    # ------------------------------------------------------------------ internals

    async def _begin(self) -> None:
        if self._tx is None:
            self._tx = self._raw.transaction()
            await self._tx.start()

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> PgCursor:
        text = sql.strip()
        head = text.split(None, 1)[0].upper() if text else ""
        async with self._lock:
            if head == "PRAGMA":
                return await self._pragma(text)
            if head == "BEGIN":  # BEGIN IMMEDIATE: one writer (here: one migrating process)
                await self._begin()
                await self._raw.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
                return PgCursor()
            text = text.replace(
                "INTEGER PRIMARY KEY AUTOINCREMENT",
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            )
            args = [_param(v) for v in params]
            query = _placeholders(text)
            if head in ("SELECT", "WITH"):
                rows = await self._raw.fetch(query, *args)
                return PgCursor(rows, rowcount=len(rows))
            await self._begin()
            match = _INSERT_INTO.match(text)
            key = _IDENTITY_KEYS.get(match.group(1).lower()) if match else None
            if key is not None and "RETURNING" not in text.upper():
                rows = await self._raw.fetch(f"{query} RETURNING {key}", *args)
                return PgCursor(rows, len(rows), int(rows[0][0]) if rows else None)
            status = await self._raw.execute(query, *args)
            counted = _STATUS_COUNT.search(status or "")
            return PgCursor(rowcount=int(counted.group(1)) if counted else -1)

    async def _pragma(self, text: str) -> PgCursor:
        setting = _VERSION_SET.match(text)
        if setting:
            await self._begin()
            await self._raw.execute(
                "UPDATE bot_schema_version SET version = $1 WHERE id = 1", int(setting.group(1))
            )
            return PgCursor(rowcount=1)
        if re.match(r"^\s*PRAGMA\s+user_version\s*$", text, re.IGNORECASE):
            rows = await self._raw.fetch("SELECT version FROM bot_schema_version WHERE id = 1")
            return PgCursor(rows, rowcount=len(rows))
        return PgCursor()  # journal_mode, synchronous, busy_timeout, foreign_keys: SQLite's own
