"""Regression tests for the adversarial review: each case once broke, or could have."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from devtools.slack_requests import block_actions_body, signed_headers, slash_command_body
from tests.conftest import SIGNING_SECRET, Bot, reply_text, serve_bot
from tests.scenario.test_remedies import fail_action_attempts, open_modal, pin_values, wait_audit
from tests.support.databases import database


async def test_code_of_another_workspace_is_never_shown_or_changed(bot: Bot) -> None:
    foreign = bot.seam.ids["foreign"]["access_code_id"]
    _, key, _ = await bot.command(foreign)
    assert "No such access code" in reply_text(await bot.reply(key))
    _, key = await bot.press("show_pin", foreign)
    text = reply_text(await bot.reply(key))
    assert "No such access code" in text and "1111" not in text
    await bot.press("remedy:update_pin", foreign)
    await asyncio.sleep(0.5)
    assert await bot.seam.calls("/access_codes/update") == []


async def test_mutation_without_an_answer_is_unknown_not_unchanged(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    async for bot in serve_bot(tmp_path, seam_fake, slack, seam_timeout_seconds=1):
        code_id = seam_fake.ids["codes"]["failed_to_set"]
        view, key = await open_modal(bot, "update_pin", code_id)
        await seam_fake.delay(2.5, paths=["/access_codes/update"])  # applied, answer too late
        await bot.submit(view, pin_values("5821"))
        entries = await wait_audit(bot)
        # The answer was lost, so the bot reads the code back: the change did happen, and it
        # says so ("verified"), never "nothing was changed" and never re-sent.
        assert entries[0].outcome == "success" and "Verified" in entries[0].detail
        text = reply_text(await bot.reply(key, wait=15))
        assert "Verified" in text and "Nothing was changed" not in text
        assert len(await seam_fake.calls("/access_codes/update")) == 1  # never re-sent


async def test_delete_and_recreate_refuses_when_the_pin_is_shared(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["duplicate"]  # PIN 2580, also on the unmanaged Owner's code
    view, key = await open_modal(bot, "delete_and_recreate", code_id)
    await bot.submit(view, {})
    entries = await wait_audit(bot)
    assert entries[0].outcome == "error" and "2580" not in entries[0].detail
    assert "Not deleted" in reply_text(await bot.reply(key))
    assert await bot.seam.calls("/access_codes/delete") == []


async def _submit_while_seam_is_slow(
    bot: Bot, pin: str, seconds: float = 2.5
) -> tuple[dict[str, object], str]:
    """Submit an Update PIN form while Seam takes `seconds` to list the lock's codes; returns
    the ack (which must come inside Slack's 3 s) and the modal's view id."""
    view, _ = await open_modal(bot, "update_pin", bot.seam.ids["codes"]["healthy_guest"])
    await bot.seam.delay(seconds, paths=["/access_codes/unmanaged/list"])
    started = time.perf_counter()
    body = (await bot.submit(view, pin_values(pin))).json()
    assert time.perf_counter() - started < 2.9  # answered inside Slack's 3 s
    assert body["response_action"] == "update" and "Checking" in json.dumps(body["view"])
    return body, str(view["id"])


async def test_slow_pin_checks_are_acked_first_and_a_refused_pin_comes_back_in_the_form(
    bot: Bot,
) -> None:
    _, view_id = await _submit_while_seam_is_slow(bot, "2580")  # the Owner's code has 2580
    before = len(bot.slack.calls_to("views.update"))
    await bot.slack.wait_for_call("views.update", count=before + 1, timeout=10)
    shown = bot.slack.calls_to("views.update")[-1].body
    assert shown["view_id"] == view_id
    text = json.dumps(shown["view"])
    assert "That PIN was not set" in text and "already uses that PIN" in text
    assert shown["view"]["callback_id"] == bot.slack.views[view_id]["callback_id"]  # resubmit
    assert await bot.seam.calls("/access_codes/update") == []


async def test_slow_pin_checks_that_pass_set_the_pin_once_after_the_ack(bot: Bot) -> None:
    await _submit_while_seam_is_slow(bot, "5821")
    entries = await wait_audit(bot)
    assert entries[0].action == "update_pin" and entries[0].outcome == "success"
    assert len(await bot.seam.calls("/access_codes/update")) == 1
    texts = [json.dumps(c.body["view"]) for c in bot.slack.calls_to("views.update")]
    assert any("Setting the new PIN" in t for t in texts)


async def test_pin_checks_fail_closed_when_seam_never_answers(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.slack.listeners.remedies as listeners

    monkeypatch.setattr(listeners, "SLOW_CHECK_LIMIT", 1.0)
    await _submit_while_seam_is_slow(bot, "5821", seconds=5)
    await bot.slack.wait_for(
        lambda: any(
            "could not be checked" in json.dumps(c.body["view"])
            for c in bot.slack.calls_to("views.update")
        ),
        5,
        what="the fail-closed answer",
    )
    await asyncio.sleep(3)  # Seam's late answer changes nothing
    assert await bot.seam.calls("/access_codes/update") == []


async def test_unlisted_user_is_refused_before_any_pin_check(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    async for bot in serve_bot(tmp_path, seam_fake, slack, remedy_allowed_users="UBOSS"):
        view, _ = await open_modal(
            bot, "update_pin", seam_fake.ids["codes"]["healthy_guest"], user_id="UBOSS"
        )
        response = await bot.submit(view, pin_values("2580"), user_id="U999")
        assert "REMEDY_ALLOWED_USERS" in response.text
        assert "already uses" not in response.text


async def test_two_update_pin_forms_do_not_both_run(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    first, _ = await open_modal(bot, "update_pin", code_id)
    second, _ = await open_modal(bot, "update_pin", code_id, user_id="U222")
    await bot.seam.delay(1.5, paths=["/access_codes/update"])
    a, b = await asyncio.gather(
        bot.submit(first, pin_values("5821")),
        bot.submit(second, pin_values("9305"), user_id="U222"),
    )
    assert sum("changing this code" in r.text for r in (a, b)) == 1
    await wait_audit(bot)
    await asyncio.sleep(2)
    assert len(await bot.seam.calls("/access_codes/update")) == 1


async def test_failed_remedy_can_be_retried(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    view, _ = await open_modal(bot, "update_pin", code_id)
    await fail_action_attempts(bot, "aa-x", "failed", "lock busy", count=1)
    await bot.submit(view, pin_values("5821"))
    entries = await wait_audit(bot)
    assert entries[0].outcome == "error"
    response = await bot.submit(view, pin_values("5832"))  # the same form, submitted again
    assert "already" not in response.text
    entries = await wait_audit(bot, 2)
    assert entries[0].outcome == "success"
    assert len(await bot.seam.calls("/access_codes/update")) == 2


async def test_response_url_outside_slack_is_refused(bot: Bot) -> None:
    body = block_actions_body(
        "show_pin",
        bot.seam.ids["codes"]["healthy_cleaner"],
        response_url="http://127.0.0.2:9/internal/admin",
        trigger_id=bot.slack.issue_trigger_id(),
    )
    response = await bot.post(body)
    assert response.status_code == 400
    assert await bot.seam.calls() == []
    assert await bot.services.store.audit_entries() == []


async def test_non_utf8_body_is_401_not_500(bot: Bot) -> None:
    body = b"\xff\xfe\xfd"
    headers = {**signed_headers("wrong", b"x"), "Content-Type": "application/x-www-form-urlencoded"}
    response = await bot.http.post(f"{bot.url}/slack/events", content=body, headers=headers)
    assert response.status_code in (400, 401)


async def test_library_debug_logs_never_carry_pins(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.settings import configure_logging

    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG, logger="bot")
    code_id = bot.seam.ids["codes"]["healthy_cleaner"]
    raw = await bot.seam.get_access_code(code_id)
    assert raw is not None
    _, key = await bot.press("show_pin", code_id)
    assert raw["code"] in reply_text(await bot.reply(key))
    assert logging.getLogger("slack_sdk").getEffectiveLevel() >= logging.INFO
    assert raw["code"] not in caplog.text


async def test_acknowledge_twice_is_a_no_op(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    from bot.app import build_alert_service as build_alert_manager
    from bot.app import build_slack_client
    from bot.services.observing import scan_workspace
    from tests.scenario.test_alert_controls import CHANNEL, alert_of

    async for bot in serve_bot(tmp_path, seam_fake, slack, alert_channel=CHANNEL):
        bot.services.alerts = build_alert_manager(
            bot.services, build_slack_client(bot.settings), pace_seconds=0
        )
        await bot.services.alerts.reconcile(
            await scan_workspace(bot.services.seam, catalogue=bot.services.catalogue)
        )
        code_id = seam_fake.ids["codes"]["no_space"]
        record = await alert_of(bot, f"code:{code_id}")
        for _ in range(3):
            _, key = await bot.press(
                "alert_ack",
                f"code:{code_id}",
                is_ephemeral=False,
                channel_id=CHANNEL,
                message_ts=record.ts or "",
            )
        await bot.slack.wait_for_response(key, timeout=10)
        assert "Already acknowledged" in reply_text(bot.slack.responses[key][0])
        await asyncio.sleep(0.5)
        replies = [
            c
            for c in bot.slack.calls_to("chat.postMessage")
            if c.body.get("thread_ts") == record.ts and "acknowledged" in c.body.get("text", "")
        ]
        assert len(replies) == 1


async def test_stale_command_form_is_401(bot: Bot) -> None:
    body = slash_command_body("x", response_url=bot.slack.response_url("s"), trigger_id="t")
    headers = signed_headers(SIGNING_SECRET, body, int(time.time()) - 1000)
    response = await bot.http.post(f"{bot.url}/slack/events", content=body, headers=headers)
    assert response.status_code == 401


async def test_shutdown_waits_for_a_remedy_in_flight(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    from bot.store import Store

    served = serve_bot(tmp_path, seam_fake, slack)
    bot = await served.__anext__()
    view, _ = await open_modal(bot, "update_pin", seam_fake.ids["codes"]["failed_to_set"])
    await seam_fake.delay(1.5, paths=["/access_codes/update"])
    await bot.submit(view, pin_values("5821"))
    await asyncio.sleep(0.2)  # the update is in flight
    with pytest.raises(StopAsyncIteration):
        await served.__anext__()  # the server shuts down now
    store = await Store.open(await database(tmp_path / "bot.sqlite3"))
    try:
        entries = await store.audit_entries()
        assert [e.outcome for e in entries] == ["success"]  # finished and audited, not cut off
    finally:
        await store.close()


async def test_forged_confirmation_for_a_remedy_that_does_not_apply_is_refused(bot: Bot) -> None:
    """A backup pull for an ongoing code, submitted directly (an old or forged form)."""
    from bot.slack.payloads import RemedyContext

    code_id = bot.seam.ids["codes"]["healthy_cleaner"]  # ongoing: no backup pool
    ctx = RemedyContext(
        action="pull_backup",
        code=code_id,
        target=code_id,
        response_url=bot.slack.response_url("forged-backup"),
    )
    view = {"id": "V77", "callback_id": "remedy_confirm", "private_metadata": ctx.dumps()}
    await bot.submit(view, {})
    entries = await wait_audit(bot)
    assert entries[0].outcome == "error" and "backup codes work only" in entries[0].detail
    assert await bot.seam.calls("/access_codes/pull_backup_access_code") == []


async def test_clicker_is_told_when_the_thread_reply_fails(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["duplicate"]
    view, key = await open_modal(
        bot,
        "convert_unmanaged",
        code_id,
        is_ephemeral=False,
        channel_id="CGONE",
        message_ts="1700000009.000100",
    )
    bot.slack.fail_next("chat.postMessage", status=200, error="not_in_channel")
    await bot.submit(view, {})
    reply = await bot.reply(key)
    assert "Convert duplicate to managed" in reply_text(reply)
