"""The composition root: settings -> Seam client, store, services -> Bolt app -> web app.

This is the only module that knows every layer. It builds each long-lived object once (one
httpx client for Seam, one store, one Slack client), wires them, and owns their lifecycle.

Serving model (slack-bolt 1.30, Bolt for Python's page "Adapters", aiohttp): Bolt's
aiohttp application answers `POST /slack/events` (slash commands, interactivity and events),
verifying every request's signature (401 otherwise, listeners never run); `GET /healthz`
answers 200 JSON. With `SLACK_APP_TOKEN` set, Slack's requests arrive over Socket Mode
(`bot.slack.socket_mode`) instead and `/slack/events` is not served; `/healthz` and
`/seam/webhook` still are. The Seam client and the store are opened when the web app starts
and closed when it stops; the scanner (when on) runs as a task of the web app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import bot
from bot.domain.catalogue import default_catalogue
from bot.domain.routing import AlertRoutes, load_routes
from bot.seam.client import SeamClient
from bot.services.alerting import AlertService
from bot.services.board import Board
from bot.services.container import Services
from bot.services.digest import PreArrivalDigest
from bot.services.events import EventService, WebhookHealth
from bot.services.scanning import Scanner
from bot.settings import Settings
from bot.slack import listeners
from bot.slack.alert_channel import slack_alert_service
from bot.slack.arrivals import slack_pre_arrival_digest
from bot.slack.client import build_slack_client
from bot.slack.http_guard import slack_request_guard
from bot.slack.listeners.dashboard import HomeRefresher
from bot.slack.middleware import global_middleware
from bot.slack.permissions import Permissions
from bot.slack.respond import report_recovered
from bot.slack.socket_mode import SocketModeConnection
from bot.store import Store, StoreError
from bot.web.seam_webhooks import SEAM_WEBHOOK_PATH, seam_webhook_handler

logger = logging.getLogger(__name__)

__all__ = [
    "BOLT_KEY",
    "HEALTH_PATH",
    "PERMISSIONS_KEY",
    "SERVICES_KEY",
    "SLACK_EVENTS_PATH",
    "build_alert_service",
    "build_app",
    "build_digest",
    "build_scanner",
    "build_seam_client",
    "build_slack_client",
    "build_web_app",
    "load_alert_routes",
]

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


def build_seam_client(settings: Settings) -> SeamClient:
    """The one Seam client (one long-lived httpx client) from `SEAM_API_KEY`/`SEAM_ENDPOINT`."""
    return SeamClient.from_settings(settings)


def load_alert_routes(settings: Settings) -> AlertRoutes | None:
    """The `ALERT_ROUTES` rules (`bot.domain.routing`), or None when it is not set.

    Called before serving or scanning, so a bad file stops start-up.

    Raises:
        RoutesError: the file is unreadable or a rule is malformed (one line naming the rule).
    """
    if settings.alert_routes is None or not settings.alert_channel:
        return None
    return load_routes(settings.alert_routes, settings.alert_channel)


def build_alert_service(
    services: Services, slack: AsyncWebClient, *, pace_seconds: float | None = None
) -> AlertService:
    """The AlertService for `ALERT_CHANNEL` (and the `ALERT_ROUTES` channels) with the
    settings' reminder and storm values.

    Raises:
        ValueError: `ALERT_CHANNEL` is not set.
        RoutesError: `ALERT_ROUTES` is unreadable or malformed.
    """
    settings = services.settings
    if not settings.alert_channel:
        raise ValueError("ALERT_CHANNEL is not set")
    return slack_alert_service(
        services.store,
        slack,
        settings.alert_channel,
        catalogue=services.catalogue,
        seam=services.seam,
        remind_after=settings.alert_remind_hours * 3600,
        storm_threshold=settings.alert_storm_threshold,
        pace_seconds=pace_seconds,
        routes=load_alert_routes(settings),
        at_risk_hours=settings.at_risk_hours,
        escalation_mention=settings.escalation_mentions(),
    )


def build_digest(
    services: Services, slack: AsyncWebClient, *, pace_seconds: float | None = None
) -> PreArrivalDigest | None:
    """The pre-arrival digest for `ALERT_CHANNEL` (DIGEST_TIME in TIMEZONE), or None when
    `ALERT_CHANNEL` is not set. Its daily schedule is started by whoever runs the scanner."""
    settings = services.settings
    if not settings.alert_channel:
        return None
    return slack_pre_arrival_digest(
        services.store,
        slack,
        settings.alert_channel,
        seam=services.seam,
        catalogue=services.catalogue,
        tz=settings.zone(),
        at=settings.digest_clock(),
        at_risk_hours=settings.at_risk_hours,
        pace_seconds=pace_seconds,
    )


def build_scanner(
    services: Services, slack: AsyncWebClient, *, pace_seconds: float | None = None
) -> Scanner | None:
    """The app's scanner from settings, or None when scanning is off.

    `SCAN_INTERVAL_SECONDS=0` turns it off silently; an unset `ALERT_CHANNEL` turns it off with
    one warning line. `slack` should come from `build_slack_client` (429 retries).
    """
    settings = services.settings
    if settings.scan_interval_seconds <= 0:
        return None
    if not settings.alert_channel:
        logger.warning(
            "ALERT_CHANNEL is not set: proactive alerts are off (set it to a channel ID such as "
            "C0123456789, or SCAN_INTERVAL_SECONDS=0 to silence this)"
        )
        return None
    health = (
        WebhookHealth(services.store, settings.scan_interval_seconds)
        if settings.seam_webhook_secret is not None
        else None
    )
    return Scanner(
        services.seam,
        catalogue=services.catalogue,
        alerts=build_alert_service(services, slack, pace_seconds=pace_seconds),
        interval=settings.scan_interval_seconds,
        webhook_health=health,
        at_risk_hours=settings.at_risk_hours,
    )


def build_app(
    settings: Settings, services: Services, permissions: Permissions | None = None
) -> AsyncApp:
    """Build the Bolt app in explicit single-workspace token mode and register every listener.

    `permissions`: the process's `REMEDY_ALLOWED_USERS` check with user groups (default: one
    over this app's client).
    """
    for name in ("slack_bolt.RequestVerification", "slack_bolt.AsyncRequestVerification"):
        bolt_logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactSignatureFailures) for f in bolt_logger.filters):
            bolt_logger.addFilter(_RedactSignatureFailures())
    client = build_slack_client(settings)
    with _without_oauth_env():
        app = AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            oauth_settings=None,
            installation_store=None,
            process_before_response=False,
        )
    app.middleware(global_middleware(services, permissions or Permissions(settings, client)))

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        logger.error(
            "unhandled error in a Slack listener (%s request)",
            body.get("type") or body.get("command") or "unknown",
            exc_info=error,
        )

    listeners.register(app)
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

    Raises:
        RoutesError: `ALERT_ROUTES` is unreadable or malformed (checked before anything opens).
    """
    routes = load_alert_routes(settings)
    seam_client = seam or build_seam_client(settings)
    the_store = store or await Store.open(settings.database_target())
    services = Services(
        settings=settings, seam=seam_client, catalogue=default_catalogue(), store=the_store
    )
    scanning = settings.scan_interval_seconds > 0 and bool(settings.alert_channel)
    services.board = Board(
        the_store,
        services.catalogue,
        seam=seam_client,
        at_risk_hours=settings.at_risk_hours,
        max_age=2 * settings.scan_interval_seconds + 60 if scanning else 300.0,
    )
    permissions = Permissions(settings, build_slack_client(settings))
    bolt = build_app(settings, services, permissions)
    app_token = settings.slack_app_token
    socket = SocketModeConnection(bolt, app_token.get_secret_value()) if app_token else None
    webapp = (
        web.Application()
        if socket is not None
        else bolt.web_app(path=SLACK_EVENTS_PATH, port=settings.port)
    )

    async def healthz(_: web.Request) -> web.Response:
        """200 when the store can write; 503 (with why) when it cannot."""
        body: dict[str, Any] = {"service": "seam-code-doctor", "version": bot.__version__}
        if socket is not None:
            body["slack"] = "socket mode: " + ("connected" if socket.connected else "connecting")
        try:
            await asyncio.wait_for(the_store.check_writable(), 2.0)
        except (StoreError, TimeoutError) as exc:
            logger.error("health check: the store cannot write: %s", exc or "timed out")
            return web.json_response(
                {**body, "ok": False, "store": str(exc) or "timed out"}, status=503
            )
        return web.json_response({**body, "ok": True, "store": "ok"})

    webapp.router.add_get(HEALTH_PATH, healthz)
    events = EventService(the_store, seam_client, None)
    services.events = events
    secret = settings.seam_webhook_secret
    if secret is not None:
        webapp.router.add_post(
            SEAM_WEBHOOK_PATH, seam_webhook_handler(secret.get_secret_value(), events)
        )
    if socket is None:
        webapp.middlewares.append(
            slack_request_guard(SLACK_EVENTS_PATH, settings.slack_signing_secret.get_secret_value())
        )

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        if socket is not None:  # HTTP mode is announced once the port is bound (__main__)
            await socket.start()
            logger.info(
                "Slack requests over Socket Mode (SLACK_APP_TOKEN); /slack/events is not served "
                "(Seam at %s)",
                settings.seam_endpoint,
            )
        # The proactive-alert scanner (off when SCAN_INTERVAL_SECONDS=0 or ALERT_CHANNEL unset).
        scanner = build_scanner(services, bolt.client) if settings.scanner else None
        if not settings.scanner:
            logger.info(
                "SCANNER=off: this process serves Slack and webhooks; run the scanner as "
                "its own process (python -m bot scan)"
            )
        if scanner is not None:
            services.alerts = scanner.alerts
            services.webhook_health = scanner.webhook_health
            scanner.start()
        elif settings.alert_channel:
            services.alerts = build_alert_service(services, bolt.client)
        events.alerts = services.alerts
        if routes is not None and services.alerts is not None:
            logger.info(
                "ALERT_ROUTES: %d rule(s) to %s; unmatched alerts to %s",
                len(routes.rules),
                ", ".join(routes.channels[1:]) or "-",
                routes.default_channel,
            )
        home = HomeRefresher(services, bolt.client)
        if services.alerts is not None and services.board is not None:
            services.alerts.listeners.append(services.board.observe)
            services.board.subscribers.append(home.changed)
        services.digest = build_digest(services, bolt.client)
        if scanner is not None and services.digest is not None:
            services.digest.start()  # daily at DIGEST_TIME; a missed one is posted now
        stopping = asyncio.Event()
        recovery = asyncio.create_task(
            _recovery_loop(services, bolt.client, stopping), name="remedy-recovery"
        )
        if settings.remedy_allowed_groups:
            logger.info(
                "REMEDY_ALLOWED_USERS names user group(s) %s: their members are read with "
                "usergroups.users.list (scope usergroups:read) and kept %.0f s; a failed "
                "lookup refuses",
                ", ".join(sorted(settings.remedy_allowed_groups)),
                permissions.ttl,
            )
        if not settings.remedy_allowed_users:
            logger.warning(
                "REMEDY_ALLOWED_USERS is empty: nobody may run remedies, reveal PINs, snooze or "
                "acknowledge (read-only buttons still work); list Slack user IDs, or * for everyone"
            )
        if secret is None:
            logger.info(
                "SEAM_WEBHOOK_SECRET is not set: real-time alerts are off (scans only); "
                "/seam/webhook answers 404"
            )
        else:
            logger.info("Seam webhooks on at %s", SEAM_WEBHOOK_PATH)
            events.resume_later()
        yield
        if socket is not None:
            await socket.stop()
        if scanner is not None:
            await scanner.stop()
        if services.digest is not None:
            await services.digest.stop()
        await home.stop()
        stopping.set()
        await asyncio.wait({recovery}, timeout=10)
        recovery.cancel()
        await services.drain()
        await events.drain()
        if seam is None:
            await seam_client.aclose()
        if store is None:
            await the_store.close()

    webapp.cleanup_ctx.append(lifecycle)
    webapp[SERVICES_KEY] = services
    webapp[BOLT_KEY] = bolt
    webapp[PERMISSIONS_KEY] = permissions
    return webapp


async def _recovery_loop(
    services: Services, client: AsyncWebClient, stopping: asyncio.Event
) -> None:
    """Keep this process's remedies alive and finish what no process keeps alive any more.

    Every quarter of `REMEDY_RECOVERY_SECONDS`, from start-up until `stopping` is set: a
    heartbeat for the remedies running here (its own task), and `RemedyRunner.sweep` (journal
    entries and claims idle for `REMEDY_RECOVERY_SECONDS`: a killed process, or a result the
    store could not write), their real outcome told to the clicker and the alert thread.
    Never raises.
    """
    remedies = services.remedies
    interval = services.settings.remedy_recovery_seconds / 4

    async def beat() -> None:
        # Its own task: a slow sweep or report never silences this process's sign of life.
        while not stopping.is_set():
            await remedies.heartbeat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)

    heartbeat = asyncio.create_task(beat(), name="remedy-heartbeat")
    try:
        while not stopping.is_set():
            try:
                recovered = await remedies.sweep()
                if recovered:
                    logger.warning("finishing %d interrupted remedy(ies)", len(recovered))
                    await report_recovered(services, client, recovered)
            except Exception:
                logger.exception("recovering interrupted remedies failed; they stay in the journal")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)
    finally:
        heartbeat.cancel()


#: Where the web application keeps its `Services` and Bolt app (for tests).
SERVICES_KEY = web.AppKey("services", Services)
BOLT_KEY = web.AppKey("bolt", AsyncApp)
PERMISSIONS_KEY = web.AppKey("permissions", Permissions)
