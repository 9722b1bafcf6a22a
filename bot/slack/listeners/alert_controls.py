"""Alert controls: Acknowledge (button) and Snooze (overflow: 1 h, 24 h, until the code ends).

Both are acked at once, limited to `REMEDY_ALLOWED_USERS`, recorded in the store and the audit
table, said in the alert's thread ("who did what"), and the alert message is refreshed in place.
A snoozed alert that gets worse wakes up (`bot.services.alerting`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.text import slack_date
from bot.seam.errors import SeamApiError
from bot.services.container import Services
from bot.slack import ids
from bot.slack.blocks.common import notice_message
from bot.slack.middleware import requires_permission, services_from
from bot.slack.payloads import Press, read_press
from bot.slack.respond import send

logger = logging.getLogger(__name__)

SNOOZE_SECONDS = {"1h": 3600, "24h": 86400}


def _alert_key(value: str) -> str | None:
    kind, _, ident = value.partition(":")
    if kind in ("code", "device") and ident and len(value) <= 140:
        return value
    return None


async def _thread_reply(client: AsyncWebClient, press: Press, text: str) -> None:
    if not press.channel or not press.ts:
        return
    try:
        await client.chat_postMessage(channel=press.channel, thread_ts=press.ts, text=text)
    except Exception:
        logger.exception("could not post the alert thread reply")


async def _record_and_announce(
    services: Services,
    client: AsyncWebClient,
    press: Press,
    alert_key: str,
    action: str,
    outcome: str,
    announcement: str,
) -> None:
    """Audit the change, say it in the alert's thread, and refresh the alert in place."""
    await services.store.record_audit(
        user_id=press.user_id, action=action, outcome=outcome, detail=alert_key
    )
    await _thread_reply(client, press, announcement)
    await _refresh(services, alert_key)


async def _refresh(services: Services, alert_key: str) -> None:
    record = await services.store.alert(alert_key)
    if record is None or not record.device_id:
        return
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
    await _record_and_announce(
        services,
        client,
        press,
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
    await _record_and_announce(
        services,
        client,
        press,
        key,
        "snooze",
        f"snoozed until {until.isoformat(timespec='minutes')}",
        f":zzz: <@{press.user_id}> snoozed this alert until {slack_date(until)}.",
    )


def register(app: AsyncApp) -> None:
    """Bind Acknowledge and Snooze."""
    app.action(ids.ACTION_ALERT_ACK)(acknowledge)
    app.action(ids.ACTION_ALERT_SNOOZE)(snooze)
