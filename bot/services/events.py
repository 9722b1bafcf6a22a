"""Seam events (webhooks): real-time alerts through the one alert refresh, scans as the safety net.

Seam pushes every access-code, device and account change as a webhook (Seam's page "Webhooks";
its production checklist asks integrators to act on `access_code.failed_to_set_on_device` and
`device.disconnected`). Rules:

* **Exactly once.** Each `event_id` is recorded in the store before it is handled
  (`EventLog.record_event`); a redelivery (Seam retries after 5 s, 5 min, 30 min, 2 h...) does
  nothing twice, across restarts. An event recorded but not handled (the process died in
  between) is handled again at start-up (`resume`).
* **Never trust the snapshot.** Events arrive late and out of order, so the payload only says
  *which* lock to look at: the lock is re-read from Seam and its alerts are refreshed through
  `AlertService.refresh_devices`, the same path the scanner and the buttons use, so a webhook
  and a scan can never post two alerts for one problem.
* **Unknown types** are accepted and logged once per type.
* `lock.access_denied` (someone is at the door and the code did not work) also posts the most
  urgent message the bot has, with the code's remedies and a backup code first.

`WebhookHealth` watches for a silent endpoint: webhooks configured, a scan finds changes, and no
event arrived for longer than a scan interval.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.seam.client import SeamClient
from bot.seam.errors import SeamNotFoundError
from bot.seam.models import AccessCode
from bot.services.alerting import AlertService, ReconcileReport
from bot.store import StateStore

logger = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "HANDLED_EVENT_TYPES",
    "NEWER_EVENT_TYPES",
    "EventService",
    "SeamEvent",
    "WebhookHealth",
]

#: The Seam event types the bot acts on (and subscribes to with `webhook register`).
HANDLED_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "access_code.failed_to_set_on_device",
        "access_code.delay_in_setting_on_device",
        "access_code.failed_to_remove_from_device",
        "access_code.delay_in_removing_from_device",
        "access_code.modified_external_to_seam",
        "access_code.deleted_external_to_seam",
        "access_code.set_on_device",
        "access_code.removed_from_device",
        "access_code.deleted",
        "access_code.changed",
        "access_code.backup_access_code_pulled",
        "access_code.unmanaged.converted_to_managed",
        "access_code.unmanaged.failed_to_convert_to_managed",
        "device.disconnected",
        "device.connected",
        "device.removed",
        "device.low_battery",
        "device.connection_became_flaky",
        "device.connection_stabilized",
        "device.third_party_integration_detected",
        "device.third_party_integration_no_longer_detected",
        "connected_account.disconnected",
        "lock.access_denied",
    }
)
ACCESS_DENIED = "lock.access_denied"
#: Events saying a change did not take.
FAILURE_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "access_code.failed_to_set_on_device",
        "access_code.failed_to_remove_from_device",
        "access_code.unmanaged.failed_to_convert_to_managed",
    }
)
#: Types only newer Seam versions offer (the pinned fake refuses to subscribe to them).
NEWER_EVENT_TYPES: frozenset[str] = frozenset({ACCESS_DENIED})
_ID_LIMIT = 200


@dataclass(frozen=True)
class SeamEvent:
    """What the bot reads from an event: its identity, its type and which objects it names.

    Only ids are kept (never a PIN, never the snapshot): the truth is re-read from Seam.
    """

    event_id: str
    event_type: str
    device_id: str | None = None
    access_code_id: str | None = None
    connected_account_id: str | None = None
    occurred_at: str | None = None

    @classmethod
    def parse(cls, payload: Any) -> SeamEvent | None:
        """The event from a webhook body (a JSON object), or None when it is unusable."""
        if not isinstance(payload, dict):
            return None

        def text(key: str) -> str | None:
            value = payload.get(key)
            if isinstance(value, str) and 0 < len(value) <= _ID_LIMIT:
                return value
            return None

        event_id, event_type = text("event_id"), text("event_type")
        if event_id is None or event_type is None:
            return None
        return cls(
            event_id=event_id,
            event_type=event_type,
            device_id=text("device_id"),
            access_code_id=text("access_code_id"),
            connected_account_id=text("connected_account_id"),
            occurred_at=text("occurred_at") or text("created_at"),
        )

    @property
    def key(self) -> str:
        """The store key: `seam:<event_id>`."""
        return f"seam:{self.event_id}"

    def dumps(self) -> str:
        """JSON of the ids (kept with the event so an unhandled one can be resumed)."""
        return json.dumps(asdict(self), separators=(",", ":"))


class EventService:
    """Handles verified Seam events after the HTTP answer.

    `BATCH_WINDOW` (seconds): events arriving this close together share one refresh.

    Args:
        store: the event log (dedupe) and alert state.
        seam: to find a code's lock when the event names only the code.
        alerts: the alert service (None: alerts are off; events are still recorded).
        clock: current time (aware UTC).
    """

    BATCH_WINDOW = 0.2

    def __init__(
        self,
        store: StateStore,
        seam: SeamClient,
        alerts: AlertService | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.seam = seam
        self.alerts = alerts
        self._clock = clock
        self._unknown_logged: set[str] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self._batch: _Batch | None = None

    async def accept(self, event: SeamEvent) -> bool:
        """Record the event; True when it is new (handle it), False for a redelivery."""
        return await self.store.record_event(
            event.key, event.event_type, at=self._clock(), payload=event.dumps()
        )

    def handle_later(self, event: SeamEvent) -> asyncio.Task[str]:
        """Handle the event in a task (after the HTTP answer); kept until it finishes."""
        name = f"seam-event-{event.event_id}"
        return self._track(asyncio.create_task(self.handle(event), name=name))

    def resume_later(self) -> asyncio.Task[int]:
        """`resume` in a task (at start-up, so serving does not wait for Seam)."""
        return self._track(asyncio.create_task(self.resume(), name="resume-seam-events"))

    def _track(self, task: asyncio.Task[T]) -> asyncio.Task[T]:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def handle(self, event: SeamEvent) -> str:
        """Re-read what the event names and refresh its alerts. Returns a short outcome; never
        raises (a failure is logged and the scan, the safety net, will see the lock).

        Events that arrive together are refreshed together: each lock is re-read once per
        batch (`BATCH_WINDOW` seconds), however many events name it.
        """
        try:
            outcome = await self._handle(event)
        except Exception:
            logger.exception("handling Seam event %s (%s) failed", event.event_id, event.event_type)
            outcome = "failed; the next scan will look"
        try:
            await self.store.finish_event(event.key, outcome, at=self._clock())
        except Exception:
            logger.exception("could not mark Seam event %s handled", event.event_id)
        return outcome

    async def resume(self, *, within: timedelta = timedelta(hours=6)) -> int:
        """Handle again the events recorded but never handled (the process died in between).

        Returns how many were resumed.
        """
        pending = await self.store.unfinished_events(since=self._clock() - within)
        events = [e for e in (SeamEvent.parse(_loads(raw)) for raw in pending) if e is not None]
        for event in events:
            logger.info("resuming Seam event %s (%s)", event.event_id, event.event_type)
        await asyncio.gather(*(self.handle(e) for e in events))
        return len(events)

    async def drain(self, grace: float = 5.0) -> None:
        """Wait up to `grace` seconds for events being handled (at shutdown, and in tests)."""
        deadline = asyncio.get_running_loop().time() + grace
        while True:
            pending = {t for t in self.tasks if not t.done()}
            remaining = deadline - asyncio.get_running_loop().time()
            if not pending or remaining <= 0:
                return
            await asyncio.wait(pending, timeout=remaining)

    async def _handle(self, event: SeamEvent) -> str:
        if event.event_type not in HANDLED_EVENT_TYPES:
            if event.event_type not in self._unknown_logged:
                self._unknown_logged.add(event.event_type)
                logger.info("ignoring Seam events of type %r (not used here)", event.event_type)
            return "ignored: not a type the bot uses"
        if self.alerts is None:
            return "recorded; alerts are off"
        settled = await self._settle_watch(event)
        device_ids = await self._devices_of(event)
        if not device_ids:
            return "nothing to refresh: no lock named" + settled
        report = await self._refresh(device_ids)
        if event.event_type == ACCESS_DENIED and event.access_code_id:
            await self.alerts.door_refused(device_ids[0], event.access_code_id, self._clock())
        return f"refreshed {len(device_ids)} lock(s): {_summary(report)}{settled}"

    async def _settle_watch(self, event: SeamEvent) -> str:
        """A remedy still being made on this code: settle it when Seam shows the outcome."""
        if not event.access_code_id:
            return ""
        watch = await self.store.remedy_watch(event.access_code_id)
        if watch is None:
            return ""
        ok: bool | None = None
        detail = ""
        if event.event_type in FAILURE_EVENT_TYPES:
            ok, detail = False, f"Seam reports {event.event_type.removeprefix('access_code.')}."
        else:
            try:
                code: AccessCode | None = await self.seam.find_access_code(watch.access_code_id)
            except SeamNotFoundError:
                code = None
            failed = [i.code for i in code.errors if i.code.startswith("failed_to")] if code else []
            if watch.expect == "gone" and code is None:
                ok, detail = True, "the code is off the lock."
            elif watch.expect == "managed" and code is not None and code.is_managed:
                ok, detail = True, "Seam now manages the code."
            elif watch.expect == "set" and code is not None and failed:
                ok, detail = False, f"the lock reports {failed[0]}."
            elif watch.expect == "set" and code is not None and code.status == "set":
                ok, detail = True, "the code is on the lock."
        if ok is None or not await self.store.end_watch(watch.access_code_id):
            return ""
        await self.store.record_audit(
            user_id=watch.user_id,
            action=watch.remedy,
            outcome="success" if ok else "error",
            access_code_id=watch.access_code_id,
            detail=f"settled by Seam event {event.event_type}: {detail}",
        )
        if self.alerts is not None and watch.channel and watch.ts:
            await self.alerts.remedy_settled(
                watch.channel, watch.ts, label=watch.label, by=watch.user_id, ok=ok, detail=detail
            )
        return f"; settled {watch.remedy}: {'done' if ok else 'failed'}"

    async def _refresh(self, device_ids: list[str]) -> ReconcileReport | None:
        """Join the next batch: the locks of every event of the window are refreshed at once."""
        assert self.alerts is not None
        batch = self._batch
        if batch is None or batch.done():
            batch = self._batch = _Batch(self.alerts, self.BATCH_WINDOW)
        return await batch.join(device_ids)

    async def _devices_of(self, event: SeamEvent) -> list[str]:
        if event.device_id:
            return [event.device_id]
        if event.access_code_id:
            try:
                code = await self.seam.find_access_code(event.access_code_id)
                return [code.device_id]
            except SeamNotFoundError:
                record = await self.store.alert(f"code:{event.access_code_id}")
                return [record.device_id] if record is not None else []
        if event.connected_account_id:
            devices = await self.seam.list_devices(connected_account_id=event.connected_account_id)
            return [d.device_id for d in devices]
        return []


class _Batch:
    """The locks named by events arriving within `window` seconds, refreshed in one go."""

    def __init__(self, alerts: AlertService, window: float) -> None:
        self.alerts = alerts
        self.device_ids: dict[str, None] = {}
        self._result: asyncio.Future[ReconcileReport | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._timer = asyncio.get_running_loop().call_later(window, self._start)
        self._task: asyncio.Task[None] | None = None

    def done(self) -> bool:
        """Already refreshing (late joiners start a new batch)."""
        return self._task is not None

    async def join(self, device_ids: list[str]) -> ReconcileReport | None:
        self.device_ids.update(dict.fromkeys(device_ids))
        return await asyncio.shield(self._result)

    def _start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="seam-event-batch")

    async def _run(self) -> None:
        try:
            report = await self.alerts.refresh_devices(list(self.device_ids))
        except Exception as exc:
            self._result.set_exception(exc)
            return
        self._result.set_result(report)


class WebhookHealth:
    """Warns when webhooks are configured but silent while scans keep finding changes.

    Args:
        store: where the last event time is read (`EventLog.last_event_at`).
        interval: seconds between scans (a silent endpoint is one quieter than this).
        clock: current time (aware UTC).
    """

    def __init__(
        self,
        store: StateStore,
        interval: float,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.interval = interval
        self._clock = clock
        self.warning: str | None = None

    async def check(self, report: ReconcileReport | None) -> str | None:
        """After a scan: the warning text (also logged), or None when all looks well."""
        changes = 0 if report is None else report.posted + report.resolved + report.updated
        last = await self.store.last_event_at()
        quiet = last is None or (self._clock() - last).total_seconds() > self.interval
        if changes and quiet:
            since = "ever" if last is None else f"since {last.isoformat(timespec='minutes')}"
            self.warning = (
                f"Seam webhooks are configured but no event has arrived {since}, while the "
                f"last scan found {changes} change(s): check the Seam webhook "
                "(python -m bot webhook list) and that /seam/webhook is reachable"
            )
            logger.warning("%s", self.warning)
        elif not quiet:
            self.warning = None
        return self.warning


def _summary(report: ReconcileReport | None) -> str:
    return report.summary() if report is not None else "no alert change"


def _loads(raw: str) -> Mapping[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
