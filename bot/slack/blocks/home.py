"""Block Kit for the App Home tab: how to use the bot and where alerts go."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.domain.text import escape_mrkdwn
from bot.slack import ids


def home_view(alert_channel: str | None) -> dict[str, Any]:
    """The App Home tab view: usage and where alerts go."""
    channel = f"<#{escape_mrkdwn(alert_channel, 40)}>" if alert_channel else "_not configured_"
    view = View(
        type="home",
        blocks=[
            HeaderBlock(text="Seam access-code doctor"),
            SectionBlock(
                text=MarkdownTextObject(
                    text="Finds smart-lock access codes that Seam could not program, explains "
                    "why in plain words, and fixes them from Slack."
                )
            ),
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*Look up a code:* `{ids.COMMAND} <access_code_id>`\n"
                    f"*Alerts channel:* {channel}"
                )
            ),
        ],
    )
    result: dict[str, Any] = view.to_dict()
    return result
