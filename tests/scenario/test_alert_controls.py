"""Buttons on channel alerts: Acknowledge, Snooze, Re-check and remedies keep the alert in place,
refresh it, and say in its thread who did what (real Seam fake, Slack fake, SQLite)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_alert_service as build_alert_manager
from bot.app import build_slack_client
from bot.services.observing import scan_workspace
from bot.store import AlertRecord
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from tests.conftest import Bot, reply_text, serve_bot
from tests.scenario.test_remedies import open_modal, wait_audit

CHANNEL = "CALERTS"


@pytest.fixture
async def alerting(tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack) -> AsyncIterator[Bot]:
    """The bot with ALERT_CHANNEL set and the seeded alerts already posted."""
    async for bot in serve_bot(
        tmp_path, seam_fake, slack, alert_channel=CHANNEL, remedy_allowed_users="U111,U222"
    ):
        services = bot.services
        services.alerts = build_alert_manager(
            services, build_slack_client(bot.settings), pace_seconds=0
        )
        scan = await scan_workspace(services.seam, catalogue=services.catalogue)
        report = await services.alerts.reconcile(scan)
        assert report.posted >= 10
        yield bot


async def alert_of(bot: Bot, key: str) -> AlertRecord:
    record = await bot.services.store.alert(key)
    assert record is not None and record.ts and record.channel
    return record


async def wait_thread_reply(bot: Bot, ts: str, needle: str) -> dict:  # type: ignore[type-arg]
    def found() -> bool:
        return any(
            c.body.get("thread_ts") == ts and needle in c.body.get("text", "")
            for c in bot.slack.calls_to("chat.postMessage")
        )

    await bot.slack.wait_for(found, timeout=10)
    return next(
        c.body
        for c in bot.slack.calls_to("chat.postMessage")
        if c.body.get("thread_ts") == ts and needle in c.body.get("text", "")
    )


async def wait_resolved(bot: Bot, key: str) -> None:
    for _ in range(200):
        record = await bot.services.store.alert(key)
        if record is not None and record.state == "resolved":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"alert {key} was not resolved")


def current_text(bot: Bot, record: AlertRecord) -> str:
    assert record.channel and record.ts
    message = bot.slack.message_store[(record.channel, record.ts)]
    return reply_text(message)


async def test_acknowledge_records_replies_and_refreshes(alerting: Bot) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    record = await alert_of(bot, f"code:{code_id}")
    assert "alert_ack" in current_text(bot, record)
    response, _ = await bot.press(
        "alert_ack",
        f"code:{code_id}",
        is_ephemeral=False,
        channel_id=record.channel or "",
        message_ts=record.ts or "",
    )
    assert response.status_code == 200
    await wait_thread_reply(bot, record.ts or "", "acknowledged")
    updated = await alert_of(bot, f"code:{code_id}")
    assert updated.state == "acknowledged" and updated.state_by == "U111"
    await bot.slack.wait_for(lambda: "Acknowledged by" in current_text(bot, record), timeout=10)
    entries = await bot.services.store.audit_entries()
    assert entries[0].action == "acknowledge"


async def test_snooze_one_hour(alerting: Bot) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["no_space"]
    record = await alert_of(bot, f"code:{code_id}")
    from devtools.slack_requests import block_actions_body

    body = block_actions_body(
        "alert_snooze",
        f"1h|code:{code_id}",
        action_type="overflow",
        channel_id=CHANNEL,
        message_ts=record.ts or "",
        response_url=bot.slack.response_url("snz"),
        trigger_id=bot.slack.issue_trigger_id(),
    )
    assert (await bot.post(body)).status_code == 200
    await wait_thread_reply(bot, record.ts or "", "snoozed")
    updated = await alert_of(bot, f"code:{code_id}")
    assert updated.state == "snoozed" and updated.snoozed_until is not None
    delta = (updated.snoozed_until - updated.opened_at).total_seconds()
    assert 3000 < delta < 4000
    await bot.slack.wait_for(lambda: "Snoozed" in current_text(bot, record), timeout=10)


async def test_alert_controls_refuse_unlisted_users(alerting: Bot) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    record = await alert_of(bot, f"code:{code_id}")
    _, key = await bot.press(
        "alert_ack",
        f"code:{code_id}",
        user_id="U999",
        is_ephemeral=False,
        channel_id=CHANNEL,
        message_ts=record.ts or "",
    )
    assert "can't run remedies" in reply_text(await bot.reply(key))
    assert (await alert_of(bot, f"code:{code_id}")).state == "open"


async def test_recheck_on_alert_resolves_it_in_place(alerting: Bot) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["kwikset_unconfirmed"]
    record = await alert_of(bot, f"code:{code_id}")
    await bot.seam.update_access_code(code_id, errors=[], warnings=[])
    _, key = await bot.press(
        "remedy:recheck",
        code_id,
        is_ephemeral=False,
        channel_id=CHANNEL,
        message_ts=record.ts or "",
    )
    reply = await bot.reply(key)
    assert reply.get("replace_original") is False  # the alert is not replaced by the code view
    await wait_resolved(bot, f"code:{code_id}")
    assert "Resolved" in current_text(bot, record)


async def test_remedy_on_alert_replies_in_thread(alerting: Bot) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["duplicate"]
    record = await alert_of(bot, f"code:{code_id}")
    view, _ = await open_modal(
        bot,
        "convert_unmanaged",
        code_id,
        is_ephemeral=False,
        channel_id=CHANNEL,
        message_ts=record.ts or "",
    )
    await bot.submit(view, {})
    await wait_audit(bot)
    reply = await wait_thread_reply(bot, record.ts or "", "Convert duplicate")
    assert "<@U111>" in reply["text"]
    assert await bot.seam.calls("/access_codes/unmanaged/convert_to_managed")
    await asyncio.sleep(0)
    assert json.dumps(bot.slack.message_store[(CHANNEL, record.ts or "")])  # still there


async def test_fixing_a_code_from_its_alert_resolves_the_alert(alerting: Bot) -> None:
    """Update PIN pressed on an alert: Seam (the fake, settling like Seam) clears the error, the
    bot re-scans that lock and edits the alert to Resolved in place."""
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    record = await alert_of(bot, f"code:{code_id}")
    view, _ = await open_modal(
        bot,
        "update_pin",
        code_id,
        is_ephemeral=False,
        channel_id=CHANNEL,
        message_ts=record.ts or "",
    )
    await bot.submit(view, {"new_pin": {"pin_value": "5821"}})
    await wait_thread_reply(bot, record.ts or "", "Update PIN")
    await wait_resolved(bot, f"code:{code_id}")
    assert "Resolved" in current_text(bot, record)


async def test_deleting_the_duplicate_resolves_the_duplicate_alert(alerting: Bot) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["duplicate"]
    record = await alert_of(bot, f"code:{code_id}")
    view, _ = await open_modal(
        bot,
        "delete_unmanaged",
        code_id,
        is_ephemeral=False,
        channel_id=CHANNEL,
        message_ts=record.ts or "",
    )
    await bot.submit(view, {})
    await wait_resolved(bot, f"code:{code_id}")
    assert "Resolved" in current_text(bot, record)
