"""Alert lifecycle: one chat message per problem subject, posted, edited, reminded and resolved.

`AlertService.reconcile(observation)` compares what a look at Seam saw with the alert state in
the store and makes the alert channel match it; `AlertService.refresh_devices(device_ids)` is
the one way anything else (a button after a remedy, tomorrow a Seam webhook) asks for that: it
re-reads those devices and reconciles what it saw, so a scan, a button and a webhook can never
post two alerts for one problem. The service talks to Slack only through two ports defined here
and implemented in `bot.slack.alert_channel`: `AlertChannel` (post, edit, reply) and
`AlertRenderer` (Block Kit). Planning (grouping, folding, "is it worse") is pure
(`bot.domain.alert_plan`).

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
* **Chat limits.** The channel implementation paces writes (about one message per second per
  channel, Slack's page "Rate limits") and waits out 429s. A channel that refuses writes
  (`not_in_channel`, `channel_not_found`... : `Delivery` "blocked") is not written to again in
  that reconcile, and its alerts stay pending (no ts) to be posted by a later one.

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
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.domain.alert_plan import (
    AlertActivity,
    AlertGroup,
    AlertStatus,
    DigestItem,
    is_worse,
    plan_alerts,
)
from bot.domain.arrivals import (
    DEFAULT_AT_RISK_HOURS,
    Escalation,
    due_escalation,
    in_final_hour,
)
from bot.domain.catalogue import Catalogue
from bot.domain.findings import Finding, code_alert_key, device_alert_key, sort_findings
from bot.domain.observation import Observation
from bot.domain.routing import AlertRoutes, subject_for_code, subject_for_group
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device
from bot.services.leases import dead_local_holder, process_holder
from bot.services.observing import scan_workspace
from bot.store import (
    AlertIntent,
    AlertRecord,
    DigestRecord,
    FingerprintRecord,
    ScanRecord,
    StateStore,
)
from bot.store import utcnow as _utcnow

logger = logging.getLogger(__name__)

__all__ = [
    "AlertChannel",
    "AlertRenderer",
    "AlertService",
    "Annotation",
    "Delivery",
    "ReconcileReport",
    "Rendered",
]


# ============================================================================ ports


class Rendered(Protocol):
    """A rendered chat message (the Slack layer's `Message`)."""

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for posting it (`text`, `blocks`)."""
        ...

    def content_hash(self) -> str:
        """A stable hash of what readers would see, to skip no-op edits."""
        ...


#: What became of one write to the alert channel.
DeliveryStatus = Literal["ok", "blocked", "not_found", "failed"]


@dataclass(frozen=True)
class Delivery:
    """The result of one write to the alert channel.

    `status`: "ok"; "blocked" (the channel cannot be written to now: not invited, archived,
    rate limited... stop writing to it this reconcile); "not_found" (an edited message is gone);
    "failed" (anything else; try again next reconcile). `ts` of a posted message; `channel`:
    the channel id the chat service answered with (when the setting named the channel);
    `error`: "method: reason" for the report.
    """

    status: DeliveryStatus
    ts: str | None = None
    channel: str | None = None
    error: str | None = None


class AlertChannel(Protocol):
    """Where alert messages go (`bot.slack.alert_channel.SlackAlertChannel`). Never raises."""

    async def post(self, channel: str, message: Rendered, *, alert_key: str) -> Delivery:
        """Post a new alert message."""
        ...

    async def update(self, channel: str, ts: str, message: Rendered, *, alert_key: str) -> Delivery:
        """Edit an alert message in place."""
        ...

    async def reply(self, channel: str, thread_ts: str, message: Rendered) -> Delivery:
        """Reply in an alert's thread."""
        ...


class AlertRenderer(Protocol):
    """Turns alert data into messages (`bot.slack.alert_channel.BlockKitAlertRenderer`)."""

    def code_alert(
        self,
        access_code_id: str,
        device_id: str,
        findings: Sequence[Finding],
        *,
        code: AccessCode | None,
        device: Device | None,
        now: datetime,
        status: AlertStatus,
    ) -> Rendered:
        """One access code's alert."""
        ...

    def device_alert(
        self,
        device_id: str,
        findings: Sequence[Finding],
        affected: Sequence[tuple[str, Sequence[Finding]]],
        *,
        device: Device | None,
        codes: Mapping[str, AccessCode],
        now: datetime,
        status: AlertStatus,
    ) -> Rendered:
        """One lock's alert listing the codes it affects."""
        ...

    def resolved(
        self,
        *,
        subject: Literal["access_code", "device"],
        title: str,
        device_name: str,
        problem_titles: Sequence[str],
        resolved_at: datetime,
        gone: bool,
        access_code_id: str | None,
        device_id: str,
        activity: AlertActivity | None = None,
        backup_access_code_id: str | None = None,
    ) -> Rendered:
        """The resolved form of an alert; `backup_access_code_id`: a backup code pulled for
        the code that is still on the lock (offer to remove it)."""
        ...

    def digest(
        self, items: Sequence[DigestItem], *, now: datetime, created_at: datetime
    ) -> Rendered:
        """A storm digest."""
        ...

    def resolved_reply(
        self,
        *,
        subject: Literal["access_code", "device", "digest"],
        gone: bool = False,
        replaced_by: str | None = None,
    ) -> Rendered:
        """Thread reply: resolved."""
        ...

    def reminder_reply(
        self, *, open_seconds: float, problem_titles: Sequence[str], starts_in: float | None
    ) -> Rendered:
        """Thread reply: still open."""
        ...

    def reopened_reply(self, problem_titles: Sequence[str]) -> Rendered:
        """Thread reply: the problem came back."""
        ...

    def woke_reply(self, problem_titles: Sequence[str]) -> Rendered:
        """Thread reply: a snoozed alert got worse."""
        ...

    def door_refused(self, code: AccessCode, device: Device | None, *, at: datetime) -> Rendered:
        """The urgent message: someone was refused at the door with this code."""
        ...

    def remedy_settled(self, *, label: str, by: str, ok: bool, detail: str) -> Rendered:
        """Thread reply: a change that was still being made has settled."""
        ...

    def escalation_reply(
        self, step: Escalation, *, starts_at: datetime | None, mention: str | None, titles: str
    ) -> Rendered:
        """Thread reply: check-in is near (T-24 h / T-4 h / T-1 h) and this is still open;
        `mention` (ESCALATION_MENTION as mrkdwn) only where due."""
        ...


#: Seconds a process may take to post one new alert before another process may post it (a
#: process killed mid-post leaves the alert pending; it is posted once this lapses).
POST_LEASE_SECONDS = 60.0


# ============================================================================ annotations


@dataclass(frozen=True)
class Annotation:
    """Someone acted on an alert from Slack: say so on the alert when it is refreshed.

    Attributes:
        alert_key: the alert (`code:<id>` / `device:<id>`).
        verb: "Re-checked", or a remedy's label.
        by: the Slack user id.
        outcome: what came of it; None lets the service say what the refresh saw
            ("resolved", "unchanged", "changed").
        hidden_actions: remedy keys whose buttons the outcome replaces.
        replaced_by: a re-created code's new access_code_id.
    """

    alert_key: str
    verb: str
    by: str
    outcome: str | None = None
    hidden_actions: tuple[str, ...] = ()
    replaced_by: str | None = None


# ============================================================================ report


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
    escalated: int = 0
    slack_calls: int = 0
    errors: list[str] = field(default_factory=list)
    rendered: set[str] = field(default_factory=set)
    """Alert keys whose message was posted or edited by this reconcile."""

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
                ("escalated", self.escalated),
                ("slack_calls", self.slack_calls),
            )
            if value
        ]
        return ", ".join(parts) or "no changes"


# ============================================================================ the manager


class AlertService:
    """Reconciles observations with the alert channel. One per process; one reconcile at a time.

    `reconcile(observation)` is the one way alerts change; `refresh_devices(device_ids)` is the
    one way anything outside the scanner asks for it (buttons after a remedy, Seam webhooks):
    it re-reads those devices from Seam and reconciles what it saw.

    Args:
        store: alert state (survives restarts).
        channel_io: where messages go (`AlertChannel`).
        renderer: how alerts look (`AlertRenderer`).
        channel: channel id for new alerts (`ALERT_CHANNEL`); with `routes`, only for the
            alerts no rule matches.
        catalogue: the remedy catalogue (problem titles in replies).
        seam: the Seam client `refresh_devices` reads with (required for it).
        remind_after: seconds an alert stays open before a thread reminder (ALERT_REMIND_HOURS).
        storm_threshold: more new alerts than this in one reconcile → one digest
            (ALERT_STORM_THRESHOLD).
        reopen_window: seconds after resolving during which a returning problem edits the old
            message back to open instead of posting a new one (default: `remind_after`).
        clock: current time (aware UTC).
        routes: `ALERT_ROUTES` rules (`bot.domain.routing`): the first matching rule names the
            channel of a new alert (and of a storm digest of such alerts); None = every alert
            to `channel`. A posted alert stays in the channel stored with it.
        at_risk_hours: AT_RISK_HOURS for the predictive checks of `refresh_devices`' reads.
        escalation_mention: ESCALATION_MENTION as mrkdwn (`<!subteam^S…>`, `<@U…>`), named in
            the T-4 h and T-1 h escalations; None names nobody.
        escalate: raise open alerts again in their thread at T-24 h, T-4 h and T-1 h.
    """

    def __init__(
        self,
        store: StateStore,
        channel_io: AlertChannel,
        renderer: AlertRenderer,
        channel: str,
        *,
        catalogue: Catalogue,
        seam: SeamClient | None = None,
        remind_after: float = 24 * 3600.0,
        storm_threshold: int = 20,
        reopen_window: float | None = None,
        clock: Callable[[], datetime] = _utcnow,
        routes: AlertRoutes | None = None,
        at_risk_hours: float = DEFAULT_AT_RISK_HOURS,
        escalation_mention: str | None = None,
        escalate: bool = True,
    ) -> None:
        self.store = store
        self.at_risk_hours = at_risk_hours
        self.escalation_mention = escalation_mention
        self.escalate = escalate
        self.listeners: list[Callable[[Observation, ReconcileReport], Awaitable[None]]] = []
        """Called after every reconcile (e.g. the App Home's re-publish); errors are logged."""
        self.channel_io = channel_io
        self.renderer = renderer
        self.channel = channel
        self.catalogue = catalogue
        self.seam = seam
        self.remind_after = remind_after
        self.storm_threshold = storm_threshold
        self.reopen_window = remind_after if reopen_window is None else reopen_window
        self._clock = clock
        self.routes = routes
        self.channel_problem: str | None = None
        """Why Slack refused the last write to the alert channel ("chat.postMessage:
        not_in_channel"...), None once a write went through (the App Home shows it)."""
        self._lock = asyncio.Lock()
        #: This service, as the holder of the short per-alert posting leases.
        self.instance = process_holder()
        self._channel_ids: dict[str, str] = {}
        # Per reconcile:
        self._blocked: set[str] = set()
        self._new_digests: set[int] = set()
        self._report = ReconcileReport()

    async def alert_for(
        self, access_code_id: str, device_id: str | None, ts: str | None = None
    ) -> AlertRecord | None:
        """The posted alert about a code: its own alert, or its lock's alert.

        With `ts` (a button on a channel message), only the alert whose message that is; without
        it (a button on a `/seam-code` answer), the code's own alert, else its lock's.
        """
        keys = [code_alert_key(access_code_id)]
        if device_id:
            keys.append(device_alert_key(device_id))
        for key in keys:
            rec = await self.store.alert(key)
            if rec is None or rec.ts is None or rec.state == "resolved":
                continue
            if ts is None or rec.ts == ts:
                return rec
        return None

    async def door_refused(self, device_id: str, access_code_id: str, at: datetime) -> bool:
        """Someone was refused at the door with this code (`lock.access_denied`): post the
        most urgent message there is, with the code's remedies and a backup code first.

        Re-reads the code and its lock from Seam (never the event's snapshot). Returns True when
        the message was posted. Never raises for Seam or Slack failures.
        """
        if self.seam is None:
            return False
        try:
            code = await self.seam.find_access_code(access_code_id)
            device = await self.seam.get_device(code.device_id)
        except SeamApiError as exc:
            logger.warning(
                "door refused %s on %s: could not read it: %s", access_code_id, device_id, exc
            )
            return False
        message = self.renderer.door_refused(code, device, at=at)
        channel = (
            self.routes.route(subject_for_code(code, device)).channel
            if self.routes is not None
            else self.channel
        )
        async with self._outside_reconcile():
            delivery = await self._send(channel, message, alert_key=f"door:{access_code_id}")
        return delivery.status == "ok"

    async def remedy_settled(
        self, channel: str, ts: str, *, label: str, by: str, ok: bool, detail: str
    ) -> bool:
        """Say in an alert's thread that a watched change settled (Seam confirmed it, or the
        lock refused it). True when posted. Never raises for Slack failures."""
        message = self.renderer.remedy_settled(label=label, by=by, ok=ok, detail=detail)
        async with self._outside_reconcile():
            return await self._reply(channel, ts, message)

    @contextlib.asynccontextmanager
    async def _outside_reconcile(self) -> AsyncIterator[None]:
        """One message outside a reconcile: the same lock, pacing and channel checks."""
        async with self._lock:
            self._blocked = set()
            self._report = ReconcileReport()
            yield

    async def refresh_devices(
        self, device_ids: Collection[str], *, annotation: Annotation | None = None
    ) -> ReconcileReport | None:
        """Re-read only these devices from Seam and reconcile their alerts now.

        Other alerts are left alone (the observation covers only these devices). With an
        `annotation`, that alert also shows who did what and what came of it. Returns the
        report (`rendered` says which messages changed), or None when there is nothing to read
        (no ids, or no Seam client). Never raises for Seam or Slack failures; store errors
        propagate.
        """
        if self.seam is None or not device_ids:
            return None
        observation = await scan_workspace(
            self.seam,
            catalogue=self.catalogue,
            device_ids=list(dict.fromkeys(device_ids)),
            at_risk_hours=self.at_risk_hours,
        )
        return await self.reconcile(observation, annotation=annotation)

    # ------------------------------------------------------------------ public

    async def reconcile(
        self, scan: Observation, *, annotation: Annotation | None = None
    ) -> ReconcileReport:
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
                await self._reconcile(scan, annotation)
            finally:
                report, self._report = self._report, ReconcileReport()
        for listener in self.listeners:
            try:
                await listener(scan, report)
            except Exception:
                logger.exception("an alert listener failed after a reconcile")
        return report

    # ------------------------------------------------------------------ the algorithm

    async def _reconcile(self, scan: Observation, annotation: Annotation | None) -> None:
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
                codes=scan.codes_seen,
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
        if annotation is not None and annotation.alert_key in alerts:
            alerts[annotation.alert_key] = await self._annotate(
                alerts[annotation.alert_key], groups.get(annotation.alert_key), annotation, ctx
            )

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
        by_channel: dict[str, list[tuple[AlertGroup, AlertRecord | None]]] = {}
        for group, rec in fresh:
            by_channel.setdefault(self._channel_for(group, ctx), []).append((group, rec))
        for channel, new in by_channel.items():  # a storm is counted per channel
            if len(new) > self.storm_threshold:
                await self._post_digest(new, ctx, channel)
            else:
                for group, rec in new:
                    await self._post_new(group, rec, ctx, channel)

        # 2. Alerts with a message: edit, wake, reopen, remind.
        for group in sorted(groups.values(), key=AlertGroup.urgency_key):
            rec = alerts.get(group.key)
            if rec is None or rec.ts is None or rec.digest_id is not None:
                continue
            if rec.state == "resolved":
                await self._reopen(group, rec, ctx)
            else:
                await self._refresh(group, rec, ctx)

        # 3. Alerts whose problems are gone, on devices this scan fully saw. Those with no
        #    message of their own (digest members, pending intents) are resolved together,
        #    in one transaction.
        silent: list[str] = []
        for rec in alerts.values():
            if rec.alert_key in groups:
                continue
            if rec.state == "resolved":
                # Resolved by another refresh while someone's re-check ran: show it there.
                if (
                    annotation is not None
                    and rec.alert_key == annotation.alert_key
                    and scan.covers(rec.device_id)
                ):
                    await self._redraw_resolved(rec, ctx)
                continue
            if not scan.covers(rec.device_id):
                report.left_alone += 1
                continue
            if rec.ts is None or rec.channel is None:
                silent.append(rec.alert_key)
                continue
            await self._resolve(rec, ctx)
        await self.store.resolve_alerts(silent, at=ctx.now)
        report.resolved += len(silent)

        # 4. Digests: edit as members change, resolve when all are.
        for digest in await self.store.digests():
            if digest.digest_id not in self._new_digests:
                await self._refresh_digest(digest, groups, ctx)

    # ------------------------------------------------------------------ steps

    async def _annotate(
        self,
        rec: AlertRecord,
        group: AlertGroup | None,
        annotation: Annotation,
        ctx: _Context,
    ) -> AlertRecord:
        """Store what someone did on `rec` (and what the refresh saw) so the edit shows it."""
        outcome = annotation.outcome
        if outcome is None:
            if group is None:
                outcome = "resolved" if ctx.scan.covers(rec.device_id) else "could not re-read"
            else:
                now_open = {f.fingerprint for f in group.all_findings}
                was_open = {
                    fp
                    for fp, seen in ctx.before.items()
                    if seen.alert_key == rec.alert_key or fp in now_open
                }
                outcome = "unchanged" if now_open == was_open else "changed"
        activity = AlertActivity(
            verb=annotation.verb,
            by=annotation.by,
            at=ctx.now,
            outcome=outcome,
            hidden_actions=annotation.hidden_actions,
            replaced_by=annotation.replaced_by,
        )
        await self.store.set_alert_activity(rec.alert_key, activity)
        return replace(rec, activity=activity)

    def _status(self, group: AlertGroup, rec: AlertRecord | None, ctx: _Context) -> AlertStatus:
        seen = [ctx.first_seen[f.fingerprint] for f in group.all_findings]
        first = min(seen) if seen else None
        activity = rec.activity if rec is not None else None
        if rec is None or rec.state in ("open", "resolved"):
            return AlertStatus(state="open", first_seen=first, activity=activity)
        return AlertStatus(
            state=rec.state,
            first_seen=first,
            snoozed_until=rec.snoozed_until,
            by=rec.state_by,
            activity=activity,
        )

    def _render(self, group: AlertGroup, status: AlertStatus, ctx: _Context) -> Rendered:
        device = ctx.scan.devices.get(group.device_id)
        if group.subject == "access_code" and group.access_code_id:
            return self.renderer.code_alert(
                group.access_code_id,
                group.device_id,
                group.findings,
                code=ctx.codes.get(group.access_code_id),
                device=device,
                now=ctx.now,
                status=status,
            )
        return self.renderer.device_alert(
            group.device_id,
            group.findings,
            group.affected,
            device=device,
            codes=ctx.codes,
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

    def _channel_for(self, group: AlertGroup, ctx: _Context) -> str:
        """The channel a new alert goes to: the first matching `ALERT_ROUTES` rule's, else
        `ALERT_CHANNEL`."""
        if self.routes is None:
            return self.channel
        return self.routes.route(
            subject_for_group(group, ctx.scan.devices.get(group.device_id))
        ).channel

    async def _post_new(
        self,
        group: AlertGroup,
        rec: AlertRecord | None,
        ctx: _Context,
        channel: str | None = None,
    ) -> None:
        """One message per problem, even when several processes reconcile at once: a short
        posting lease in the store (`post:<alert key>`), then the alert re-read (another
        process may have posted it since this reconcile loaded the alerts). `channel`: where
        it goes (default: its route)."""
        lease = f"post:{group.key}"
        dead = dead_local_holder(await self.store.lease_holder(lease))
        if not await self.store.acquire_lease(
            lease, self.instance, POST_LEASE_SECONDS, dead_holder=dead
        ):
            logger.info("alert %s is being posted by another process", group.key)
            return
        try:
            current = await self.store.alert(group.key)
            if current is not None and current.ts is not None and current.state != "resolved":
                return  # posted by another process meanwhile; the next reconcile edits it
            await self._post_once(group, rec, ctx, channel or self._channel_for(group, ctx))
        finally:
            await self.store.release_lease(lease, self.instance)

    async def _post_once(
        self, group: AlertGroup, rec: AlertRecord | None, ctx: _Context, channel: str
    ) -> None:
        """Intent row first, then chat.postMessage, then the ts (see the module docstring)."""
        intent = self._intent(group, ctx)
        if rec is not None and rec.is_pending:
            if channel in self._blocked:  # Slack already refused this reconcile
                self._report.pending += 1
                return
            await self.store.note_post_attempt(group.key, channel=channel, at=ctx.now)
        else:
            await self.store.begin_alert(intent, channel=channel, at=ctx.now)
        message = self._render(group, self._status(group, None, ctx), ctx)
        delivery = await self._send(channel, message, alert_key=group.key)
        if delivery.status != "ok" or delivery.ts is None:
            self._report.pending += 1
            return
        await self.store.set_alert_posted(
            group.key,
            channel=self._channel_ids.get(channel, channel),
            ts=delivery.ts,
            content_hash=message.content_hash(),
            at=ctx.now,
        )
        if rec is not None and rec.is_pending:
            await self.store.set_alert_labels(
                group.key, title=intent.title, device_name=intent.device_name
            )
        self._report.posted += 1
        await self._escalate_new(group, ctx)

    async def _refresh(self, group: AlertGroup, rec: AlertRecord, ctx: _Context) -> None:
        """Edit an open / snoozed / acknowledged alert when its rendering changed; remind."""
        assert rec.ts is not None and rec.channel is not None
        channel: str = rec.channel
        ts: str = rec.ts
        woke_for: list[Finding] = []
        if rec.state == "snoozed":
            expired = rec.snoozed_until is None or rec.snoozed_until <= ctx.now
            expired = expired or in_final_hour(group.starts_in)  # never hidden past T-1 h
            woke_for = is_worse(group, ctx.before)
            if expired or woke_for:
                await self.store.wake_alert(group.key, ctx.now)
                rec = replace(rec, state="open", snoozed_until=None, last_reminded_at=ctx.now)
        message = self._render(group, self._status(group, rec, ctx), ctx)
        digest = message.content_hash()
        if digest != rec.content_hash:
            delivery = await self._send(channel, message, ts=ts, alert_key=group.key)
            if delivery.status == "not_found":
                # Someone deleted the message: post the alert again.
                await self.store.clear_alert_message(group.key)
                await self._post_new(group, replace(rec, ts=None, content_hash=None), ctx, channel)
                return
            if delivery.status == "ok":
                await self.store.set_alert_rendered(group.key, digest)
                title, device_name = self._labels(group, ctx)
                if (title, device_name) != (rec.title, rec.device_name):
                    await self.store.set_alert_labels(
                        group.key, title=title, device_name=device_name
                    )
                self._report.updated += 1
        await self._escalate(group, rec, ctx)
        if woke_for:
            titles = [self._title(f) for f in woke_for]
            if await self._reply(channel, ts, self.renderer.woke_reply(titles)):
                self._report.woke += 1
            return
        await self._maybe_remind(group, rec, ctx)

    async def _escalate(self, group: AlertGroup, rec: AlertRecord, ctx: _Context) -> None:
        """Raise an open alert again in its thread as check-in nears (T-24 h, T-4 h, T-1 h),
        each once per start time; the most urgent crossed threshold only (a late scan posts one
        reply, not three). ESCALATION_MENTION is named at T-4 h and T-1 h unless the alert was
        acknowledged; a snoozed alert is not raised (its snooze ends at T-1 h). The urgency
        badge itself is the alert's own edit (its band changes at these same bounds)."""
        if not self.escalate or rec.state == "snoozed" or group.folded_into is not None:
            return
        if rec.ts is None or rec.channel is None:
            return
        starts_at = _soonest_start(group, ctx)
        if starts_at is None:
            return
        raised = await self.store.escalations_raised(group.key, starts_at)
        step, passed = due_escalation(group.starts_in, raised)
        if step is None:
            return
        mention = self.escalation_mention if step.mention and rec.state != "acknowledged" else None
        titles = ", ".join(self._title(f) for f in sort_findings(group.all_findings)[:3])
        reply = self.renderer.escalation_reply(
            step, starts_at=starts_at, mention=mention, titles=titles
        )
        if await self._reply(rec.channel, rec.ts, reply):
            await self.store.record_escalations(
                group.key, starts_at, [t.seconds for t in passed], at=ctx.now
            )
            self._report.escalated += 1

    async def _escalate_new(self, group: AlertGroup, ctx: _Context) -> None:
        """A new alert already past some thresholds: the post itself raises it, so those
        without a mention are recorded as raised; one already inside T-4 h names
        ESCALATION_MENTION at once (a reply in the new thread)."""
        starts_at = _soonest_start(group, ctx) if self.escalate else None
        if starts_at is None:
            return
        _, passed = due_escalation(group.starts_in, ())
        quiet = [t.seconds for t in passed if not (t.mention and self.escalation_mention)]
        if quiet:
            await self.store.record_escalations(group.key, starts_at, quiet, at=ctx.now)
        if any(t.mention for t in passed) and self.escalation_mention:
            posted = await self.store.alert(group.key)
            if posted is not None:
                await self._escalate(group, posted, ctx)

    async def _maybe_remind(self, group: AlertGroup, rec: AlertRecord, ctx: _Context) -> None:
        if rec.state != "open" or group.folded_into is not None or rec.ts is None:
            return
        since = rec.last_reminded_at or rec.posted_at or rec.opened_at
        if (ctx.now - since).total_seconds() < self.remind_after:
            return
        first = self._status(group, rec, ctx).first_seen or rec.opened_at
        reply = self.renderer.reminder_reply(
            open_seconds=(ctx.now - first).total_seconds(),
            problem_titles=[self._title(f) for f in sort_findings(group.all_findings)],
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
        delivery = await self._send(rec.channel, message, ts=rec.ts, alert_key=group.key)
        if delivery.status == "not_found":
            await self._post_new(group, None, ctx, rec.channel)
            return
        if delivery.status != "ok":
            self._report.pending += 1
            return
        await self.store.reopen_alert(group.key, content_hash=message.content_hash(), at=ctx.now)
        await self._reply(
            rec.channel,
            rec.ts,
            self.renderer.reopened_reply([self._title(f) for f in sort_findings(group.findings)]),
        )
        self._report.reopened += 1

    async def _resolved_message(self, rec: AlertRecord, ctx: _Context) -> tuple[Rendered, bool]:
        """The resolved form of `rec`, and whether its code (or lock) is gone from Seam."""
        gone = (
            not ctx.scan.saw_code(rec.access_code_id)
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
        code = ctx.codes.get(rec.access_code_id or "") if rec.subject == "access_code" else None
        backup = code.pulled_backup_access_code_id if code is not None and not code.errors else None
        message = self.renderer.resolved(
            subject="device" if rec.subject == "device" else "access_code",
            title=rec.title or rec.alert_key,
            device_name=device.name if device is not None else (rec.device_name or rec.device_id),
            problem_titles=titles,
            resolved_at=rec.resolved_at or ctx.now,
            gone=gone,
            access_code_id=rec.access_code_id,
            device_id=rec.device_id,
            activity=rec.activity,
            backup_access_code_id=backup,
        )
        return message, gone

    async def _redraw_resolved(self, rec: AlertRecord, ctx: _Context) -> None:
        """Edit an alert another refresh resolved meanwhile, so it shows the annotation (the
        re-check someone just ran) in its resolved form; no second "Resolved" reply."""
        if rec.ts is None or rec.channel is None:
            return
        message, _ = await self._resolved_message(rec, ctx)
        delivery = await self._send(rec.channel, message, ts=rec.ts, alert_key=rec.alert_key)
        if delivery.status == "ok":
            await self.store.set_alert_rendered(rec.alert_key, message.content_hash())

    async def _resolve(self, rec: AlertRecord, ctx: _Context) -> None:
        """Every problem of the alert cleared (on a device the scan fully saw)."""
        if rec.ts is None or rec.channel is None:
            # Never posted on its own (pending, or listed in a digest): nothing to edit.
            await self.store.resolve_alert(rec.alert_key, at=ctx.now)
            self._report.resolved += 1
            return
        channel: str = rec.channel
        ts: str = rec.ts
        message, gone = await self._resolved_message(rec, ctx)
        delivery = await self._send(channel, message, ts=ts, alert_key=rec.alert_key)
        if delivery.status == "not_found":
            await self.store.resolve_alert(rec.alert_key, at=ctx.now)
            self._report.resolved += 1
            return
        if delivery.status != "ok":
            return  # still shows open in Slack; resolve again next reconcile
        await self.store.resolve_alert(
            rec.alert_key, at=ctx.now, content_hash=message.content_hash()
        )
        self._report.resolved += 1
        subject: Literal["access_code", "device"] = (
            "device" if rec.subject == "device" else "access_code"
        )
        replaced = rec.activity.replaced_by if rec.activity is not None else None
        await self._reply(
            channel,
            ts,
            self.renderer.resolved_reply(subject=subject, gone=gone, replaced_by=replaced),
        )

    # ------------------------------------------------------------------ digests

    async def _post_digest(
        self,
        fresh: Sequence[tuple[AlertGroup, AlertRecord | None]],
        ctx: _Context,
        channel: str,
    ) -> None:
        """A storm: one digest message in `channel` instead of one message per new alert."""
        members = [self._intent(group, ctx) for group, _ in fresh]
        digest_id = await self.store.begin_digest(members, channel=channel, at=ctx.now)
        self._new_digests.add(digest_id)
        self._report.digested += len(members)
        logger.warning(
            "%d new alerts in one scan (threshold %d): posting one digest",
            len(members),
            self.storm_threshold,
        )
        digest = DigestRecord(
            digest_id=digest_id,
            channel=channel,
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
        message = self.renderer.digest(items, now=ctx.now, created_at=digest.created_at)
        content = message.content_hash()
        alert_key = f"digest:{digest.digest_id}"
        if digest.ts is None:
            delivery = await self._send(digest.channel, message, alert_key=alert_key)
            if delivery.status != "ok" or delivery.ts is None:
                self._report.pending += 1
                return
            await self.store.set_digest_posted(
                digest.digest_id,
                channel=self._channel_ids.get(digest.channel, digest.channel),
                ts=delivery.ts,
                content_hash=content,
                at=ctx.now,
            )
            self._report.digests += 1
            return
        if content != digest.content_hash:
            delivery = await self._send(digest.channel, message, ts=digest.ts, alert_key=alert_key)
            if delivery.status == "ok":
                self._report.updated += 1
                if not open_members:
                    await self.store.resolve_digest(
                        digest.digest_id, content_hash=content, at=ctx.now
                    )
                    await self._reply(
                        digest.channel, digest.ts, self.renderer.resolved_reply(subject="digest")
                    )
                    return
                await self.store.set_digest_rendered(digest.digest_id, content)
            elif delivery.status == "not_found" and not open_members:
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
        reply = self.renderer.reminder_reply(
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
                problem_titles=tuple(self._title(f) for f in sort_findings(group.findings)),
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
        self, channel: str, message: Rendered, *, ts: str | None = None, alert_key: str
    ) -> Delivery:
        """Post (no `ts`) or edit (`ts`) one alert message. Never raises for Slack failures."""
        if channel in self._blocked:
            return Delivery("blocked")
        self._report.slack_calls += 1
        if ts is None:
            delivery = await self.channel_io.post(channel, message, alert_key=alert_key)
        else:
            delivery = await self.channel_io.update(channel, ts, message, alert_key=alert_key)
        if delivery.status == "ok":
            self._report.rendered.add(alert_key)
        return self._note(channel, delivery)

    async def _reply(self, channel: str, thread_ts: str, message: Rendered) -> bool:
        if channel in self._blocked:
            return False
        self._report.slack_calls += 1
        delivery = self._note(channel, await self.channel_io.reply(channel, thread_ts, message))
        return delivery.status == "ok"

    def _note(self, channel: str, delivery: Delivery) -> Delivery:
        if delivery.status == "blocked":
            self._blocked.add(channel)
            self.channel_problem = delivery.error
        elif delivery.status == "ok":
            self.channel_problem = None
        if delivery.error and delivery.status != "not_found":
            self._report.errors.append(delivery.error)
        if delivery.status == "ok" and delivery.channel and delivery.channel != channel:
            # ALERT_CHANNEL given as a name ("#alerts"): chat.update needs the channel ID.
            self._channel_ids[channel] = delivery.channel
        return delivery


# ============================================================================ helpers


@dataclass(frozen=True)
class _Context:
    scan: Observation
    codes: Mapping[str, AccessCode]
    now: datetime
    first_seen: Mapping[str, datetime]
    before: Mapping[str, FingerprintRecord]


def _soonest_start(group: AlertGroup, ctx: _Context) -> datetime | None:
    """The `starts_at` of the soonest code the alert concerns (its own code, or the lock's
    affected codes), from the codes or the compact arrivals the observation kept."""
    ids = [group.access_code_id] if group.access_code_id else [cid for cid, _ in group.affected]
    arrivals = {a.access_code_id: a.starts_at for a in ctx.scan.arrivals}
    starts = []
    for cid in ids:
        code = ctx.codes.get(cid or "")
        start = (
            code.starts_at if code is not None and code.is_time_bound else arrivals.get(cid or "")
        )
        if start is not None and start > ctx.now:
            starts.append(start)
    return min(starts) if starts else None
