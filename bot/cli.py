"""`python -m bot scan`: one scan printed as a table, or the scanner as its own process.

`run_cli(once=True)` prints the findings of one scan (PINs never shown), most urgent first;
with `post=True` it also reconciles them to `ALERT_CHANNEL`. Without `once` the scanner runs as
its own process until SIGTERM/SIGINT (a lease in the store lets one scanner post at a time).

Only what `scan --once` needs is imported at module level (settings, the Seam client, the
domain, the scan); Slack, the store, alerting, webhooks and remedies are imported by the
commands that use them, so the one-shot scan starts in a fraction of the server's import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import unicodedata
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlparse

from bot.domain.catalogue import default_catalogue
from bot.domain.findings import seconds_to_start, time_to_start_text
from bot.domain.observation import Observation
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError, SeamInvalidInputError
from bot.seam.models import AccessCode
from bot.services.observing import scan_workspace
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services.digest import PreArrivalDigest
    from bot.services.scanning import Scanner

logger = logging.getLogger(__name__)

__all__ = [
    "format_findings",
    "list_webhooks",
    "register_webhook",
    "run_cli",
    "run_digest",
    "status",
]


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
    return time_to_start_text(seconds) or ""


def format_findings(scan: Observation, *, now: datetime | None = None) -> str:
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
            urgency = time_to_start_text(seconds) or ""
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
        f"Scan {state}: {len(scan.devices)} devices, {scan.codes_seen} codes, "
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
    catalogue = default_catalogue()
    async with SeamClient.from_settings(settings) as seam:
        if not post and once:
            scan = await scan_workspace(seam, catalogue=catalogue)
            out.write(format_findings(scan))
            return 0 if scan.complete else 1
        from bot.app import build_alert_service, build_digest, build_slack_client
        from bot.services.container import Services
        from bot.services.scanning import Scanner
        from bot.store import Store

        store = await Store.open(settings.database_target())
        try:
            services = Services(settings=settings, seam=seam, catalogue=catalogue, store=store)
            slack = build_slack_client(settings)
            scanner = Scanner(
                seam,
                catalogue=catalogue,
                alerts=build_alert_service(services, slack),
                interval=settings.scan_interval_seconds if not once else 60.0,
                at_risk_hours=settings.at_risk_hours,
            )
            if not once:
                await _serve_scanner(scanner, build_digest(services, slack))
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


async def _serve_scanner(scanner: Scanner, digest: PreArrivalDigest | None = None) -> None:
    """Run the scanner (and the daily pre-arrival digest) until SIGTERM or SIGINT, then stop
    them cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    scanner.start()
    if digest is not None:
        digest.start()
    logger.info("scanner running every %.0f s; stop with SIGTERM or Ctrl-C", scanner.interval)
    try:
        await stop.wait()
    finally:
        await scanner.stop()
        if digest is not None:
            await digest.stop()


async def run_digest(settings: Settings, out: TextIO | None = None) -> int:
    """`python -m bot digest --once`: post the pre-arrival digest to ALERT_CHANNEL now (the
    content the daily one has; it counts as today's, so the server does not post another).

    Exit 0 when posted, 1 when Seam could not be read or Slack refused it, 2 without
    ALERT_CHANNEL.
    """
    from bot.app import build_digest, build_slack_client
    from bot.services.container import Services
    from bot.store import Store

    out = out or sys.stdout
    if not settings.alert_channel:
        print(
            "seam-code-doctor: the digest needs ALERT_CHANNEL (a channel ID such as C0123456789)",
            file=sys.stderr,
        )
        return 2
    async with SeamClient.from_settings(settings) as seam:
        store = await Store.open(settings.database_target())
        try:
            services = Services(
                settings=settings, seam=seam, catalogue=default_catalogue(), store=store
            )
            digest = build_digest(services, build_slack_client(settings))
            assert digest is not None  # ALERT_CHANNEL is set
            outcome = await digest.post_now()
        finally:
            await store.close()
    out.write(
        f"Pre-arrival digest for {outcome.day.isoformat()} ({settings.timezone}): "
        f"{outcome.arrivals} arrival(s); {outcome.detail}\n"
    )
    return 0 if outcome.posted else 1


async def register_webhook(settings: Settings, url: str, out: TextIO | None = None) -> int:
    """`webhook register --url URL`: create the Seam webhook for the event types the bot uses
    and print its secret. Exit 0, 2 for a URL that is not https (or http on loopback), 1 when
    Seam refuses."""
    from bot.services.events import HANDLED_EVENT_TYPES, NEWER_EVENT_TYPES
    from bot.web.seam_webhooks import SEAM_WEBHOOK_PATH

    out = out or sys.stdout
    parsed = urlparse(url)
    local = parsed.hostname in ("localhost", "127.0.0.1", "::1")
    if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
        print("seam-code-doctor: --url must be https://<your host>/seam/webhook", file=sys.stderr)
        return 2
    if not parsed.path.endswith(SEAM_WEBHOOK_PATH):
        print(f"seam-code-doctor: note: the bot listens on {SEAM_WEBHOOK_PATH}", file=sys.stderr)
    types = sorted(HANDLED_EVENT_TYPES)
    async with SeamClient.from_settings(settings) as seam:
        try:
            try:
                webhook = await seam.create_webhook(url, types)
            except SeamInvalidInputError as exc:
                if exc.error_type != "invalid_event_types":
                    raise
                # An older Seam (or the bundled fake) lacks the newest types: a refused create
                # made nothing, so asking again without them is safe.
                types = [t for t in types if t not in NEWER_EVENT_TYPES]
                print(
                    "seam-code-doctor: note: this Seam does not offer "
                    f"{', '.join(sorted(NEWER_EVENT_TYPES))}; subscribing to the rest",
                    file=sys.stderr,
                )
                webhook = await seam.create_webhook(url, types)
        except SeamApiError as exc:
            print(f"seam-code-doctor: Seam refused the webhook: {exc}", file=sys.stderr)
            return 1
    out.write(f"Created Seam webhook {webhook.get('webhook_id', '?')} for {url}\n")
    out.write(
        f"Event types: {len(HANDLED_EVENT_TYPES)} ({', '.join(sorted(HANDLED_EVENT_TYPES))})\n"
    )
    out.write("Put this in the bot's settings (it is shown once):\n")
    out.write(f"SEAM_WEBHOOK_SECRET={webhook.get('secret', '')}\n")
    return 0


async def list_webhooks(settings: Settings, out: TextIO | None = None) -> int:
    """`webhook list`: the workspace's Seam webhooks (url, id, event types; never secrets)."""
    out = out or sys.stdout
    async with SeamClient.from_settings(settings) as seam:
        try:
            hooks = await seam.list_webhooks()
        except SeamApiError as exc:
            print(f"seam-code-doctor: could not list webhooks: {exc}", file=sys.stderr)
            return 1
    if not hooks:
        out.write("No Seam webhooks: real-time alerts need `webhook register --url ...`.\n")
    for hook in hooks:
        types = hook.get("event_types") or ["*"]
        out.write(
            f"{_cell(str(hook.get('webhook_id', '?')), 40).rstrip()}  "
            f"{_cell(str(hook.get('url', '')), 80).rstrip()}  {len(types)} event type(s)\n"
        )
    return 0


async def status(settings: Settings, out: TextIO | None = None) -> int:
    """`status`: whether webhooks are on, when the last Seam event arrived, the last scans."""
    from bot.store import Store

    out = out or sys.stdout
    store = await Store.open(settings.database_target())
    try:
        last = await store.last_event_at()
        scans = await store.recent_scans(limit=3)
    finally:
        await store.close()
    on = settings.seam_webhook_secret is not None
    out.write(f"Real-time alerts (Seam webhooks): {'on' if on else 'off'}\n")
    out.write(f"Last Seam event: {last.isoformat(timespec='seconds') if last else 'none yet'}\n")
    if on and settings.scan_interval_seconds > 0 and scans:
        quiet = last is None or (datetime.now(UTC) - last).total_seconds() > (
            settings.scan_interval_seconds
        )
        if quiet:
            out.write(
                "WARNING: no Seam event for longer than a scan interval; check the webhook "
                "(python -m bot webhook list) and that /seam/webhook is reachable.\n"
            )
    for scan in scans:
        state = "complete" if scan.complete else "INCOMPLETE"
        out.write(
            f"Scan {scan.finished_at.isoformat(timespec='seconds')}: {state}, {scan.devices} "
            f"devices, {scan.codes} codes, {scan.findings} findings\n"
        )
    if not scans:
        out.write("No scan recorded yet.\n")
    return 0
