"""The App Home tab (`app_home_opened`): how to use the bot and how it is configured."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks.home import home_view
from bot.slack.middleware import services_from

logger = logging.getLogger(__name__)


async def app_home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Publish the Home tab for the user who opened it (events are auto-acked by Bolt)."""
    if event.get("tab") not in (None, "home"):
        return
    user = event.get("user")
    if not isinstance(user, str) or not user:
        logger.warning("app_home_opened without a user id")
        return
    services = services_from(context)
    settings = services.settings
    try:
        last = await services.store.last_event_at()
    except Exception:
        logger.exception("could not read the last Seam event time for the Home tab")
        last = None
    view = home_view(
        settings.alert_channel,
        webhooks_on=settings.seam_webhook_secret is not None,
        last_event=last,
        warning=services.webhook_warning(),
    )
    try:
        await client.views_publish(user_id=user, view=view)
    except Exception:
        logger.exception("views.publish for the Home tab failed")


async def other_event(event: dict[str, Any]) -> None:
    """Any other Events API event: acknowledged (200, by Bolt) and ignored, never a 404."""
    logger.debug("ignoring Slack event %s", event.get("type") if isinstance(event, dict) else "?")


def register(app: AsyncApp) -> None:
    """Bind `app_home_opened`, then every other event type (so none gets a 404)."""
    app.event("app_home_opened")(app_home_opened)
    app.event(re.compile(r".*"))(other_event)
