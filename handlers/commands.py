"""The `/seam-code <access_code_id>` slash command.

Acks at once (Slack's 3-second rule; api.slack.com/interactivity/slash-commands#responding),
then reads Seam and answers ephemerally through `response_url`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot import ids
from bot.blocks import access_code_message, notice_message, usage_message
from bot.formatting import parse_command_text
from bot.lookup import fetch_code_and_device
from bot.seam.errors import SeamApiError
from bot.services import services_from
from handlers.common import send
from handlers.replies import internal_error_message, seam_failure_message

logger = logging.getLogger(__name__)


async def seam_code(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Handle `/seam-code`: usage, a friendly rejection, or the code's diagnosis."""
    parsed = parse_command_text(command.get("text"))
    if parsed.kind == "help":
        await ack(response_type="ephemeral", **usage_message().as_kwargs())
        return
    if parsed.kind == "invalid":
        logger.info("rejected /seam-code input from %s: %s", command.get("user_id"), parsed.value)
        message = notice_message("That didn't work", f"{parsed.value} Try `{ids.COMMAND} help`.")
        await ack(response_type="ephemeral", **message.as_kwargs())
        return
    await ack()
    services = services_from(context)
    try:
        code, device = await fetch_code_and_device(services.seam, parsed.value)
        reply = access_code_message(code, device, catalogue=services.catalogue)
    except SeamApiError as exc:
        logger.warning("/seam-code %s: %s", parsed.value, exc)
        reply = seam_failure_message(exc, parsed.value)
    except Exception:
        logger.exception("/seam-code %s failed", parsed.value)
        reply = internal_error_message()
    await send(respond, reply)


def register(app: AsyncApp) -> None:
    """Bind `/seam-code` (`bot.ids.COMMAND`)."""
    app.command(ids.COMMAND)(seam_code)
