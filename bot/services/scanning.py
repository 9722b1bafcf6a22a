"""The periodic scanner: scan the workspace, hand the observation to the alert service.

`Scanner` owns the loop: `run_once()` (scan, then reconcile alerts), `run_forever()`, and
`start()`/`stop()` for the web app's lifecycle. It also runs as its own process
(`python -m bot scan`); a lease in the store (`Leadership`) lets only one scanner post at a time.
The scan itself is `bot.services.observing.scan_workspace`.

The lease is renewed only when less than half its ttl is left (every other iteration with the
default ttl of 2 × interval + 60 s), so a quiet scan writes nothing but its scan record. That is
safe because a lease this scanner took cannot be taken by anyone else before it expires (a
peer takes a live holder's lease only after its ttl; `dead_holder` names only processes that
no longer run), and the local expiry is counted from just *before* the write that took it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.arrivals import DEFAULT_AT_RISK_HOURS
from bot.domain.catalogue import Catalogue
from bot.domain.observation import Observation, ScanResult
from bot.seam.client import SeamClient
from bot.services.alerting import AlertService, ReconcileReport
from bot.services.events import WebhookHealth
from bot.services.leases import dead_local_holder, process_holder
from bot.services.observing import DEFAULT_CONCURRENCY, scan_workspace

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "LEASE_NAME",
    "ScanOutcome",
    "ScanResult",
    "Scanner",
    "scan_workspace",
]

#: The store lease that lets one scanner at a time reconcile alerts.
LEASE_NAME = "alert-scanner"


@dataclass(frozen=True)
class ScanOutcome:
    """One iteration of the scanner: the scan, and the alert reconciliation if it ran.

    `skipped_reason` is set when alerts were not reconciled (another scanner holds the lease).
    `duration` is in seconds.
    """

    scan: Observation
    report: ReconcileReport | None
    duration: float
    skipped_reason: str | None = None


class Scanner:
    """The periodic scanner: one owned asyncio task, started and stopped by the app.

    Args:
        seam: the Seam client.
        catalogue: the remedy catalogue.
        alerts: where observations go (None: scan only, e.g. `scan --once` without `--post`).
        interval: seconds between the starts of two scans (> 0 for `run_forever`).
        concurrency: devices listed at the same time.
        lease_ttl: seconds the scanner lease is held without renewal (default: 2 × interval +
            60). Others try to take it every quarter interval. A killed leader is replaced at
            the next try: on PostgreSQL the lease is a session advisory lock, released by the
            server when the leader's connection dies (on any host); on SQLite (one host) a
            holder whose process no longer exists is replaced at once. Otherwise the ttl
            decides.
        clock: current time (aware UTC).
        sleep: the sleep used between iterations (tests).
        webhook_health: warns when Seam webhooks are configured but silent while scans find
            changes (None: webhooks are off).
        at_risk_hours: AT_RISK_HOURS (the predictive "not set yet" check of each scan).
    """

    def __init__(
        self,
        seam: SeamClient,
        *,
        catalogue: Catalogue,
        alerts: AlertService | None = None,
        interval: float = 900.0,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease_ttl: float | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        webhook_health: WebhookHealth | None = None,
        at_risk_hours: float = DEFAULT_AT_RISK_HOURS,
    ) -> None:
        self.seam = seam
        self.at_risk_hours = at_risk_hours
        self.webhook_health = webhook_health
        self.catalogue = catalogue
        self.alerts = alerts
        self.interval = interval
        self.concurrency = concurrency
        self.lease_ttl = lease_ttl if lease_ttl is not None else 2 * interval + 60
        self.holder = process_holder()
        self._clock = clock
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._lease_until = 0.0  # wall-clock seconds: the lease is ours at least until then
        self.iterations = 0
        self.last_outcome: ScanOutcome | None = None

    async def run_once(self) -> ScanOutcome:
        """Scan once and, with an AlertService, reconcile the alerts. Raises only on bugs.

        With an AlertService, only the holder of the scanner lease scans at all (any number of
        scanner processes may run: exactly one scans); the others return at once with
        `skipped_reason` set and an empty observation.
        """
        started = time.monotonic()
        if self.alerts is not None and not await self._lead():
            reason = "another scanner holds the alert lease"
            logger.info("scan: skipped: %s", reason)
            now = self._clock()
            outcome = ScanOutcome(
                scan=Observation(started_at=now, finished_at=now, devices_listed=False),
                report=None,
                duration=time.monotonic() - started,
                skipped_reason=reason,
            )
            self.last_outcome = outcome
            self.iterations += 1
            return outcome
        renewing = asyncio.create_task(self._keep_lease()) if self.alerts is not None else None
        try:
            scan = await scan_workspace(
                self.seam,
                catalogue=self.catalogue,
                concurrency=self.concurrency,
                clock=self._clock,
                at_risk_hours=self.at_risk_hours,
            )
        finally:
            if renewing is not None:
                renewing.cancel()
        report: ReconcileReport | None = None
        skipped: str | None = None
        if self.alerts is not None:
            if await self._lead():
                report = await self.alerts.reconcile(scan)
                if self.webhook_health is not None:
                    await self.webhook_health.check(report)
            else:
                skipped = "another scanner took the alert lease during the scan"
                logger.warning("scan: not reconciling alerts: %s", skipped)
        outcome = ScanOutcome(
            scan=scan, report=report, duration=time.monotonic() - started, skipped_reason=skipped
        )
        self.last_outcome = outcome
        self.iterations += 1
        _log_outcome(outcome)
        return outcome

    @property
    def leading(self) -> bool:
        """Whether the last iteration held the scanner lease (it scanned)."""
        return self.last_outcome is None or self.last_outcome.skipped_reason is None

    async def _lead(self) -> bool:
        """Whether this scanner holds the lease (timed by the store's clock: the database
        server's on PostgreSQL); renews it only near expiry (module doc): True without a write
        while more than half of `lease_ttl` is left."""
        assert self.alerts is not None
        if self._lease_until - time.time() > self.lease_ttl / 2:
            return True
        store = self.alerts.store
        asked = time.time()
        held = await store.acquire_lease(
            LEASE_NAME,
            self.holder,
            self.lease_ttl,
            dead_holder=dead_local_holder(await store.lease_holder(LEASE_NAME)),
        )
        self._lease_until = asked + self.lease_ttl if held else 0.0
        return held

    async def _keep_lease(self) -> None:
        """While a scan runs: make sure the lease never lapses (checked every third of it)."""
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                await self._lead()
            except Exception:
                logger.warning("could not renew the scanner lease", exc_info=True)

    async def run_forever(self) -> None:
        """Scan every `interval` seconds until cancelled; an iteration's error never ends it."""
        if self.interval <= 0:
            raise ValueError("interval must be > 0 to run forever")
        while True:
            started = time.monotonic()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("scan iteration failed; the next one runs as planned")
            elapsed = time.monotonic() - started
            # A follower tries for the lease every quarter interval (a dead leader is replaced
            # within one interval); the leader scans every interval.
            every = self.interval if self.leading else max(1.0, self.interval / 4)
            await self._sleep(max(0.0, every - elapsed))

    def start(self) -> asyncio.Task[None]:
        """Start `run_forever` as this scanner's task (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run_forever(), name="seam-alert-scanner")
        return self._task

    @property
    def running(self) -> bool:
        """The scanner task exists and has not finished."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Cancel the task, wait for it to end, and give the lease up."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.alerts is not None:
            self._lease_until = 0.0
            try:
                await self.alerts.store.release_lease(LEASE_NAME, self.holder)
            except Exception:
                logger.warning("could not release the scanner lease", exc_info=True)


def _log_outcome(outcome: ScanOutcome) -> None:
    scan = outcome.scan
    report = outcome.report
    summary = (
        f"{len(scan.devices)} devices, {scan.codes_seen} codes, {len(scan.findings)} findings,"
        f" {scan.seam_calls} Seam calls, {outcome.duration:.2f} s"
    )
    if report is not None:
        summary += f"; alerts: {report.summary()}"
    if scan.complete:
        logger.info("scan complete: %s", summary)
    else:
        logger.warning(
            "scan incomplete (%d device(s) unseen%s): %s; nothing unseen was resolved",
            len(scan.failed_device_ids),
            "" if scan.devices_listed else ", device list unread",
            summary,
        )
