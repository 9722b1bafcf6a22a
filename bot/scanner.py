"""Periodic workspace scans: read every device and code from Seam, turn problems into findings.

`scan_workspace` is one pass: `/devices/list` (every page), then for each device its managed and
unmanaged codes (`/access_codes/list`, `/access_codes/unmanaged/list`, every page) with at most
`concurrency` devices in flight. Seam tries to program a scheduled code up to 9 days before its
`starts_at` and records errors and warnings on the code well before activation
(docs.seam.co/latest/capability-guides/smart-locks/access-codes), so a scan every few minutes
finds a failing guest code days before the guest arrives.

A scan that fails partway (Seam 5xx, 429 after retries, timeouts) is *incomplete*: it says which
devices it did not fully see, and the alerting leaves their alerts alone, so a Seam outage never
produces a false "resolved".

`Scanner` owns the loop: `run_once()` (scan, then reconcile alerts), `run_forever()`, and
`start()`/`stop()` for the web app's lifecycle. It is also runnable as its own process
(`python -m bot scan`); a lease in the store lets only one scanner post at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from slack_sdk.web.async_client import AsyncWebClient

from bot.alert_blocks import seconds_to_start
from bot.alerts import ALERT_PACE_SECONDS, AlertManager, ReconcileReport
from bot.catalogue import Catalogue, default_catalogue
from bot.findings import Finding, findings_for_device
from bot.formatting import humanize_delta
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device
from bot.services import Services
from bot.settings import Settings
from bot.store import Store

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "LEASE_NAME",
    "ScanOutcome",
    "ScanResult",
    "Scanner",
    "build_alert_manager",
    "build_scanner",
    "format_findings",
    "run_cli",
    "scan_workspace",
]

#: Devices whose codes are listed at the same time.
DEFAULT_CONCURRENCY = 8
#: The store lease that lets one scanner at a time reconcile alerts.
LEASE_NAME = "alert-scanner"


@dataclass(frozen=True)
class ScanResult:
    """What one scan saw. Times are aware UTC.

    Attributes:
        started_at / finished_at: when the scan ran.
        devices_listed: `/devices/list` was read to its last page.
        devices: every device listed, by device_id.
        codes: every code seen, keyed by `(access_code_id, device_id)` with the code's *own*
            device_id; codes a list returned for another device are dropped, repeats collapse.
        covered_device_ids: devices whose managed and unmanaged code lists were read fully.
        failed_device_ids: devices listed but whose codes could not be read.
        findings: one per fingerprint, for covered devices only.
        errors: one line per failure (no secrets, no PINs).
        seam_calls: Seam HTTP requests this scan made (retries included).
        dropped_codes: codes ignored because their device_id was not the device being listed.
    """

    started_at: datetime
    finished_at: datetime
    devices_listed: bool
    devices: dict[str, Device] = field(default_factory=dict)
    codes: dict[tuple[str, str], AccessCode] = field(default_factory=dict)
    covered_device_ids: frozenset[str] = frozenset()
    failed_device_ids: frozenset[str] = frozenset()
    findings: tuple[Finding, ...] = ()
    errors: tuple[str, ...] = ()
    seam_calls: int = 0
    dropped_codes: int = 0

    @property
    def complete(self) -> bool:
        """Every device and every code list was read."""
        return self.devices_listed and not self.failed_device_ids

    def covers(self, device_id: str) -> bool:
        """Whether this scan may conclude that a problem on `device_id` is gone.

        True when the device's codes were read fully, or when the full device list was read
        and the device is no longer in it (removed from Seam).
        """
        if device_id in self.covered_device_ids:
            return True
        return self.devices_listed and device_id not in self.devices

    def code(self, access_code_id: str) -> AccessCode | None:
        """The code with this id, if seen (on its own device)."""
        for (code_id, _), code in self.codes.items():
            if code_id == access_code_id:
                return code
        return None

    def codes_by_id(self) -> dict[str, AccessCode]:
        """Every code seen, by access_code_id."""
        return {code_id: code for (code_id, _), code in self.codes.items()}


async def scan_workspace(
    seam: SeamClient,
    *,
    catalogue: Catalogue,
    concurrency: int = DEFAULT_CONCURRENCY,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    device_ids: Collection[str] | None = None,
) -> ScanResult:
    """Scan every device and code of the workspace once. Never raises for Seam failures.

    Args:
        seam: the Seam client (its `calls` counter gives `seam_calls`).
        catalogue: to classify each error and warning (scope, blocking).
        concurrency: devices whose codes are listed at the same time (asyncio.Semaphore).
        clock: current time (aware UTC).
        device_ids: scan only these devices (read with `/devices/get`), e.g. for a Re-check
            button. Such a scan is never `complete` and `covers` only those devices, so
            reconciling it leaves every other alert alone.

    Returns:
        A `ScanResult`; `complete` is False when anything could not be read.
    """
    started = clock()
    calls_before = seam.calls
    try:
        if device_ids is None:
            devices_list = await seam.list_devices()
        else:
            devices_list = [await seam.get_device(device_id) for device_id in device_ids]
    except SeamApiError as exc:
        logger.warning("scan: could not list devices: %s", exc)
        return ScanResult(
            started_at=started,
            finished_at=clock(),
            devices_listed=False,
            errors=(f"/devices/list: {exc}",),
            seam_calls=seam.calls - calls_before,
        )
    devices: dict[str, Device] = {}
    for device in devices_list:
        devices.setdefault(device.device_id, device)

    semaphore = asyncio.Semaphore(max(1, concurrency))
    codes: dict[tuple[str, str], AccessCode] = {}
    covered: set[str] = set()
    failed: set[str] = set()
    errors: list[str] = []
    findings: list[Finding] = []
    dropped = 0

    async def one(device: Device) -> None:
        nonlocal dropped
        async with semaphore:
            try:
                managed = await seam.list_access_codes(device.device_id)
                unmanaged = await seam.list_unmanaged_access_codes(device.device_id)
            except SeamApiError as exc:
                failed.add(device.device_id)
                errors.append(f"device {device.device_id}: {exc}")
                logger.warning("scan: could not list codes of device %s: %s", device.device_id, exc)
                return
            except Exception as exc:  # a bug or an unexpected payload: this device is unseen
                failed.add(device.device_id)
                errors.append(f"device {device.device_id}: {type(exc).__name__}")
                logger.exception("scan: listing codes of device %s failed", device.device_id)
                return
        own: dict[tuple[str, str], AccessCode] = {}
        for code in [*managed, *unmanaged]:
            if code.device_id != device.device_id:
                dropped += 1
                continue
            own.setdefault((code.access_code_id, code.device_id), code)
        codes.update(own)
        covered.add(device.device_id)
        findings.extend(
            findings_for_device(device, own.values(), catalogue=catalogue, observed_at=clock())
        )

    await asyncio.gather(*(one(d) for d in devices.values()))
    order = {device_id: i for i, device_id in enumerate(devices)}
    findings.sort(key=lambda f: order.get(f.device_id, 0))
    return ScanResult(
        started_at=started,
        finished_at=clock(),
        devices_listed=device_ids is None,
        devices=devices,
        codes=codes,
        covered_device_ids=frozenset(covered),
        failed_device_ids=frozenset(failed),
        findings=tuple(findings),
        errors=tuple(errors),
        seam_calls=seam.calls - calls_before,
        dropped_codes=dropped,
    )


@dataclass(frozen=True)
class ScanOutcome:
    """One iteration of the scanner: the scan, and the alert reconciliation if it ran.

    `skipped_reason` is set when alerts were not reconciled (another scanner holds the lease).
    `duration` is in seconds.
    """

    scan: ScanResult
    report: ReconcileReport | None
    duration: float
    skipped_reason: str | None = None


class Scanner:
    """The periodic scanner: one owned asyncio task, started and stopped by the app.

    Args:
        seam: the Seam client.
        catalogue: the remedy catalogue.
        alerts: where findings go (None: scan only, e.g. `scan --once` without `--post`).
        interval: seconds between the starts of two scans (> 0 for `run_forever`).
        concurrency: devices listed at the same time.
        lease_ttl: seconds the reconcile lease is held (default: 2 × interval + 60); a crashed
            holder's lease expires after this.
        clock: current time (aware UTC).
        sleep: the sleep used between iterations (tests).
    """

    def __init__(
        self,
        seam: SeamClient,
        *,
        catalogue: Catalogue,
        alerts: AlertManager | None = None,
        interval: float = 900.0,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease_ttl: float | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.seam = seam
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
        """Scan once and, with an AlertManager, reconcile the alerts. Raises only on bugs."""
        started = time.monotonic()
        scan = await scan_workspace(
            self.seam, catalogue=self.catalogue, concurrency=self.concurrency, clock=self._clock
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


# ----------------------------------------------------------------------------- app and CLI


def build_alert_manager(
    services: Services, slack: AsyncWebClient, *, pace_seconds: float | None = None
) -> AlertManager:
    """The AlertManager for `ALERT_CHANNEL` with the settings' reminder and storm values."""
    settings = services.settings
    if not settings.alert_channel:
        raise ValueError("ALERT_CHANNEL is not set")
    return AlertManager(
        services.store,
        slack,
        settings.alert_channel,
        catalogue=services.catalogue,
        remind_after=settings.alert_remind_hours * 3600,
        storm_threshold=settings.alert_storm_threshold,
        pace_seconds=ALERT_PACE_SECONDS if pace_seconds is None else pace_seconds,
    )


def build_scanner(
    services: Services, slack: AsyncWebClient, *, pace_seconds: float | None = None
) -> Scanner | None:
    """The app's scanner from settings, or None when scanning is off.

    `SCAN_INTERVAL_SECONDS=0` turns it off silently; an unset `ALERT_CHANNEL` turns it off with
    one warning line. `slack` should come from `bot.app.build_slack_client` (429 retries).
    """
    settings = services.settings
    if settings.scan_interval_seconds <= 0:
        return None
    if not settings.alert_channel:
        logger.warning(
            "ALERT_CHANNEL is not set: proactive alerts are off (set it to a channel ID such as "
            "C0123456789, or SCAN_INTERVAL_SECONDS=0 to silence this)"
        )
        return None
    return Scanner(
        services.seam,
        catalogue=services.catalogue,
        alerts=build_alert_manager(services, slack, pace_seconds=pace_seconds),
        interval=settings.scan_interval_seconds,
    )


_COLUMNS = (("DEVICE", 26), ("CODE", 30), ("PROBLEM", 36), ("KIND", 7), ("SCOPE", 7))


def _cell(text: str, width: int) -> str:
    """Terminal-safe: control characters (e.g. escape sequences in a code name) removed."""
    clean = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    clean = " ".join(clean.split())
    if len(clean) > width:
        clean = clean[: width - 1] + "…"
    return clean.ljust(width)


def _urgency_text(seconds: float | None, code: AccessCode | None) -> str:
    if code is None:
        return ""
    if not code.is_time_bound:
        return "ongoing"
    if seconds is None:
        return "ended" if code.ends_at is not None else ""
    if seconds <= 0:
        return "stay in progress"
    return f"starts in {humanize_delta(seconds)}"


def format_findings(scan: ScanResult, *, now: datetime | None = None) -> str:
    """The scan's findings as a plain-text table (PINs never shown), most urgent first.

    Columns: device, code name, problem, kind, scope, urgency ("starts in 5 h").
    """
    now = now or datetime.now(UTC)
    codes = scan.codes_by_id()
    rows: list[tuple[tuple[bool, float, str], list[str]]] = []
    for finding in scan.findings:
        device = scan.devices.get(finding.device_id)
        device_name = device.name if device is not None else finding.device_id
        if finding.access_code_id:
            code = codes.get(finding.access_code_id)
            name = (code.name if code else None) or finding.access_code_id
            if code is not None and not code.is_managed:
                name += " (unmanaged)"
            seconds = seconds_to_start(code, now)
            urgency = _urgency_text(seconds, code)
        else:
            n = len(finding.carrier_code_ids)
            name = f"(lock; {n} code{'s' if n != 1 else ''})" if n else "(lock)"
            starts = [
                s
                for s in (seconds_to_start(codes.get(c), now) for c in finding.carrier_code_ids)
                if s is not None
            ]
            seconds = min(starts) if starts else None
            urgency = (
                "stay in progress"
                if seconds is not None and seconds <= 0
                else f"starts in {humanize_delta(seconds)}"
                if seconds is not None
                else ""
            )
        cells = [device_name, name, finding.problem, finding.kind, finding.scope.value]
        line = [_cell(c, w) for c, (_, w) in zip(cells, _COLUMNS, strict=True)]
        line.append(_cell(urgency, 20).rstrip())
        rows.append(((seconds is None, seconds or 0.0, device_name), line))
    rows.sort(key=lambda r: r[0])
    header = " ".join(_cell(title, w) for title, w in _COLUMNS) + " URGENCY"
    lines = [header, "-" * len(header)]
    lines += [" ".join(line).rstrip() for _, line in rows]
    if not rows:
        lines.append("(no problems found)")
    state = "complete" if scan.complete else "INCOMPLETE"
    duration = (scan.finished_at - scan.started_at).total_seconds()
    lines.append("")
    lines.append(
        f"Scan {state}: {len(scan.devices)} devices, {len(scan.codes)} codes, "
        f"{len(scan.findings)} findings, {scan.seam_calls} Seam requests, {duration:.2f} s."
    )
    for error in scan.errors:
        lines.append(f"  not seen: {_cell(error, 200).rstrip()}")
    return "\n".join(lines) + "\n"


async def run_cli(settings: Settings, *, once: bool, post: bool, out: TextIO | None = None) -> int:
    """`python -m bot scan [--once [--post]]`.

    `--once`: one scan, printed as a table; with `--post` also reconciled to `ALERT_CHANNEL`.
    Exit 0, or 1 when the scan was incomplete (or `--post` could not post: another scanner
    holds the lease), 2 for a configuration problem. Without `--once`: the scanner as its own
    process, scanning every `SCAN_INTERVAL_SECONDS` until SIGTERM/SIGINT.
    """
    out = out or sys.stdout
    if (post or not once) and not settings.alert_channel:
        print(
            "seam-code-doctor: posting alerts needs ALERT_CHANNEL (a channel ID such as "
            "C0123456789)",
            file=sys.stderr,
        )
        return 2
    if not once and settings.scan_interval_seconds <= 0:
        print("seam-code-doctor: SCAN_INTERVAL_SECONDS must be > 0 to scan", file=sys.stderr)
        return 2
    from bot.app import build_slack_client

    catalogue = default_catalogue()
    async with SeamClient(
        settings.seam_api_key.get_secret_value(),
        str(settings.seam_endpoint),
        timeout=settings.seam_timeout_seconds,
    ) as seam:
        if not post and once:
            scan = await scan_workspace(seam, catalogue=catalogue)
            out.write(format_findings(scan))
            return 0 if scan.complete else 1
        store = await Store.open(settings.database_path)
        try:
            services = Services(settings=settings, seam=seam, catalogue=catalogue, store=store)
            scanner = Scanner(
                seam,
                catalogue=catalogue,
                alerts=build_alert_manager(services, build_slack_client(settings)),
                interval=settings.scan_interval_seconds if not once else 60.0,
            )
            if not once:
                await _serve_scanner(scanner)
                return 0
            try:
                outcome = await scanner.run_once()
            finally:
                await scanner.stop()
            out.write(format_findings(outcome.scan))
            if outcome.report is not None:
                out.write(f"Alerts in {settings.alert_channel}: {outcome.report.summary()}\n")
            if outcome.skipped_reason:
                out.write(f"Alerts not posted: {outcome.skipped_reason}\n")
                return 1
            return 0 if outcome.scan.complete else 1
        finally:
            await store.close()


async def _serve_scanner(scanner: Scanner) -> None:
    """Run the scanner until SIGTERM or SIGINT, then stop it cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    scanner.start()
    logger.info("scanner running every %.0f s; stop with SIGTERM or Ctrl-C", scanner.interval)
    try:
        await stop.wait()
    finally:
        await scanner.stop()


async def rescan_devices(services: Services, device_ids: Collection[str]) -> ScanResult | None:
    """Re-read only these devices and reconcile their alerts now (after a button press).

    Other alerts are left alone (the scan covers only these devices). Returns None when alerts
    are off (`services.alerts` is None). Never raises for Seam or Slack failures.
    """
    if services.alerts is None or not device_ids:
        return None
    scan = await scan_workspace(
        services.seam, catalogue=services.catalogue, device_ids=list(dict.fromkeys(device_ids))
    )
    await services.alerts.reconcile(scan)
    return scan
