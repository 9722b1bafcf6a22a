"""Modal submissions (`view_submission`): the confirmed remedies run here.

Invalid input is answered inside the modal (`response_action: errors` on the input block;
api.slack.com/surfaces/modals#displaying_errors). Every change runs exactly once: a claim in the
store keyed by the action and its target (plus the view for PIN updates) is taken before the ack,
so a double submit, a second person, or a retry is told it is already running or done. Every
remedy is written to the audit table (never the PIN).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import remedies
from bot.blocks import Message, can_pull_backup, notice_message
from bot.catalogue import RemedyAction
from bot.formatting import escape_mrkdwn, mask_pin
from bot.lookup import fetch_code_and_device
from bot.pins import check_digits, check_pin
from bot.remedies import Outcome
from bot.remedy_views import (
    ACTION_PICK,
    ACTION_PIN,
    BLOCK_PICK,
    BLOCK_PIN,
    CALLBACK_CONFIRM,
    CALLBACK_FREE_SLOT,
    CALLBACK_UPDATE_PIN,
    RemedyContext,
    code_summary,
    confirm_modal,
    message_modal,
)
from bot.seam.errors import SeamApiError, SeamNotFoundError
from bot.seam.models import AccessCode
from bot.services import Services, services_from
from handlers.common import report_outcome, send_to_url
from handlers.replies import seam_failure_message

logger = logging.getLogger(__name__)

#: Seconds the PIN checks may spend reading Seam before the modal must be answered.
PIN_CHECK_BUDGET = 2.0

LABELS = {
    RemedyAction.UPDATE_PIN: "Update PIN",
    RemedyAction.CONVERT_UNMANAGED: "Convert duplicate to managed",
    RemedyAction.DELETE_UNMANAGED: "Delete unmanaged duplicate",
    RemedyAction.DELETE_AND_RECREATE: "Delete and recreate",
    RemedyAction.PULL_BACKUP: "Use backup code",
    RemedyAction.FREE_SLOT: "Free a slot",
}


def _value(view: dict[str, Any], block: str, action: str) -> str:
    try:
        entry = view["state"]["values"][block][action]
    except (KeyError, TypeError):
        return ""
    if not isinstance(entry, dict):
        return ""
    if isinstance(entry.get("selected_option"), dict):
        return str(entry["selected_option"].get("value") or "")
    return str(entry.get("value") or "")


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, dict) else ""


async def _bad_metadata(ack: AsyncAck) -> None:
    logger.warning("view_submission with missing or malformed private_metadata")
    ctx = RemedyContext(action="unknown", code="unknown")
    await ack(
        response_action="update",
        view=message_modal(
            ctx,
            "Something went wrong",
            "This form lost track of its access code. Close it and click the "
            "button on the message again. Nothing was changed.",
        ),
    )


async def _claim_or_explain(
    ack: AsyncAck, services: Services, ctx: RemedyContext, key: str, user_id: str, title: str
) -> bool:
    """Permission and exactly-once gate. Returns True when this submission may run."""
    if not services.settings.may_run_remedies(user_id):
        logger.info("refused %s for %s at submission", ctx.action, user_id)
        await _refuse(ack, ctx, title)
        return False
    if await services.store.claim_remedy(key, user_id=user_id):
        return True
    claim = await services.store.remedy_claim(key)
    who = f"<@{escape_mrkdwn(claim.user_id, 40)}>" if claim else "someone"
    state = "is already running it" if claim and claim.state == "running" else "already did it"
    outcome = f" ({escape_mrkdwn(claim.outcome, 200)})" if claim and claim.outcome else ""
    await ack(
        response_action="update",
        view=message_modal(
            ctx,
            title,
            f":information_source: {who} {state}{outcome}. Nothing more was sent to Seam.",
        ),
    )
    return False


async def _finish(
    services: Services,
    client: AsyncWebClient,
    ctx: RemedyContext,
    key: str,
    user_id: str,
    action: RemedyAction,
    target_id: str,
    device_id: str | None,
    outcome: Outcome,
) -> None:
    """Audit, settle the claim, report.

    Only a confirmed success keeps the claim ("done": a late double submit is told so); any
    other outcome releases it, so the remedy can be tried again once someone has re-checked.
    """
    ids = " ".join(f"{k}={v}" for k, v in (outcome.detail or {}).items())
    await services.store.record_audit(
        user_id=user_id,
        action=action.value,
        outcome=outcome.status,
        access_code_id=target_id,
        device_id=device_id,
        action_attempt_id=outcome.action_attempt_id,
        detail=f"{outcome.summary} {ids}".strip(),
    )
    if outcome.ok:
        await services.store.finish_remedy(key, outcome.status)
    else:
        await services.store.release_remedy(key)
    await report_outcome(services, client, ctx, user_id, LABELS[action], outcome, device_id)


async def _load_pin_context(services: Services, code_id: str) -> tuple[Any, Any, list[Any]]:
    code, device = await fetch_code_and_device(services.seam, code_id)
    others = await services.seam.list_device_codes(code.device_id)
    return code, device, others


async def on_update_pin(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Validate the new PIN (errors shown in the modal), then update it once and report.

    Order: permission; digits and length; then, within `PIN_CHECK_BUDGET` seconds, the lock's
    rules and its other PINs (failing closed when Seam is too slow to check); then the claims:
    one per modal (a double submit is told it is done) and one per code while it runs (two
    people's modals cannot both set a PIN at once).
    """
    ctx = RemedyContext.loads(view.get("private_metadata"))
    if ctx is None:
        await _bad_metadata(ack)
        return
    services = services_from(context)
    user_id = _user(body)
    if not services.settings.may_run_remedies(user_id):
        await _refuse(ack, ctx, "Update PIN")
        return
    pin = _value(view, BLOCK_PIN, ACTION_PIN).strip()
    basic = check_digits(pin)
    if basic:
        await ack(response_action="errors", errors={BLOCK_PIN: basic})
        return
    try:
        code, device, others = await asyncio.wait_for(
            _load_pin_context(services, ctx.code), PIN_CHECK_BUDGET
        )
    except TimeoutError:
        logger.warning("PIN checks for %s timed out after %.1f s", ctx.code, PIN_CHECK_BUDGET)
        await ack(
            response_action="errors",
            errors={
                BLOCK_PIN: "Seam is slow right now, so this PIN could not be checked against "
                "the lock. Nothing was changed; try again in a moment."
            },
        )
        return
    except SeamApiError as exc:
        await ack(
            response_action="errors",
            errors={BLOCK_PIN: seam_failure_message(exc, ctx.code).text[:150]},
        )
        return
    problem = check_pin(pin, device, others, current=code)
    if problem:
        await ack(response_action="errors", errors={BLOCK_PIN: problem})
        return
    key = f"update_pin:{ctx.code}:{view.get('id') or ''}"
    busy = f"update_pin_running:{ctx.code}"
    if not await _claim_or_explain(ack, services, ctx, key, user_id, "Update PIN"):
        return
    if not await services.store.claim_remedy(busy, user_id=user_id, stale_after=120):
        await services.store.release_remedy(key)
        await ack(
            response_action="update",
            view=message_modal(
                ctx,
                "Update PIN",
                ":information_source: Someone is changing this code's PIN "
                "right now. Nothing was sent; re-check the code, then try again if needed.",
            ),
        )
        return
    await ack()
    try:
        with services.track():
            logger.info("user %s updating PIN of %s (new PIN %s)", user_id, ctx.code, mask_pin(pin))
            outcome = await remedies.update_pin(services.seam, code, pin)
            await _finish(
                services,
                client,
                ctx,
                key,
                user_id,
                RemedyAction.UPDATE_PIN,
                ctx.code,
                code.device_id,
                outcome,
            )
    except BaseException:
        await services.store.release_remedy(key)
        raise
    finally:
        await services.store.release_remedy(busy)


async def _refuse(ack: AsyncAck, ctx: RemedyContext, title: str) -> None:
    await ack(
        response_action="update",
        view=message_modal(
            ctx,
            title,
            ":no_entry: Only people listed in `REMEDY_ALLOWED_USERS` can run remedies. Nothing "
            "was changed.",
        ),
    )


async def on_free_slot_pick(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """After a code is picked, show what will be deleted and ask to confirm."""
    ctx = RemedyContext.loads(view.get("private_metadata"))
    if ctx is None:
        await _bad_metadata(ack)
        return
    picked = _value(view, BLOCK_PICK, ACTION_PICK)
    if not picked:
        await ack(response_action="errors", errors={BLOCK_PICK: "Pick a code to delete."})
        return
    services = services_from(context)
    try:
        code, device = await asyncio.wait_for(
            fetch_code_and_device(services.seam, picked), PIN_CHECK_BUDGET
        )
        subject = code_summary(code, device)
    except (TimeoutError, SeamApiError):
        subject = f"Code `{escape_mrkdwn(picked, 80)}`"
    confirm_ctx = RemedyContext(
        action=RemedyAction.FREE_SLOT.value,
        code=ctx.code,
        target=picked,
        channel=ctx.channel,
        ts=ctx.ts,
        ephemeral=ctx.ephemeral,
        response_url=ctx.response_url,
    )
    await ack(
        response_action="update",
        view=confirm_modal(
            confirm_ctx,
            "Free a slot",
            "Delete this code from the lock? It stops working at once.",
            subject,
            "Delete",
        ),
    )


async def on_confirm(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """A confirmed remedy: convert/delete the duplicate, delete and recreate, backup, free slot."""
    ctx = RemedyContext.loads(view.get("private_metadata"))
    if ctx is None or not ctx.target:
        await _bad_metadata(ack)
        return
    try:
        action = RemedyAction(ctx.action)
    except ValueError:
        await _bad_metadata(ack)
        return
    if action not in LABELS or action == RemedyAction.UPDATE_PIN:
        await _bad_metadata(ack)
        return
    services = services_from(context)
    user_id = _user(body)
    key = f"{action.value}:{ctx.target}"
    if not await _claim_or_explain(ack, services, ctx, key, user_id, LABELS[action][:24]):
        return
    await ack()
    try:
        with services.track():
            await _run_confirmed(services, client, ctx, key, user_id, action)
    except BaseException:
        await services.store.release_remedy(key)
        raise


async def _run_confirmed(
    services: Services,
    client: AsyncWebClient,
    ctx: RemedyContext,
    key: str,
    user_id: str,
    action: RemedyAction,
) -> None:
    seam = services.seam
    what = LABELS[action].lower()
    try:
        target, _ = await fetch_code_and_device(seam, ctx.target)
        if ctx.target != ctx.code:
            origin = await seam.find_access_code(ctx.code)
            if origin.device_id != target.device_id:
                logger.warning(
                    "refused %s: %s is on another lock than %s", action, ctx.target, ctx.code
                )
                raise SeamNotFoundError("not on this lock", error_type="access_code_not_found")
        others = await seam.list_device_codes(target.device_id)
    except SeamApiError as exc:
        outcome = remedies.refusal(exc, what, sent=False)
        await _finish(services, client, ctx, key, user_id, action, ctx.target, None, outcome)
        return
    mismatch = _does_not_fit(action, target)
    if mismatch:
        logger.warning("refused %s on %s: %s", action, target.access_code_id, mismatch)
        outcome = Outcome("error", f"Not done: {mismatch}", changed=False)
        await _finish(
            services,
            client,
            ctx,
            key,
            user_id,
            action,
            target.access_code_id,
            target.device_id,
            outcome,
        )
        return
    backup = None
    if action == RemedyAction.CONVERT_UNMANAGED:
        outcome = await remedies.convert_unmanaged(seam, target)
    elif action == RemedyAction.DELETE_UNMANAGED:
        outcome = await remedies.delete_unmanaged(seam, target)
    elif action == RemedyAction.DELETE_AND_RECREATE:
        outcome = await remedies.delete_and_recreate(seam, target, others)
    elif action == RemedyAction.PULL_BACKUP:
        outcome, backup = await remedies.pull_backup(seam, target)
    else:
        outcome = await remedies.delete_code(seam, target)
    if backup is not None:
        await _tell_requester(
            services, client, ctx, user_id, _backup_note(backup.code, backup.name)
        )
    await _finish(
        services,
        client,
        ctx,
        key,
        user_id,
        action,
        target.access_code_id,
        target.device_id,
        outcome,
    )


def _does_not_fit(action: RemedyAction, target: AccessCode) -> str | None:
    """Why `action` cannot apply to `target` (checked again at submission: a form may be old
    or forged), or None."""
    unmanaged_only = (RemedyAction.CONVERT_UNMANAGED, RemedyAction.DELETE_UNMANAGED)
    if action in unmanaged_only and target.is_managed:
        return "that code is managed by Seam, not an unmanaged duplicate."
    if action == RemedyAction.DELETE_AND_RECREATE and not target.is_managed:
        return "unmanaged codes cannot be recreated through Seam."
    if action == RemedyAction.PULL_BACKUP and not can_pull_backup(target):
        return "backup codes work only for time-bound codes with a backup available."
    return None


async def _tell_requester(
    services: Services, client: AsyncWebClient, ctx: RemedyContext, user_id: str, message: Message
) -> None:
    """Show `message` only to the requester: through response_url, else chat.postEphemeral."""
    if await send_to_url(services, ctx.response_url, message, replace_original=False):
        return
    if ctx.channel and user_id:
        try:
            await client.chat_postEphemeral(
                channel=ctx.channel, user=user_id, **message.as_kwargs()
            )
            return
        except Exception:
            logger.exception("chat.postEphemeral fallback failed")
    logger.error("could not show the requester %s the result of %s", user_id, ctx.action)


def _backup_note(pin: str | None, name: str | None) -> Message:
    return notice_message(
        "Backup code pulled",
        f"Give the guest this PIN: `{escape_mrkdwn(pin or 'not assigned yet', 20)}` "
        f"({escape_mrkdwn(name or 'backup code', 100)}). Only you can see this message.",
        emoji=":key:",
    )


def register(app: AsyncApp) -> None:
    """Bind the modal submissions."""
    app.view(CALLBACK_UPDATE_PIN)(on_update_pin)
    app.view(CALLBACK_FREE_SLOT)(on_free_slot_pick)
    app.view(CALLBACK_CONFIRM)(on_confirm)
