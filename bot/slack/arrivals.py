"""Arrivals first in Slack: the pre-arrival digest's renderer, and the factory that wires
`PreArrivalDigest` to the alert channel.

`BlockKitArrivalRenderer` implements `bot.services.digest.DigestRenderer` with the builders of
`bot.slack.blocks.arrivals`; the digest is posted through the same paced `SlackAlertChannel` as
the alerts. (The escalation reply is the alert renderer's, `BlockKitAlertRenderer`.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.arrivals import Arrival
from bot.domain.catalogue import Catalogue
from bot.seam.client import SeamClient
from bot.services.digest import PreArrivalDigest
from bot.slack.alert_channel import ALERT_PACE_SECONDS, ChannelPacer, SlackAlertChannel
from bot.slack.blocks import arrivals as blocks
from bot.slack.blocks.common import Message
from bot.store import ArrivalStore, utcnow

__all__ = ["BlockKitArrivalRenderer", "slack_pre_arrival_digest"]


class BlockKitArrivalRenderer:
    """`DigestRenderer` with `bot.slack.blocks.arrivals`."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def arrival_digest(
        self,
        arrivals: Sequence[Arrival],
        *,
        now: datetime,
        tz: tzinfo,
        window_hours: float,
        unseen_locks: int,
    ) -> Message:
        """The pre-arrival digest (`arrival_digest_message`)."""
        return blocks.arrival_digest_message(
            arrivals,
            catalogue=self.catalogue,
            now=now,
            tz=tz,
            window_hours=window_hours,
            unseen_locks=unseen_locks,
        )


def slack_pre_arrival_digest(
    store: ArrivalStore,
    slack: AsyncWebClient,
    channel: str,
    *,
    seam: SeamClient,
    catalogue: Catalogue,
    tz: tzinfo,
    at: tuple[int, int] | None,
    at_risk_hours: float,
    pace_seconds: float | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> PreArrivalDigest:
    """A `PreArrivalDigest` posting Block Kit to `channel` through `slack` (paced)."""
    interval = ALERT_PACE_SECONDS if pace_seconds is None else pace_seconds
    return PreArrivalDigest(
        store,
        SlackAlertChannel(slack, ChannelPacer(interval)),
        BlockKitArrivalRenderer(catalogue),
        channel,
        seam=seam,
        catalogue=catalogue,
        tz=tz,
        at=at,
        at_risk_hours=at_risk_hours,
        clock=clock,
    )
