"""Persistent state in one SQLite file through aiosqlite: alerts, scans, audit, remedy claims.

One `Store` owns one connection in WAL mode; every write goes through `_write()`, which holds
one asyncio lock and commits, so the scanner and concurrent Slack handlers never hit
"database is locked" (sqlite.org/wal.html). The schema is versioned with `PRAGMA user_version`.
Keep callers on these methods (not SQL) so the backend can later move to PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    access_code_id TEXT,
    device_id TEXT,
    action_attempt_id TEXT,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_code ON audit(access_code_id);
CREATE TABLE IF NOT EXISTS remedy_claims (
    claim_key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,            -- running | done
    outcome TEXT,
    claimed_at TEXT NOT NULL,
    finished_at TEXT
);
"""


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditEntry:
    """One audited remedy. `at` is UTC. Never holds a PIN."""

    id: int
    at: datetime
    user_id: str
    action: str
    access_code_id: str | None
    device_id: str | None
    action_attempt_id: str | None
    outcome: str
    detail: str


@dataclass(frozen=True)
class RemedyClaim:
    """Who claimed a remedy key, whether it is still `running` or `done`, and its outcome."""

    claim_key: str
    user_id: str
    state: str
    outcome: str | None
    claimed_at: datetime


class Store:
    """The bot's SQLite store. Open with `await Store.open(path)`; close with `await close()`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (creating if needed) the database at `path`, in WAL mode, schema up to date."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path))
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA foreign_keys=ON")
        store = cls(db)
        await store._migrate()
        return store

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        with contextlib.suppress(ValueError):
            await self._db.close()

    async def _migrate(self) -> None:
        async with self._write_lock:
            await self._db.executescript(_SCHEMA)
            await self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            await self._db.commit()

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """Run one write statement under the writer lock and commit it."""
        async with self._write_lock:
            cursor = await self._db.execute(sql, tuple(params))
            await self._db.commit()
            return cursor

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._db.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    # ------------------------------------------------------------------ audit

    async def record_audit(
        self,
        *,
        user_id: str,
        action: str,
        outcome: str,
        access_code_id: str | None = None,
        device_id: str | None = None,
        action_attempt_id: str | None = None,
        detail: str = "",
        at: datetime | None = None,
    ) -> int:
        """Append one audit row (who, when in UTC, which code, which action, outcome).

        `detail` must never contain a PIN. Returns the row id.
        """
        cursor = await self._write(
            "INSERT INTO audit (at, user_id, action, access_code_id, device_id,"
            " action_attempt_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _iso(at or utcnow()),
                user_id,
                action,
                access_code_id,
                device_id,
                action_attempt_id,
                outcome,
                detail[:1000],
            ),
        )
        return int(cursor.lastrowid or 0)

    async def audit_entries(
        self, *, access_code_id: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Newest-first audit rows, optionally for one access code."""
        where, params = (
            ("WHERE access_code_id = ?", [access_code_id]) if access_code_id else ("", [])
        )
        rows = await self._fetchall(
            f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?", [*params, limit]
        )
        return [
            AuditEntry(
                id=row["id"],
                at=datetime.fromisoformat(row["at"]),
                user_id=row["user_id"],
                action=row["action"],
                access_code_id=row["access_code_id"],
                device_id=row["device_id"],
                action_attempt_id=row["action_attempt_id"],
                outcome=row["outcome"],
                detail=row["detail"],
            )
            for row in rows
        ]

    # ---------------------------------------------------------- remedy claims

    async def claim_remedy(self, claim_key: str, *, user_id: str, stale_after: float = 600) -> bool:
        """Claim the right to run one remedy exactly once.

        Returns True if this caller now owns `claim_key` (nobody had it, or a `running` claim is
        older than `stale_after` seconds, i.e. its process died); False if it is running or done.
        """
        now = utcnow()
        async with self._write_lock:
            cursor = await self._db.execute(
                "INSERT INTO remedy_claims (claim_key, user_id, state, claimed_at)"
                " VALUES (?, ?, 'running', ?) ON CONFLICT(claim_key) DO UPDATE SET"
                " user_id = excluded.user_id, claimed_at = excluded.claimed_at"
                " WHERE remedy_claims.state = 'running' AND remedy_claims.claimed_at < ?",
                (claim_key, user_id, _iso(now), _iso(now - timedelta(seconds=stale_after))),
            )
            await self._db.commit()
            return cursor.rowcount == 1

    async def finish_remedy(self, claim_key: str, outcome: str) -> None:
        """Mark a claimed remedy done with its outcome (e.g. "success", "error: …")."""
        await self._write(
            "UPDATE remedy_claims SET state = 'done', outcome = ?, finished_at = ?"
            " WHERE claim_key = ?",
            (outcome[:500], _iso(utcnow()), claim_key),
        )

    async def release_remedy(self, claim_key: str) -> None:
        """Drop a claim so the remedy may be tried again (after a failure nothing changed)."""
        await self._write("DELETE FROM remedy_claims WHERE claim_key = ?", (claim_key,))

    async def remedy_claim(self, claim_key: str) -> RemedyClaim | None:
        """The current claim on `claim_key`, if any."""
        rows = await self._fetchall("SELECT * FROM remedy_claims WHERE claim_key = ?", (claim_key,))
        if not rows:
            return None
        row = rows[0]
        return RemedyClaim(
            claim_key=row["claim_key"],
            user_id=row["user_id"],
            state=row["state"],
            outcome=row["outcome"],
            claimed_at=datetime.fromisoformat(row["claimed_at"]),
        )


__all__ = ["AuditEntry", "RemedyClaim", "Store", "utcnow"]
