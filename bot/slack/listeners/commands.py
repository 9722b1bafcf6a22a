"""The `/seam-code <access_code_id>` slash command (and `open`, `arrivals [hours]`, `help`).

Acks at once (Slack's 3-second rule; Slack's page "Slash commands", responding), then reads
Seam and answers ephemerally through `response_url`. A user with `REQUESTS_PER_USER` lookups
still running (or everyone with `REQUESTS_IN_FLIGHT`) is told "busy" in the ack instead
(`bot.slack.admission`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.services.lookup import fetch_code_and_device
from bot.slack import ids
from bot.slack.admission import bounded_work
from bot.slack.blocks.code import access_code_message
from bot.slack.blocks.common import notice_message, usage_message
from bot.slack.listeners.dashboard import board_answer
from bot.slack.middleware import replies_on_errors, services_from
from bot.slack.payloads import parse_command_text
from bot.slack.respond import send

logger = logging.getLogger(__name__)


@bounded_work
@replies_on_errors(replace_original=None)
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
    if parsed.kind in ("open", "arrivals"):
        await send(respond, await board_answer(services, parsed.kind, parsed.value))
        return
    code, device = await fetch_code_and_device(services.seam, parsed.value)
    await send(respond, access_code_message(code, device, catalogue=services.catalogue))


def register(app: AsyncApp) -> None:
    """Bind `/seam-code` (`bot.slack.ids.COMMAND`)."""
    app.command(ids.COMMAND)(seam_code)
