"""Buttons on `/seam-code` answers and alerts (`remedy:<action>` and `show_pin` action_ids).

Every press is acked at once. Remedies that change a lock first check `REMEDY_ALLOWED_USERS`,
then open a modal straight away (a trigger_id lives 3 s and works once;
api.slack.com/surfaces/modals#opening) showing "Reading Seam…", read Seam, and fill the modal
in with `views.update`: the details of what will change and a submit button that confirms it.
The change itself runs when the modal is submitted (handlers/views.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import access_code_message, can_pull_backup, notice_message
from bot.catalogue import RemedyAction
from bot.formatting import escape_mrkdwn, parse_command_text
from bot.lookup import fetch_code_and_device
from bot.pins import supported_lengths
from bot.remedies import duplicates_of, slot_candidates
from bot.remedy_views import (
    RemedyContext,
    code_summary,
    confirm_modal,
    free_slot_modal,
    loading_modal,
    message_modal,
    update_pin_modal,
)
from bot.scanner import rescan_devices
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device
from bot.services import Services, services_from
from handlers.common import Press, read_press, refused, send
from handlers.replies import internal_error_message, seam_failure_message, stale_button_message

logger = logging.getLogger(__name__)

#: Modal titles per remedy (24 characters at most).
TITLES = {
    RemedyAction.UPDATE_PIN: "Update PIN",
    RemedyAction.CONVERT_UNMANAGED: "Convert to managed",
    RemedyAction.DELETE_UNMANAGED: "Delete duplicate",
    RemedyAction.DELETE_AND_RECREATE: "Delete and recreate",
    RemedyAction.PULL_BACKUP: "Use a backup code",
    RemedyAction.FREE_SLOT: "Free a slot",
}


def _code_id(press: Press) -> str | None:
    parsed = parse_command_text(press.value)
    return parsed.value if parsed.kind == "id" else None


async def recheck(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Re-read the code from Seam: replace an ephemeral answer, or refresh a channel alert."""
    await ack()
    press = read_press(body)
    code_id = _code_id(press)
    if code_id is None:
        logger.warning("recheck pressed with an unusable value")
        await send(respond, stale_button_message(), replace_original=False)
        return
    services = services_from(context)
    try:
        code, device = await fetch_code_and_device(services.seam, code_id)
        fresh = access_code_message(code, device, catalogue=services.catalogue)
        if press.ephemeral:
            await send(respond, fresh, replace_original=True)
        else:
            # A channel alert stays the alert: refresh it in place, show the details privately.
            await rescan_devices(services, [code.device_id])
            await send(respond, fresh, replace_original=False)
    except SeamApiError as exc:
        logger.warning("recheck %s: %s", code_id, exc)
        await send(respond, seam_failure_message(exc, code_id), replace_original=False)
    except Exception:
        logger.exception("recheck %s failed", code_id)
        await send(respond, internal_error_message(), replace_original=False)


async def _pressed_code(
    press: Press, respond: AsyncRespond, services: Services
) -> tuple[AccessCode, Device | None] | None:
    """The code (and device) a button refers to; on failure the clicker is told, None returned."""
    code_id = _code_id(press)
    if code_id is None:
        logger.warning("%s pressed with an unusable value", press.action_id)
        await send(respond, stale_button_message(), replace_original=False)
        return None
    try:
        return await fetch_code_and_device(services.seam, code_id)
    except SeamApiError as exc:
        logger.warning("%s for %s: %s", press.action_id, code_id, exc)
        await send(respond, seam_failure_message(exc, code_id), replace_original=False)
        return None


async def check_device(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Show the device's connection state and its own errors, only to the clicker."""
    await ack()
    loaded = await _pressed_code(read_press(body), respond, services_from(context))
    if loaded is None:
        return
    device = loaded[1]
    if device is None:
        text = "Seam did not return the device; check it in Seam Console."
    else:
        state = (
            "in an unknown state"
            if device.online is None
            else ("online" if device.online else "*offline*")
        )
        catalogue = services_from(context).catalogue
        problems = (
            ", ".join(
                f"{catalogue.lookup(i.code, i.kind, message=i.message).title} "
                f"(`{escape_mrkdwn(i.code, 60)}`)"
                for i in device.issues
            )
            or "none"
        )
        text = (
            f"*{escape_mrkdwn(device.name, 150)}* is {state}. Device problems: {problems}.\n"
            "If it is offline: check the lock's batteries and its Wi-Fi or hub, and reconnect the "
            "account in Seam Console if Seam reports it disconnected."
        )
    await send(
        respond, notice_message("Device check", text, emoji=":satellite:"), replace_original=False
    )


async def contact_support(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Give the clicker a prefilled summary to send to Seam support (ids and codes, no PIN)."""
    await ack()
    loaded = await _pressed_code(read_press(body), respond, services_from(context))
    if loaded is None:
        return
    code = loaded[0]
    problems = ", ".join(sorted({i.code for i in code.issues})) or "none"
    summary = (
        f"access_code_id: {code.access_code_id}\ndevice_id: {code.device_id}\n"
        f"workspace_id: {code.workspace_id or 'unknown'}\nerror/warning codes: {problems}\n"
        f"status: {code.status or 'unknown'}"
    )
    text = (
        "Send this to Seam support (support@seam.co or the chat in Seam Console), with the "
        f"`seam-request-id` of any failed request:\n```{escape_mrkdwn(summary, 2000)}```"
    )
    await send(
        respond, notice_message("Contact Seam support", text, emoji=":sos:"), replace_original=False
    )


async def show_pin(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Reveal the full PIN ephemerally to an allowed user (audited, the PIN never logged)."""
    await ack()
    press = read_press(body)
    services = services_from(context)
    if await refused(services, press, respond):
        return
    loaded = await _pressed_code(press, respond, services)
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


Opener = Callable[[Services, AsyncWebClient, Press, str, str], Awaitable[None]]


async def _open_update_pin(
    services: Services, client: AsyncWebClient, press: Press, code_id: str, view_id: str
) -> None:
    ctx = press.context(RemedyAction.UPDATE_PIN.value, code_id)
    code, device = await fetch_code_and_device(services.seam, code_id)
    if not code.is_managed:
        view = message_modal(
            ctx,
            "Update PIN",
            "This code is unmanaged (created outside Seam), so Seam cannot change its PIN. "
            "Convert it to managed first.",
        )
    else:
        try:
            suggestion = await services.seam.generate_code(code.device_id)
        except SeamApiError:
            suggestion = None
        view = update_pin_modal(
            ctx, code, device, suggestion=suggestion, lengths=supported_lengths(device)
        )
    await client.views_update(view_id=view_id, view=view)


async def _open_duplicate(
    services: Services, client: AsyncWebClient, press: Press, code_id: str, view_id: str
) -> None:
    action = RemedyAction(press.action_id.removeprefix(ids.REMEDY_ACTION_PREFIX))
    code, device = await fetch_code_and_device(services.seam, code_id)
    dupes = duplicates_of(code, await services.seam.list_unmanaged_access_codes(code.device_id))
    ctx = press.context(action.value, code_id)
    if not dupes:
        view = message_modal(
            ctx,
            TITLES[action],
            "No unmanaged code with the same PIN is on this lock now; it may already be gone. "
            "Use *Re-check now* on the message.",
        )
    else:
        target = dupes[0]
        ctx = press.context(action.value, code_id, target.access_code_id)
        verb = (
            "convert it to a managed code"
            if action == RemedyAction.CONVERT_UNMANAGED
            else "delete it from the lock"
        )
        more = f"\n_{len(dupes) - 1} more duplicate(s) will remain._" if len(dupes) > 1 else ""
        view = confirm_modal(
            ctx,
            TITLES[action],
            f"This unmanaged code has the same PIN as "
            f"*{escape_mrkdwn(code.name or code_id, 150)}*. Do you want to {verb}?{more}",
            code_summary(target, device),
            "Convert" if action == RemedyAction.CONVERT_UNMANAGED else "Delete",
        )
    await client.views_update(view_id=view_id, view=view)


async def _open_recreate(
    services: Services, client: AsyncWebClient, press: Press, code_id: str, view_id: str
) -> None:
    code, device = await fetch_code_and_device(services.seam, code_id)
    ctx = press.context(RemedyAction.DELETE_AND_RECREATE.value, code_id, code_id)
    view = confirm_modal(
        ctx,
        TITLES[RemedyAction.DELETE_AND_RECREATE],
        "This deletes the code and creates it again with the same name, PIN and schedule, so "
        "Seam manages it as set. The PIN stops working for a moment in between.",
        code_summary(code, device),
        "Delete & recreate",
    )
    await client.views_update(view_id=view_id, view=view)


async def _open_backup(
    services: Services, client: AsyncWebClient, press: Press, code_id: str, view_id: str
) -> None:
    code, device = await fetch_code_and_device(services.seam, code_id)
    ctx = press.context(RemedyAction.PULL_BACKUP.value, code_id, code_id)
    if not can_pull_backup(code):
        view = message_modal(
            ctx,
            TITLES[RemedyAction.PULL_BACKUP],
            "No backup code can be pulled for this code: backup codes work only for time-bound "
            "codes created with the lock's backup pool, and Seam reports none available.",
        )
    else:
        view = confirm_modal(
            ctx,
            TITLES[RemedyAction.PULL_BACKUP],
            "Pull a backup code from the lock's pool to stand in for this code? Its PIN is shown "
            "only to you; give it to the guest.",
            code_summary(code, device),
            "Pull backup",
        )
    await client.views_update(view_id=view_id, view=view)


async def _open_free_slot(
    services: Services, client: AsyncWebClient, press: Press, code_id: str, view_id: str
) -> None:
    code, device = await fetch_code_and_device(services.seam, code_id)
    codes = [
        c
        for c in await services.seam.list_device_codes(code.device_id)
        if c.access_code_id != code_id
    ]
    ctx = press.context(RemedyAction.FREE_SLOT.value, code_id)
    if not codes:
        view = message_modal(
            ctx, TITLES[RemedyAction.FREE_SLOT], "Seam lists no other codes on this lock to delete."
        )
    else:
        view = free_slot_modal(ctx, slot_candidates(codes), device)
    await client.views_update(view_id=view_id, view=view)


OPENERS: dict[RemedyAction, Opener] = {
    RemedyAction.UPDATE_PIN: _open_update_pin,
    RemedyAction.CONVERT_UNMANAGED: _open_duplicate,
    RemedyAction.DELETE_UNMANAGED: _open_duplicate,
    RemedyAction.DELETE_AND_RECREATE: _open_recreate,
    RemedyAction.PULL_BACKUP: _open_backup,
    RemedyAction.FREE_SLOT: _open_free_slot,
}


async def open_remedy(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """A remedy button: permission check, a modal opened at once, then filled in from Seam."""
    await ack()
    press = read_press(body)
    services = services_from(context)
    try:
        action = RemedyAction(press.action_id.removeprefix(ids.REMEDY_ACTION_PREFIX))
        opener = OPENERS[action]
    except (ValueError, KeyError):
        logger.warning("unknown remedy action %r", press.action_id)
        await send(respond, internal_error_message(), replace_original=False)
        return
    if await refused(services, press, respond):
        return
    code_id = _code_id(press)
    if code_id is None or not press.trigger_id:
        logger.warning("remedy %s pressed with an unusable value or no trigger_id", action.value)
        await send(respond, stale_button_message(), replace_original=False)
        return
    ctx = press.context(action.value, code_id)
    try:
        # A trigger_id lives 3 s: waiting out a 429's Retry-After would only expire it.
        once = AsyncWebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1)],
        )
        opened = await once.views_open(
            trigger_id=press.trigger_id, view=loading_modal(ctx, TITLES[action])
        )
    except Exception:
        logger.exception("views.open for %s failed", action.value)
        await send(
            respond,
            notice_message(
                "Couldn't open the form",
                "Slack refused to open it in time; please click the button again.",
            ),
            replace_original=False,
        )
        return
    view_id = str(opened["view"]["id"])
    try:
        await opener(services, client, press, code_id, view_id)
    except SeamApiError as exc:
        logger.warning("%s for %s: %s", action.value, code_id, exc)
        await _replace_view(
            client, view_id, ctx, TITLES[action], seam_failure_message(exc, code_id).text
        )
    except Exception:
        logger.exception("%s for %s failed while preparing the modal", action.value, code_id)
        await _replace_view(client, view_id, ctx, TITLES[action], internal_error_message().text)


async def _replace_view(
    client: AsyncWebClient, view_id: str, ctx: RemedyContext, title: str, text: str
) -> None:
    try:
        await client.views_update(view_id=view_id, view=message_modal(ctx, title, text))
    except Exception:
        logger.exception("views.update failed")


def register(app: AsyncApp) -> None:
    """Bind every button: Re-check, device check, support summary, Show PIN, and remedies."""
    app.action(ids.remedy_action_id(RemedyAction.RECHECK.value))(recheck)
    app.action(ids.remedy_action_id(RemedyAction.CHECK_DEVICE.value))(check_device)
    app.action(ids.remedy_action_id(RemedyAction.CONTACT_SUPPORT.value))(contact_support)
    app.action(ids.ACTION_SHOW_PIN)(show_pin)
    pattern = "|".join(re.escape(ids.remedy_action_id(a.value)) for a in OPENERS)
    app.action(re.compile(f"^(?:{pattern})$"))(open_remedy)
