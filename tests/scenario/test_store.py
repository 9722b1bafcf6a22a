"""The SQLite store on a real file: audit trail and exactly-once remedy claims."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.support.databases import sqlite_only


@pytest.fixture
async def store(store_target: str | Path) -> AsyncIterator[Store]:
    """The store under test, once on SQLite and once on PostgreSQL."""
    s = await Store.open(store_target)
    yield s
    await s.close()


@sqlite_only
async def test_wal_mode_and_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    s = await Store.open(path)
    await s.record_audit(user_id="U1", action="update_pin", outcome="success", access_code_id="ac1")
    await s.close()
    s = await Store.open(path)
    try:
        entries = await s.audit_entries()
        assert [(e.user_id, e.action, e.outcome) for e in entries] == [
            ("U1", "update_pin", "success")
        ]
        assert entries[0].at.tzinfo is not None
        rows = await s._fetchall("PRAGMA journal_mode")
        assert rows[0][0] == "wal"
    finally:
        await s.close()


async def test_audit_filter_and_order(store: Store) -> None:
    for i in range(3):
        await store.record_audit(user_id="U1", action=f"a{i}", outcome="ok", access_code_id="ac1")
    await store.record_audit(user_id="U2", action="x", outcome="ok", access_code_id="ac2")
    assert [e.action for e in await store.audit_entries(access_code_id="ac1")] == ["a2", "a1", "a0"]
    assert len(await store.audit_entries(limit=2)) == 2


async def test_claim_is_exactly_once_under_concurrency(store: Store) -> None:
    results = await asyncio.gather(*(store.claim_remedy("k1", user_id=f"U{i}") for i in range(20)))
    assert results.count(True) == 1
    await store.finish_remedy("k1", "success")
    assert await store.claim_remedy("k1", user_id="U9") is False
    claim = await store.remedy_claim("k1")
    assert claim is not None and claim.state == "done" and claim.outcome == "success"


async def test_stale_running_claim_can_be_taken_over_and_released(store: Store) -> None:
    assert await store.claim_remedy("k2", user_id="U1")
    assert not await store.claim_remedy("k2", user_id="U2", stale_after=600)
    assert await store.claim_remedy("k2", user_id="U2", stale_after=0)
    await store.release_remedy("k2")
    assert await store.remedy_claim("k2") is None
    assert await store.claim_remedy("k2", user_id="U3")
