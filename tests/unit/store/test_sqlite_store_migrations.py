"""Versioned schema migrations on real SQLite files: fresh, legacy, partial, too new, failing."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest
from store_legacy import (
    LEGACY_TABLES,
    V1_TABLES,
    execute,
    legacy_v1_ddl,
    make_legacy_db,
    schema_rows,
    table_names,
    user_version,
)

from bot.store import SCHEMA_VERSION, AlertIntent, Store, StoreSchemaError
from bot.store.migrations import MIGRATIONS, Migration, migrate, schema_version

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == MIGRATIONS[-1].version == 8
    assert all(m.statements and m.description for m in MIGRATIONS)


async def test_fresh_file_gets_latest_version_and_every_table(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    store = await Store.open(path)
    await store.close()
    assert user_version(path) == SCHEMA_VERSION
    assert table_names(path) >= LEGACY_TABLES


async def test_fresh_schema_is_exactly_the_legacy_ddl_plus_later_migrations(
    tmp_path: Path,
) -> None:
    """Migrations 1 + 2 create byte-for-byte the tables and indexes the old code created; the
    later ones then apply as they would to an old file."""
    legacy, fresh = tmp_path / "legacy.sqlite3", tmp_path / "fresh.sqlite3"
    make_legacy_db(legacy)
    with sqlite3.connect(legacy) as db:
        for migration in MIGRATIONS[2:]:
            for statement in migration.statements:
                db.execute(statement)
    store = await Store.open(fresh)
    await store.close()
    assert schema_rows(fresh) == schema_rows(legacy)


async def test_legacy_v2_database_migrates_once_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite3"
    make_legacy_db(path)
    store = await Store.open(path)
    try:
        await store.record_audit(user_id="U1", action="update_pin", outcome="success", at=T0)
        await store.begin_alert(
            AlertIntent("code:ac1", "access_code", "ac1", "d1", title="Guest"),
            channel="C1",
            at=T0,
        )
        assert await store.claim_remedy("k1", user_id="U1")
    finally:
        await store.close()
    before = schema_rows(path)

    store = await Store.open(path)  # reopening a migrated file: no migration runs
    try:
        assert [e.action for e in await store.audit_entries()] == ["update_pin"]
        alert = await store.alert("code:ac1")
        assert alert is not None and alert.state == "open" and alert.title == "Guest"
        claim = await store.remedy_claim("k1")
        assert claim is not None and claim.state == "running"
    finally:
        await store.close()
    assert schema_rows(path) == before
    assert user_version(path) == SCHEMA_VERSION


async def test_legacy_rows_written_by_the_old_code_read_back(tmp_path: Path) -> None:
    """Rows planted with plain SQL, as the old code stored them (ISO text, +00:00)."""
    path = tmp_path / "legacy.sqlite3"
    make_legacy_db(path)
    execute(
        path,
        "INSERT INTO audit (at, user_id, action, outcome) VALUES (?, 'U1', 'a', 'ok')",
        (T0.isoformat(timespec="microseconds"),),
    )
    execute(
        path,
        "INSERT INTO alerts (alert_key, subject, device_id, state, opened_at, snoozed_until)"
        " VALUES ('device:d1', 'device', 'd1', 'snoozed', ?, ?)",
        (T0.isoformat(timespec="microseconds"), T0.isoformat(timespec="microseconds")),
    )
    store = await Store.open(path)
    try:
        (entry,) = await store.audit_entries()
        assert entry.at == T0 and entry.at.tzinfo is not None
        alerts = await store.load_alerts()
        assert alerts["device:d1"].state == "snoozed"
        assert alerts["device:d1"].subject == "device"
        assert alerts["device:d1"].snoozed_until == T0
    finally:
        await store.close()


async def test_version_0_with_v1_tables_present_migrates(tmp_path: Path) -> None:
    """A file with the audit tables but no version (IF NOT EXISTS keeps their rows)."""
    path = tmp_path / "v0.sqlite3"
    make_legacy_db(path, ddl=legacy_v1_ddl(), user_version=0)
    execute(
        path,
        "INSERT INTO audit (at, user_id, action, outcome) VALUES (?, 'U7', 'delete', 'ok')",
        (T0.isoformat(),),
    )
    assert table_names(path) & LEGACY_TABLES == V1_TABLES
    store = await Store.open(path)
    try:
        assert [e.user_id for e in await store.audit_entries()] == ["U7"]
        assert await store.recent_scans() == []
    finally:
        await store.close()
    assert user_version(path) == SCHEMA_VERSION
    assert table_names(path) >= LEGACY_TABLES


async def test_version_0_with_every_table_present_migrates(tmp_path: Path) -> None:
    path = tmp_path / "v0-all.sqlite3"
    make_legacy_db(path, user_version=0)
    store = await Store.open(path)
    await store.close()
    assert user_version(path) == SCHEMA_VERSION


async def test_version_1_database_gets_the_alert_tables(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    make_legacy_db(path, ddl=legacy_v1_ddl(), user_version=1)
    store = await Store.open(path)
    try:
        assert await store.load_alerts() == {}
        assert await store.acquire_lease("scanner", "p1", 60)
    finally:
        await store.close()
    assert user_version(path) == SCHEMA_VERSION


async def test_newer_database_is_refused_with_one_line_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    make_legacy_db(path, ddl=legacy_v1_ddl(), user_version=99)
    before = schema_rows(path)
    with pytest.raises(StoreSchemaError) as caught:
        await Store.open(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "99" in message and str(SCHEMA_VERSION) in message
    assert user_version(path) == 99
    assert schema_rows(path) == before  # no table was added


async def test_migrate_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "again.sqlite3"
    async with aiosqlite.connect(path) as db:
        assert await migrate(db) == SCHEMA_VERSION
        assert await migrate(db) == SCHEMA_VERSION
        assert await schema_version(db) == SCHEMA_VERSION


async def test_failed_migration_rolls_back_to_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    broken = Migration(
        version=2,
        description="broken on purpose",
        statements=("CREATE TABLE half_done (x INTEGER)", "CREATE TABLE oops ("),
    )
    async with aiosqlite.connect(path) as db:
        with pytest.raises(StoreSchemaError, match="migration 2 \\(broken on purpose\\) failed"):
            await migrate(db, (MIGRATIONS[0], broken))
        assert await schema_version(db) == 1
    assert "half_done" not in table_names(path)  # DDL is transactional in SQLite
    assert table_names(path) >= V1_TABLES


async def test_misnumbered_migrations_are_refused(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "x.sqlite3") as db:
        with pytest.raises(StoreSchemaError, match="numbered"):
            await migrate(db, (MIGRATIONS[1],))
        assert await schema_version(db) == 0


async def test_two_processes_opening_a_fresh_file_at_once(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE serialises them; the second sees the version and applies nothing."""
    path = tmp_path / "race.sqlite3"
    first, second = await asyncio.gather(Store.open(path), Store.open(path))
    try:
        await first.record_audit(user_id="U1", action="a", outcome="ok")
        assert len(await second.audit_entries()) == 1
    finally:
        await first.close()
        await second.close()
    assert user_version(path) == SCHEMA_VERSION


async def test_memory_database_is_migrated() -> None:
    store = await Store.open(":memory:")
    try:
        rows = await store._fetchall("PRAGMA user_version")
        assert rows[0][0] == SCHEMA_VERSION
    finally:
        await store.close()


def test_legacy_helper_really_is_the_old_layout(tmp_path: Path) -> None:
    """Guard the fixture itself: the frozen DDL sets up every legacy table."""
    path = tmp_path / "check.sqlite3"
    make_legacy_db(path)
    assert table_names(path) >= LEGACY_TABLES
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    db.close()
