"""`POST /seam/webhook`: Seam events, verified as Svix signs them, answered at once.

Verification (Seam's page "Webhooks"; Svix's "Verifying payloads"): headers `svix-id`,
`svix-timestamp`, `svix-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{raw body}">`
with the base64-decoded `whsec_` secret; several space-separated signatures may be present;
timestamps more than 5 minutes off are refused) — done by the `svix` library. A bad or missing
signature: 401 and nothing else. A verified event is recorded (dedupe by `event_id`) and
answered 200 within milliseconds; the work (re-reading Seam, refreshing alerts) runs after.

`svix` is imported when the handler is built (only with `SEAM_WEBHOOK_SECRET` set): it is a
quarter of a second of the server's start-up otherwise spent for nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.services.events import EventService, SeamEvent

logger = logging.getLogger(__name__)

#: Where Seam posts events.
SEAM_WEBHOOK_PATH = "/seam/webhook"
#: The largest body accepted (Seam events are a few kB).
MAX_BODY_BYTES = 256 * 1024
_SIGNED_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


def seam_webhook_handler(
    secret: str, events: EventService
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /seam/webhook`, verifying with `secret` (`whsec_...`)."""
    from svix.webhooks import Webhook, WebhookVerificationError

    verifier = Webhook(secret)

    async def handle(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            logger.warning("refused a Seam webhook of %s bytes (413)", request.content_length)
            return web.json_response({"ok": False, "error": "too large"}, status=413)
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            logger.warning("refused a Seam webhook over %d bytes (413)", MAX_BODY_BYTES)
            return web.json_response({"ok": False, "error": "too large"}, status=413)
        headers = {name: request.headers.get(name, "") for name in _SIGNED_HEADERS}
        try:
            verifier.verify(raw, headers)
        except (WebhookVerificationError, ValueError, TypeError):
            logger.warning("refused a Seam webhook with a bad, stale or missing signature (401)")
            return web.json_response({"ok": False, "error": "bad signature"}, status=401)
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        event = SeamEvent.parse(payload)
        if event is None:
            logger.warning("a signed Seam webhook had no readable event_id/event_type (400)")
            return web.json_response({"ok": False, "error": "unreadable event"}, status=400)
        try:
            new = await events.accept(event)
        except Exception:
            logger.exception("could not record Seam event %s; asking Seam to retry", event.event_id)
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        if new:
            events.handle_later(event)
        else:
            logger.info("Seam event %s delivered again: nothing done twice", event.event_id)
        return web.json_response({"ok": True, "duplicate": not new})

    return handle
