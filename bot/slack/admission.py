"""`bounded_work`: a listener decorator that admits its background work or answers "busy".

A `/seam-code` or a read-only button is acked at once and reads Seam afterwards. The decorator
asks `Services.work` (`bot.services.admission.WorkGate`) before the listener runs: admitted, the
listener runs and its work counts against the user's and the overall bound until it ends;
refused, the request is still acked within Slack's 3 seconds (Slack's page "Slash commands",
responding) and the user is told "busy, try again in a moment": in the ack itself for a slash
command (no extra HTTP call), ephemerally through `response_url` for a button. Never dropped
silently, and a burst holds no queued work.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.slack.blocks.common import Message, notice_message
from bot.slack.middleware import services_from
from bot.slack.payloads import user_id_of
from bot.slack.respond import send

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Awaitable[None]])

__all__ = ["bounded_work", "busy_message"]


def busy_message() -> Message:
    """What a refused request is told (no state changed, nothing queued)."""
    return notice_message(
        "Busy, try again in a moment",
        "You have several lookups running already (or everyone together has); this one was "
        "not started.",
        emoji=":hourglass:",
    )


def bounded_work(listener: F) -> F:
    """Decorate a listener that acks and then reads Seam, so its work is bounded (see module).

    Bolt reads the listener's parameters through `functools.wraps`; the listener needs `ack`,
    `respond`, `context` and either `body` or `command`.
    """

    @functools.wraps(listener)
    async def wrapper(**kwargs: Any) -> None:
        payload = kwargs.get("body") or kwargs.get("command") or {}
        user_id = user_id_of(payload) if isinstance(payload, dict) else ""
        gate = services_from(kwargs["context"]).work
        with gate.entered(user_id) as admitted:
            if admitted:
                await listener(**kwargs)
                return
        ack: AsyncAck = kwargs["ack"]
        logger.info("busy: refused a request of %s (%d refused so far)", user_id, gate.refused)
        if isinstance(payload, dict) and "command" in payload:
            await ack(response_type="ephemeral", **busy_message().as_kwargs())
            return
        await ack()
        respond: AsyncRespond = kwargs["respond"]
        await send(respond, busy_message(), replace_original=False)

    return wrapper  # type: ignore[return-value]
