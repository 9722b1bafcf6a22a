"""Interactive remedies end to end: signed block_actions and view_submission requests through the
HTTP endpoint, the real Seam fake (plus shim), the Slack fake and a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.slack.ids import ACTION_PICK, ACTION_PIN, BLOCK_PICK, BLOCK_PIN
from devtools.fake_slack import FakeSlack, validate_view
from devtools.seam_fake import SeamFake
from tests.conftest import Bot, reply_text, serve_bot


async def open_modal(
    bot: Bot, action: str, code_id: str, **press: Any
) -> tuple[dict[str, Any], str]:
    """Press a remedy button and return the modal once the bot has filled it in."""
    before = len(bot.slack.calls_to("views.update"))
    response, key = await bot.press(f"remedy:{action}", code_id, **press)
    assert response.status_code == 200
    await bot.slack.wait_for_call("views.update", count=before + 1, timeout=10)
    view_id = bot.slack.calls_to("views.update")[-1].body["view_id"]
    view = bot.slack.views[view_id]
    assert validate_view(view) == []
    return view, key


async def wait_audit(bot: Bot, count: int = 1) -> list[Any]:
    for _ in range(200):
        entries = await bot.services.store.audit_entries()
        if len(entries) >= count:
            return entries
        await asyncio.sleep(0.05)
    raise AssertionError("no audit row written")


def pin_values(pin: str) -> dict[str, dict[str, Any]]:
    return {BLOCK_PIN: {ACTION_PIN: pin}}


async def test_update_pin_opens_modal_before_seam_and_sets_pin_once(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    await bot.seam.reset()
    view, key = await open_modal(bot, "update_pin", code_id)
    open_call = bot.slack.calls_to("views.open")[0]
    seam_calls = await bot.seam.calls()
    assert seam_calls and open_call.at <= min(c["at"] for c in seam_calls)
    assert "New PIN" in json.dumps(view["blocks"])
    raw = await bot.seam.get_access_code(code_id)
    assert raw is not None
    assert raw["code"] not in json.dumps(view)  # modal shows the masked PIN only
    response = await bot.submit(view, pin_values("5821"))
    assert response.status_code == 200 and response.json() == {"response_action": "clear"}
    entries = await wait_audit(bot)
    assert entries[0].action == "update_pin" and entries[0].outcome == "success"
    assert entries[0].user_id == "U111" and entries[0].action_attempt_id
    assert "5821" not in entries[0].detail
    updates = await bot.seam.calls("/access_codes/update")
    assert len(updates) == 1
    assert updates[0]["body"] == {
        "access_code_id": code_id,
        "code": "5821",
        "starts_at": updates[0]["body"]["starts_at"],
        "ends_at": updates[0]["body"]["ends_at"],
    }
    after = await bot.seam.get_access_code(code_id)
    assert after is not None and after["type"] == "time_bound"  # the schedule is kept
    assert after["starts_at"][:16] == raw["starts_at"][:16]
    replaced = await bot.reply(key)
    assert replaced.get("replace_original") is True
    assert "Update PIN" in reply_text(replaced) and "5821" not in reply_text(replaced)
    # the same modal submitted again (double click / retry) sends nothing more to Seam
    again = await bot.submit(view, pin_values("5821"))
    assert "already" in again.text
    assert len(await bot.seam.calls("/access_codes/update")) == 1


@pytest.mark.parametrize(
    ("pin", "error"),
    [
        ("12ab", "digits only"),
        ("12", "PINs of"),
        ("1234567890123", "at most 12 digits"),
        ("", "Enter a PIN"),
    ],
)
async def test_invalid_pins_come_back_as_modal_errors(bot: Bot, pin: str, error: str) -> None:
    view, _ = await open_modal(bot, "update_pin", bot.seam.ids["codes"]["failed_to_set"])
    response = await bot.submit(view, pin_values(pin))
    body = response.json()
    assert body["response_action"] == "errors"
    assert error.lower() in body["errors"][BLOCK_PIN].lower()
    assert await bot.seam.calls("/access_codes/update") == []


async def test_pin_clashing_with_unmanaged_code_is_refused(bot: Bot) -> None:
    # the Schlage back door carries the unmanaged "Owner's code" with PIN 2580
    view, _ = await open_modal(bot, "update_pin", bot.seam.ids["codes"]["healthy_guest"])
    body = (await bot.submit(view, pin_values("2580"))).json()
    assert body["response_action"] == "errors"
    assert "already uses that PIN" in body["errors"][BLOCK_PIN]


async def test_device_constraints_are_checked(bot: Bot) -> None:
    # back_door forbids PINs starting with 12 and three consecutive digits
    view, _ = await open_modal(bot, "update_pin", bot.seam.ids["codes"]["healthy_guest"])
    body = (await bot.submit(view, pin_values("1297"))).json()
    assert "starting with 12" in body["errors"][BLOCK_PIN]


async def fail_action_attempts(
    bot: Bot,
    attempt_id: str = "aa-forced",
    error_type: str = "failed_to_set_on_device",
    message: str = "The lock rejected it",
    count: int | None = None,
) -> None:
    """Make `/action_attempts/get` answer that the attempt ended in `error` (`count` times;
    None: until reset)."""
    failed = {
        "action_attempt": {
            "action_attempt_id": attempt_id,
            "action_type": "UPDATE_ACCESS_CODE",
            "status": "error",
            "result": None,
            "error": {"type": error_type, "message": message},
        },
        "ok": True,
    }
    await bot.seam.fail(200, paths=["/action_attempts/get"], count=count, body=json.dumps(failed))


async def test_failed_action_attempt_is_reported_as_failed(bot: Bot) -> None:
    view, key = await open_modal(bot, "update_pin", bot.seam.ids["codes"]["failed_to_set"])
    await fail_action_attempts(bot)
    await bot.submit(view, pin_values("5821"))
    entries = await wait_audit(bot)
    assert entries[0].outcome == "error"
    text = reply_text(await bot.reply(key))
    assert "did not accept" in text and "The lock rejected it" in text


async def test_support_summary_carries_the_failed_requests_of_the_code(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    view, key = await open_modal(bot, "update_pin", code_id)
    await bot.seam.fail(429, paths=["/access_codes/update"], count=1, body="json")
    await bot.submit(view, pin_values("5821"))
    assert "too many changes" in reply_text(await bot.reply(key))
    view, key = await open_modal(bot, "update_pin", code_id)
    await fail_action_attempts(bot)
    await bot.submit(view, pin_values("5822"))
    assert "did not accept" in reply_text(await bot.reply(key))
    _, key = await bot.press("remedy:contact_support", code_id)
    summary = reply_text(await bot.reply(key))
    # newest first: the failed action attempt (with its update's request id), then the 429
    found = re.findall(r"/access_codes/update  (.+?)  seam-request-id (\S+)", summary)
    assert [what for what, _ in found] == [
        "action attempt aa-forced failed: failed_to_set_on_device",
        "HTTP 429 rate_limit_exceeded",
    ]
    assert len({rid for _, rid in found}) == 2
    assert "5821" not in summary and "5822" not in summary


async def test_device_check_of_the_offline_lock_says_since_when_and_what_to_do(bot: Bot) -> None:
    _, key = await bot.press("remedy:check_device", bot.seam.ids["codes"]["offline_guest"])
    text = reply_text(await bot.reply(key))
    assert "*Unit 3A Front Door* is *offline* since <!date^" in text
    assert "Seam's `device_offline`" in text and "Battery 18 % (Seam's last reading, low)" in text
    assert "Check the lock's batteries" in text  # the catalogue's remedy for being offline


async def test_unauthorized_user_changes_nothing(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    async for bot in serve_bot(tmp_path, seam_fake, slack, remedy_allowed_users="UBOSS"):
        code_id = seam_fake.ids["codes"]["failed_to_set"]
        await seam_fake.reset()
        response, key = await bot.press("remedy:update_pin", code_id, user_id="U999")
        assert response.status_code == 200
        assert "can't run remedies" in reply_text(await bot.reply(key))
        response, key = await bot.press("show_pin", code_id, user_id="U999")
        assert "can't run remedies" in reply_text(await bot.reply(key))
        assert slack.calls_to("views.open") == []
        assert await seam_fake.calls() == []
        assert await bot.services.store.audit_entries() == []


async def test_convert_unmanaged_duplicate(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["duplicate"]
    owner = bot.seam.ids["unmanaged"]["owner_code"]
    view, key = await open_modal(bot, "convert_unmanaged", code_id)
    shown = json.dumps(view["blocks"])
    assert "Owner" in shown and "created outside Seam" in shown and "2580" not in shown
    await bot.submit(view, {})
    entries = await wait_audit(bot)
    assert entries[0].action == "convert_unmanaged" and entries[0].access_code_id == owner
    calls = await bot.seam.calls("/access_codes/unmanaged/convert_to_managed")
    assert [c["body"] for c in calls] == [{"access_code_id": owner}]
    assert "success" in entries[0].outcome
    await bot.reply(key)


async def test_delete_unmanaged_duplicate_twice_runs_once(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["duplicate"]
    owner = bot.seam.ids["unmanaged"]["owner_code"]
    view, _ = await open_modal(bot, "delete_unmanaged", code_id)
    first, second = await asyncio.gather(bot.submit(view, {}), bot.submit(view, {}, user_id="U222"))
    texts = [first.text, second.text]
    assert sum("already" in t for t in texts) == 1
    await wait_audit(bot)
    calls = await bot.seam.calls("/access_codes/unmanaged/delete")
    assert [c["body"] for c in calls] == [{"access_code_id": owner}]


async def test_delete_and_recreate(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["external_modification"]
    raw = await bot.seam.get_access_code(code_id)
    assert raw is not None
    view, _ = await open_modal(bot, "delete_and_recreate", code_id)
    await bot.submit(view, {})
    entries = await wait_audit(bot)
    assert entries[0].action == "delete_and_recreate"
    deletes = await bot.seam.calls("/access_codes/delete")
    creates = await bot.seam.calls("/access_codes/create")
    assert [c["body"]["access_code_id"] for c in deletes] == [code_id]
    assert len(creates) == 1
    assert creates[0]["body"]["code"] == raw["code"] and creates[0]["body"]["name"] == raw["name"]


async def test_pull_backup_shows_pin_only_to_requester(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    view, key = await open_modal(bot, "pull_backup", code_id)
    await bot.submit(view, {})
    entries = await wait_audit(bot)
    assert entries[0].action == "pull_backup"
    calls = await bot.seam.calls("/access_codes/pull_backup_access_code")
    assert [c["body"] for c in calls] == [{"access_code_id": code_id}]
    backup_note = await bot.reply(key)
    assert backup_note["response_type"] == "ephemeral" and "Backup code pulled" in reply_text(
        backup_note
    )


async def test_pull_backup_not_offered_for_ongoing_code(bot: Bot) -> None:
    view, _ = await open_modal(bot, "pull_backup", bot.seam.ids["codes"]["healthy_cleaner"])
    assert view.get("submit") is None
    assert "No backup code can be pulled" in json.dumps(view["blocks"])


async def test_free_slot_pick_confirm_delete(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["no_space"]
    view, _ = await open_modal(bot, "free_slot", code_id)
    options = view["blocks"][1]["element"]["options"]
    victim = options[0]["value"]
    assert victim != code_id
    response = await bot.submit(
        view,
        {
            BLOCK_PICK: {
                ACTION_PICK: {"type": "radio_buttons", "selected_option": {"value": victim}}
            }
        },
    )
    confirm = response.json()
    assert confirm["response_action"] == "push"  # onto the list: Back returns to it
    assert validate_view(confirm["view"]) == [] and confirm["view"]["close"]["text"] == "Back"
    confirm_view = {**confirm["view"], "id": "V-pushed-review"}
    done = await bot.submit(confirm_view, {})
    assert done.json() == {"response_action": "clear"}  # closes the review and the list
    entries = await wait_audit(bot)
    assert entries[0].action == "free_slot" and entries[0].access_code_id == victim
    path = "/access_codes/delete"
    calls = await bot.seam.calls(path) + await bot.seam.calls("/access_codes/unmanaged/delete")
    assert [c["body"]["access_code_id"] for c in calls] == [victim]


async def test_seam_refusal_is_specific_and_releases_the_claim(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    view, key = await open_modal(bot, "update_pin", code_id)
    await bot.seam.fail(429, paths=["/access_codes/update"], count=1, body="json")
    await bot.submit(view, pin_values("5821"))
    entries = await wait_audit(bot)
    assert entries[0].outcome == "error"
    text = reply_text(await bot.reply(key))
    assert "too many changes" in text
    # nothing changed, so the same person may try again
    view2, _ = await open_modal(bot, "update_pin", code_id)
    await bot.submit(view2, pin_values("5821"))
    entries = await wait_audit(bot, 2)
    assert entries[0].outcome == "success"


async def test_show_pin_is_ephemeral_and_audited(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["healthy_cleaner"]
    raw = await bot.seam.get_access_code(code_id)
    assert raw is not None
    _, key = await bot.press("show_pin", code_id)
    reply = await bot.reply(key)
    assert reply["response_type"] == "ephemeral" and raw["code"] in reply_text(reply)
    entries = await wait_audit(bot)
    assert entries[0].action == "show_pin" and raw["code"] not in entries[0].detail


async def test_alert_message_gets_thread_reply(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["duplicate"]
    posted = await bot.services.seam.get_access_code(code_id)
    assert posted
    view, _ = await open_modal(
        bot,
        "delete_unmanaged",
        code_id,
        is_ephemeral=False,
        channel_id="CALERTS",
        message_ts="1700000001.000100",
    )
    await bot.submit(view, {})
    await bot.slack.wait_for_call("chat.postMessage", timeout=10)
    reply = bot.slack.calls_to("chat.postMessage")[0].body
    assert reply["channel"] == "CALERTS" and reply["thread_ts"] == "1700000001.000100"
    assert "<@U111>" in reply["text"] and "Delete unmanaged duplicate" in reply["text"]


async def test_malformed_private_metadata_is_answered(bot: Bot) -> None:
    view = {"id": "V999", "callback_id": "remedy_confirm", "private_metadata": "{not json"}
    response = await bot.submit(view, {})
    assert response.status_code == 200
    assert "lost track" in response.text
    assert await bot.seam.calls() == []
