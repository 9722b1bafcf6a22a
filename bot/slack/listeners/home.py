"""The App Home tab (`app_home_opened`): how to use the bot and how it is configured."""

from __future__ import annotations

import logging
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
    settings = services_from(context).settings
    try:
        await client.views_publish(user_id=user, view=home_view(settings.alert_channel))
    except Exception:
        logger.exception("views.publish for the Home tab failed")


def register(app: AsyncApp) -> None:
    """Bind `app_home_opened`."""
    app.event("app_home_opened")(app_home_opened)
