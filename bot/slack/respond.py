"""Answering people: through `response_url`, ephemerally, and reporting what a remedy did."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.domain.text import escape_mrkdwn
from bot.remedies.base import Outcome
from bot.seam.errors import SeamApiError
from bot.services.alerting import Annotation
from bot.services.container import Services
from bot.services.lookup import fetch_code_and_device
from bot.services.remedy_runner import Recovered
from bot.slack.blocks.code import access_code_message
from bot.slack.blocks.common import Message, notice_message, with_show_pin
from bot.slack.payloads import RemedyContext

logger = logging.getLogger(__name__)


#: Hosts a `response_url` may point at: Slack's own, plus the host of `SLACK_API_URL` (a local
#: Slack stand-in in tests and the demo). A URL elsewhere is never posted to, so even a request
#: signed with a leaked secret cannot make the bot send PINs to an arbitrary server.
SLACK_RESPONSE_HOSTS = ("hooks.slack.com",)


def response_url_allowed(url: str, slack_api_url: str) -> bool:
    """Whether `url` is a Slack `response_url` (https on hooks.slack.com, or the API's host)."""
    target = urlparse(url)
    api = urlparse(slack_api_url)
    if target.scheme == "https" and target.hostname in SLACK_RESPONSE_HOSTS:
        return True
    return bool(target.hostname) and (target.scheme, target.netloc) == (api.scheme, api.netloc)


async def send(respond: AsyncRespond, message: Message, **extra: Any) -> bool:
    """Post through `response_url` (ephemeral unless told); log, never raise, on failure.

    The URL was checked by the app's middleware (`response_url_allowed`). Returns True when
    Slack accepted the post.
    """
    extra.setdefault("response_type", "ephemeral")
    try:
        response = await respond(**message.as_kwargs(), **extra)
    except Exception:
        logger.exception("could not post to response_url")
        return False
    if response.status_code != 200:
        logger.error("response_url answered %s: %.200s", response.status_code, response.body)
        return False
    return True


async def send_to_url(services: Services, url: str, message: Message, **extra: Any) -> bool:
    """Post to a stored `response_url` (from private_metadata); log, never raise.

    Returns True when Slack accepted it.
    """
    if not url or not response_url_allowed(url, str(services.settings.slack_api_url)):
        logger.warning("no usable response_url to report to")
        return False
    extra.setdefault("response_type", "ephemeral")
    try:
        response = await AsyncWebhookClient(url).send(**message.as_kwargs(), **extra)
    except Exception:
        logger.exception("could not post to the stored response_url")
        return False
    if response.status_code != 200:
        logger.error("response_url answered %s: %.200s", response.status_code, response.body)
        return False
    return True


def refusal_message() -> Message:
    """The polite answer to a user not in `REMEDY_ALLOWED_USERS`."""
    return notice_message(
        "You can't run remedies",
        "Only people your admin listed in `REMEDY_ALLOWED_USERS` can change codes or reveal "
        "PINs. Nothing was changed.",
        emoji=":no_entry:",
    )


def permission_unavailable_message(reason: str) -> Message:
    """The answer when a user group in `REMEDY_ALLOWED_USERS` could not be read (fail closed)."""
    return notice_message(
        "Could not check your permission",
        permission_unavailable_text(reason),
        emoji=":no_entry:",
    )


def permission_unavailable_text(reason: str) -> str:
    """The words of `permission_unavailable_message` (also said inside a modal)."""
    return (
        "Slack did not say who is in the user group(s) allowed to run remedies "
        f"(`{escape_mrkdwn(reason, 200)}`), so nothing was changed. Try again in a minute; if "
        "this keeps happening, ask your admin to check the app's `usergroups:read` scope and "
        "the group ids in `REMEDY_ALLOWED_USERS`."
    )


#: How an alert names a remedy's outcome, in a few words.
OUTCOME_WORDS = {
    "success": "done",
    "pending": "still working on it",
    "unknown": "not confirmed yet: re-check",
    "error": "failed",
}


async def report_outcome(
    services: Services,
    client: AsyncWebClient,
    ctx: RemedyContext,
    user_id: str,
    label: str,
    outcome: Outcome,
    device_id: str | None = None,
    *,
    remedy_key: str = "",
    on_told: Callable[[], Awaitable[None]] | None = None,
) -> tuple[str, str] | None:
    """Tell people what a remedy did, where they clicked and where the team looks.

    Returns the alert thread `(channel, ts)` the team was told in, or None. `on_told` runs as
    soon as the clicker and the thread have been told, before the alert is refreshed (the
    journal entry is closed there, so a stop during the refresh never repeats the message).

    Success, pending or unknown: the message the button was on is replaced with the code's
    fresh state and an outcome line (an ephemeral `/seam-code` answer), and the code's alert in
    the channel (the one clicked, or the code's own when the fix started from `/seam-code`)
    gets a thread reply saying who did what and is refreshed in place with an activity line
    that replaces the used button. Error: only the person who clicked is told, ephemerally.
    """
    emoji = {
        "success": ":white_check_mark:",
        "pending": ":hourglass:",
        "unknown": ":grey_question:",
    }.get(outcome.status, ":x:")
    who = f"<@{escape_mrkdwn(user_id, 40)}>"
    line = f"{emoji} {who} ran *{label}*: {escape_mrkdwn(outcome.summary, 600)}"
    if outcome.status == "error":
        await send_to_url(
            services,
            ctx.response_url,
            notice_message(f"{label} failed", escape_mrkdwn(outcome.summary, 600), emoji=":x:"),
            replace_original=False,
        )
        if on_told is not None:
            await on_told()
        return None
    if ctx.ephemeral:
        try:
            code, device = await fetch_code_and_device(services.seam, ctx.code)
            fresh = access_code_message(code, device, catalogue=services.catalogue)
            message = Message(text=fresh.text, blocks=[_note(line), *fresh.blocks][:50])
        except SeamApiError as exc:
            logger.info("after %s, code %s could not be re-read: %s", label, ctx.code, exc)
            message = notice_message(f"{label}: {outcome.status}", line, emoji=emoji)
        await send_to_url(services, ctx.response_url, message, replace_original=True)
    alert = None
    if services.alerts is not None:
        try:
            alert = await services.alerts.alert_for(
                ctx.code, device_id, None if ctx.ephemeral else ctx.ts
            )
        except Exception:
            logger.exception("could not find the alert of %s", ctx.code)
    thread = (alert.channel, alert.ts) if alert and alert.channel and alert.ts else None
    if thread is None and not ctx.ephemeral and ctx.channel and ctx.ts:
        thread = (ctx.channel, ctx.ts)
    if thread is not None:
        try:
            await client.chat_postMessage(
                channel=thread[0], thread_ts=thread[1], text=line, unfurl_links=False
            )
        except Exception:
            logger.exception("could not post the remedy thread reply")
            if not ctx.ephemeral:  # at least the person who clicked learns what happened
                await send_to_url(
                    services,
                    ctx.response_url,
                    notice_message(f"{label}: {outcome.status}", line, emoji=emoji),
                    replace_original=False,
                )
    if on_told is not None:
        await on_told()
    refresh_id = device_id or (alert.device_id if alert else None)
    if refresh_id:
        detail = outcome.detail or {}
        annotation = (
            Annotation(
                alert_key=alert.alert_key,
                verb=label,
                by=user_id,
                outcome=OUTCOME_WORDS.get(outcome.status, outcome.status),
                hidden_actions=(remedy_key,) if remedy_key else (),
                replaced_by=str(detail["new_access_code_id"])
                if detail.get("new_access_code_id")
                else None,
            )
            if alert is not None
            else None
        )
        try:
            await services.refresh_devices([refresh_id], annotation=annotation)
        except Exception:
            logger.exception("refreshing the alert after %s failed", label)
    return thread


async def show_working(
    client: AsyncWebClient, body: dict[str, Any], channel: str, ts: str, text: str
) -> dict[str, Any] | None:
    """Edit the clicked channel message to say what is under way, its buttons disabled.

    Uses the message Slack sent with the click (no extra read). Returns that original message
    (`text`, `blocks`) to restore if the work cannot redraw it, or None when it could not be
    edited.
    """
    message = body.get("message") if isinstance(body.get("message"), dict) else None
    blocks = message.get("blocks") if message else None
    if not message or not isinstance(blocks, list) or not channel or not ts:
        return None
    working = [b for b in blocks if isinstance(b, dict) and b.get("type") != "actions"]
    working.append(_context_block(text))
    try:
        await client.chat_update(
            channel=channel, ts=ts, text=str(message.get("text") or text), blocks=working[:50]
        )
    except Exception:
        logger.exception("could not show the work under way on the alert")
        return None
    return {"text": str(message.get("text") or ""), "blocks": blocks}


async def restore(
    client: AsyncWebClient, channel: str, ts: str, original: dict[str, Any], note: str
) -> None:
    """Put back the message `show_working` replaced, with one line saying what happened."""
    blocks = [*original["blocks"], _context_block(note)][:50]
    try:
        await client.chat_update(channel=channel, ts=ts, text=original["text"], blocks=blocks)
    except Exception:
        logger.exception("could not restore the alert message")


def _context_block(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _note(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


async def tell_requester(
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


async def report_recovered(
    services: Services, client: AsyncWebClient, recovered: list[Recovered]
) -> None:
    """Tell the clicker and the alert thread what became of remedies a restart interrupted
    ("re-created after a restart", "the PIN change went through", "did not happen"), then
    close their journal entries. Never raises."""
    for item in recovered:
        where = item.context
        ctx = RemedyContext(
            action=item.remedy,
            code=str(where.get("code") or item.target_id),
            target=item.target_id,
            channel=str(where.get("channel") or ""),
            ts=str(where.get("ts") or ""),
            ephemeral=bool(where.get("ephemeral", True)),
            response_url=str(where.get("response_url") or ""),
        )

        async def told(item: Recovered = item) -> None:
            await services.remedies.journal_done(item)

        try:
            if item.outcome.private_note:  # e.g. the PIN of a backup code pulled before a stop
                note = notice_message(
                    item.outcome.private_title or item.label,
                    item.outcome.private_note,
                    emoji=":key:",
                )
                backup_id = (item.outcome.detail or {}).get("backup_access_code_id")
                if backup_id:
                    note = with_show_pin(note, str(backup_id), "Show backup PIN")
                await tell_requester(services, client, ctx, item.user_id, note)
            await report_outcome(
                services,
                client,
                ctx,
                item.user_id,
                f"{item.label} ({'after a restart' if item.restarted else 'now recorded'})",
                item.outcome,
                item.device_id,
                remedy_key=item.remedy,
                on_told=told,
            )
        except Exception:
            logger.exception("reporting the recovered %s failed", item.remedy)
        try:
            await services.remedies.journal_done(item)
        except Exception:
            logger.exception("closing the journal entry of %s failed", item.remedy)
