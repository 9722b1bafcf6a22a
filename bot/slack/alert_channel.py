"""The alert channel in Slack: posting, editing and threading alert messages, paced.

`SlackAlertChannel` implements `bot.services.alerting.AlertChannel` with the Web API: it spaces
writes to one channel (`ChannelPacer`, about one message per second per channel: Slack's page
"Rate limits"), classifies Slack's errors (a channel the bot cannot post to, a message that is
gone, anything else) and logs a channel-level error once per channel. HTTP 429 is waited out
(`Retry-After`) by the client's retry handler (`bot.slack.client.build_slack_client`).
`BlockKitAlertRenderer` implements `AlertRenderer` with the builders of
`bot.slack.blocks.alerts`. `slack_alert_service` wires both into an `AlertService`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.arrivals import Escalation
from bot.domain.catalogue import Catalogue
from bot.domain.routing import AlertRoutes
from bot.seam.client import SeamClient
from bot.seam.models import AccessCode, Device
from bot.services.alerting import AlertService, Delivery, Rendered
from bot.slack.blocks import alerts as blocks
from bot.slack.blocks.arrivals import escalation_reply as _escalation_reply
from bot.slack.blocks.common import Message
from bot.store import StateStore, utcnow

logger = logging.getLogger(__name__)

__all__ = [
    "ALERT_PACE_SECONDS",
    "BlockKitAlertRenderer",
    "ChannelPacer",
    "SlackAlertChannel",
    "slack_alert_service",
]

#: Slack errors that say the bot cannot post to this channel (or at all) until someone acts.
CHANNEL_ERRORS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
        "missing_scope",
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "ekm_access_denied",
    }
)
#: Slack errors meaning "slow down" (left after the client's own Retry-After retries).
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
#: Default spacing (seconds) of writes to one channel: Slack's ~1 message/s/channel.
ALERT_PACE_SECONDS = 1.0
#: `metadata.event_type` on every alert and digest message.
METADATA_EVENT_TYPE = "seam_code_doctor_alert"


# ============================================================================ planning (pure)


class ChannelPacer:
    """Spaces writes to each channel by at least `interval` seconds (≈1 msg/s/channel).

    Slack's `chat.postMessage` allows about one message per second per channel, with short
    bursts tolerated (Slack's page "Rate limits"). Tests pass `interval=0`.
    """

    def __init__(
        self,
        interval: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.waited = 0.0
        """Total seconds spent waiting (for reports and tests)."""

    async def wait(self, channel: str) -> None:
        """Return when the next write to `channel` may be sent."""
        if self.interval <= 0:
            return
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            now = self._monotonic()
            due = self._next.get(channel, now)
            if due > now:
                self.waited += due - now
                await self._sleep(due - now)
                now = self._monotonic()
            self._next[channel] = max(now, due) + self.interval


class SlackAlertChannel:
    """`AlertChannel` over the Slack Web API. Never raises for Slack failures.

    Args:
        slack: the Web API client (built by `bot.slack.client.build_slack_client`, so 429s are
            waited out with `Retry-After`).
        pacer: spaces writes to one channel (default: `ALERT_PACE_SECONDS`).
    """

    def __init__(self, slack: AsyncWebClient, pacer: ChannelPacer | None = None) -> None:
        self.slack = slack
        self.pacer = pacer or ChannelPacer(ALERT_PACE_SECONDS)
        self._logged: set[tuple[str, str]] = set()

    async def post(self, channel: str, message: Rendered, *, alert_key: str) -> Delivery:
        """`chat.postMessage` of an alert, with `metadata.event_payload.alert_key`."""
        return await self._call(
            channel,
            "chat.postMessage",
            lambda: self.slack.chat_postMessage(
                channel=channel,
                metadata=_metadata(alert_key),
                unfurl_links=False,
                **message.as_kwargs(),
            ),
        )

    async def update(self, channel: str, ts: str, message: Rendered, *, alert_key: str) -> Delivery:
        """`chat.update` of an alert message; "not_found" when the message is gone."""
        return await self._call(
            channel,
            "chat.update",
            lambda: self.slack.chat_update(
                channel=channel, ts=ts, metadata=_metadata(alert_key), **message.as_kwargs()
            ),
        )

    async def reply(self, channel: str, thread_ts: str, message: Rendered) -> Delivery:
        """A thread reply under an alert message."""
        return await self._call(
            channel,
            "chat.postMessage",
            lambda: self.slack.chat_postMessage(
                channel=channel, thread_ts=thread_ts, **message.as_kwargs()
            ),
        )

    async def _call(
        self, channel: str, method: str, call: Callable[[], Awaitable[Any]]
    ) -> Delivery:
        await self.pacer.wait(channel)
        try:
            response = await call()
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
            if method == "chat.update" and error in ("message_not_found", "cant_update_message"):
                logger.warning(
                    "%s in %s: %s; the alert will be posted again", method, channel, error
                )
                return Delivery("not_found", error=f"{method}: {error}")
            if error in CHANNEL_ERRORS or error in RATE_LIMIT_ERRORS:
                self._log_once(
                    channel,
                    error,
                    "Slack refused %s to alert channel %s: %s. Alerts stay pending and are "
                    "retried on the next scan%s.",
                    method,
                    channel,
                    error,
                    " (invite the bot to the channel, or fix ALERT_CHANNEL / ALERT_ROUTES)"
                    if error in ("not_in_channel", "channel_not_found")
                    else "",
                )
                return Delivery("blocked", error=f"{method}: {error}")
            logger.warning("%s to %s failed: %s", method, channel, error)
            return Delivery("failed", error=f"{method}: {error}")
        except Exception as exc:  # transport errors after the client's own retries
            logger.warning("%s to %s failed: %s", method, channel, type(exc).__name__)
            return Delivery("failed", error=f"{method}: {type(exc).__name__}")
        ts = response.get("ts") if hasattr(response, "get") else None
        answered = response.get("channel") if hasattr(response, "get") else None
        return Delivery(
            "ok",
            ts=str(ts) if ts else None,
            channel=answered if isinstance(answered, str) and answered else None,
        )

    def _log_once(self, channel: str, error: str, msg: str, *args: object) -> None:
        """Log a channel-level Slack error at ERROR once per (channel, error), then DEBUG."""
        level = logging.DEBUG if (channel, error) in self._logged else logging.ERROR
        self._logged.add((channel, error))
        logger.log(level, msg, *args)


def _metadata(alert_key: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"alert_key": alert_key}}


class BlockKitAlertRenderer:
    """`AlertRenderer` with the Block Kit builders of `bot.slack.blocks.alerts`.

    The builders that need the catalogue get it here; the others are the builders themselves.
    """

    resolved = staticmethod(blocks.resolved_message)
    digest = staticmethod(blocks.digest_message)
    resolved_reply = staticmethod(blocks.resolved_reply)
    reminder_reply = staticmethod(blocks.reminder_reply)
    reopened_reply = staticmethod(blocks.reopened_reply)
    woke_reply = staticmethod(blocks.woke_reply)
    remedy_settled = staticmethod(blocks.remedy_settled_reply)

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def escalation_reply(
        self, step: Escalation, *, starts_at: datetime | None, mention: str | None, titles: str
    ) -> Message:
        """Thread reply as check-in nears (`bot.slack.blocks.arrivals.escalation_reply`)."""
        return _escalation_reply(step, starts_at=starts_at, mention=mention, problem_titles=titles)

    def code_alert(self, *args: Any, **kwargs: Any) -> Message:
        """One access code's alert (`code_alert_message` with this catalogue)."""
        return blocks.code_alert_message(*args, catalogue=self.catalogue, **kwargs)

    def door_refused(self, code: AccessCode, device: Device | None, *, at: datetime) -> Message:
        """Someone was refused at the door with this code (`door_refused_message`)."""
        return blocks.door_refused_message(code, device, catalogue=self.catalogue, at=at)

    def device_alert(self, *args: Any, **kwargs: Any) -> Message:
        """One lock's alert listing the codes it affects (`device_alert_message`)."""
        return blocks.device_alert_message(*args, catalogue=self.catalogue, **kwargs)


def slack_alert_service(
    store: StateStore,
    slack: AsyncWebClient,
    channel: str,
    *,
    catalogue: Catalogue,
    seam: SeamClient | None = None,
    remind_after: float = 24 * 3600.0,
    storm_threshold: int = 20,
    reopen_window: float | None = None,
    pace_seconds: float | None = None,
    clock: Callable[[], datetime] = utcnow,
    pacer: ChannelPacer | None = None,
    routes: AlertRoutes | None = None,
    **options: Any,
) -> AlertService:
    """An `AlertService` that posts Block Kit alerts to `channel` through `slack`.

    `pace_seconds` spaces writes to one channel (default `ALERT_PACE_SECONDS`; 0 in tests);
    `routes`: `ALERT_ROUTES` (other channels by rule); see `AlertService` for the other
    arguments (`options`: `at_risk_hours`, `escalation_mention`, `escalate`).
    """
    interval = ALERT_PACE_SECONDS if pace_seconds is None else pace_seconds
    return AlertService(
        store,
        SlackAlertChannel(slack, pacer or ChannelPacer(interval)),
        BlockKitAlertRenderer(catalogue),
        channel,
        catalogue=catalogue,
        seam=seam,
        remind_after=remind_after,
        storm_threshold=storm_threshold,
        reopen_window=reopen_window,
        clock=clock,
        routes=routes,
        **options,
    )
