"""Shared helpers of the store's unit tests: the schema as the store wrote it before migrations.

`LEGACY_DDL` is a frozen, verbatim copy of `bot/store.py`'s `_SCHEMA` from before versioned
migrations existed; that code ran it with `executescript` and then set `PRAGMA user_version=2`.
Never edit it: it stands for databases already deployed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

LEGACY_DDL = """
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
-- ---- alerts (bot/alerts.py): one row per alert message, one per problem fingerprint ----
CREATE TABLE IF NOT EXISTS alerts (
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
);
CREATE INDEX IF NOT EXISTS alerts_code ON alerts(access_code_id);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state);
CREATE TABLE IF NOT EXISTS alert_fingerprints (
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
);
CREATE INDEX IF NOT EXISTS alert_fingerprints_alert ON alert_fingerprints(alert_key);
CREATE INDEX IF NOT EXISTS alert_fingerprints_state ON alert_fingerprints(state);
CREATE TABLE IF NOT EXISTS alert_digests (
    digest_id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    ts TEXT,                        -- NULL = not posted yet (pending)
    state TEXT NOT NULL,            -- open | resolved
    content_hash TEXT,
    created_at TEXT NOT NULL,
    posted_at TEXT,
    last_reminded_at TEXT,
    resolved_at TEXT
);
CREATE TABLE IF NOT EXISTS alert_digest_members (
    digest_id INTEGER NOT NULL,
    alert_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (digest_id, alert_key)
);
CREATE TABLE IF NOT EXISTS scans (
    scan_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    complete INTEGER NOT NULL,
    devices INTEGER NOT NULL,
    codes INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    seam_calls INTEGER NOT NULL,
    errors TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""

#: The tables `LEGACY_DDL` creates (besides sqlite_sequence).
LEGACY_TABLES = frozenset(
    {
        "audit",
        "remedy_claims",
        "alerts",
        "alert_fingerprints",
        "alert_digests",
        "alert_digest_members",
        "scans",
        "leases",
    }
)

#: The tables of schema version 1 (audit trail and remedy claims).
V1_TABLES = frozenset({"audit", "remedy_claims"})


def legacy_v1_ddl() -> str:
    """The part of `LEGACY_DDL` that creates the version-1 tables (audit, remedy_claims)."""
    return LEGACY_DDL.split("-- ---- alerts")[0]


def make_legacy_db(path: Path, *, ddl: str = LEGACY_DDL, user_version: int = 2) -> None:
    """Create `path` the way the pre-migration code did: run `ddl`, set `user_version`."""
    with sqlite3.connect(path) as db:
        db.executescript(ddl)
        db.execute(f"PRAGMA user_version={int(user_version)}")
    db.close()


def schema_rows(path: Path) -> set[tuple[str, str, str, str | None]]:
    """Every (type, name, tbl_name, sql) row of `sqlite_master`: the schema as SQLite keeps it."""
    db = sqlite3.connect(path)
    try:
        return set(db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    finally:
        db.close()


def user_version(path: Path) -> int:
    """`PRAGMA user_version` of the database file at `path`."""
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def table_names(path: Path) -> set[str]:
    """The names of the tables in `path` (sqlite_sequence included when present)."""
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


def execute(path: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    """Run one statement on `path` with the stdlib driver and commit (to plant test rows)."""
    db = sqlite3.connect(path)
    try:
        db.execute(sql, params)
        db.commit()
    finally:
        db.close()
