"""Versioned schema migrations for the SQLite store, applied at start-up by `migrate`.

The schema version lives in SQLite's `PRAGMA user_version` (0 in a new file). `MIGRATIONS` is
ordered; migration N takes a database from version N-1 to N. `migrate` applies, each in its own
transaction, every migration newer than the database and bumps `user_version` in that same
transaction, so a crash mid-way leaves the database at the last version fully applied.

Every statement is idempotent (`IF NOT EXISTS`), so a database whose tables already exist at a
lower `user_version` (e.g. version 0 with the audit tables present) migrates safely. A
database newer than the code (written by a newer release) is refused with `StoreSchemaError`
rather than used half-understood.

Never edit a migration that has shipped: append a new one. Version 1 and 2 are exactly the DDL
the store created before migrations existed (when it wrote `user_version` 2 directly).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiosqlite

from bot.store.errors import StoreSchemaError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate", "schema_version"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    """One schema step: from `version - 1` to `version`.

    Attributes:
        version: the `user_version` the database has once this is applied (1, 2, …).
        description: what it adds, for logs.
        statements: SQL statements run in order, in one transaction (one statement each:
            no `BEGIN`/`COMMIT`, nothing that cannot run inside a transaction).
    """

    version: int
    description: str
    statements: tuple[str, ...]


_V1_AUDIT_AND_CLAIMS = Migration(
    version=1,
    description="audit trail and remedy claims",
    statements=(
        """CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    access_code_id TEXT,
    device_id TEXT,
    action_attempt_id TEXT,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
)""",
        "CREATE INDEX IF NOT EXISTS audit_code ON audit(access_code_id)",
        """CREATE TABLE IF NOT EXISTS remedy_claims (
    claim_key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,            -- running | done
    outcome TEXT,
    claimed_at TEXT NOT NULL,
    finished_at TEXT
)""",
    ),
)

_V2_ALERTS_SCANS_LEASES = Migration(
    version=2,
    description="alerts, alert_fingerprints, alert_digests(+members), scans, leases",
    statements=(
        # One row per alert message (code:<access_code_id> | device:<device_id>).
        """CREATE TABLE IF NOT EXISTS alerts (
    alert_key TEXT PRIMARY KEY,     -- code:<access_code_id> | device:<device_id>
    subject TEXT NOT NULL,          -- access_code | device
    access_code_id TEXT,
    device_id TEXT NOT NULL,
    state TEXT NOT NULL,            -- open | snoozed | acknowledged | resolved
    channel TEXT,
    ts TEXT,                        -- Slack message ts; NULL = not posted yet (pending)
    digest_id INTEGER,              -- listed in this digest instead of a message of its own
    content_hash TEXT,              -- SHA-256 of the rendering Slack shows now
    opened_at TEXT NOT NULL,
    post_attempted_at TEXT,
    posted_at TEXT,
    last_reminded_at TEXT,
    resolved_at TEXT,
    snoozed_until TEXT,
    state_by TEXT,                  -- Slack user who snoozed / acknowledged it
    state_at TEXT,
    title TEXT NOT NULL DEFAULT '', -- code or lock name as last shown (for the resolved form)
    device_name TEXT NOT NULL DEFAULT ''
)""",
        "CREATE INDEX IF NOT EXISTS alerts_code ON alerts(access_code_id)",
        "CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state)",
        # One row per problem fingerprint.
        """CREATE TABLE IF NOT EXISTS alert_fingerprints (
    fingerprint TEXT PRIMARY KEY,   -- code:<access_code_id>:<problem> | device:<device_id>:<prob>
    alert_key TEXT NOT NULL,
    subject TEXT NOT NULL,
    access_code_id TEXT,
    device_id TEXT NOT NULL,
    problem TEXT NOT NULL,
    kind TEXT NOT NULL,             -- error | warning
    message TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,           -- scan | webhook | predictive
    state TEXT NOT NULL,            -- open | resolved
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    resolved_at TEXT
)""",
        "CREATE INDEX IF NOT EXISTS alert_fingerprints_alert ON alert_fingerprints(alert_key)",
        "CREATE INDEX IF NOT EXISTS alert_fingerprints_state ON alert_fingerprints(state)",
        """CREATE TABLE IF NOT EXISTS alert_digests (
    digest_id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    ts TEXT,                        -- NULL = not posted yet (pending)
    state TEXT NOT NULL,            -- open | resolved
    content_hash TEXT,
    created_at TEXT NOT NULL,
    posted_at TEXT,
    last_reminded_at TEXT,
    resolved_at TEXT
)""",
        """CREATE TABLE IF NOT EXISTS alert_digest_members (
    digest_id INTEGER NOT NULL,
    alert_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (digest_id, alert_key)
)""",
        """CREATE TABLE IF NOT EXISTS scans (
    scan_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    complete INTEGER NOT NULL,
    devices INTEGER NOT NULL,
    codes INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    seam_calls INTEGER NOT NULL,
    errors TEXT NOT NULL DEFAULT ''
)""",
        """CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
)""",
    ),
)

#: Every migration, oldest first; versions are 1, 2, … with no gaps.
_V3_ALERT_ACTIVITY = Migration(
    version=3,
    description="alerts.activity: the last re-check or remedy someone ran on an alert",
    statements=("ALTER TABLE alerts ADD COLUMN activity TEXT",),
)

_V4_EVENTS = Migration(
    version=4,
    description="events: Seam webhook and Slack event ids seen (dedupe across restarts)",
    statements=(
        """CREATE TABLE IF NOT EXISTS events (
    event_key TEXT PRIMARY KEY,     -- seam:<event_id> | slack:<event_id>
    event_type TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '',  -- the ids it names (never a PIN), to resume it
    handled_at TEXT,
    outcome TEXT
)""",
        "CREATE INDEX IF NOT EXISTS events_received ON events(received_at)",
    ),
)

_V5_REMEDY_WATCHES = Migration(
    version=5,
    description="remedy_watches (changes Seam has not confirmed yet) and the health row",
    statements=(
        """CREATE TABLE IF NOT EXISTS remedy_watches (
    access_code_id TEXT PRIMARY KEY,
    remedy TEXT NOT NULL,           -- the remedy key
    label TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expect TEXT NOT NULL,           -- set | gone | managed
    channel TEXT,                   -- the alert thread to tell when it settles
    ts TEXT,
    created_at TEXT NOT NULL
)""",
        # One row the store rewrites to prove it can write (start-up and /healthz).
        "CREATE TABLE IF NOT EXISTS health"
        " (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL)",
    ),
)

_V6_REMEDY_JOURNAL = Migration(
    version=6,
    description="remedy_journal: write-ahead intent of every remedy, for crash recovery",
    statements=(
        """CREATE TABLE IF NOT EXISTS remedy_journal (
    journal_id INTEGER PRIMARY KEY AUTOINCREMENT,
    remedy TEXT NOT NULL,
    user_id TEXT NOT NULL,
    access_code_id TEXT NOT NULL,   -- the code the message is about
    target_id TEXT NOT NULL,        -- the code changed
    device_id TEXT,
    steps TEXT NOT NULL DEFAULT '', -- comma-separated steps done (e.g. deleted,created)
    state TEXT NOT NULL,            -- running | done
    secret TEXT,                    -- encrypted intent (PIN, name, schedule); NULL once done
    context TEXT NOT NULL DEFAULT '{}',  -- where to report (response_url, channel, ts, claims)
    created_at TEXT NOT NULL,
    finished_at TEXT
)""",
        "CREATE INDEX IF NOT EXISTS remedy_journal_state ON remedy_journal(state)",
    ),
)

_V7_REMEDY_LIVENESS = Migration(
    version=7,
    description="remedy_journal.touched_at: a running remedy's last sign of life (recovery)",
    statements=("ALTER TABLE remedy_journal ADD COLUMN touched_at TEXT",),
)

_V8_ARRIVALS_FIRST = Migration(
    version=8,
    description="arrival_digests (one pre-arrival digest a day), alert_escalations, home_views",
    statements=(
        # One row per local day (TIMEZONE) whose pre-arrival digest was claimed / posted.
        """CREATE TABLE IF NOT EXISTS arrival_digests (
    day TEXT PRIMARY KEY,           -- YYYY-MM-DD in TIMEZONE
    channel TEXT NOT NULL,
    ts TEXT,                        -- NULL until chat.postMessage answered
    claimed_at TEXT NOT NULL,
    posted_at TEXT,
    content_hash TEXT
)""",
        # Escalations raised in an alert's thread (T-24 h, T-4 h, T-1 h), once per start time.
        """CREATE TABLE IF NOT EXISTS alert_escalations (
    alert_key TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    threshold INTEGER NOT NULL,     -- seconds before starts_at
    at TEXT NOT NULL,
    PRIMARY KEY (alert_key, starts_at, threshold)
)""",
        # Who opened the App Home tab, and when (re-published while recent).
        """CREATE TABLE IF NOT EXISTS home_views (
    user_id TEXT PRIMARY KEY,
    opened_at TEXT NOT NULL,
    published_at TEXT
)""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    _V1_AUDIT_AND_CLAIMS,
    _V2_ALERTS_SCANS_LEASES,
    _V3_ALERT_ACTIVITY,
    _V4_EVENTS,
    _V5_REMEDY_WATCHES,
    _V6_REMEDY_JOURNAL,
    _V7_REMEDY_LIVENESS,
    _V8_ARRIVALS_FIRST,
)

#: The schema version this code writes and expects (the newest migration's).
SCHEMA_VERSION: int = MIGRATIONS[-1].version


async def schema_version(db: aiosqlite.Connection) -> int:
    """The database's `PRAGMA user_version` (0 for a new file)."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


async def migrate(db: aiosqlite.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the database's schema up to the newest of `migrations`; returns the version now.

    Each pending migration runs in its own `BEGIN IMMEDIATE` transaction (so two processes
    starting at once take turns; the version is re-read inside it, so neither applies a
    migration twice) together with `PRAGMA user_version = <its version>`. The caller must not
    hold an open transaction.

    Raises:
        StoreSchemaError: the database's version is newer than the newest migration (it was
            written by a newer release), `migrations` is not numbered 1, 2, … in order, or a
            migration failed (it is rolled back; the database keeps its previous version).
    """
    _check_numbering(migrations)
    latest = migrations[-1].version if migrations else 0
    current = await schema_version(db)
    _refuse_newer(current, latest)
    for migration in migrations:
        if migration.version <= current:
            continue
        await db.execute("BEGIN IMMEDIATE")
        try:
            current = await schema_version(db)
            _refuse_newer(current, latest)
            if migration.version <= current:  # another process applied it meanwhile
                await db.rollback()
                continue
            for statement in migration.statements:
                await db.execute(statement)
            # PRAGMA takes no bound parameters; the version is an int from our own table.
            await db.execute(f"PRAGMA user_version = {int(migration.version)}")
        except BaseException as exc:
            await db.rollback()
            if isinstance(exc, Exception) and not isinstance(exc, StoreSchemaError):
                raise StoreSchemaError(
                    f"schema migration {migration.version} ({migration.description}) failed: {exc}"
                ) from exc
            raise
        await db.commit()
        current = migration.version
        logger.info("store schema migrated to version %d: %s", current, migration.description)
    return current


def _refuse_newer(current: int, latest: int) -> None:
    if current > latest:
        raise StoreSchemaError(
            f"database schema version {current} is newer than this code supports ({latest});"
            " refusing to open it: run a release that knows it, or use another database file"
        )


def _check_numbering(migrations: tuple[Migration, ...]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise StoreSchemaError(f"migrations must be numbered 1, 2, … in order, got {versions}")
