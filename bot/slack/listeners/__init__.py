"""Slack listeners, one module per surface, each with `register(app)`.

A listener only parses the payload, calls one service, renders and replies; permission checks
and error replies come from `bot.slack.middleware`.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import alert_controls, commands, dashboard, home, lookups, remedies


def register(app: AsyncApp) -> None:
    """Register every surface's listeners on `app` (read-only buttons before remedies)."""
    commands.register(app)
    lookups.register(app)
    remedies.register(app)
    alert_controls.register(app)
    dashboard.register(app)
    home.register(app)
