"""One user's burst never slows the others: `REQUESTS_PER_USER` bounds the lookups one user may
have waiting on Seam; the rest are acked with "busy, try again in a moment", never dropped.
Signed requests through the real HTTP endpoint, the real Seam fake (slowed), the Slack fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.catalogue import RemedyAction
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from tests.conftest import Bot, reply_text, serve_bot

BUSY = "Busy, try again in a moment"


@pytest.fixture
async def bounded(tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack) -> AsyncIterator[Bot]:
    """The bot with two lookups per user at once."""
    async for served in serve_bot(tmp_path, seam_fake, slack, requests_per_user=2):
        yield served


async def test_a_burst_is_acked_busy_beyond_the_bound_and_others_are_answered(
    bounded: Bot,
) -> None:
    bot = bounded
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    await bot.seam.delay(0.5)  # each of the two Seam reads of a lookup
    flood = await asyncio.gather(*(bot.command(code_id, user_id="UFLOOD") for _ in range(6)))
    assert all(response.status_code == 200 for response, _, _ in flood)
    busy = [key for response, key, _ in flood if BUSY in response.text]
    started = [key for response, key, _ in flood if BUSY not in response.text]
    assert len(busy) == 4 and len(started) == 2
    assert bot.services.work.running == 2

    # Another user is not held back by the flooder's bound.
    response, other, _ = await bot.command(code_id, user_id="UOTHER")
    assert response.status_code == 200 and BUSY not in response.text
    for key in [*started, other]:
        text = reply_text(await bot.reply(key))
        assert "failed_to_set_on_device" in text and BUSY not in text
    await asyncio.sleep(0.2)
    assert bot.slack.responses.get(busy[0]) is None  # told in the ack, nothing queued
    assert bot.services.work.running == 0 and bot.services.work.refused == 4

    # Once the burst is done, the same user is served again.
    response, again, _ = await bot.command(code_id, user_id="UFLOOD")
    assert BUSY not in response.text
    assert "failed_to_set_on_device" in reply_text(await bot.reply(again))


async def test_a_button_beyond_the_bound_is_told_busy_in_its_reply(bounded: Bot) -> None:
    bot = bounded
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    await bot.seam.delay(1.0)
    first = [await bot.command(code_id, user_id="UFLOOD") for _ in range(2)]
    assert all(BUSY not in response.text for response, _, _ in first)
    recheck = f"remedy:{RemedyAction.RECHECK.value}"
    response, key = await bot.press(recheck, code_id, user_id="UFLOOD")
    assert response.status_code == 200
    reply = await bot.reply(key)
    assert BUSY in reply_text(reply) and reply["response_type"] == "ephemeral"
