"""Socket Mode: Slack's requests over an outbound WebSocket instead of `POST /slack/events`.

With `SLACK_APP_TOKEN` (an app-level `xapp-…` token with `connections:write`) the app opens a
WebSocket to Slack and receives slash commands, interactivity and events as *envelopes* over it
(Slack's page "Using Socket Mode"): the SDK calls `apps.connections.open` with the app token
(through the bot's Web API client, so `SLACK_API_URL` applies), connects to the `wss://` URL it
answers, and reconnects when Slack asks (`disconnect`) or the socket goes quiet. Each envelope
is dispatched to the same Bolt app and listeners as HTTP requests, and acknowledged by sending
back `{"envelope_id": …}` (with the ack's payload, e.g. a modal's `response_action`) within
Slack's 3 seconds. No request signature exists in this mode: the socket itself is authenticated
by the app token.

Uses slack-bolt's aiohttp `AsyncSocketModeHandler` (slack-bolt 1.30, slack-sdk 3.47; no extra
dependency). Two changes to its defaults, both for envelopes Bolt cannot handle:

* an envelope Bolt answers with anything but 200 (an unhandled or malformed payload) is still
  acknowledged, with one warning line, so Slack does not deliver it again;
* a message that is not an envelope (no `envelope_id`, not JSON) is logged in one line and
  dropped (the SDK itself never lets it stop the connection).

Neither the app token nor payloads are logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from time import time
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

logger = logging.getLogger(__name__)

__all__ = ["SocketModeConnection"]

#: Socket messages that are not envelopes but are expected (Slack's page "Using Socket Mode").
_CONTROL_TYPES = frozenset({"hello", "disconnect"})


class _Handler(AsyncSocketModeHandler):
    """Bolt's handler, acknowledging envelopes Bolt refuses (logged) instead of leaving them
    to be redelivered."""

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        started = time()
        try:
            response = await run_async_bolt_app(self.app, req)
        except Exception:
            logger.exception("Socket Mode envelope %s (%s) failed", req.envelope_id, req.type)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        if response.status != 200:
            logger.warning(
                "Socket Mode envelope %s (%s) not handled: %s; acknowledged so Slack does not "
                "send it again",
                req.envelope_id,
                req.type,
                response.status,
            )
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        await send_async_response(client, req, response, started)


async def _log_odd_messages(
    client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
) -> None:
    """One line for a socket message that is neither an envelope nor a control message; an
    envelope whose payload is not an object (the SDK cannot read it) is acked here."""
    if message.get("type") in _CONTROL_TYPES:
        return
    if not message:
        logger.warning("Socket Mode: dropped a message that is not JSON (%d chars)", len(raw or ""))
        return
    if not all(key in message for key in ("type", "envelope_id", "payload")):
        logger.warning(
            "Socket Mode: dropped a message that is not an envelope (type %s, keys %s)",
            json.dumps(message.get("type"))[:40],
            ", ".join(sorted(str(k) for k in message)[:10]),
        )
        return
    envelope_id = message["envelope_id"]
    if not isinstance(message["payload"], dict | str) and isinstance(envelope_id, str):
        logger.warning(
            "Socket Mode envelope %s: the payload is not an object; acknowledged and dropped",
            envelope_id[:80],
        )
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id))


class SocketModeConnection:
    """The app's Socket Mode connection, started and stopped with the web application.

    `start()` returns at once: connecting (and re-connecting, every 10 s while Slack refuses,
    e.g. a revoked token) runs as a task, so `/healthz` and Seam webhooks serve meanwhile.

    Args:
        app: the Bolt app (its client calls `apps.connections.open`).
        app_token: `SLACK_APP_TOKEN`.
        ping_interval: seconds between WebSocket pings (the SDK reconnects after 4 missed).
    """

    def __init__(self, app: AsyncApp, app_token: str, *, ping_interval: float = 10.0) -> None:
        self.app = app
        self._token = app_token
        self.ping_interval = ping_interval
        self._handler: _Handler | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin connecting (needs the running event loop)."""
        handler = _Handler(self.app, app_token=self._token, ping_interval=self.ping_interval)
        handler.client.message_listeners.append(_log_odd_messages)
        self._handler = handler
        self._connecting = asyncio.create_task(
            handler.connect_async(),  # type: ignore[no-untyped-call]
            name="socket-mode",
        )
        logger.info("Slack over Socket Mode: connecting (apps.connections.open)")

    @property
    def connected(self) -> bool:
        """Whether a WebSocket to Slack is open now."""
        client = self._handler.client if self._handler is not None else None
        session = getattr(client, "current_session", None)
        return session is not None and not session.closed

    async def stop(self) -> None:
        """Close the WebSocket and the SDK's tasks. Never raises."""
        handler, self._handler = self._handler, None
        task, self._connecting = self._connecting, None
        if handler is not None:
            handler.client.closed = True  # ends a connect loop still retrying
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if handler is not None:
            try:
                await handler.close_async()  # type: ignore[no-untyped-call]
            except Exception:
                logger.warning("closing the Socket Mode connection failed", exc_info=True)
