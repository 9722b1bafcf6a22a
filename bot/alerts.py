"""Alert lifecycle: one Slack message per problem subject, posted, edited, reminded and resolved.

`AlertManager.reconcile(scan)` compares what a scan saw with the alert state in the store and
makes Slack match it:

* **One message per alert.** An alert is one access code (`code:<access_code_id>`, listing all
  of its current problems) or one lock (`device:<device_id>`, for device- and account-level
  problems, listing the codes affected). A problem is a *fingerprint*
  (`code:<access_code_id>:<problem>` / `device:<device_id>:<problem>`), tracked with first and
  last seen times.
* **Edit in place.** When an alert's rendering changes (problems, urgency band, snooze line) its
  message is edited with `chat.update`; when nothing changed, nothing is sent or written (a
  content hash of the rendering is stored). When every problem clears, the message is edited to
  its resolved form and a short thread reply says so. A problem still open after
  `remind_after` seconds gets a reminder in the thread, then again every `remind_after`.
* **Grouping and suppression.** A blocking device- or account-level error (device offline,
  disconnected, hub/bridge or account disconnected...) makes one device alert listing the
  affected codes; new code-level alerts on that lock are folded into it, not posted. An alert
  that already had its own message keeps it (and keeps being updated), so nothing is lost.
* **Storms.** When more than `storm_threshold` new alerts appear in one reconcile, one digest
  message lists them (most urgent first, "…and N more"); its members are recorded as listed in
  it, never posted on their own, and the digest is edited in place as they change.
* **Snooze and acknowledge** (set by the remedies' buttons through `Store.snooze` /
  `Store.acknowledge`): no reminders. A snoozed alert that gets worse (a new error, or a warning
  becoming an error) wakes up with a thread reply. Acknowledged alerts stay acknowledged.
* **Incomplete scans.** Only alerts on devices the scan fully saw (`scan.covers(device_id)`)
  may be resolved or reminded; the rest are left exactly as they are.
* **Slack limits.** `chat.postMessage` allows about one message per second per channel
  (docs.slack.dev/apis/web-api/rate-limits): every write to a channel is spaced by
  `pace_seconds`. HTTP 429 is waited out (`Retry-After`) by the client's
  `AsyncRateLimitErrorRetryHandler` (see `bot.app.build_slack_client`). `not_in_channel`,
  `channel_not_found` and similar are logged once per channel per manager (one per process)
  and the alert stays pending (no ts) to be posted by a later reconcile.

Restart safety: the intent row (state open, no ts) is committed *before* `chat.postMessage`
and the ts right after it, so a restart never forgets an alert and re-posts only alerts whose
ts is missing. The remaining window is the few milliseconds between Slack accepting a post and
the ts commit: a crash exactly there leaves a row without ts and the next reconcile posts that
one alert again (one duplicate; the alternative, never retrying, could lose it). Each message
carries `metadata.event_payload.alert_key`, so such a duplicate can be recognised. Finding it
automatically would need `conversations.history` and the `channels:history` scope, which this
app does not request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alert_blocks import (
    AlertStatus,
    DigestItem,
    code_alert_message,
    device_alert_message,
    digest_message,
    message_hash,
    reminder_reply,
    reopened_reply,
    resolved_message,
    resolved_reply,
    seconds_to_start,
    woke_reply,
)
from bot.blocks import Message
from bot.catalogue import Catalogue
from bot.findings import Finding, Subject, code_alert_key, device_alert_key
from bot.seam.models import AccessCode
from bot.store import AlertIntent, AlertRecord, DigestRecord, FingerprintRecord, ScanRecord, Store
from bot.store import utcnow as _utcnow

if TYPE_CHECKING:
    from bot.scanner import ScanResult

logger = logging.getLogger(__name__)

__all__ = [
    "ALERT_PACE_SECONDS",
    "AlertGroup",
    "AlertManager",
    "ChannelPacer",
    "ReconcileReport",
    "is_worse",
    "plan_alerts",
]

#: Slack errors that say the bot cannot post to this channel (or at all) until someone acts.
CHANNEL_ERRORS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
        "missing_scope",
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "ekm_access_denied",
    }
)
#: Slack errors meaning "slow down" (left after the client's own Retry-After retries).
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
#: Default spacing (seconds) of writes to one channel: Slack's ~1 message/s/channel.
ALERT_PACE_SECONDS = 1.0
#: `metadata.event_type` on every alert and digest message.
METADATA_EVENT_TYPE = "seam_code_doctor_alert"


# ============================================================================ planning (pure)


@dataclass(frozen=True)
class AlertGroup:
    """What one alert should show now, from one scan. Pure data.

    Attributes:
        key: `code:<access_code_id>` or `device:<device_id>`.
        subject: "access_code" or "device".
        device_id / access_code_id: the subject (access_code_id None for device alerts).
        findings: the alert's own findings (code-level for a code alert; device- and
            account-level for a device alert).
        affected: device alerts: `(access_code_id, its code-level findings folded in here)` for
            each affected code, most urgent first.
        folded_into: code alerts: the device alert that stands in for it while a parent-cause
            problem is active on its lock (it is then not posted on its own).
        starts_in: seconds to the soonest `starts_at` concerned (negative: stay in progress;
            None: ongoing codes or nothing scheduled within reach).
    """

    key: str
    subject: Subject
    device_id: str
    access_code_id: str | None
    findings: tuple[Finding, ...]
    affected: tuple[tuple[str, tuple[Finding, ...]], ...] = ()
    folded_into: str | None = None
    starts_in: float | None = None

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        """Own findings plus the code-level findings folded into a device alert."""
        return self.findings + tuple(f for _, own in self.affected for f in own)

    @property
    def worst_kind(self) -> Literal["error", "warning"]:
        """ "error" if any finding (folded ones included) is an error."""
        return "error" if any(f.kind == "error" for f in self.all_findings) else "warning"

    def urgency_key(self) -> tuple[bool, float, bool, str]:
        """Sort key: soonest check-in first (stays in progress first), then errors first."""
        return (
            self.starts_in is None,
            self.starts_in if self.starts_in is not None else 0.0,
            self.worst_kind != "error",
            self.key,
        )


def plan_alerts(
    findings: Iterable[Finding], codes: Mapping[str, AccessCode], now: datetime
) -> dict[str, AlertGroup]:
    """Group findings into alerts and decide which code alerts are folded into device alerts.

    Args:
        findings: one per fingerprint (e.g. `ScanResult.findings`).
        codes: code snapshots by access_code_id (for urgency and ordering).
        now: aware UTC.

    Returns:
        Alert groups by key, in input order (code alerts first, then device alerts).
    """
    code_findings: dict[str, list[Finding]] = {}
    device_findings: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.subject == "access_code" and finding.access_code_id:
            code_findings.setdefault(finding.access_code_id, []).append(finding)
        elif finding.subject == "device":
            device_findings.setdefault(finding.device_id, []).append(finding)
    parents = {d for d, fs in device_findings.items() if any(f.is_parent_cause for f in fs)}

    def starts_in(access_code_id: str) -> float | None:
        return seconds_to_start(codes.get(access_code_id), now)

    def code_order(access_code_id: str) -> tuple[bool, float, str]:
        s = starts_in(access_code_id)
        code = codes.get(access_code_id)
        return (s is None, s if s is not None else 0.0, (code.name if code else None) or "")

    groups: dict[str, AlertGroup] = {}
    for access_code_id, own in code_findings.items():
        device_id = own[0].device_id
        groups[code_alert_key(access_code_id)] = AlertGroup(
            key=code_alert_key(access_code_id),
            subject="access_code",
            device_id=device_id,
            access_code_id=access_code_id,
            findings=tuple(own),
            folded_into=device_alert_key(device_id) if device_id in parents else None,
            starts_in=starts_in(access_code_id),
        )
    for device_id, own in device_findings.items():
        members: dict[str, None] = {}
        for finding in own:
            members.update(dict.fromkeys(finding.carrier_code_ids))
        if device_id in parents:
            for access_code_id, fs in code_findings.items():
                if fs[0].device_id == device_id:
                    members[access_code_id] = None
        ordered = sorted(members, key=code_order)
        affected = tuple(
            (cid, tuple(code_findings.get(cid, ())) if device_id in parents else ())
            for cid in ordered
        )
        soonest = [s for s in (starts_in(cid) for cid in ordered) if s is not None]
        groups[device_alert_key(device_id)] = AlertGroup(
            key=device_alert_key(device_id),
            subject="device",
            device_id=device_id,
            access_code_id=None,
            findings=tuple(own),
            affected=affected,
            starts_in=min(soonest) if soonest else None,
        )
    return groups


def is_worse(group: AlertGroup, before: Mapping[str, FingerprintRecord]) -> list[Finding]:
    """The findings that make `group` worse than the open fingerprints `before`.

    Worse = an error that was not open before, or a fingerprint that was a warning and is now an
    error. Folded code-level findings count for a device alert.
    """
    worse: list[Finding] = []
    for finding in group.all_findings:
        if finding.kind != "error":
            continue
        previous = before.get(finding.fingerprint)
        if previous is None or previous.kind != "error":
            worse.append(finding)
    return worse


# ============================================================================ Slack plumbing


class ChannelPacer:
    """Spaces writes to each channel by at least `interval` seconds (≈1 msg/s/channel).

    Slack's `chat.postMessage` allows about one message per second per channel, with short
    bursts tolerated (docs.slack.dev/apis/web-api/rate-limits). Tests pass `interval=0`.
    """

    def __init__(
        self,
        interval: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.waited = 0.0
        """Total seconds spent waiting (for reports and tests)."""

    async def wait(self, channel: str) -> None:
        """Return when the next write to `channel` may be sent."""
        if self.interval <= 0:
            return
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            now = self._monotonic()
            due = self._next.get(channel, now)
            if due > now:
                self.waited += due - now
                await self._sleep(due - now)
                now = self._monotonic()
            self._next[channel] = max(now, due) + self.interval


class _Sent(Enum):
    OK = "ok"
    BLOCKED = "blocked"  # channel unusable this reconcile (not_in_channel, rate limited...)
    NOT_FOUND = "not_found"  # chat.update: the message is gone
    FAILED = "failed"  # anything else; try again next reconcile


@dataclass
class ReconcileReport:
    """What one reconcile did. `slack_calls` counts Web API calls made (not HTTP retries)."""

    posted: int = 0
    updated: int = 0
    resolved: int = 0
    reopened: int = 0
    reminded: int = 0
    woke: int = 0
    pending: int = 0
    folded: int = 0
    digests: int = 0
    digested: int = 0
    left_alone: int = 0
    slack_calls: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: the non-zero counters."""
        parts = [
            f"{name}={value}"
            for name, value in (
                ("posted", self.posted),
                ("updated", self.updated),
                ("resolved", self.resolved),
                ("reopened", self.reopened),
                ("reminded", self.reminded),
                ("woke", self.woke),
                ("pending", self.pending),
                ("folded", self.folded),
                ("digests", self.digests),
                ("digested", self.digested),
                ("left_alone", self.left_alone),
                ("slack_calls", self.slack_calls),
            )
            if value
        ]
        return ", ".join(parts) or "no changes"


# ============================================================================ the manager


class AlertManager:
    """Reconciles scans with the alert channel. One per process; `reconcile` runs one at a time.

    Args:
        store: the SQLite store (alert state survives restarts).
        slack: the Web API client; build it with `bot.app.build_slack_client` so 429s are waited
            out with `Retry-After`.
        channel: channel id for new alerts (`ALERT_CHANNEL`).
        catalogue: the remedy catalogue.
        remind_after: seconds an alert stays open before a thread reminder (ALERT_REMIND_HOURS).
        storm_threshold: more new alerts than this in one reconcile → one digest
            (ALERT_STORM_THRESHOLD).
        reopen_window: seconds after resolving during which a returning problem edits the old
            message back to open instead of posting a new one (default: `remind_after`).
        pace_seconds: minimum spacing of writes to one channel (0 in tests).
        clock: current time (aware UTC).
    """

    def __init__(
        self,
        store: Store,
        slack: AsyncWebClient,
        channel: str,
        *,
        catalogue: Catalogue,
        remind_after: float = 24 * 3600.0,
        storm_threshold: int = 20,
        reopen_window: float | None = None,
        pace_seconds: float = ALERT_PACE_SECONDS,
        clock: Callable[[], datetime] = _utcnow,
        pacer: ChannelPacer | None = None,
    ) -> None:
        self.store = store
        self.slack = slack
        self.channel = channel
        self.catalogue = catalogue
        self.remind_after = remind_after
        self.storm_threshold = storm_threshold
        self.reopen_window = remind_after if reopen_window is None else reopen_window
        self.pacer = pacer or ChannelPacer(pace_seconds)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._logged: set[tuple[str, str]] = set()
        self._channel_ids: dict[str, str] = {}
        # Per reconcile:
        self._blocked: set[str] = set()
        self._new_digests: set[int] = set()
        self._report = ReconcileReport()

    # ------------------------------------------------------------------ public

    async def reconcile(self, scan: ScanResult) -> ReconcileReport:
        """Make the alert channel match `scan`. Never raises for Slack failures (they are
        counted, logged and retried next time); store errors propagate.

        Returns:
            What was done (`ReconcileReport`).
        """
        async with self._lock:
            self._blocked = set()
            self._new_digests = set()
            self._report = ReconcileReport()
            try:
                await self._reconcile(scan)
            finally:
                report, self._report = self._report, ReconcileReport()
            return report

    # ------------------------------------------------------------------ the algorithm

    async def _reconcile(self, scan: ScanResult) -> None:
        now = self._clock()
        report = self._report
        codes = scan.codes_by_id()
        before = await self.store.open_fingerprints()
        groups = plan_alerts(scan.findings, codes, now)
        current = {f.fingerprint for f in scan.findings}
        cleared = [
            fp for fp, rec in before.items() if fp not in current and scan.covers(rec.device_id)
        ]
        await self.store.record_scan(
            ScanRecord(
                started_at=scan.started_at,
                finished_at=scan.finished_at,
                complete=scan.complete,
                devices=len(scan.devices),
                codes=len(scan.codes),
                findings=len(scan.findings),
                seam_calls=scan.seam_calls,
                errors="; ".join(scan.errors),
            ),
            seen=scan.findings,
            resolved=cleared,
        )
        first_seen = {
            f.fingerprint: before[f.fingerprint].first_seen
            if f.fingerprint in before
            else f.observed_at
            for f in scan.findings
        }
        alerts = await self.store.load_alerts(
            resolved_since=now - timedelta(seconds=self.reopen_window)
        )
        ctx = _Context(scan=scan, codes=codes, now=now, first_seen=first_seen, before=before)

        # 1. New alerts (and pending ones never posted), most urgent first.
        fresh: list[tuple[AlertGroup, AlertRecord | None]] = []
        for group in groups.values():
            rec = alerts.get(group.key)
            reopenable = rec is not None and rec.state == "resolved" and rec.ts is not None
            if rec is None or (rec.state == "resolved" and not reopenable) or rec.is_pending:
                if group.folded_into is not None:
                    report.folded += 1
                    continue
                fresh.append((group, rec))
        fresh.sort(key=lambda item: item[0].urgency_key())
        if len(fresh) > self.storm_threshold:
            await self._post_digest(fresh, ctx)
        else:
            for group, rec in fresh:
                await self._post_new(group, rec, ctx)

        # 2. Alerts with a message: edit, wake, reopen, remind.
        for group in sorted(groups.values(), key=AlertGroup.urgency_key):
            rec = alerts.get(group.key)
            if rec is None or rec.ts is None or rec.digest_id is not None:
                continue
            if rec.state == "resolved":
                await self._reopen(group, rec, ctx)
            else:
                await self._refresh(group, rec, ctx)

        # 3. Alerts whose problems are gone, on devices this scan fully saw.
        for rec in alerts.values():
            if rec.state == "resolved" or rec.alert_key in groups:
                continue
            if not scan.covers(rec.device_id):
                report.left_alone += 1
                continue
            await self._resolve(rec, ctx)

        # 4. Digests: edit as members change, resolve when all are.
        for digest in await self.store.digests():
            if digest.digest_id not in self._new_digests:
                await self._refresh_digest(digest, groups, ctx)

    # ------------------------------------------------------------------ steps

    def _status(self, group: AlertGroup, rec: AlertRecord | None, ctx: _Context) -> AlertStatus:
        seen = [ctx.first_seen[f.fingerprint] for f in group.all_findings]
        first = min(seen) if seen else None
        if rec is None or rec.state in ("open", "resolved"):
            return AlertStatus(state="open", first_seen=first)
        return AlertStatus(
            state=rec.state, first_seen=first, snoozed_until=rec.snoozed_until, by=rec.state_by
        )

    def _render(self, group: AlertGroup, status: AlertStatus, ctx: _Context) -> Message:
        device = ctx.scan.devices.get(group.device_id)
        if group.subject == "access_code" and group.access_code_id:
            return code_alert_message(
                group.access_code_id,
                group.device_id,
                group.findings,
                code=ctx.codes.get(group.access_code_id),
                device=device,
                catalogue=self.catalogue,
                now=ctx.now,
                status=status,
            )
        return device_alert_message(
            group.device_id,
            group.findings,
            group.affected,
            device=device,
            codes=ctx.codes,
            catalogue=self.catalogue,
            now=ctx.now,
            status=status,
        )

    def _intent(self, group: AlertGroup, ctx: _Context) -> AlertIntent:
        title, device_name = self._labels(group, ctx)
        return AlertIntent(
            alert_key=group.key,
            subject=group.subject,
            access_code_id=group.access_code_id,
            device_id=group.device_id,
            title=title,
            device_name=device_name,
        )

    @staticmethod
    def _labels(group: AlertGroup, ctx: _Context) -> tuple[str, str]:
        device = ctx.scan.devices.get(group.device_id)
        device_name = device.name if device is not None else group.device_id
        if group.subject == "device":
            return device_name, device_name
        code = ctx.codes.get(group.access_code_id or "")
        title = (code.name if code is not None else None) or f"Access code {group.access_code_id}"
        return title, device_name

    async def _post_new(self, group: AlertGroup, rec: AlertRecord | None, ctx: _Context) -> None:
        """Intent row first, then chat.postMessage, then the ts (see the module docstring)."""
        intent = self._intent(group, ctx)
        if rec is not None and rec.is_pending:
            if self.channel in self._blocked:  # Slack already refused this reconcile
                self._report.pending += 1
                return
            await self.store.note_post_attempt(group.key, channel=self.channel, at=ctx.now)
        else:
            await self.store.begin_alert(intent, channel=self.channel, at=ctx.now)
        message = self._render(group, self._status(group, None, ctx), ctx)
        outcome, ts = await self._send(self.channel, message, alert_key=group.key)
        if outcome is not _Sent.OK or ts is None:
            self._report.pending += 1
            return
        await self.store.set_alert_posted(
            group.key,
            channel=self._channel_ids.get(self.channel, self.channel),
            ts=ts,
            content_hash=message_hash(message),
            at=ctx.now,
        )
        if rec is not None and rec.is_pending:
            await self.store.set_alert_labels(
                group.key, title=intent.title, device_name=intent.device_name
            )
        self._report.posted += 1

    async def _refresh(self, group: AlertGroup, rec: AlertRecord, ctx: _Context) -> None:
        """Edit an open / snoozed / acknowledged alert when its rendering changed; remind."""
        assert rec.ts is not None and rec.channel is not None
        channel: str = rec.channel
        ts: str = rec.ts
        woke_for: list[Finding] = []
        if rec.state == "snoozed":
            expired = rec.snoozed_until is None or rec.snoozed_until <= ctx.now
            woke_for = is_worse(group, ctx.before)
            if expired or woke_for:
                await self.store.wake_alert(group.key, ctx.now)
                rec = replace(rec, state="open", snoozed_until=None, last_reminded_at=ctx.now)
        message = self._render(group, self._status(group, rec, ctx), ctx)
        digest = message_hash(message)
        if digest != rec.content_hash:
            outcome, _ = await self._send(channel, message, ts=ts, alert_key=group.key)
            if outcome is _Sent.NOT_FOUND:
                # Someone deleted the message: post the alert again.
                await self.store.clear_alert_message(group.key)
                await self._post_new(group, replace(rec, ts=None, content_hash=None), ctx)
                return
            if outcome is _Sent.OK:
                await self.store.set_alert_rendered(group.key, digest)
                title, device_name = self._labels(group, ctx)
                if (title, device_name) != (rec.title, rec.device_name):
                    await self.store.set_alert_labels(
                        group.key, title=title, device_name=device_name
                    )
                self._report.updated += 1
        if woke_for:
            titles = [self._title(f) for f in woke_for]
            if await self._reply(channel, ts, woke_reply(titles)):
                self._report.woke += 1
            return
        await self._maybe_remind(group, rec, ctx)

    async def _maybe_remind(self, group: AlertGroup, rec: AlertRecord, ctx: _Context) -> None:
        if rec.state != "open" or group.folded_into is not None or rec.ts is None:
            return
        since = rec.last_reminded_at or rec.posted_at or rec.opened_at
        if (ctx.now - since).total_seconds() < self.remind_after:
            return
        first = self._status(group, rec, ctx).first_seen or rec.opened_at
        reply = reminder_reply(
            open_seconds=(ctx.now - first).total_seconds(),
            problem_titles=[self._title(f) for f in _sorted(group.all_findings)],
            starts_in=group.starts_in,
        )
        assert rec.channel is not None
        if await self._reply(rec.channel, rec.ts, reply):
            await self.store.mark_alert_reminded(group.key, ctx.now)
            self._report.reminded += 1

    async def _reopen(self, group: AlertGroup, rec: AlertRecord, ctx: _Context) -> None:
        """A problem came back soon after resolving: edit the same message back to open."""
        assert rec.ts is not None and rec.channel is not None
        if group.folded_into is not None:
            self._report.folded += 1
            return
        message = self._render(group, self._status(group, None, ctx), ctx)
        outcome, _ = await self._send(rec.channel, message, ts=rec.ts, alert_key=group.key)
        if outcome is _Sent.NOT_FOUND:
            await self._post_new(group, None, ctx)
            return
        if outcome is not _Sent.OK:
            self._report.pending += 1
            return
        await self.store.reopen_alert(group.key, content_hash=message_hash(message), at=ctx.now)
        await self._reply(
            rec.channel, rec.ts, reopened_reply([self._title(f) for f in _sorted(group.findings)])
        )
        self._report.reopened += 1

    async def _resolve(self, rec: AlertRecord, ctx: _Context) -> None:
        """Every problem of the alert cleared (on a device the scan fully saw)."""
        if rec.ts is None or rec.channel is None:
            # Never posted on its own (pending, or listed in a digest): nothing to edit.
            await self.store.resolve_alert(rec.alert_key, at=ctx.now)
            self._report.resolved += 1
            return
        channel: str = rec.channel
        ts: str = rec.ts
        gone = (
            rec.access_code_id not in ctx.codes
            if rec.subject == "access_code" and rec.access_code_id
            else rec.device_id not in ctx.scan.devices
        )
        fingerprints = await self.store.fingerprints_for(rec.alert_key, include_resolved=True)
        titles = list(
            dict.fromkeys(
                self.catalogue.lookup(fp.problem, fp.kind, message=fp.message).title
                for fp in fingerprints
                if fp.state == "resolved"
                and fp.resolved_at is not None
                and fp.resolved_at >= rec.opened_at
            )
        )
        device = ctx.scan.devices.get(rec.device_id)
        message = resolved_message(
            subject="device" if rec.subject == "device" else "access_code",
            title=rec.title or rec.alert_key,
            device_name=device.name if device is not None else (rec.device_name or rec.device_id),
            problem_titles=titles,
            resolved_at=ctx.now,
            gone=gone,
            access_code_id=rec.access_code_id,
            device_id=rec.device_id,
        )
        outcome, _ = await self._send(channel, message, ts=ts, alert_key=rec.alert_key)
        if outcome is _Sent.NOT_FOUND:
            await self.store.resolve_alert(rec.alert_key, at=ctx.now)
            self._report.resolved += 1
            return
        if outcome is not _Sent.OK:
            return  # still shows open in Slack; resolve again next reconcile
        await self.store.resolve_alert(
            rec.alert_key, at=ctx.now, content_hash=message_hash(message)
        )
        self._report.resolved += 1
        subject: Literal["access_code", "device"] = (
            "device" if rec.subject == "device" else "access_code"
        )
        await self._reply(channel, ts, resolved_reply(subject=subject, gone=gone))

    # ------------------------------------------------------------------ digests

    async def _post_digest(
        self, fresh: Sequence[tuple[AlertGroup, AlertRecord | None]], ctx: _Context
    ) -> None:
        """A storm: one digest message instead of one message per new alert."""
        members = [self._intent(group, ctx) for group, _ in fresh]
        digest_id = await self.store.begin_digest(members, channel=self.channel, at=ctx.now)
        self._new_digests.add(digest_id)
        self._report.digested += len(members)
        logger.warning(
            "%d new alerts in one scan (threshold %d): posting one digest",
            len(members),
            self.storm_threshold,
        )
        digest = DigestRecord(
            digest_id=digest_id,
            channel=self.channel,
            ts=None,
            state="open",
            content_hash=None,
            created_at=ctx.now,
            posted_at=None,
            last_reminded_at=None,
            resolved_at=None,
            member_keys=tuple(m.alert_key for m in members),
        )
        groups = {group.key: group for group, _ in fresh}
        await self._refresh_digest(digest, groups, ctx, fresh_members=True)

    async def _refresh_digest(
        self,
        digest: DigestRecord,
        groups: Mapping[str, AlertGroup],
        ctx: _Context,
        *,
        fresh_members: bool = False,
    ) -> None:
        items: list[DigestItem] = []
        open_members: list[tuple[AlertGroup | None, AlertRecord | None]] = []
        for key in digest.member_keys:
            rec = None if fresh_members else await self.store.alert(key)
            member_open = fresh_members or (
                rec is not None and rec.state != "resolved" and rec.digest_id == digest.digest_id
            )
            group = groups.get(key)
            items.append(self._digest_item(key, group, rec, member_open, ctx))
            if member_open:
                open_members.append((group, rec))
        items.sort(key=lambda i: (not i.open, i.starts_in is None, i.starts_in or 0.0))
        message = digest_message(items, now=ctx.now, created_at=digest.created_at)
        content = message_hash(message)
        alert_key = f"digest:{digest.digest_id}"
        if digest.ts is None:
            outcome, ts = await self._send(digest.channel, message, alert_key=alert_key)
            if outcome is not _Sent.OK or ts is None:
                self._report.pending += 1
                return
            await self.store.set_digest_posted(
                digest.digest_id,
                channel=self._channel_ids.get(digest.channel, digest.channel),
                ts=ts,
                content_hash=content,
                at=ctx.now,
            )
            self._report.digests += 1
            return
        if content != digest.content_hash:
            outcome, _ = await self._send(
                digest.channel, message, ts=digest.ts, alert_key=alert_key
            )
            if outcome is _Sent.OK:
                self._report.updated += 1
                if not open_members:
                    await self.store.resolve_digest(
                        digest.digest_id, content_hash=content, at=ctx.now
                    )
                    await self._reply(digest.channel, digest.ts, resolved_reply(subject="digest"))
                    return
                await self.store.set_digest_rendered(digest.digest_id, content)
            elif outcome is _Sent.NOT_FOUND and not open_members:
                await self.store.resolve_digest(digest.digest_id, content_hash=content, at=ctx.now)
                return
        await self._maybe_remind_digest(digest, open_members, ctx)

    async def _maybe_remind_digest(
        self,
        digest: DigestRecord,
        open_members: Sequence[tuple[AlertGroup | None, AlertRecord | None]],
        ctx: _Context,
    ) -> None:
        due = [
            group
            for group, rec in open_members
            if group is not None and rec is not None and rec.state == "open"
        ]
        if not due or digest.ts is None:
            return
        since = digest.last_reminded_at or digest.posted_at or digest.created_at
        if (ctx.now - since).total_seconds() < self.remind_after:
            return
        titles = [f"{len(due)} problem{'s' if len(due) != 1 else ''} from this digest"]
        starts = [g.starts_in for g in due if g.starts_in is not None]
        reply = reminder_reply(
            open_seconds=(ctx.now - digest.created_at).total_seconds(),
            problem_titles=titles,
            starts_in=min(starts) if starts else None,
        )
        if await self._reply(digest.channel, digest.ts, reply):
            await self.store.mark_digest_reminded(digest.digest_id, ctx.now)
            self._report.reminded += 1

    def _digest_item(
        self,
        key: str,
        group: AlertGroup | None,
        rec: AlertRecord | None,
        member_open: bool,
        ctx: _Context,
    ) -> DigestItem:
        if group is not None:
            title, device_name = self._labels(group, ctx)
            return DigestItem(
                alert_key=key,
                title=title,
                device_name=device_name,
                problem_titles=tuple(self._title(f) for f in _sorted(group.findings)),
                worst_kind=group.worst_kind,
                starts_in=group.starts_in,
                starts_at=(
                    ctx.codes[group.access_code_id].starts_at
                    if group.access_code_id is not None and group.access_code_id in ctx.codes
                    else None
                ),
                access_code_id=group.access_code_id,
                open=member_open,
            )
        return DigestItem(
            alert_key=key,
            title=(rec.title if rec else "") or key,
            device_name=(rec.device_name if rec else "") or (rec.device_id if rec else ""),
            problem_titles=(),
            worst_kind="error",
            starts_in=None,
            starts_at=None,
            access_code_id=rec.access_code_id if rec else None,
            open=member_open,
        )

    # ------------------------------------------------------------------ Slack calls

    def _title(self, finding: Finding) -> str:
        return self.catalogue.lookup(
            finding.problem, finding.kind, message=finding.message, scope=finding.scope
        ).title

    async def _send(
        self, channel: str, message: Message, *, ts: str | None = None, alert_key: str
    ) -> tuple[_Sent, str | None]:
        """Post (no `ts`) or edit (`ts`) one alert message. Never raises for Slack failures."""
        metadata = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"alert_key": alert_key}}
        if ts is None:
            return await self._call(
                channel,
                "chat.postMessage",
                lambda: self.slack.chat_postMessage(
                    channel=channel, metadata=metadata, unfurl_links=False, **message.as_kwargs()
                ),
            )
        return await self._call(
            channel,
            "chat.update",
            lambda: self.slack.chat_update(
                channel=channel, ts=ts, metadata=metadata, **message.as_kwargs()
            ),
        )

    async def _reply(self, channel: str, thread_ts: str, message: Message) -> bool:
        outcome, _ = await self._call(
            channel,
            "chat.postMessage",
            lambda: self.slack.chat_postMessage(
                channel=channel, thread_ts=thread_ts, **message.as_kwargs()
            ),
        )
        return outcome is _Sent.OK

    async def _call(
        self, channel: str, method: str, call: Callable[[], Awaitable[Any]]
    ) -> tuple[_Sent, str | None]:
        if channel in self._blocked:
            return _Sent.BLOCKED, None
        await self.pacer.wait(channel)
        self._report.slack_calls += 1
        try:
            response = await call()
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
            if method == "chat.update" and error in ("message_not_found", "cant_update_message"):
                logger.warning(
                    "%s in %s: %s; the alert will be posted again", method, channel, error
                )
                return _Sent.NOT_FOUND, None
            if error in CHANNEL_ERRORS or error in RATE_LIMIT_ERRORS:
                self._blocked.add(channel)
                self._log_once(
                    channel,
                    error,
                    "Slack refused %s to alert channel %s: %s. Alerts stay pending and are "
                    "retried on the next scan%s.",
                    method,
                    channel,
                    error,
                    " (invite the bot to the channel, or fix ALERT_CHANNEL)"
                    if error in ("not_in_channel", "channel_not_found")
                    else "",
                )
                self._report.errors.append(f"{method}: {error}")
                return _Sent.BLOCKED, None
            logger.warning("%s to %s failed: %s", method, channel, error)
            self._report.errors.append(f"{method}: {error}")
            return _Sent.FAILED, None
        except Exception as exc:  # transport errors after the client's own retries
            logger.warning("%s to %s failed: %s", method, channel, type(exc).__name__)
            self._report.errors.append(f"{method}: {type(exc).__name__}")
            return _Sent.FAILED, None
        ts = response.get("ts") if hasattr(response, "get") else None
        answered = response.get("channel") if hasattr(response, "get") else None
        if isinstance(answered, str) and answered and answered != channel:
            # ALERT_CHANNEL given as a name ("#alerts"): chat.update needs the channel ID.
            self._channel_ids[channel] = answered
        return _Sent.OK, str(ts) if ts else None

    def _log_once(self, channel: str, error: str, msg: str, *args: object) -> None:
        """Log a channel-level Slack error at ERROR once per (channel, error), then DEBUG."""
        level = logging.DEBUG if (channel, error) in self._logged else logging.ERROR
        self._logged.add((channel, error))
        logger.log(level, msg, *args)


# ============================================================================ helpers


@dataclass(frozen=True)
class _Context:
    scan: ScanResult
    codes: Mapping[str, AccessCode]
    now: datetime
    first_seen: Mapping[str, datetime]
    before: Mapping[str, FingerprintRecord]


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.kind != "error", not f.blocking, f.problem))
