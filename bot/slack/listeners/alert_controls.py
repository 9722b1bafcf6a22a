"""Alert controls: Acknowledge / Unacknowledge, Unsnooze, and a Snooze menu (1 h, 24 h, until the
code ends, or until a date and time picked in a modal).

All are acked at once, limited to `REMEDY_ALLOWED_USERS`, recorded in the store and the audit
table, said in the alert's thread ("who did what"), and the alert message is refreshed in place.
A snoozed alert that gets worse wakes up (`bot.services.alerting`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.alert_plan import AlertState
from bot.domain.text import slack_date
from bot.seam.errors import SeamApiError
from bot.services.container import Services
from bot.slack import ids
from bot.slack.blocks.common import notice_message
from bot.slack.blocks.modals import snooze_until_modal
from bot.slack.client import one_shot_client
from bot.slack.middleware import requires_permission, services_from
from bot.slack.payloads import (
    Press,
    RemedyContext,
    read_press,
    user_id_of,
    view_selected_time,
)
from bot.slack.respond import send

logger = logging.getLogger(__name__)

SNOOZE_SECONDS = {"1h": 3600, "24h": 86400}


def _alert_key(value: str) -> str | None:
    kind, _, ident = value.partition(":")
    if kind in ("code", "device") and ident and len(value) <= 140:
        return value
    return None


async def _thread_reply(client: AsyncWebClient, channel: str, ts: str, text: str) -> None:
    if not channel or not ts:
        return
    try:
        await client.chat_postMessage(channel=channel, thread_ts=ts, text=text)
    except Exception:
        logger.exception("could not post the alert thread reply")


async def _announce(
    services: Services,
    client: AsyncWebClient,
    user_id: str,
    alert_key: str,
    action: str,
    outcome: str,
    announcement: str,
) -> None:
    """Audit the change, reply in the thread of the alert that changed (its own message, from
    the store, never the clicked message's ids), and refresh it in place."""
    await services.store.record_audit(
        user_id=user_id, action=action, outcome=outcome, detail=alert_key
    )
    record = await services.store.alert(alert_key)
    if record is None:
        return
    if record.channel and record.ts:  # else pending or in a digest: no thread of its own
        await _thread_reply(client, record.channel, record.ts, announcement)
    try:
        await services.refresh_devices([record.device_id])
    except Exception:
        logger.exception("refreshing alert %s failed", alert_key)


@requires_permission
async def acknowledge(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Mark an alert acknowledged (no more reminders) and say who did it."""
    await ack()
    press = read_press(body)
    services = services_from(context)
    key = _alert_key(press.value)
    record = await services.store.alert(key) if key else None
    if record is not None and record.state == "acknowledged":
        await send(
            respond,
            notice_message("Already acknowledged", f"<@{record.state_by}> is on it."),
            replace_original=False,
        )
        return
    if key is None or not await services.store.acknowledge(key, press.user_id):
        await send(
            respond,
            notice_message("Nothing to acknowledge", "This alert is resolved or unknown."),
            replace_original=False,
        )
        return
    await _announce(
        services,
        client,
        press.user_id,
        key,
        "acknowledge",
        "acknowledged",
        f":eyes: <@{press.user_id}> acknowledged this alert.",
    )


@requires_permission
async def snooze(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Snooze an alert for 1 h, 24 h, or until the code's `ends_at` (UTC)."""
    await ack()
    press = read_press(body)
    services = services_from(context)
    choice, _, raw_key = press.value.partition("|")
    key = _alert_key(raw_key)
    now = datetime.now(UTC)
    until: datetime | None = None
    if choice == "pick" and key is not None:
        await _open_snooze_picker(client, press, key, respond)
        return
    if choice in SNOOZE_SECONDS:
        until = now + timedelta(seconds=SNOOZE_SECONDS[choice])
    elif choice == "end" and key and key.startswith("code:"):
        try:
            code = await services.seam.get_access_code(key.removeprefix("code:"))
            until = code.ends_at if code.ends_at and code.ends_at > now else None
        except SeamApiError as exc:
            logger.warning("snooze until end: %s", exc)
    if key is None or until is None:
        await send(
            respond,
            notice_message("Couldn't snooze", "That snooze option doesn't fit this alert."),
            replace_original=False,
        )
        return
    if not await services.store.snooze(key, until, press.user_id):
        await send(
            respond,
            notice_message("Nothing to snooze", "This alert is resolved or unknown."),
            replace_original=False,
        )
        return
    await _announce(
        services,
        client,
        press.user_id,
        key,
        "snooze",
        f"snoozed until {until.isoformat(timespec='minutes')}",
        f":zzz: <@{press.user_id}> snoozed this alert until {slack_date(until)}.",
    )


@requires_permission
async def reopen(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Unsnooze or Unacknowledge: the alert is open again and reminders resume."""
    await ack()
    press = read_press(body)
    services = services_from(context)
    key = _alert_key(press.value)
    undo = "unsnooze" if press.action_id == ids.ACTION_ALERT_UNSNOOZE else "unacknowledge"
    expected: AlertState = "snoozed" if undo == "unsnooze" else "acknowledged"
    if key is None or not await services.store.reopen_state(key, press.user_id, expected=expected):
        await send(
            respond,
            notice_message(f"Nothing to {undo}", "This alert is open, resolved or unknown."),
            replace_original=False,
        )
        return
    verb = "unsnoozed" if undo == "unsnooze" else "unacknowledged"
    await _announce(
        services,
        client,
        press.user_id,
        key,
        undo,
        "open",
        f":bell: <@{press.user_id}> {verb} this alert: reminders resume.",
    )


async def _open_snooze_picker(
    client: AsyncWebClient, press: Press, alert_key: str, respond: AsyncRespond
) -> None:
    """The modal with a date-and-time picker (each reader's own time zone; Slack answers a
    UNIX time)."""
    ctx = RemedyContext(
        action="snooze_until", code=alert_key, channel=press.channel, ts=press.ts, ephemeral=False
    )
    try:
        await one_shot_client(client).views_open(
            trigger_id=press.trigger_id, view=snooze_until_modal(ctx)
        )
    except Exception:
        logger.exception("views.open for the snooze picker failed")
        await send(
            respond,
            notice_message(
                "Couldn't open the form",
                "Slack refused to open it in time; please choose again.",
            ),
            replace_original=False,
        )


#: The longest snooze a picked time may set (seconds): past it, reminders would be forgotten.
MAX_SNOOZE_SECONDS = 30 * 86400


@requires_permission
async def on_snooze_until(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Snooze until the picked date and time: in the future, at most 30 days ahead."""
    ctx = RemedyContext.loads(view.get("private_metadata"))
    key = _alert_key(ctx.code) if ctx is not None else None
    if ctx is None or key is None:
        await ack(
            response_action="errors",
            errors={ids.BLOCK_SNOOZE_UNTIL: "This form lost track of its alert; close it."},
        )
        return
    raw = view_selected_time(view, ids.BLOCK_SNOOZE_UNTIL, ids.ACTION_SNOOZE_UNTIL)
    now = datetime.now(UTC)
    far = now.timestamp() + 10 * MAX_SNOOZE_SECONDS
    until = datetime.fromtimestamp(raw, UTC) if raw is not None and 0 < raw < far else None
    problem = None
    if raw is not None and until is None:
        problem = "Pick a time within the next 30 days."
    elif until is None:
        problem = "Pick a date and a time."
    elif until <= now + timedelta(minutes=1):
        problem = "Pick a time in the future."
    elif (until - now).total_seconds() > MAX_SNOOZE_SECONDS:
        problem = "Pick a time within the next 30 days."
    if problem is not None or until is None:
        message = problem or "Pick a date and a time."
        await ack(response_action="errors", errors={ids.BLOCK_SNOOZE_UNTIL: message})
        return
    services = services_from(context)
    user_id = user_id_of(body)
    if not await services.store.snooze(key, until, user_id):
        await ack(
            response_action="errors",
            errors={ids.BLOCK_SNOOZE_UNTIL: "This alert is resolved or unknown."},
        )
        return
    await ack()
    await _announce(
        services,
        client,
        user_id,
        key,
        "snooze",
        f"snoozed until {until.isoformat(timespec='minutes')}",
        f":zzz: <@{user_id}> snoozed this alert until {slack_date(until)}.",
    )


def register(app: AsyncApp) -> None:
    """Bind Acknowledge, Unacknowledge, Unsnooze, Snooze and the snooze-until modal."""
    app.action(ids.ACTION_ALERT_ACK)(acknowledge)
    app.action(ids.ACTION_ALERT_UNACK)(reopen)
    app.action(ids.ACTION_ALERT_UNSNOOZE)(reopen)
    app.action(ids.ACTION_ALERT_SNOOZE)(snooze)
    app.view(ids.CALLBACK_SNOOZE_UNTIL)(on_snooze_until)
