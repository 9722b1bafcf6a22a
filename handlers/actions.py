"""Buttons on `/seam-code` answers and alerts (`remedy:<action>` action_ids).

Every press is acked at once; Seam work happens after the ack and the outcome replaces the
message through `response_url` (api.slack.com/interactivity/handling#message_responses).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.catalogue import RemedyAction
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot import ids
from bot.blocks import access_code_message
from bot.formatting import parse_command_text
from bot.lookup import fetch_code_and_device
from bot.seam.errors import SeamApiError
from bot.services import services_from
from handlers.commands import send
from handlers.replies import internal_error_message, seam_failure_message

logger = logging.getLogger(__name__)


def _action_value(body: dict[str, Any]) -> str:
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        return str(actions[0].get("value") or "")
    return ""


async def recheck(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Re-read the code from Seam and replace the message with its current state."""
    await ack()
    parsed = parse_command_text(_action_value(body))
    if parsed.kind != "id":
        logger.warning("recheck pressed with an unusable value")
        await send(respond, internal_error_message(), replace_original=False)
        return
    services = services_from(context)
    try:
        code, device = await fetch_code_and_device(services.seam, parsed.value)
        reply = access_code_message(code, device, catalogue=services.catalogue)
        await send(respond, reply, replace_original=True)
    except SeamApiError as exc:
        logger.warning("recheck %s: %s", parsed.value, exc)
        await send(respond, seam_failure_message(exc, parsed.value), replace_original=False)
    except Exception:
        logger.exception("recheck %s failed", parsed.value)
        await send(respond, internal_error_message(), replace_original=False)


def register(app: AsyncApp) -> None:
    """Bind the remedy buttons that exist today."""
    app.action(ids.remedy_action_id(RemedyAction.RECHECK.value))(recheck)
