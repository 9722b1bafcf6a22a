"""Persistent state in one SQLite file through aiosqlite: alerts, scans, audit, remedy claims.

One `Store` owns one connection in WAL mode; every write goes through `_write()` (or
`_alerts_tx()` for several statements), which holds one asyncio lock and commits, so the scanner
and concurrent Slack handlers never hit "database is locked" (SQLite's page "Write-Ahead Logging").

The schema is versioned with `PRAGMA user_version` and brought up to date by
`bot.store.migrations.migrate` when the store is opened. `Store` satisfies
`bot.store.protocols.StateStore`; keep callers on those methods (not SQL) so another backend
(PostgreSQL) can follow without touching them. Times are stored as ISO 8601 text in UTC with
microseconds (lexical order = time order) and read back as aware UTC datetimes; state texts are
checked against their `Literal` types on the way out (`StoreCorruptError` if unknown).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.domain.alert_plan import AlertActivity
from bot.domain.findings import Finding
from bot.store.arrivals import ArrivalSqlMixin
from bot.store.errors import StoreCorruptError, StoreError
from bot.store.migrations import SCHEMA_VERSION, migrate
from bot.store.records import (
    ALERT_STATES,
    CLAIM_STATES,
    DIGEST_STATES,
    FINGERPRINT_STATES,
    ISSUE_KINDS,
    SOURCES,
    SUBJECTS,
    AlertIntent,
    AlertRecord,
    AlertState,
    AuditEntry,
    DigestRecord,
    FingerprintRecord,
    JournalEntry,
    RemedyClaim,
    RemedyWatch,
    ScanRecord,
    WatchExpect,
    literal_value,
    utcnow,
)

__all__ = [
    "SCHEMA_VERSION",
    "AlertIntent",
    "AlertRecord",
    "AuditEntry",
    "DigestRecord",
    "FingerprintRecord",
    "RemedyClaim",
    "ScanRecord",
    "SqliteStore",
    "Store",
    "utcnow",
]

logger = logging.getLogger(__name__)

_L = TypeVar("_L", bound=str)


def _iso(moment: datetime) -> str:
    """`moment` as stored: ISO 8601 UTC text with microseconds (2024-01-02T03:04:05.000006+00:00).

    Fixed width, so text order is time order (the SQL compares these texts).
    """
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class _Row:
    """Typed, checked reads of one row of `table` (errors name the table and column)."""

    __slots__ = ("_row", "_table")

    def __init__(self, table: str, row: aiosqlite.Row) -> None:
        self._table = table
        self._row = row

    def __getitem__(self, column: str) -> Any:
        return self._row[column]

    def literal(self, column: str, allowed: tuple[_L, ...]) -> _L:
        """The column's text as one of `allowed`; StoreCorruptError otherwise."""
        return literal_value(allowed, self._row[column], table=self._table, column=column)

    def time(self, column: str) -> datetime:
        """The column's ISO 8601 text as an aware UTC datetime; StoreCorruptError otherwise."""
        value = self._row[column]
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is not None:
                    return moment.astimezone(UTC)
        raise StoreCorruptError(self._table, column, value, "an ISO 8601 time with a UTC offset")

    def time_or_none(self, column: str) -> datetime | None:
        """Like `time`, but NULL (or empty text) reads as None."""
        return self.time(column) if self._row[column] else None


class Store(ArrivalSqlMixin):
    """The bot's SQLite store, a `StateStore`: `await Store.open(path)`, later `await close()`.

    The constructor only wraps an open connection (schema not checked): use `open`.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        """Wrap `db` (opened with `row_factory = aiosqlite.Row`); prefer `Store.open`."""
        self._db = db
        self._write_lock = asyncio.Lock()
        self._events_recorded = 0

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (creating if needed) the database at `path`, in WAL mode, schema up to date.

        `path` may be ":memory:", or a `postgresql://…` URL (`DATABASE_URL`: see
        `bot.store.postgres`, same SQL, same migrations). Pending migrations
        (`bot.store.migrations`) are applied first.

        Raises:
            StoreSchemaError: the database was written by a newer release (its schema version
                is newer than `SCHEMA_VERSION`), or a migration failed.
            StoreError: the folder does not exist (a volume not mounted would otherwise start
                a new, empty database somewhere else), the file is not a SQLite database
                (corrupt), or it cannot be written (read-only, disk full). The connection is
                closed before raising.
        """
        if isinstance(path, str) and is_postgres_url(path):
            return await cls._open_postgres(path)
        if str(path) != ":memory:" and not Path(path).parent.is_dir():
            raise StoreError(f"the folder of DATABASE_PATH {path} does not exist")
        try:
            db = await aiosqlite.connect(str(path))
        except sqlite3.Error as exc:
            raise StoreError(f"DATABASE_PATH {path} cannot be opened: {exc}") from None
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA busy_timeout=5000")
            await db.execute("PRAGMA foreign_keys=ON")
            store = cls(db)
            await store._migrate()
            await store.check_writable()
        except sqlite3.Error as exc:
            await db.close()
            raise StoreError(
                f"DATABASE_PATH {path} is not a usable SQLite database: {exc}"
            ) from None
        except BaseException:
            await db.close()
            raise
        return store

    @classmethod
    async def _open_postgres(cls, url: str) -> Store:
        """`open` for a PostgreSQL URL (the password never appears in an error)."""
        from bot.store.postgres import PgConnection

        where = _redact_url(url)
        try:
            conn = await PgConnection.connect(url)
        except Exception as exc:
            raise StoreError(f"DATABASE_URL {where} cannot be opened: {_reason(exc)}") from None
        store = cls(cast(aiosqlite.Connection, conn))
        try:
            await store._migrate()
            await store.check_writable()
        except StoreError:
            await conn.close()
            raise
        except Exception as exc:
            await conn.close()
            raise StoreError(f"DATABASE_URL {where} is not usable: {_reason(exc)}") from None
        return store

    async def _now(self) -> datetime:
        """The clock leases are timed by: the database server's on PostgreSQL (processes on
        several hosts agree), this host's on SQLite (one host)."""
        server_now = getattr(self._db, "server_now", None)
        if server_now is None:
            return utcnow()
        moment: datetime = await server_now()
        return moment.astimezone(UTC)

    async def check_writable(self) -> None:
        """Write one small row (the `health` table) and commit: the store can write now.

        Raises:
            StoreError: it cannot (read-only file or folder, disk full, corrupt).
        """
        await self._write(
            "INSERT INTO health (id, at) VALUES (1, ?)"
            " ON CONFLICT(id) DO UPDATE SET at = excluded.at",
            (_iso(utcnow()),),
        )

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        with contextlib.suppress(ValueError):
            await self._db.close()

    async def _migrate(self) -> int:
        """Apply pending schema migrations under the writer lock; returns the schema version."""
        async with self._write_lock:
            version = await migrate(self._db)
        if version != SCHEMA_VERSION:  # pragma: no cover - migrate() guarantees it
            raise RuntimeError(f"schema at version {version}, expected {SCHEMA_VERSION}")
        return version

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """Run one write statement under the writer lock and commit it.

        Raises:
            StoreError: the database cannot be written (disk full, read-only, locked past the
                busy timeout); the statement is rolled back, nothing half-written stays.
        """
        async with self._write_lock, self._writing():
            cursor = await self._db.execute(sql, tuple(params))
            await self._db.commit()
            return cursor

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """Turn a failed write (a driver error) into a rolled-back `StoreError`."""
        try:
            yield
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            with contextlib.suppress(Exception):
                await self._db.rollback()
            raise StoreError(f"the database cannot be written: {_reason(exc)}") from None

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
        return [_audit(row) for row in rows]

    # ---------------------------------------------------------- remedy claims

    async def claim_remedy(
        self, claim_key: str, *, user_id: str, stale_after: float = 600, note: str = ""
    ) -> bool:
        """Claim the right to run one remedy exactly once.

        Returns True if this caller now owns `claim_key` (nobody had it, or a `running` claim is
        older than `stale_after` seconds, i.e. its process died); False if it is running or done.
        `note` (what is running, e.g. "Update PIN") is kept as the claim's outcome until it is
        finished, so a second person can be told.
        """
        now = utcnow()
        async with self._write_lock, self._writing():
            cursor = await self._db.execute(
                "INSERT INTO remedy_claims (claim_key, user_id, state, outcome, claimed_at)"
                " VALUES (?, ?, 'running', ?, ?) ON CONFLICT(claim_key) DO UPDATE SET"
                " user_id = excluded.user_id, claimed_at = excluded.claimed_at,"
                " outcome = excluded.outcome"
                " WHERE remedy_claims.state = 'running' AND remedy_claims.claimed_at < ?",
                (
                    claim_key,
                    user_id,
                    note[:200] or None,
                    _iso(now),
                    _iso(now - timedelta(seconds=stale_after)),
                ),
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
        return _claim(rows[0]) if rows else None

    # ===================================================================== alerts
    # Everything below belongs to the proactive alerts (bot.services.alerting and .scanning).
    # Times are aware UTC datetimes, stored as ISO 8601 text.

    @contextlib.asynccontextmanager
    async def _alerts_tx(self) -> AsyncIterator[aiosqlite.Connection]:
        """Several writes as one transaction under the writer lock (rolled back on error)."""
        async with self._write_lock, self._writing():
            try:
                yield self._db
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    async def record_scan(
        self,
        scan: ScanRecord,
        *,
        seen: Sequence[Finding] = (),
        resolved: Sequence[str] = (),
        retention_days: float = 90.0,
    ) -> int:
        """Record one scan and what it observed, in one transaction. Returns the scan id.

        Args:
            scan: the scan's summary (`scan_id` is ignored; a new one is assigned).
            seen: findings observed by this scan: new fingerprints are inserted (first_seen =
                `observed_at`); known ones are rewritten only when their kind, message or alert
                changed (a quiet scan writes nothing but its scan row); resolved ones reopen
                with a new first_seen.
            resolved: fingerprints that this scan saw cleared (only for devices it fully saw).
            retention_days: resolved fingerprints, alerts and digests, and scan rows, older than
                this are deleted.
        """
        cutoff = _iso(scan.finished_at - timedelta(days=retention_days))
        async with self._alerts_tx() as db:
            cursor = await db.execute(
                "INSERT INTO scans (started_at, finished_at, complete, devices, codes, findings,"
                " seam_calls, errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _iso(scan.started_at),
                    _iso(scan.finished_at),
                    int(scan.complete),
                    scan.devices,
                    scan.codes,
                    scan.findings,
                    scan.seam_calls,
                    scan.errors[:2000],
                ),
            )
            scan_id = int(cursor.lastrowid or 0)
            await db.executemany(
                "INSERT INTO alert_fingerprints (fingerprint, alert_key, subject, access_code_id,"
                " device_id, problem, kind, message, source, state, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)"
                " ON CONFLICT(fingerprint) DO UPDATE SET"
                " first_seen = CASE WHEN alert_fingerprints.state = 'resolved'"
                "   THEN excluded.first_seen ELSE alert_fingerprints.first_seen END,"
                " last_seen = excluded.last_seen, kind = excluded.kind,"
                " message = excluded.message, source = excluded.source,"
                " state = 'open', resolved_at = NULL"
                # An unchanged open problem is not rewritten: a quiet scan writes only its row.
                " WHERE alert_fingerprints.state != 'open'"
                "   OR alert_fingerprints.kind != excluded.kind"
                "   OR alert_fingerprints.message != excluded.message"
                "   OR alert_fingerprints.alert_key != excluded.alert_key",
                [
                    (
                        f.fingerprint,
                        f.alert_key,
                        f.subject,
                        f.access_code_id,
                        f.device_id,
                        f.problem,
                        f.kind,
                        f.message[:1000],
                        f.source,
                        _iso(f.observed_at),
                        _iso(f.observed_at),
                    )
                    for f in seen
                ],
            )
            await db.executemany(
                "UPDATE alert_fingerprints SET state = 'resolved', resolved_at = ?"
                " WHERE fingerprint = ? AND state = 'open'",
                [(_iso(scan.finished_at), fp) for fp in resolved],
            )
            await db.execute(
                "DELETE FROM alert_fingerprints WHERE state = 'resolved' AND resolved_at < ?",
                (cutoff,),
            )
            await db.execute(
                "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?", (cutoff,)
            )
            await db.execute(
                "DELETE FROM alert_digest_members WHERE digest_id IN (SELECT digest_id FROM"
                " alert_digests WHERE state = 'resolved' AND resolved_at < ?)",
                (cutoff,),
            )
            await db.execute(
                "DELETE FROM alert_digests WHERE state = 'resolved' AND resolved_at < ?",
                (cutoff,),
            )
            await db.execute("DELETE FROM scans WHERE finished_at < ?", (cutoff,))
        return scan_id

    async def recent_scans(self, limit: int = 20) -> list[ScanRecord]:
        """The newest scans first."""
        rows = await self._fetchall("SELECT * FROM scans ORDER BY scan_id DESC LIMIT ?", (limit,))
        return [_scan(row) for row in rows]

    async def open_fingerprints(self) -> dict[str, FingerprintRecord]:
        """Every open fingerprint, by fingerprint.

        An unchanged open problem is not rewritten by each scan (a quiet scan writes only its
        scan row), so its `last_seen` is the later of its stored time and the latest scan's.
        """
        rows = await self._fetchall("SELECT * FROM alert_fingerprints WHERE state = 'open'")
        latest = await self._fetchall("SELECT MAX(finished_at) AS at FROM scans")
        last_scan = _Row("scans", latest[0]).time_or_none("at") if latest else None
        records = {}
        for row in rows:
            record = _fingerprint(row)
            if last_scan is not None and last_scan > record.last_seen:
                record = dataclasses.replace(record, last_seen=last_scan)
            records[row["fingerprint"]] = record
        return records

    async def fingerprints_for(
        self, alert_key: str, *, include_resolved: bool = False
    ) -> list[FingerprintRecord]:
        """The fingerprints whose own alert is `alert_key` (open only, unless asked)."""
        where = "" if include_resolved else " AND state = 'open'"
        rows = await self._fetchall(
            f"SELECT * FROM alert_fingerprints WHERE alert_key = ?{where} ORDER BY first_seen",
            (alert_key,),
        )
        return [_fingerprint(row) for row in rows]

    async def load_alerts(
        self, *, resolved_since: datetime | None = None
    ) -> dict[str, AlertRecord]:
        """Alerts not resolved, plus those resolved at or after `resolved_since`, by key."""
        since = _iso(resolved_since) if resolved_since is not None else "9999"
        rows = await self._fetchall(
            "SELECT * FROM alerts WHERE state != 'resolved' OR resolved_at >= ?", (since,)
        )
        return {row["alert_key"]: _alert(row) for row in rows}

    async def alert(self, alert_key: str) -> AlertRecord | None:
        """One alert by key (`code:<access_code_id>` or `device:<device_id>`), any state."""
        rows = await self._fetchall("SELECT * FROM alerts WHERE alert_key = ?", (alert_key,))
        return _alert(rows[0]) if rows else None

    async def alert_for_code(self, access_code_id: str) -> AlertRecord | None:
        """The access code's own alert (`code:<access_code_id>`), any state, or None.

        A code whose problems are folded into a device alert has no alert of its own; look
        the device alert up with `alert("device:<device_id>")`.
        """
        return await self.alert(f"code:{access_code_id}")

    async def begin_alert(self, intent: AlertIntent, *, channel: str, at: datetime) -> None:
        """Write the intent to post a new alert (state open, no ts yet) before posting it.

        A row left from an earlier occurrence (resolved, or never posted) is reset.
        """
        await self._write(
            "INSERT INTO alerts (alert_key, subject, access_code_id, device_id, state, channel,"
            " opened_at, post_attempted_at, title, device_name)"
            " VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)"
            " ON CONFLICT(alert_key) DO UPDATE SET subject = excluded.subject,"
            " access_code_id = excluded.access_code_id, device_id = excluded.device_id,"
            " state = 'open', channel = excluded.channel, ts = NULL, digest_id = NULL,"
            " content_hash = NULL, opened_at = excluded.opened_at,"
            " post_attempted_at = excluded.post_attempted_at, posted_at = NULL,"
            " last_reminded_at = NULL, resolved_at = NULL, snoozed_until = NULL,"
            " state_by = NULL, state_at = NULL, title = excluded.title,"
            " device_name = excluded.device_name",
            (
                intent.alert_key,
                intent.subject,
                intent.access_code_id,
                intent.device_id,
                channel,
                _iso(at),
                _iso(at),
                intent.title,
                intent.device_name,
            ),
        )

    async def note_post_attempt(self, alert_key: str, *, channel: str, at: datetime) -> None:
        """Record another attempt to post a pending alert (its intent row already exists)."""
        await self._write(
            "UPDATE alerts SET post_attempted_at = ?, channel = ? WHERE alert_key = ?",
            (_iso(at), channel, alert_key),
        )

    async def set_alert_posted(
        self, alert_key: str, *, channel: str, ts: str, content_hash: str, at: datetime
    ) -> None:
        """Record the Slack message of an alert, right after posting it."""
        await self._write(
            "UPDATE alerts SET channel = ?, ts = ?, content_hash = ?, posted_at = ?"
            " WHERE alert_key = ?",
            (channel, ts, content_hash, _iso(at), alert_key),
        )

    async def set_alert_labels(self, alert_key: str, *, title: str, device_name: str) -> None:
        """Remember the code or lock name shown, for the resolved form when it is gone."""
        await self._write(
            "UPDATE alerts SET title = ?, device_name = ? WHERE alert_key = ?",
            (title[:300], device_name[:300], alert_key),
        )

    async def clear_alert_message(self, alert_key: str) -> None:
        """Forget an alert's Slack message (it was deleted), so it is posted again."""
        await self._write(
            "UPDATE alerts SET ts = NULL, content_hash = NULL, posted_at = NULL"
            " WHERE alert_key = ?",
            (alert_key,),
        )

    async def set_alert_rendered(self, alert_key: str, content_hash: str) -> None:
        """Record what the alert's message shows now (after a successful chat.update)."""
        await self._write(
            "UPDATE alerts SET content_hash = ? WHERE alert_key = ?", (content_hash, alert_key)
        )

    async def resolve_alert(
        self, alert_key: str, *, at: datetime, content_hash: str | None = None
    ) -> None:
        """Mark an alert resolved (after its message shows the resolved form, if it has one)."""
        await self._write(
            "UPDATE alerts SET state = 'resolved', resolved_at = ?,"
            " content_hash = COALESCE(?, content_hash), snoozed_until = NULL"
            " WHERE alert_key = ?",
            (_iso(at), content_hash, alert_key),
        )

    async def resolve_alerts(self, alert_keys: Sequence[str], *, at: datetime) -> None:
        """Mark alerts that have no message of their own (digest members, pending intents)
        resolved, in one transaction: a 1,000-member digest that clears is one commit, not
        1,000."""
        if not alert_keys:
            return
        async with self._alerts_tx() as db:
            await db.executemany(
                "UPDATE alerts SET state = 'resolved', resolved_at = ?, snoozed_until = NULL"
                " WHERE alert_key = ?",
                [(_iso(at), key) for key in alert_keys],
            )

    async def reopen_alert(self, alert_key: str, *, content_hash: str, at: datetime) -> None:
        """A recently resolved alert is back: open again, same message (edited back)."""
        await self._write(
            "UPDATE alerts SET state = 'open', resolved_at = NULL, content_hash = ?,"
            " opened_at = ?, last_reminded_at = ?, state_by = NULL, state_at = NULL"
            " WHERE alert_key = ?",
            (content_hash, _iso(at), _iso(at), alert_key),
        )

    async def mark_alert_reminded(self, alert_key: str, at: datetime) -> None:
        """Record that a reminder was posted in the alert's thread."""
        await self._write(
            "UPDATE alerts SET last_reminded_at = ? WHERE alert_key = ?", (_iso(at), alert_key)
        )

    async def wake_alert(self, alert_key: str, at: datetime) -> bool:
        """End a snooze (it expired or the alert got worse). True if it was snoozed."""
        cursor = await self._write(
            "UPDATE alerts SET state = 'open', snoozed_until = NULL, state_at = ?,"
            " last_reminded_at = ? WHERE alert_key = ? AND state = 'snoozed'",
            (_iso(at), _iso(at), alert_key),
        )
        return cursor.rowcount == 1

    async def snooze(self, alert_key: str, until: datetime, user_id: str) -> bool:
        """Snooze an open or acknowledged alert until `until` (UTC): no reminders meanwhile.

        It wakes up early if it gets worse (a new error, or a warning becoming an error).
        Returns False if there is no such unresolved alert.
        """
        cursor = await self._write(
            "UPDATE alerts SET state = 'snoozed', snoozed_until = ?, state_by = ?, state_at = ?"
            " WHERE alert_key = ? AND state != 'resolved'",
            (_iso(until), user_id, _iso(utcnow()), alert_key),
        )
        return cursor.rowcount == 1

    async def acknowledge(self, alert_key: str, user_id: str) -> bool:
        """Acknowledge an open or snoozed alert (someone is on it): no more reminders.

        Returns False if there is no such unresolved alert.
        """
        cursor = await self._write(
            "UPDATE alerts SET state = 'acknowledged', snoozed_until = NULL, state_by = ?,"
            " state_at = ? WHERE alert_key = ? AND state NOT IN ('resolved', 'acknowledged')",
            (user_id, _iso(utcnow()), alert_key),
        )
        return cursor.rowcount == 1

    # ----------------------------------------------------------------- remedy journal

    async def journal_begin(
        self,
        *,
        remedy: str,
        user_id: str,
        access_code_id: str,
        target_id: str,
        device_id: str | None,
        secret: str | None,
        context: str,
    ) -> int:
        """Record a remedy's intent before its first mutation (committed). Returns its id."""
        now = _iso(utcnow())
        cursor = await self._write(
            "INSERT INTO remedy_journal (remedy, user_id, access_code_id, target_id, device_id,"
            " state, secret, context, created_at, touched_at)"
            " VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
            (remedy, user_id, access_code_id, target_id, device_id, secret, context, now, now),
        )
        return int(cursor.lastrowid or 0)

    async def journal_step(self, journal_id: int, step: str) -> None:
        """Mark one step of a running remedy done (committed before the next mutation)."""
        await self._write(
            "UPDATE remedy_journal SET steps = CASE WHEN steps = '' THEN ? ELSE steps || ',' || ?"
            " END, touched_at = ? WHERE journal_id = ?",
            (step, step, _iso(utcnow()), journal_id),
        )

    async def journal_finish(self, journal_id: int) -> None:
        """The remedy is finished and reported: done, and its secret erased."""
        await self._write(
            "UPDATE remedy_journal SET state = 'done', secret = NULL, finished_at = ?"
            " WHERE journal_id = ?",
            (_iso(utcnow()), journal_id),
        )

    async def journal_unfinished(self, *, idle_for: float = 0.0) -> list[JournalEntry]:
        """Every remedy recorded as running with no sign of life for `idle_for` seconds (its
        process stopped, or a write of its result failed), oldest first."""
        cutoff = _iso(utcnow() - timedelta(seconds=idle_for))
        rows = await self._fetchall(
            "SELECT * FROM remedy_journal WHERE state = 'running'"
            " AND COALESCE(touched_at, created_at) <= ? ORDER BY journal_id",
            (cutoff,),
        )
        return [
            JournalEntry(
                journal_id=row["journal_id"],
                remedy=row["remedy"],
                user_id=row["user_id"],
                access_code_id=row["access_code_id"],
                target_id=row["target_id"],
                device_id=row["device_id"],
                steps=tuple(s for s in str(row["steps"]).split(",") if s),
                state="running",
                secret=row["secret"],
                context=row["context"],
                created_at=datetime.fromisoformat(row["created_at"]),
            )
            for row in rows
        ]

    async def journal_take(self, journal_id: int, *, idle_for: float) -> bool:
        """Take a running entry over for recovery: True for exactly one caller, and only while
        it has shown no sign of life for `idle_for` seconds (a live process touches its own)."""
        now = utcnow()
        cursor = await self._write(
            "UPDATE remedy_journal SET touched_at = ? WHERE journal_id = ? AND state = 'running'"
            " AND COALESCE(touched_at, created_at) <= ?",
            (_iso(now), journal_id, _iso(now - timedelta(seconds=idle_for))),
        )
        return cursor.rowcount == 1

    async def remedy_heartbeat(
        self, journal_ids: Collection[int], claim_keys: Collection[str]
    ) -> None:
        """Sign of life for the remedies this process runs: their journal entries and running
        claims are touched now (one transaction), so no other process recovers them."""
        if not journal_ids and not claim_keys:
            return
        now = _iso(utcnow())
        async with self._write_lock, self._writing():
            for journal_id in journal_ids:
                await self._db.execute(
                    "UPDATE remedy_journal SET touched_at = ? WHERE journal_id = ?"
                    " AND state = 'running'",
                    (now, journal_id),
                )
            for key in claim_keys:
                await self._db.execute(
                    "UPDATE remedy_claims SET claimed_at = ? WHERE claim_key = ?"
                    " AND state = 'running'",
                    (now, key),
                )
            await self._db.commit()

    async def release_idle_claims(self, *, idle_for: float, keep: Collection[str] = ()) -> int:
        """Drop running claims with no sign of life for `idle_for` seconds (their process
        died before its journal entry, so nothing was sent to Seam), except `keep` (claims
        of unfinished journal entries, which recovery settles). Returns how many."""
        cutoff = _iso(utcnow() - timedelta(seconds=idle_for))
        rows = await self._fetchall(
            "SELECT claim_key FROM remedy_claims WHERE state = 'running' AND claimed_at <= ?",
            (cutoff,),
        )
        idle = [str(r["claim_key"]) for r in rows if str(r["claim_key"]) not in keep]
        for key in idle:
            await self._write(
                "DELETE FROM remedy_claims WHERE claim_key = ? AND state = 'running'"
                " AND claimed_at <= ?",
                (key, cutoff),
            )
        return len(idle)

    # ----------------------------------------------------------------- remedy watches

    async def watch_remedy(self, watch: RemedyWatch) -> None:
        """Remember a change to confirm later (one per code; a newer one replaces it)."""
        await self._write(
            "INSERT INTO remedy_watches (access_code_id, remedy, label, user_id, expect, channel,"
            " ts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(access_code_id) DO"
            " UPDATE SET remedy = excluded.remedy, label = excluded.label,"
            " user_id = excluded.user_id, expect = excluded.expect, channel = excluded.channel,"
            " ts = excluded.ts, created_at = excluded.created_at",
            (
                watch.access_code_id,
                watch.remedy,
                watch.label[:200],
                watch.user_id,
                watch.expect,
                watch.channel,
                watch.ts,
                _iso(watch.created_at),
            ),
        )

    async def remedy_watch(self, access_code_id: str) -> RemedyWatch | None:
        """The change waiting on this code, if any."""
        rows = await self._fetchall(
            "SELECT * FROM remedy_watches WHERE access_code_id = ?", (access_code_id,)
        )
        if not rows:
            return None
        row = rows[0]
        expect: WatchExpect = "set"
        if row["expect"] == "gone":
            expect = "gone"
        elif row["expect"] == "managed":
            expect = "managed"
        return RemedyWatch(
            access_code_id=row["access_code_id"],
            remedy=row["remedy"],
            label=row["label"],
            user_id=row["user_id"],
            expect=expect,
            channel=row["channel"],
            ts=row["ts"],
            created_at=datetime.fromisoformat(row["created_at"]),
        )

    async def end_watch(self, access_code_id: str) -> bool:
        """Forget the watch on this code. True if there was one (settle it once)."""
        cursor = await self._write(
            "DELETE FROM remedy_watches WHERE access_code_id = ?", (access_code_id,)
        )
        return cursor.rowcount == 1

    # ----------------------------------------------------------------- events

    async def record_event(
        self, event_key: str, event_type: str, *, at: datetime, payload: str = ""
    ) -> bool:
        """Remember an incoming event (`seam:<event_id>` / `slack:<event_id>`).

        True the first time; False when it was seen before (a redelivery: do nothing twice).
        `payload` is what is needed to handle it again if the process dies before it is
        handled (ids only). Events older than 30 days are forgotten.
        """
        async with self._write_lock, self._writing():
            cursor = await self._db.execute(
                "INSERT INTO events (event_key, event_type, received_at, payload)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(event_key) DO NOTHING",
                (event_key[:300], event_type[:200], _iso(at), payload[:4000]),
            )
            new = cursor.rowcount == 1
            self._events_recorded += 1
            if self._events_recorded % 500 == 1:  # prune now and then, not on every event
                await self._db.execute(
                    "DELETE FROM events WHERE received_at < ?", (_iso(at - timedelta(days=30)),)
                )
            await self._db.commit()
            return new

    async def finish_event(self, event_key: str, outcome: str, *, at: datetime) -> None:
        """Mark an event handled, with a short outcome ("refreshed 1 device", "ignored"...)."""
        await self._write(
            "UPDATE events SET handled_at = ?, outcome = ? WHERE event_key = ?",
            (_iso(at), outcome[:300], event_key),
        )

    async def unfinished_events(self, *, since: datetime, prefix: str = "seam:") -> list[str]:
        """The payloads of events recorded since `since` but never marked handled, oldest
        first."""
        rows = await self._fetchall(
            "SELECT payload FROM events WHERE handled_at IS NULL AND received_at >= ?"
            " AND event_key LIKE ? ORDER BY received_at",
            (_iso(since), prefix + "%"),
        )
        return [str(row["payload"]) for row in rows if row["payload"]]

    async def last_event_at(self, prefix: str = "seam:") -> datetime | None:
        """When the newest event with this key prefix arrived (aware UTC), or None."""
        rows = await self._fetchall(
            "SELECT MAX(received_at) AS at FROM events WHERE event_key LIKE ?", (prefix + "%",)
        )
        value = rows[0]["at"] if rows else None
        return datetime.fromisoformat(value) if value else None

    async def set_alert_activity(self, alert_key: str, activity: AlertActivity | None) -> None:
        """Record the last thing someone did on an alert from Slack (None clears it)."""
        await self._write(
            "UPDATE alerts SET activity = ? WHERE alert_key = ?",
            (activity.dumps() if activity else None, alert_key),
        )

    async def reopen_state(
        self, alert_key: str, user_id: str, *, expected: AlertState | None = None
    ) -> bool:
        """Undo a snooze or an acknowledgement: the alert is open again (reminders resume).

        With `expected` ("snoozed" / "acknowledged") only that state is undone, so a stale
        Unsnooze never undoes someone's acknowledgement. Returns False if nothing was undone.
        """
        states = (expected,) if expected else ("snoozed", "acknowledged")
        marks = ", ".join("?" for _ in states)
        cursor = await self._write(
            "UPDATE alerts SET state = 'open', snoozed_until = NULL, state_by = ?, state_at = ?"
            f" WHERE alert_key = ? AND state IN ({marks})",
            (user_id, _iso(utcnow()), alert_key, *states),
        )
        return cursor.rowcount == 1

    async def begin_digest(
        self, members: Sequence[AlertIntent], *, channel: str, at: datetime
    ) -> int:
        """Write the intent to post one digest standing in for `members` (in display order).

        In one transaction: the digest row (no ts yet) and each member's alert row, marked as
        listed in the digest so it is never posted on its own. Returns the digest id.
        """
        async with self._alerts_tx() as db:
            cursor = await db.execute(
                "INSERT INTO alert_digests (channel, state, created_at) VALUES (?, 'open', ?)",
                (channel, _iso(at)),
            )
            digest_id = int(cursor.lastrowid or 0)
            await db.executemany(
                "INSERT INTO alerts (alert_key, subject, access_code_id, device_id, state,"
                " channel, digest_id, opened_at, title, device_name)"
                " VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)"
                " ON CONFLICT(alert_key) DO UPDATE SET subject = excluded.subject,"
                " access_code_id = excluded.access_code_id, device_id = excluded.device_id,"
                " state = 'open', channel = excluded.channel, ts = NULL,"
                " digest_id = excluded.digest_id, content_hash = NULL,"
                " opened_at = excluded.opened_at, post_attempted_at = NULL, posted_at = NULL,"
                " last_reminded_at = NULL, resolved_at = NULL, snoozed_until = NULL,"
                " state_by = NULL, state_at = NULL, title = excluded.title,"
                " device_name = excluded.device_name",
                [
                    (
                        m.alert_key,
                        m.subject,
                        m.access_code_id,
                        m.device_id,
                        channel,
                        digest_id,
                        _iso(at),
                        m.title,
                        m.device_name,
                    )
                    for m in members
                ],
            )
            await db.executemany(
                "INSERT INTO alert_digest_members (digest_id, alert_key, position)"
                " VALUES (?, ?, ?)",
                [(digest_id, m.alert_key, i) for i, m in enumerate(members)],
            )
        return digest_id

    async def digests(self, *, include_resolved: bool = False) -> list[DigestRecord]:
        """Digests (open ones unless asked), oldest first, with their member keys in order."""
        where = "" if include_resolved else " WHERE state = 'open'"
        rows = await self._fetchall(f"SELECT * FROM alert_digests{where} ORDER BY digest_id")
        result: list[DigestRecord] = []
        for row in rows:
            members = await self._fetchall(
                "SELECT alert_key FROM alert_digest_members WHERE digest_id = ? ORDER BY position",
                (row["digest_id"],),
            )
            result.append(_digest(row, tuple(m["alert_key"] for m in members)))
        return result

    async def set_digest_posted(
        self, digest_id: int, *, channel: str, ts: str, content_hash: str, at: datetime
    ) -> None:
        """Record the Slack message of a digest, right after posting it."""
        await self._write(
            "UPDATE alert_digests SET channel = ?, ts = ?, content_hash = ?, posted_at = ?"
            " WHERE digest_id = ?",
            (channel, ts, content_hash, _iso(at), digest_id),
        )

    async def set_digest_rendered(self, digest_id: int, content_hash: str) -> None:
        """Record what the digest message shows now."""
        await self._write(
            "UPDATE alert_digests SET content_hash = ? WHERE digest_id = ?",
            (content_hash, digest_id),
        )

    async def resolve_digest(self, digest_id: int, *, content_hash: str, at: datetime) -> None:
        """Mark a digest resolved (every member resolved and the message says so)."""
        await self._write(
            "UPDATE alert_digests SET state = 'resolved', resolved_at = ?, content_hash = ?"
            " WHERE digest_id = ?",
            (_iso(at), content_hash, digest_id),
        )

    async def mark_digest_reminded(self, digest_id: int, at: datetime) -> None:
        """Record that a reminder was posted in the digest's thread."""
        await self._write(
            "UPDATE alert_digests SET last_reminded_at = ? WHERE digest_id = ?",
            (_iso(at), digest_id),
        )

    async def acquire_lease(
        self, name: str, holder: str, ttl_seconds: float, *, dead_holder: str | None = None
    ) -> bool:
        """Take or renew the named lease for `ttl_seconds`; False while someone else holds it.

        Lets one scanner post at a time when several processes share the database (a lease
        left by a crashed process expires after its ttl, or at once when the caller names it as
        `dead_holder`, e.g. a process on this host that no longer exists).

        On PostgreSQL the lease is a session advisory lock on this store's connection (the
        PostgreSQL manual, "Advisory Locks"): held until released or until the connection
        ends, so a killed holder, on any host, is replaced at the next try, and renewing it
        writes nothing; the `leases` row only names the holder (`lease_holder`).
        """
        advisory = getattr(self._db, "try_advisory_lock", None)  # PostgreSQL's connection
        if advisory is not None:
            if self._db.advisory_holder(name) == holder:  # type: ignore[attr-defined]
                return True  # a renewal: the session still holds it, nothing to read or write
            if not await advisory(name, holder):
                # Held by another holder of this same process: its ttl still applies.
                other = self._db.advisory_holder(name)  # type: ignore[attr-defined]
                rows = await self._fetchall(
                    "SELECT expires_at FROM leases WHERE name = ? AND holder = ?", (name, other)
                )
                moment = _iso(await self._now())
                if other is None or (rows and str(rows[0]["expires_at"]) >= moment):
                    return False
                self._db.advisory_transfer(name, holder)  # type: ignore[attr-defined]
            if await self.lease_holder(name) != holder:
                await self._write(
                    "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(name) DO UPDATE SET holder = excluded.holder,"
                    " expires_at = excluded.expires_at",
                    (name, holder, _iso((await self._now()) + timedelta(seconds=ttl_seconds))),
                )
            return True
        now = await self._now()
        async with self._write_lock, self._writing():
            cursor = await self._db.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET holder = excluded.holder,"
                " expires_at = excluded.expires_at"
                " WHERE leases.holder = excluded.holder OR leases.expires_at < ?"
                " OR leases.holder = ?",
                (
                    name,
                    holder,
                    _iso(now + timedelta(seconds=ttl_seconds)),
                    _iso(now),
                    dead_holder or "",
                ),
            )
            await self._db.commit()
            return cursor.rowcount == 1

    async def lease_holder(self, name: str) -> str | None:
        """Who holds the named lease now (expired or not), or None."""
        rows = await self._fetchall("SELECT holder FROM leases WHERE name = ?", (name,))
        return str(rows[0]["holder"]) if rows else None

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up (only if `holder` has it)."""
        await self._write("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
        unlock = getattr(self._db, "advisory_unlock", None)  # PostgreSQL's connection
        if unlock is not None:
            await unlock(name, holder)


#: The SQLite implementation of `bot.store.protocols.StateStore`, by its backend's name.
SqliteStore = Store


def _audit(raw: aiosqlite.Row) -> AuditEntry:
    row = _Row("audit", raw)
    return AuditEntry(
        id=row["id"],
        at=row.time("at"),
        user_id=row["user_id"],
        action=row["action"],
        access_code_id=row["access_code_id"],
        device_id=row["device_id"],
        action_attempt_id=row["action_attempt_id"],
        outcome=row["outcome"],
        detail=row["detail"],
    )


def _claim(raw: aiosqlite.Row) -> RemedyClaim:
    row = _Row("remedy_claims", raw)
    return RemedyClaim(
        claim_key=row["claim_key"],
        user_id=row["user_id"],
        state=row.literal("state", CLAIM_STATES),
        outcome=row["outcome"],
        claimed_at=row.time("claimed_at"),
    )


def _scan(raw: aiosqlite.Row) -> ScanRecord:
    row = _Row("scans", raw)
    return ScanRecord(
        scan_id=row["scan_id"],
        started_at=row.time("started_at"),
        finished_at=row.time("finished_at"),
        complete=bool(row["complete"]),
        devices=row["devices"],
        codes=row["codes"],
        findings=row["findings"],
        seam_calls=row["seam_calls"],
        errors=row["errors"],
    )


def _alert(raw: aiosqlite.Row) -> AlertRecord:
    row = _Row("alerts", raw)
    return AlertRecord(
        alert_key=row["alert_key"],
        subject=row.literal("subject", SUBJECTS),
        access_code_id=row["access_code_id"],
        device_id=row["device_id"],
        state=row.literal("state", ALERT_STATES),
        channel=row["channel"],
        ts=row["ts"],
        digest_id=row["digest_id"],
        content_hash=row["content_hash"],
        opened_at=row.time("opened_at"),
        post_attempted_at=row.time_or_none("post_attempted_at"),
        posted_at=row.time_or_none("posted_at"),
        last_reminded_at=row.time_or_none("last_reminded_at"),
        resolved_at=row.time_or_none("resolved_at"),
        snoozed_until=row.time_or_none("snoozed_until"),
        state_by=row["state_by"],
        state_at=row.time_or_none("state_at"),
        title=row["title"],
        device_name=row["device_name"],
        activity=AlertActivity.loads(row["activity"]),
    )


def _fingerprint(raw: aiosqlite.Row) -> FingerprintRecord:
    row = _Row("alert_fingerprints", raw)
    return FingerprintRecord(
        fingerprint=row["fingerprint"],
        alert_key=row["alert_key"],
        subject=row.literal("subject", SUBJECTS),
        access_code_id=row["access_code_id"],
        device_id=row["device_id"],
        problem=row["problem"],
        kind=row.literal("kind", ISSUE_KINDS),
        message=row["message"],
        source=row.literal("source", SOURCES),
        state=row.literal("state", FINGERPRINT_STATES),
        first_seen=row.time("first_seen"),
        last_seen=row.time("last_seen"),
        resolved_at=row.time_or_none("resolved_at"),
    )


def _digest(raw: aiosqlite.Row, member_keys: tuple[str, ...]) -> DigestRecord:
    row = _Row("alert_digests", raw)
    return DigestRecord(
        digest_id=row["digest_id"],
        channel=row["channel"],
        ts=row["ts"],
        state=row.literal("state", DIGEST_STATES),
        content_hash=row["content_hash"],
        created_at=row.time("created_at"),
        posted_at=row.time_or_none("posted_at"),
        last_reminded_at=row.time_or_none("last_reminded_at"),
        resolved_at=row.time_or_none("resolved_at"),
        member_keys=member_keys,
    )


def is_postgres_url(value: str) -> bool:
    """Whether `value` names a PostgreSQL database (`postgresql://…` or `postgres://…`)."""
    return value.startswith(("postgresql://", "postgres://"))


def _redact_url(url: str) -> str:
    """`url` with any password replaced by `***` (for messages and logs)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _reason(exc: BaseException) -> str:
    """A short reason for a driver error, never a URL with its password."""
    return _redact_url(str(exc) or type(exc).__name__)


def _is_database_error(exc: BaseException) -> bool:
    """sqlite3's errors, and asyncpg's (a server error, a dropped connection)."""
    if isinstance(exc, sqlite3.Error):
        return True
    module = type(exc).__module__ or ""
    return module.startswith("asyncpg") or isinstance(exc, (ConnectionError, OSError))
