"""Arrivals first, in the store: the daily digest claim, escalations raised, App Home viewers.

`ArrivalStore` is the protocol (part of `StateStore`); `ArrivalSqlMixin` is its SQLite
implementation, mixed into `bot.store.sqlite.Store` (tables of migration 8). Times are aware
UTC; a digest's `day` is the local date in `TIMEZONE` (`YYYY-MM-DD`).

Once a day, also across restarts and processes: `claim_arrival_digest` inserts the day's row
before anything is posted (exactly one caller wins), the ts is written right after the post,
and a claim whose post never got a ts (a crash in between, or Slack refused it) can be taken
again after `retry_after` seconds, the same intent-then-post order the alerts use.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import aiosqlite

__all__ = ["ArrivalDigestRecord", "ArrivalSqlMixin", "ArrivalStore"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if isinstance(value, str) else None


@dataclass(frozen=True)
class ArrivalDigestRecord:
    """One day's pre-arrival digest: `ts` None while claimed but not (yet) posted."""

    day: date
    channel: str
    ts: str | None
    claimed_at: datetime
    posted_at: datetime | None
    content_hash: str | None


class ArrivalStore(Protocol):
    """The daily digest's once-a-day state, escalations raised, and App Home viewers."""

    async def claim_arrival_digest(
        self, day: date, *, channel: str, at: datetime, retry_after: float = 300.0
    ) -> bool:
        """Claim the right to post `day`'s digest. True for exactly one caller: the first, or
        (when the day's claim never got a ts) the first after `retry_after` seconds."""
        ...

    async def set_arrival_digest_posted(
        self, day: date, *, channel: str, ts: str, content_hash: str, at: datetime
    ) -> None:
        """Record the posted digest's message (right after chat.postMessage)."""
        ...

    async def release_arrival_digest(self, day: date) -> None:
        """Drop an unposted claim (the post failed) so it can be tried again at once."""
        ...

    async def arrival_digest(self, day: date) -> ArrivalDigestRecord | None:
        """The day's digest row, if any."""
        ...

    async def escalations_raised(self, alert_key: str, starts_at: datetime) -> set[float]:
        """Thresholds (seconds before `starts_at`) already raised for this alert and start."""
        ...

    async def record_escalations(
        self, alert_key: str, starts_at: datetime, thresholds: Collection[float], *, at: datetime
    ) -> None:
        """Remember thresholds as raised (idempotent)."""
        ...

    async def note_home_opened(self, user_id: str, *, at: datetime) -> None:
        """Someone opened the App Home tab (and it was published for them)."""
        ...

    async def recent_home_viewers(self, *, since: datetime) -> list[str]:
        """Users who opened the App Home tab at or after `since`, most recent first."""
        ...


class ArrivalSqlMixin:
    """`ArrivalStore` over the store's one SQLite connection (see `bot.store.sqlite.Store`)."""

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        raise NotImplementedError  # pragma: no cover - Store's own _write is used

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError  # pragma: no cover - Store's own _fetchall is used

    async def claim_arrival_digest(
        self, day: date, *, channel: str, at: datetime, retry_after: float = 300.0
    ) -> bool:
        """See `ArrivalStore.claim_arrival_digest` (one INSERT ... ON CONFLICT statement)."""
        cursor = await self._write(
            "INSERT INTO arrival_digests (day, channel, claimed_at) VALUES (?, ?, ?)"
            " ON CONFLICT(day) DO UPDATE SET claimed_at = excluded.claimed_at,"
            " channel = excluded.channel"
            " WHERE arrival_digests.ts IS NULL AND arrival_digests.claimed_at <= ?",
            (day.isoformat(), channel, _iso(at), _iso(at - timedelta(seconds=retry_after))),
        )
        return cursor.rowcount == 1

    async def set_arrival_digest_posted(
        self, day: date, *, channel: str, ts: str, content_hash: str, at: datetime
    ) -> None:
        """See `ArrivalStore.set_arrival_digest_posted`."""
        await self._write(
            "UPDATE arrival_digests SET channel = ?, ts = ?, content_hash = ?, posted_at = ?"
            " WHERE day = ?",
            (channel, ts, content_hash, _iso(at), day.isoformat()),
        )

    async def release_arrival_digest(self, day: date) -> None:
        """See `ArrivalStore.release_arrival_digest` (a posted digest is never released)."""
        await self._write(
            "DELETE FROM arrival_digests WHERE day = ? AND ts IS NULL", (day.isoformat(),)
        )

    async def arrival_digest(self, day: date) -> ArrivalDigestRecord | None:
        """See `ArrivalStore.arrival_digest`."""
        rows = await self._fetchall(
            "SELECT * FROM arrival_digests WHERE day = ?", (day.isoformat(),)
        )
        if not rows:
            return None
        row = rows[0]
        claimed = _time(row["claimed_at"])
        assert claimed is not None
        return ArrivalDigestRecord(
            day=date.fromisoformat(row["day"]),
            channel=str(row["channel"]),
            ts=row["ts"],
            claimed_at=claimed,
            posted_at=_time(row["posted_at"]),
            content_hash=row["content_hash"],
        )

    async def escalations_raised(self, alert_key: str, starts_at: datetime) -> set[float]:
        """See `ArrivalStore.escalations_raised`."""
        rows = await self._fetchall(
            "SELECT threshold FROM alert_escalations WHERE alert_key = ? AND starts_at = ?",
            (alert_key, _iso(starts_at)),
        )
        return {float(row["threshold"]) for row in rows}

    async def record_escalations(
        self, alert_key: str, starts_at: datetime, thresholds: Collection[float], *, at: datetime
    ) -> None:
        """See `ArrivalStore.record_escalations` (rows older than 30 days are pruned)."""
        for threshold in thresholds:
            await self._write(
                "INSERT INTO alert_escalations (alert_key, starts_at, threshold, at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (alert_key, _iso(starts_at), int(threshold), _iso(at)),
            )
        await self._write(
            "DELETE FROM alert_escalations WHERE at < ?", (_iso(at - timedelta(days=30)),)
        )

    async def note_home_opened(self, user_id: str, *, at: datetime) -> None:
        """See `ArrivalStore.note_home_opened`."""
        await self._write(
            "INSERT INTO home_views (user_id, opened_at, published_at) VALUES (?, ?, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET opened_at = excluded.opened_at,"
            " published_at = excluded.published_at",
            (user_id[:40], _iso(at), _iso(at)),
        )

    async def recent_home_viewers(self, *, since: datetime) -> list[str]:
        """See `ArrivalStore.recent_home_viewers`."""
        rows = await self._fetchall(
            "SELECT user_id FROM home_views WHERE opened_at >= ? ORDER BY opened_at DESC",
            (_iso(since),),
        )
        return [str(row["user_id"]) for row in rows]
