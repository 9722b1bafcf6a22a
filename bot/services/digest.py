"""The daily pre-arrival digest: once a day at DIGEST_TIME in TIMEZONE, every arrival in 72 h.

`PreArrivalDigest.post_if_due()` posts today's digest when DIGEST_TIME has passed and today's is
not in the store yet: run every minute by `run_forever` (so a digest missed while the process
was down is posted once, at start-up), never twice a day, also across restarts and processes
(the day is claimed in the store before posting: `ArrivalStore.claim_arrival_digest`).
`post_now()` is `python -m bot digest --once`: the same content, now; it also counts as
today's digest, so a server running beside a cron job does not post a second one.

Every digest reads Seam afresh (`scan_workspace`) so it says what Seam says at posting time; a
device list Seam could not read posts nothing (tried again on the next check) rather than a
digest claiming "no arrivals". Chat goes through the same `AlertChannel` port as the alerts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Protocol

from bot.domain.arrivals import (
    ARRIVAL_WINDOW_SECONDS,
    DEFAULT_AT_RISK_HOURS,
    Arrival,
    digest_due,
    local_day,
)
from bot.domain.catalogue import Catalogue
from bot.seam.client import SeamClient
from bot.services.alerting import AlertChannel, Rendered
from bot.services.observing import scan_workspace
from bot.services.tasks import cancel_and_wait
from bot.store import ArrivalStore, utcnow

logger = logging.getLogger(__name__)

__all__ = ["DigestOutcome", "DigestRenderer", "PreArrivalDigest"]


class DigestRenderer(Protocol):
    """Turns arrivals into the digest message (`bot.slack.arrivals.BlockKitArrivalRenderer`)."""

    def arrival_digest(
        self,
        arrivals: Sequence[Arrival],
        *,
        now: datetime,
        tz: tzinfo,
        window_hours: float,
        unseen_locks: int,
    ) -> Rendered:
        """The digest: headline count, arrivals by day, buttons for those not OK."""
        ...


@dataclass(frozen=True)
class DigestOutcome:
    """What one attempt did: `posted`, the local `day`, how many `arrivals`, and `detail`
    ("posted", "Seam could not be read", "Slack refused it: …")."""

    posted: bool
    day: date
    arrivals: int
    detail: str
    ts: str | None = None


class PreArrivalDigest:
    """Posts the pre-arrival digest to the alert channel (one owned task when scheduled).

    Args:
        store: the once-a-day state (`ArrivalStore`).
        channel_io / renderer: chat port and Block Kit (as for alerts).
        channel: ALERT_CHANNEL.
        seam / catalogue: to read Seam afresh and classify what it says.
        tz: TIMEZONE; `at`: DIGEST_TIME as (hour, minute), None = no daily digest.
        at_risk_hours: AT_RISK_HOURS (the same predictive checks as the scanner).
        clock: current time (aware UTC); `sleep`: between checks (tests).
        check_every: seconds between "is it due?" checks.
    """

    def __init__(
        self,
        store: ArrivalStore,
        channel_io: AlertChannel,
        renderer: DigestRenderer,
        channel: str,
        *,
        seam: SeamClient,
        catalogue: Catalogue,
        tz: tzinfo,
        at: tuple[int, int] | None,
        at_risk_hours: float = DEFAULT_AT_RISK_HOURS,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        check_every: float = 60.0,
    ) -> None:
        self.store = store
        self.channel_io = channel_io
        self.renderer = renderer
        self.channel = channel
        self.seam = seam
        self.catalogue = catalogue
        self.tz = tz
        self.at = at
        self.at_risk_hours = at_risk_hours
        self._clock = clock
        self._sleep = sleep
        self.check_every = check_every
        self._task: asyncio.Task[None] | None = None
        self.last: DigestOutcome | None = None

    async def post_if_due(self) -> DigestOutcome | None:
        """Post today's digest if DIGEST_TIME has passed and today's is not posted (or being
        posted by another process). Returns what was done, or None when nothing was due."""
        if self.at is None:
            return None
        now = self._clock()
        day = digest_due(now, self.tz, *self.at)
        if day is None:
            return None
        existing = await self.store.arrival_digest(day)
        if existing is not None and existing.ts is not None:
            return None
        if not await self.store.claim_arrival_digest(day, channel=self.channel, at=now):
            return None
        return await self._post(day, now, claimed=True)

    async def post_now(self) -> DigestOutcome:
        """Post the digest now (`digest --once`); it counts as today's when none was posted."""
        now = self._clock()
        day = local_day(now, self.tz)
        existing = await self.store.arrival_digest(day)
        claimed = existing is None and await self.store.claim_arrival_digest(
            day, channel=self.channel, at=now
        )
        return await self._post(day, now, claimed=claimed)

    async def _post(self, day: date, now: datetime, *, claimed: bool) -> DigestOutcome:
        scan = await scan_workspace(
            self.seam, catalogue=self.catalogue, clock=self._clock, at_risk_hours=self.at_risk_hours
        )
        if not scan.devices_listed:
            if claimed:
                await self.store.release_arrival_digest(day)
            outcome = DigestOutcome(False, day, 0, "Seam could not be read; tried again later")
            logger.warning("pre-arrival digest for %s not posted: %s", day, outcome.detail)
            self.last = outcome
            return outcome
        message = self.renderer.arrival_digest(
            scan.arrivals,
            now=now,
            tz=self.tz,
            window_hours=ARRIVAL_WINDOW_SECONDS / 3600,
            unseen_locks=len(scan.failed_device_ids),
        )
        delivery = await self.channel_io.post(
            self.channel, message, alert_key=f"arrivals:{day.isoformat()}"
        )
        if delivery.status != "ok" or delivery.ts is None:
            if claimed:
                await self.store.release_arrival_digest(day)
            outcome = DigestOutcome(
                False, day, len(scan.arrivals), f"Slack refused it: {delivery.error or '?'}"
            )
            logger.warning("pre-arrival digest for %s not posted: %s", day, outcome.detail)
            self.last = outcome
            return outcome
        if claimed:
            await self.store.set_arrival_digest_posted(
                day,
                channel=delivery.channel or self.channel,
                ts=delivery.ts,
                content_hash=message.content_hash(),
                at=now,
            )
        logger.info("pre-arrival digest for %s posted: %d arrivals", day, len(scan.arrivals))
        outcome = DigestOutcome(True, day, len(scan.arrivals), "posted", ts=delivery.ts)
        self.last = outcome
        return outcome

    async def run_forever(self) -> None:
        """Check every `check_every` seconds (first at once: a missed digest is posted at
        start-up) until cancelled; a failed check never ends the loop."""
        while True:
            try:
                await self.post_if_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("pre-arrival digest check failed; the next one runs as planned")
            await self._sleep(self.check_every)

    def start(self) -> asyncio.Task[None] | None:
        """Start the daily schedule as this object's task (idempotent; None when off)."""
        if self.at is None:
            return None
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run_forever(), name="pre-arrival-digest")
        return self._task

    async def stop(self) -> None:
        """Cancel the task and wait for it to end."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
