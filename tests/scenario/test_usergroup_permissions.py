"""User groups in REMEDY_ALLOWED_USERS, end to end: the served bot, the Slack fake's
`usergroups.users.list`, the real Seam fake and SQLite. A member of an allowed group runs a
remedy; a non-member is refused; a failed lookup refuses with a message saying so (button and
modal); the members are cached, so a second click within the TTL costs no lookup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import PERMISSIONS_KEY
from bot.slack.permissions import Permissions
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from tests.conftest import Bot, reply_text, serve_bot
from tests.scenario.test_remedies import open_modal, pin_values, wait_audit

OPS = "S0OPS"
MEMBER = "U0MEMBER"
OUTSIDER = "U0OUTSIDE"


@pytest.fixture
async def grouped(tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack) -> AsyncIterator[Bot]:
    slack.usergroups[OPS] = ["U0OTHER", MEMBER]
    async for served in serve_bot(
        tmp_path, seam_fake, slack, remedy_allowed_users=f"U0ADMIN,{OPS}"
    ):
        yield served


def lookups(slack: FakeSlack) -> int:
    return len(slack.calls_to("usergroups.users.list"))


async def test_a_member_of_an_allowed_group_runs_a_remedy(grouped: Bot) -> None:
    bot = grouped
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    view, _ = await open_modal(bot, "update_pin", code_id, user_id=MEMBER)
    [call] = bot.slack.calls_to("usergroups.users.list")
    assert call.body["usergroup"] == OPS
    response = await bot.submit(view, pin_values("5821"), user_id=MEMBER)
    assert response.status_code == 200 and response.json() == {"response_action": "clear"}
    [entry] = await wait_audit(bot)
    assert (entry.user_id, entry.action, entry.outcome) == (MEMBER, "update_pin", "success")
    assert len(await bot.seam.calls("/access_codes/update")) == 1
    assert lookups(bot.slack) == 1  # the submission used the cached members


async def test_a_non_member_is_refused_and_nothing_changes(grouped: Bot) -> None:
    bot = grouped
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    await bot.seam.reset()
    response, key = await bot.press("remedy:update_pin", code_id, user_id=OUTSIDER)
    assert response.status_code == 200
    reply = await bot.reply(key)
    assert "can't run remedies" in reply_text(reply)
    assert bot.slack.calls_to("views.open") == []
    assert await bot.services.store.audit_entries() == []
    assert lookups(bot.slack) == 1
    # A plain listed id needs no lookup at all.
    response, key = await bot.press("show_pin", code_id, user_id="U0ADMIN")
    assert "only you can see this" in reply_text(await bot.reply(key))
    assert lookups(bot.slack) == 1


async def test_a_slack_failure_refuses_with_a_clear_message(grouped: Bot) -> None:
    bot = grouped
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    bot.slack.fail_next("usergroups.users.list", status=200, error="missing_scope")
    response, key = await bot.press("show_pin", code_id, user_id=MEMBER)
    assert response.status_code == 200
    text = reply_text(await bot.reply(key))
    assert "Could not check your permission" in text and "missing_scope" in text
    assert "only you can see this" not in text
    assert await bot.services.store.audit_entries() == []
    # The failure was not cached: the next click asks Slack again and is allowed.
    response, key = await bot.press("show_pin", code_id, user_id=MEMBER)
    assert "only you can see this" in reply_text(await bot.reply(key))
    assert lookups(bot.slack) == 2


async def test_a_failure_at_submission_is_answered_in_the_modal(
    grouped: Bot,
) -> None:
    bot = grouped
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    view, _ = await open_modal(bot, "update_pin", code_id, user_id=MEMBER)
    permissions = permissions_of(bot)
    permissions.ttl = 0  # the members read at the click are stale by the submission
    bot.slack.fail_next("usergroups.users.list", status=500, count=3)
    response = await bot.submit(view, pin_values("5821"), user_id=MEMBER)
    assert response.status_code == 200
    assert response.json()["response_action"] == "update"
    assert "Slack did not say who is in the user group" in response.text
    assert await bot.seam.calls("/access_codes/update") == []


async def test_the_cache_avoids_a_second_lookup_within_its_ttl(grouped: Bot) -> None:
    bot = grouped
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    for _ in range(3):
        _, key = await bot.press("show_pin", code_id, user_id=MEMBER)
        assert "only you can see this" in reply_text(await bot.reply(key))
    assert lookups(bot.slack) == 1
    # Past the TTL the members are read again (someone left the group meanwhile).
    permissions_of(bot).ttl = 0
    bot.slack.usergroups[OPS] = ["U0OTHER"]
    _, key = await bot.press("show_pin", code_id, user_id=MEMBER)
    assert "can't run remedies" in reply_text(await bot.reply(key))
    assert lookups(bot.slack) == 2


def permissions_of(bot: Bot) -> Permissions:
    """The process's `Permissions` (its cache) as the app built it."""
    assert bot.web is not None
    return bot.web[PERMISSIONS_KEY]
