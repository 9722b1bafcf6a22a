"""The one start-up line that says where Slack requests are served, once the port is bound.

aiohttp runs an application's start-up (`cleanup_ctx`) before it binds its sites, so a line
logged there cannot know the port really used; whoever binds the sites (`python -m bot serve`,
the demo in `devtools/run.py`) calls `announce_serving` right after.
"""

from __future__ import annotations

import logging

__all__ = ["announce_serving"]

logger = logging.getLogger(__name__)


def announce_serving(url: str, seam_endpoint: str) -> None:
    """Log "serving Slack requests on <url> (Seam at <endpoint>)" at INFO, once per call.

    Args:
        url: the full URL of the Slack route with the port really bound, e.g.
            "http://0.0.0.0:3000/slack/events".
        seam_endpoint: the Seam API base URL the bot calls (no key in it).
    """
    logger.info("serving Slack requests on %s (Seam at %s)", url, seam_endpoint)
