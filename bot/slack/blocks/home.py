"""Block Kit for the App Home tab: how to use the bot and where alerts go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.domain.text import escape_mrkdwn, slack_date
from bot.slack import ids


def home_view(
    alert_channel: str | None,
    *,
    webhooks_on: bool = False,
    last_event: datetime | None = None,
    warning: str | None = None,
) -> dict[str, Any]:
    """The App Home tab view: usage, where alerts go, and whether real-time alerts arrive.

    `last_event` (aware UTC) is when the last Seam webhook arrived; `warning` says the webhook
    endpoint looks silent while scans find changes.
    """
    channel = f"<#{escape_mrkdwn(alert_channel, 40)}>" if alert_channel else "_not configured_"
    if not webhooks_on:
        realtime = "_off_ (scans only; set `SEAM_WEBHOOK_SECRET`)"
    elif last_event is None:
        realtime = "on, no Seam event received yet"
    else:
        realtime = f"on, last Seam event {slack_date(last_event)}"
    if warning:
        realtime += f"\n:warning: {escape_mrkdwn(warning, 400)}"
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
                    f"*Alerts channel:* {channel}\n*Real-time alerts:* {realtime}"
                )
            ),
        ],
    )
    result: dict[str, Any] = view.to_dict()
    return result
