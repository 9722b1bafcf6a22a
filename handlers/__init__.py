"""Slack surfaces. Each module owns one surface and exposes `register(app)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import actions, alerts, commands, home, views


def register(app: AsyncApp) -> None:
    """Register every surface's listeners on `app`."""
    commands.register(app)
    actions.register(app)
    alerts.register(app)
    home.register(app)
    views.register(app)
