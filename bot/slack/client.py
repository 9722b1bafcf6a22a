"""Slack Web API clients, built once: the main client (waits out 429s) and a one-shot copy.

Rate limits: Slack answers 429 with `Retry-After`; the main client sleeps that long and retries
(Slack's page "Rate limits"). A `trigger_id` lives 3 s and works once (Slack's page "Modals"),
so `views.open` uses a copy that never waits out a 429.
"""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings


def build_slack_client(settings: Settings) -> AsyncWebClient:
    """The Slack Web API client: `SLACK_API_URL` base, retries on connection errors and 429."""
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def one_shot_client(client: AsyncWebClient) -> AsyncWebClient:
    """A copy of `client` that retries a lost connection once and never waits out a 429
    (for `views.open`, whose trigger_id expires in 3 s)."""
    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1)],
    )
