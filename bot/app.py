"""App wiring: the Bolt `AsyncApp`, its Slack Web API client, and the aiohttp web application.

Serving model (slack-bolt 1.30, `../shared/reference/slack-platform.md` §1): Bolt's aiohttp
application answers `POST /slack/events` (slash commands, interactivity and events), verifying
every request's signature (401 otherwise, handlers never run); `GET /healthz` answers 200 JSON.
The Seam client is opened when the web app starts and closed when it stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

import bot
import handlers
from bot.catalogue import default_catalogue
from bot.http_guard import slack_request_guard
from bot.scanner import build_alert_manager, build_scanner
from bot.seam.client import SeamClient
from bot.services import CONTEXT_KEY, Services
from bot.settings import Settings
from bot.store import Store
from handlers.common import response_url_allowed

logger = logging.getLogger(__name__)

#: Where Slack posts slash commands, interactivity and events.
SLACK_EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"

_OAUTH_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


class _RedactSignatureFailures(logging.Filter):
    """Bolt logs the raw body of a request whose signature fails; keep only the fact."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Invalid request signature detected"):
            record.msg = "Rejected a Slack request with an invalid or stale signature (401)"
            record.args = ()
        return True


@contextlib.contextmanager
def _without_oauth_env() -> Iterator[None]:
    """Hide SLACK_CLIENT_ID/SECRET while Bolt is built: they silently switch it to OAuth mode."""
    saved = {name: os.environ.pop(name) for name in _OAUTH_ENV if name in os.environ}
    if len(saved) == len(_OAUTH_ENV):
        logger.warning(
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set but ignored: this bot runs in "
            "single-workspace token mode with SLACK_BOT_TOKEN"
        )
    try:
        yield
    finally:
        os.environ.update(saved)


def build_slack_client(settings: Settings) -> AsyncWebClient:
    """The Slack Web API client: `SLACK_API_URL` base, retries on connection errors and 429.

    The rate-limit handler sleeps for Slack's `Retry-After` before retrying
    (docs.slack.dev/apis/web-api/rate-limits).
    """
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_app(settings: Settings, services: Services) -> AsyncApp:
    """Build the Bolt app in explicit single-workspace token mode and register every handler."""
    for name in ("slack_bolt.RequestVerification", "slack_bolt.AsyncRequestVerification"):
        bolt_logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactSignatureFailures) for f in bolt_logger.filters):
            bolt_logger.addFilter(_RedactSignatureFailures())
    with _without_oauth_env():
        app = AsyncApp(
            client=build_slack_client(settings),
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            oauth_settings=None,
            installation_store=None,
            process_before_response=False,
        )

    @app.middleware
    async def inject_services(
        context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[Any]]
    ) -> Any:
        url = body.get("response_url") if isinstance(body, dict) else None
        if url and not response_url_allowed(str(url), str(settings.slack_api_url)):
            logger.warning("rejected a request whose response_url is not Slack's (400)")
            return BoltResponse(status=400, body={"error": "bad response_url"})
        context[CONTEXT_KEY] = services
        return await next()

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        logger.error(
            "unhandled error in a Slack handler (%s request)",
            body.get("type") or body.get("command") or "unknown",
            exc_info=error,
        )

    handlers.register(app)
    return app


async def build_web_app(
    settings: Settings,
    *,
    seam: SeamClient | None = None,
    store: Store | None = None,
) -> web.Application:
    """The aiohttp application to serve: Bolt on `/slack/events`, health on `/healthz`.

    Opens the store (`DATABASE_PATH`) and the Seam client; both are closed when the app stops.
    `aiohttp.web.run_app` accepts this coroutine directly.

    Args:
        settings: loaded settings.
        seam: an existing Seam client (tests); by default one is created from settings.
        store: an existing store (tests); by default `DATABASE_PATH` is opened.
    """
    seam_client = seam or SeamClient(
        settings.seam_api_key.get_secret_value(),
        str(settings.seam_endpoint),
        timeout=settings.seam_timeout_seconds,
    )
    the_store = store or await Store.open(settings.database_path)
    services = Services(
        settings=settings, seam=seam_client, catalogue=default_catalogue(), store=the_store
    )
    bolt = build_app(settings, services)
    webapp = bolt.web_app(path=SLACK_EVENTS_PATH, port=settings.port)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "service": "seam-code-doctor", "version": bot.__version__}
        )

    webapp.router.add_get(HEALTH_PATH, healthz)
    webapp.middlewares.append(
        slack_request_guard(SLACK_EVENTS_PATH, settings.slack_signing_secret.get_secret_value())
    )

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        logger.info(
            "serving Slack requests on %s (Seam at %s)", SLACK_EVENTS_PATH, settings.seam_endpoint
        )
        # The proactive-alert scanner (off when SCAN_INTERVAL_SECONDS=0 or ALERT_CHANNEL unset).
        scanner = build_scanner(services, bolt.client)
        if scanner is not None:
            services.alerts = scanner.alerts
            scanner.start()
        elif settings.alert_channel:
            services.alerts = build_alert_manager(services, bolt.client)
        yield
        if scanner is not None:
            await scanner.stop()
        await services.drain()
        if seam is None:
            await seam_client.aclose()
        if store is None:
            await the_store.close()

    webapp.cleanup_ctx.append(lifecycle)
    webapp[SERVICES_KEY] = services
    webapp[BOLT_KEY] = bolt
    return webapp


#: Where the web application keeps its `Services` and Bolt app (for the scanner and tests).
SERVICES_KEY = web.AppKey("services", Services)
BOLT_KEY = web.AppKey("bolt", AsyncApp)
