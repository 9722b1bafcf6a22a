"""The remedy journal's liveness rules: a running remedy is recovered only once nothing has
touched it for `idle_for` seconds, by exactly one caller, and its claims are kept meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.sqlite import _iso, utcnow


@pytest.fixture
async def store(store_target: str | Path) -> AsyncIterator[Store]:
    """Once on SQLite, once on PostgreSQL."""
    opened = await Store.open(store_target)
    yield opened
    await opened.close()


async def begin(store: Store, target: str = "ac_1") -> int:
    return await store.journal_begin(
        remedy="update_pin",
        user_id="U1",
        access_code_id=target,
        target_id=target,
        device_id="dev_1",
        secret="sealed",
        context='{"claim": "update_pin:ac_1:V1"}',
    )


async def age(store: Store, journal_id: int, seconds: float) -> None:
    """Pretend the entry's last sign of life was `seconds` ago."""
    await store._write(
        "UPDATE remedy_journal SET touched_at = ? WHERE journal_id = ?",
        (_iso(utcnow() - timedelta(seconds=seconds)), journal_id),
    )


async def test_a_fresh_entry_is_not_idle_and_an_old_one_is(store: Store) -> None:
    fresh, old = await begin(store, "ac_1"), await begin(store, "ac_2")
    await age(store, old, 120)
    assert [e.journal_id for e in await store.journal_unfinished(idle_for=60)] == [old]
    assert [e.journal_id for e in await store.journal_unfinished()] == [fresh, old]


async def test_only_one_caller_takes_an_idle_entry(store: Store) -> None:
    entry = await begin(store)
    assert not await store.journal_take(entry, idle_for=60)  # still alive
    await age(store, entry, 120)
    assert await store.journal_take(entry, idle_for=60)
    assert not await store.journal_take(entry, idle_for=60)  # taken: touched just now


async def test_a_step_and_a_heartbeat_are_signs_of_life(store: Store) -> None:
    entry = await begin(store)
    await age(store, entry, 120)
    await store.journal_step(entry, "deleted")
    assert await store.journal_unfinished(idle_for=60) == []
    await age(store, entry, 120)
    await store.remedy_heartbeat({entry}, set())
    assert await store.journal_unfinished(idle_for=60) == []
    await store.journal_finish(entry)
    await age(store, entry, 120)
    assert await store.journal_unfinished() == []  # done entries are never recovered


async def test_idle_claims_are_dropped_except_those_kept_and_those_alive(store: Store) -> None:
    for key in ("orphan", "kept", "alive"):
        assert await store.claim_remedy(key, user_id="U1")
    assert await store.claim_remedy("done", user_id="U1")
    await store.finish_remedy("done", "success")
    old = _iso(utcnow() - timedelta(seconds=120))
    await store._write("UPDATE remedy_claims SET claimed_at = ?", (old,))
    await store.remedy_heartbeat(set(), {"alive"})
    assert await store.release_idle_claims(idle_for=60, keep={"kept"}) == 1
    assert await store.remedy_claim("orphan") is None
    for key in ("kept", "alive", "done"):
        assert await store.remedy_claim(key) is not None
