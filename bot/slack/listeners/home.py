"""The App Home tab (`app_home_opened`): the per-user dashboard, and every other event type.

The dashboard itself (open problems, arrivals, configuration health) and its re-publishing are
in `bot.slack.listeners.dashboard`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.dashboard import app_home_opened

logger = logging.getLogger(__name__)

__all__ = ["app_home_opened", "other_event", "register"]


async def other_event(event: dict[str, Any]) -> None:
    """Any other Events API event: acknowledged (200, by Bolt) and ignored, never a 404."""
    logger.debug("ignoring Slack event %s", event.get("type") if isinstance(event, dict) else "?")


def register(app: AsyncApp) -> None:
    """Bind `app_home_opened`, then every other event type (so none gets a 404)."""
    app.event("app_home_opened")(app_home_opened)
    app.event(re.compile(r".*"))(other_event)
