"""The dashboard surfaces: `/seam-code open` / `arrivals` answers, the App Home tab, its
Details modal, and re-publishing the Home tab when alerts change.

* `board_answer` renders the board (`Services.board`) for the slash command.
* `publish_home` publishes one user's dashboard (`views.publish`) and remembers the visit.
* `show_code` (the Home tab's Details button) opens a modal at once (the trigger_id lives 3 s)
  and fills it with the code's `/seam-code` answer when Seam answers.
* `HomeRefresher` is a board subscriber: when alerts change it re-publishes the Home tab of
  everyone who opened it in the last hour, at most once per `min_interval` seconds (changes in
  between are coalesced into the next round), one user at a time (Slack's page "Rate limits":
  `views.publish` is Tier 4).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.text import escape_mrkdwn
from bot.seam.errors import SeamApiError
from bot.services.container import Services
from bot.services.lookup import fetch_code_and_device
from bot.services.tasks import cancel_and_wait
from bot.settings import EVERYONE
from bot.slack import ids
from bot.slack.blocks.arrivals import arrivals_reply
from bot.slack.blocks.common import Message, notice_message
from bot.slack.blocks.dashboard import (
    HomeHealth,
    code_details_view,
    dashboard_view,
    open_problems_reply,
)
from bot.slack.client import one_shot_client
from bot.slack.middleware import services_from
from bot.slack.payloads import read_press
from bot.store import utcnow

logger = logging.getLogger(__name__)

__all__ = ["HomeRefresher", "board_answer", "publish_home", "register", "show_code"]

#: Users who opened the Home tab this recently get it re-published when alerts change.
HOME_RECENT_SECONDS = 3600.0
#: Default seconds between two rounds of re-publishing (tests lower it).
HOME_REFRESH_SECONDS = 30.0


async def board_answer(services: Services, kind: str, value: str) -> Message:
    """The `/seam-code open` or `/seam-code arrivals [hours]` answer."""
    board = services.board
    if board is None:  # pragma: no cover - the composition root always builds one
        return notice_message("Not available", "The dashboard is not running.")
    now = utcnow()
    if kind == "open":
        return open_problems_reply(
            await board.open_problems(), catalogue=services.catalogue, now=now
        )
    hours = float(value)
    return arrivals_reply(
        await board.arrivals(hours),
        catalogue=services.catalogue,
        now=now,
        tz=services.settings.zone(),
        hours=hours,
        as_of=board.observed_at,
    )


def home_health(services: Services) -> HomeHealth:
    """Configuration health from settings and what the alert service last saw."""
    settings = services.settings
    users = settings.remedy_allowed_users
    remedies = (
        "everyone"
        if EVERYONE in users
        else "nobody"
        if not users
        else f"{len(users)} {'person' if len(users) == 1 else 'people'}"
    )
    return HomeHealth(
        alert_channel=settings.alert_channel,
        channel_problem=services.alerts.channel_problem if services.alerts else None,
        remedies=remedies,
        webhooks_on=settings.seam_webhook_secret is not None,
        webhook_warning=services.webhook_warning(),
        scanning=settings.scan_interval_seconds > 0 and bool(settings.alert_channel),
    )


async def publish_home(client: AsyncWebClient, services: Services, user_id: str) -> bool:
    """Publish `user_id`'s dashboard. True when Slack took it. Never raises."""
    board = services.board
    if board is None:  # pragma: no cover
        return False
    try:
        snapshot = await board.snapshot()
        view = dashboard_view(
            now=snapshot.now,
            problems=snapshot.problems,
            arrivals=snapshot.arrivals,
            last_scan_at=snapshot.last_scan_at,
            last_webhook_at=snapshot.last_webhook_at,
            health=home_health(services),
            catalogue=services.catalogue,
            tz=services.settings.zone(),
        )
    except Exception:
        logger.exception("could not build the Home tab for %s", user_id)
        return False
    try:
        await client.views_publish(user_id=user_id, view=view)
    except Exception:
        logger.exception("views.publish for the Home tab failed")
        return False
    return True


class HomeRefresher:
    """Re-publishes recent viewers' Home tabs when alerts change (a board subscriber).

    Args:
        services: for the board, the store (who opened it) and settings.
        client: the Slack client.
        min_interval: seconds between two rounds of re-publishing (default
            `HOME_REFRESH_SECONDS`).
        window: seconds a visit counts as recent (default one hour).
    """

    def __init__(
        self,
        services: Services,
        client: AsyncWebClient,
        *,
        min_interval: float | None = None,
        window: float = HOME_RECENT_SECONDS,
    ) -> None:
        self.services = services
        self.client = client
        self.min_interval = HOME_REFRESH_SECONDS if min_interval is None else min_interval
        self.window = window
        self._dirty = False
        self._last = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    async def changed(self) -> None:
        """Alerts changed: re-publish soon (now, or once `min_interval` has passed)."""
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="home-refresh")

    async def _run(self) -> None:
        while self._dirty:
            wait = self.min_interval - (time.monotonic() - self._last)
            if wait > 0:
                await asyncio.sleep(wait)
            self._dirty = False
            self._last = time.monotonic()
            try:
                since = utcnow() - timedelta(seconds=self.window)
                users = await self.services.store.recent_home_viewers(since=since)
                for user in users:
                    await publish_home(self.client, self.services, user)
                self.rounds += 1
            except Exception:
                logger.exception("re-publishing the Home tab failed")

    async def stop(self) -> None:
        """Cancel a pending round (at shutdown)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)


async def app_home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Publish the dashboard for the user who opened the Home tab (events are auto-acked)."""
    if event.get("tab") not in (None, "home"):
        return
    user = event.get("user")
    if not isinstance(user, str) or not user:
        logger.warning("app_home_opened without a user id")
        return
    services = services_from(context)
    if await publish_home(client, services, user):
        try:
            await services.store.note_home_opened(user, at=utcnow())
        except Exception:
            logger.exception("could not remember the Home tab visit")


async def show_code(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """The Home tab's Details button: a modal with the code's `/seam-code` answer."""
    await ack()
    press = read_press(body)
    services = services_from(context)
    code_id = press.code_id()
    if code_id is None or not press.trigger_id:
        logger.warning("Home Details pressed with an unusable value")
        return
    loading = code_details_view(
        None, None, catalogue=services.catalogue, note=":hourglass_flowing_sand: Reading Seam…"
    )
    try:
        opened = await one_shot_client(client).views_open(trigger_id=press.trigger_id, view=loading)
    except Exception:
        logger.exception("views.open for the Home Details modal failed")
        return
    view_id = (opened.get("view") or {}).get("id")
    try:
        code, device = await fetch_code_and_device(services.seam, code_id)
        view = code_details_view(code, device, catalogue=services.catalogue)
    except SeamApiError as exc:
        note = f":warning: Seam could not be read: {escape_mrkdwn(str(exc), 300)}"
        view = code_details_view(None, None, catalogue=services.catalogue, note=note)
    try:
        await client.views_update(view_id=view_id, view=view)
    except Exception:
        logger.exception("views.update of the Home Details modal failed")


def register(app: AsyncApp) -> None:
    """Bind the Home tab's Details button (`app_home_opened` is bound by `listeners.home`)."""
    app.action(ids.ACTION_HOME_SHOW_CODE)(show_code)
