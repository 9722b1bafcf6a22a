"""The periodic scanner: scan the workspace, hand the observation to the alert service.

`Scanner` owns the loop: `run_once()` (scan, then reconcile alerts), `run_forever()`, and
`start()`/`stop()` for the web app's lifecycle. It also runs as its own process
(`python -m bot scan`); a lease in the store (`Leadership`) lets only one scanner post at a time.
The scan itself is `bot.services.observing.scan_workspace`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.arrivals import DEFAULT_AT_RISK_HOURS
from bot.domain.catalogue import Catalogue
from bot.domain.observation import Observation, ScanResult
from bot.seam.client import SeamClient
from bot.services.alerting import AlertService, ReconcileReport
from bot.services.events import WebhookHealth
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
        lease_ttl: seconds the reconcile lease is held (default: 2 × interval + 60); a crashed
            holder's lease expires after this.
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
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self.iterations = 0
        self.last_outcome: ScanOutcome | None = None

    async def run_once(self) -> ScanOutcome:
        """Scan once and, with an AlertService, reconcile the alerts. Raises only on bugs."""
        started = time.monotonic()
        scan = await scan_workspace(
            self.seam,
            catalogue=self.catalogue,
            concurrency=self.concurrency,
            clock=self._clock,
            at_risk_hours=self.at_risk_hours,
        )
        report: ReconcileReport | None = None
        skipped: str | None = None
        if self.alerts is not None:
            store = self.alerts.store
            if await store.acquire_lease(
                LEASE_NAME,
                self.holder,
                self.lease_ttl,
                dead_holder=_dead_local_holder(await store.lease_holder(LEASE_NAME)),
            ):
                report = await self.alerts.reconcile(scan)
                if self.webhook_health is not None:
                    await self.webhook_health.check(report)
            else:
                skipped = "another scanner holds the alert lease"
                logger.warning("scan: not reconciling alerts: %s", skipped)
        outcome = ScanOutcome(
            scan=scan, report=report, duration=time.monotonic() - started, skipped_reason=skipped
        )
        self.last_outcome = outcome
        self.iterations += 1
        _log_outcome(outcome)
        return outcome

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
            await self._sleep(max(0.0, self.interval - elapsed))

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
            try:
                await self.alerts.store.release_lease(LEASE_NAME, self.holder)
            except Exception:
                logger.warning("could not release the scanner lease", exc_info=True)


def _dead_local_holder(holder: str | None) -> str | None:
    """`holder` if it names a process on this host that no longer runs (killed, crashed)."""
    if not holder:
        return None
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return None
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return holder
    except PermissionError:
        return None
    return None


def _log_outcome(outcome: ScanOutcome) -> None:
    scan = outcome.scan
    report = outcome.report
    summary = (
        f"{len(scan.devices)} devices, {len(scan.codes)} codes, {len(scan.findings)} findings,"
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
