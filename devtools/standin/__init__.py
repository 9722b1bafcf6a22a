"""A local stand-in for the Slack client: one web page that shows what the bot posts and sends
what a person does (slash commands, button clicks, modal submissions) as signed Slack requests.

Development tool only (the demo, `python -m devtools.run`, and browser tests); the bot never
imports it. See `devtools/standin/server.py`.
"""

from __future__ import annotations

from devtools.standin.server import DEMO_USER_ID, StandIn, Suggestion

__all__ = ["DEMO_USER_ID", "StandIn", "Suggestion"]
