"""The arrivals-first state on real SQLite files: one digest a day, escalations, Home viewers."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.store import Store

T0 = datetime(2025, 11, 30, 8, 0, tzinfo=UTC)
DAY = date(2025, 11, 30)


async def test_one_digest_claim_a_day_even_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    a, b = await Store.open(path), await Store.open(path)
    try:
        wins = await asyncio.gather(
            *(s.claim_arrival_digest(DAY, channel="C1", at=T0) for s in (a, b, a, b))
        )
        assert sorted(wins) == [False, False, False, True]
        record = await a.arrival_digest(DAY)
        assert record is not None and record.ts is None and record.claimed_at == T0
        # an unposted claim may be retaken only after retry_after (a crash between claim and post)
        assert not await b.claim_arrival_digest(DAY, channel="C1", at=T0 + timedelta(seconds=60))
        later = T0 + timedelta(seconds=301)
        assert await b.claim_arrival_digest(DAY, channel="C1", at=later)
        await b.set_arrival_digest_posted(DAY, channel="C1", ts="1.2", content_hash="h", at=later)
        # posted: never again that day, and a release does not undo it
        await a.release_arrival_digest(DAY)
        assert not await a.claim_arrival_digest(DAY, channel="C1", at=later + timedelta(days=0.5))
        posted = await a.arrival_digest(DAY)
        assert posted is not None and posted.ts == "1.2" and posted.posted_at == later
        # the next day is its own
        assert await a.claim_arrival_digest(DAY + timedelta(days=1), channel="C1", at=later)
        # a failed post is released and can be claimed again at once
        other = DAY + timedelta(days=2)
        assert await a.claim_arrival_digest(other, channel="C1", at=later)
        await a.release_arrival_digest(other)
        assert await b.claim_arrival_digest(other, channel="C1", at=later)
    finally:
        await a.close()
        await b.close()
    reopened = await Store.open(path)
    try:
        assert not await reopened.claim_arrival_digest(
            DAY, channel="C1", at=T0 + timedelta(hours=9)
        )
    finally:
        await reopened.close()


async def test_escalations_are_kept_per_alert_and_start(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "s.sqlite3")
    try:
        start = T0 + timedelta(hours=20)
        assert await store.escalations_raised("code:a", start) == set()
        await store.record_escalations("code:a", start, [86400.0], at=T0)
        await store.record_escalations("code:a", start, [86400.0, 14400.0], at=T0)
        assert await store.escalations_raised("code:a", start) == {86400.0, 14400.0}
        # a rescheduled code (new start) is a new arrival; other alerts are separate
        assert await store.escalations_raised("code:a", start + timedelta(days=1)) == set()
        assert await store.escalations_raised("code:b", start) == set()
    finally:
        await store.close()


async def test_recent_home_viewers(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "s.sqlite3")
    try:
        await store.note_home_opened("U1", at=T0)
        await store.note_home_opened("U2", at=T0 + timedelta(minutes=50))
        await store.note_home_opened("U1", at=T0 + timedelta(minutes=55))
        since = T0 + timedelta(minutes=10)
        assert await store.recent_home_viewers(since=since) == ["U1", "U2"]
        assert await store.recent_home_viewers(since=T0 + timedelta(minutes=52)) == ["U1"]
    finally:
        await store.close()
