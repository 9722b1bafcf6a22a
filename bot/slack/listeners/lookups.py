"""Read-only buttons (Re-check now, Check device, Contact Seam support) and Show PIN.

Every press is acked at once. Re-check on a channel alert refreshes that alert in place through
the one alert refresh (`Services.refresh_devices`) and shows the details only to the clicker.
Show PIN is limited to `REMEDY_ALLOWED_USERS` (listener middleware) and audited; the PIN is
never logged.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.catalogue import RemedyAction
from bot.domain.text import escape_mrkdwn, slack_date
from bot.seam.errors import SeamNotFoundError
from bot.seam.models import AccessCode, Device
from bot.services.alerting import Annotation
from bot.services.container import Services
from bot.services.lookup import fetch_code_and_device
from bot.slack import ids
from bot.slack.admission import bounded_work
from bot.slack.blocks.code import access_code_message
from bot.slack.blocks.common import notice_message
from bot.slack.blocks.replies import (
    device_check_message,
    stale_button_message,
    support_summary_message,
)
from bot.slack.middleware import replies_on_errors, requires_permission, services_from
from bot.slack.payloads import Press, read_press
from bot.slack.respond import restore, send, show_working

logger = logging.getLogger(__name__)


async def pressed_code(
    press: Press, respond: AsyncRespond, services: Services
) -> tuple[AccessCode, Device | None] | None:
    """The code (and device) a button refers to; None (after telling the clicker) when the
    button's value is unusable.

    Raises:
        SeamApiError: the read failed (`replies_on_errors` answers it).
    """
    code_id = press.code_id()
    if code_id is None:
        logger.warning("%s pressed with an unusable value", press.action_id)
        await send(respond, stale_button_message(), replace_original=False)
        return None
    return await fetch_code_and_device(services.seam, code_id)


@bounded_work
@replies_on_errors()
async def recheck(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Re-read the code from Seam: replace an ephemeral answer, or refresh a channel alert.

    On a channel alert the answer is where the click was: the alert says "Re-checking… —
    @who" at once (its buttons held back), then is redrawn from Seam with a line "Re-checked
    <time> by @who: unchanged / changed / resolved"; the details go to the clicker privately.
    When Seam cannot be read the alert is put back as it was, with a line saying so.
    """
    await ack()
    press = read_press(body)
    services = services_from(context)
    if press.ephemeral or services.alerts is None:
        loaded = await pressed_code(press, respond, services)
        if loaded is not None:
            fresh = access_code_message(*loaded, catalogue=services.catalogue)
            await send(respond, fresh, replace_original=press.ephemeral)
        return
    code_id = press.code_id()
    if code_id is None:
        logger.warning("recheck pressed with an unusable value")
        await send(respond, stale_button_message(), replace_original=False)
        return
    who = f"<@{escape_mrkdwn(press.user_id, 40)}>"
    alert = await services.alerts.alert_for(code_id, None, press.ts)
    device_id = alert.device_id if alert else None
    code: AccessCode | None
    device: Device | None
    original = None
    redrawn = False

    async def working() -> dict[str, Any] | None:
        # Only the alert's own message is edited, and only once it is known to be ours.
        if alert is None or alert.channel != press.channel or alert.ts != press.ts:
            return None
        text = f":hourglass_flowing_sand: Re-checking… — {who}"
        return await show_working(client, body, press.channel, press.ts, text)

    try:
        original = await working()
        try:
            code, device = await fetch_code_and_device(services.seam, code_id)
        except SeamNotFoundError:
            if device_id is None:
                raise
            code = device = None  # gone from Seam: the refresh resolves its alert
        if code is not None:
            device_id = code.device_id
            alert = alert or await services.alerts.alert_for(code_id, device_id, press.ts)
        if original is None:
            original = await working()
        annotation = (
            Annotation(alert_key=alert.alert_key, verb="Re-checked", by=press.user_id)
            if alert is not None
            else None
        )
        assert device_id is not None  # from the code, or (code gone) from its alert
        report = await services.refresh_devices([device_id], annotation=annotation)
        redrawn = bool(alert and report and alert.alert_key in report.rendered)
        if code is not None:
            fresh = access_code_message(code, device, catalogue=services.catalogue)
            await send(respond, fresh, replace_original=False)
    finally:
        if alert is not None and not redrawn:
            # Whatever Slack shows now, the next scan redraws it (never stuck on "working").
            await services.store.set_alert_rendered(alert.alert_key, "stale")
        if original is not None and not redrawn:
            await restore(
                client,
                press.channel,
                press.ts,
                original,
                f":warning: Re-check {slack_date(datetime.now(UTC))} by {who} did not finish: "
                "Seam could not be read. This is the last known state.",
            )


@bounded_work
@replies_on_errors()
async def check_device(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Show the lock's state and what to do for it (`device_check_message`), only to the
    clicker."""
    await ack()
    services = services_from(context)
    loaded = await pressed_code(read_press(body), respond, services)
    if loaded is None:
        return
    await send(
        respond,
        device_check_message(loaded[1], services.catalogue),
        replace_original=False,
    )


@bounded_work
@replies_on_errors()
async def contact_support(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Give the clicker a prefilled summary to send to Seam support (ids, codes, the recent
    failed requests' `seam-request-id`s and action attempts; no PIN)."""
    await ack()
    loaded = await pressed_code(read_press(body), respond, services_from(context))
    if loaded is None:
        return
    code = loaded[0]
    failures = services_from(context).seam.failures.recent(
        access_code_id=code.access_code_id, device_id=code.device_id
    )
    await send(respond, support_summary_message(code, failures), replace_original=False)


@bounded_work
@requires_permission
@replies_on_errors()
async def show_pin(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Reveal the full PIN ephemerally to an allowed user (audited, the PIN never logged)."""
    await ack()
    press = read_press(body)
    services = services_from(context)
    loaded = await pressed_code(press, respond, services)
    if loaded is None:
        return
    code = loaded[0]
    await services.store.record_audit(
        user_id=press.user_id,
        action="show_pin",
        outcome="shown",
        access_code_id=code.access_code_id,
        device_id=code.device_id,
    )
    pin = code.code or "(Seam has not assigned a PIN yet)"
    await send(
        respond,
        notice_message(
            f"PIN for {escape_mrkdwn(code.name or 'this code', 100)}",
            f"`{escape_mrkdwn(pin, 20)}` — only you can see this.",
            emoji=":key:",
        ),
        replace_original=False,
    )


def register(app: AsyncApp) -> None:
    """Bind Re-check, device check, support summary and Show PIN."""
    app.action(ids.remedy_action_id(RemedyAction.RECHECK))(recheck)
    app.action(ids.remedy_action_id(RemedyAction.CHECK_DEVICE))(check_device)
    app.action(ids.remedy_action_id(RemedyAction.CONTACT_SUPPORT))(contact_support)
    app.action(ids.ACTION_SHOW_PIN)(show_pin)
