"""An aiohttp middleware that keeps malformed Slack requests from becoming HTTP 500s.

slack-bolt parses the body and builds listener arguments before any handler runs; a signed but
malformed body (non-JSON `payload`, `actions` that is not a list, ...) raises inside Bolt. This
guard answers such requests with 400 (or 401 when the signature does not verify either) and one
log line without the body, so no request ever gets a 500 or a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def slack_request_guard(
    path: str, signing_secret: str
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Middleware for `path`: exceptions and Bolt's own 500s become 400 (signed) or 401 JSON."""
    verifier = SignatureVerifier(signing_secret)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != path:
            return await handler(request)
        try:
            response = await handler(request)
            if response.status >= 500:
                # Bolt answers 500 itself when its middleware chain raises on an odd body.
                logger.error("a Slack request failed inside Bolt; answering 400 instead of 500")
                return web.json_response({"error": "malformed request"}, status=400)
            return response
        except web.HTTPException:
            raise
        except Exception as exc:
            body = await request.read()
            try:
                signed = verifier.is_valid(
                    body,
                    request.headers.get("X-Slack-Request-Timestamp", "0"),
                    request.headers.get("X-Slack-Signature", ""),
                )
            except (UnicodeDecodeError, ValueError):  # not even text: not from Slack
                signed = False
            if not signed:
                logger.info("rejected an unsigned, unreadable request on %s (401)", path)
                return web.json_response({"error": "invalid request"}, status=401)
            logger.warning(
                "rejected a signed but malformed Slack request (%d bytes): %s",
                len(body),
                type(exc).__name__,
            )
            return web.json_response({"error": "malformed request"}, status=400)

    return guard
