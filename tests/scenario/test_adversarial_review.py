"""Adversarial review: forged, malformed and hostile payloads against the served bot.

Each failing test here is a confirmed problem (see the review report); the passing ones pin
attacks that are correctly refused and were not covered elsewhere. Real Seam fake, Slack fake,
SQLite, signed requests, loopback only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.services.observing import scan_workspace
from bot.slack.ids import ACTION_PICK, BLOCK_PICK
from bot.slack.payloads import RemedyContext
from devtools.slack_requests import block_actions_body, view_submission_body
from tests.conftest import Bot, reply_text
from tests.scenario.test_alert_controls import (  # noqa: F401 (fixture)
    CHANNEL,
    alert_of,
    alerting,
    current_text,
    wait_thread_reply,
)
from tests.scenario.test_remedies import open_modal, pin_values, wait_audit

# ----------------------------------------------------------------------------- helpers


async def submit_raw(
    bot: Bot,
    callback_id: str,
    values: dict[str, dict[str, Any]],
    private_metadata: str,
    *,
    user_id: str = "U111",
    view_id: str = "VADV1",
) -> Any:
    body = view_submission_body(
        callback_id,
        values,
        private_metadata=private_metadata,
        user_id=user_id,
        trigger_id=bot.slack.issue_trigger_id(),
        view_id=view_id,
    )
    return await bot.post(body)


async def press_raw(
    bot: Bot,
    action_id: str,
    value: str,
    *,
    ts: str,
    channel: str = CHANNEL,
    user_id: str = "U111",
    blocks: list[Any] | None = None,
    text: str = "",
    action_type: str = "button",
) -> str:
    key = f"adv{time.monotonic_ns()}"
    body = block_actions_body(
        action_id,
        value,
        user_id=user_id,
        channel_id=channel,
        message_ts=ts,
        response_url=bot.slack.response_url(key),
        trigger_id=bot.slack.issue_trigger_id(),
        message_blocks=blocks,
        message_text=text,
        action_type=action_type,
    )
    response = await bot.post(body)
    assert response.status_code == 200, (response.status_code, response.text)
    return key


def snooze_values(raw: Any) -> dict[str, dict[str, Any]]:
    return {
        "snooze_until": {
            "snooze_until_value": {"type": "datetimepicker", "selected_date_time": raw}
        }
    }


def snooze_metadata(alert_key: str, ts: str = "") -> str:
    return RemedyContext(
        action="snooze_until", code=alert_key, channel=CHANNEL, ts=ts, ephemeral=False
    ).dumps()


def all_channel_text(bot: Bot) -> str:
    """Every chat.postMessage / chat.update body the bot sent, as one string."""
    bodies = bot.slack.calls_to("chat.postMessage") + bot.slack.calls_to("chat.update")
    return "\n".join(json.dumps(c.body, ensure_ascii=False) for c in bodies)


# ============================================================================ confirmed problems


@pytest.mark.parametrize(
    "raw",
    [10**12, -(10**12), 10**30, "99999999999999999999", -(10**30)],
    ids=["year-33658", "year-before-1", "overflow", "huge-string", "negative-overflow"],
)
async def test_snooze_until_with_an_out_of_range_time_is_a_modal_error_not_a_500(
    alerting: Bot,  # noqa: F811
    raw: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A datetimepicker value that `datetime.fromtimestamp` cannot take must not crash."""
    bot = alerting
    key = f"code:{bot.seam.ids['codes']['failed_to_set']}"
    record = await alert_of(bot, key)
    response = await submit_raw(
        bot, "alert_snooze_until", snooze_values(raw), snooze_metadata(key, record.ts or "")
    )
    assert response.status_code == 200, (response.status_code, response.text)
    assert "errors" in response.text
    assert (await alert_of(bot, key)).state == "open"


async def test_free_slot_pick_with_a_huge_value_is_answered_not_a_500(bot: Bot) -> None:
    """on_choose puts the picked value into the confirm modal's private_metadata unchecked; past
    Slack's 3000 characters `View.to_dict()` raises and the submission gets a 500."""
    code_id = bot.seam.ids["codes"]["no_space"]
    view, _ = await open_modal(bot, "free_slot", code_id)
    picked = "a" * 3500
    response = await bot.submit(
        view,
        {
            BLOCK_PICK: {
                ACTION_PICK: {"type": "radio_buttons", "selected_option": {"value": picked}}
            }
        },
    )
    assert response.status_code == 200, (response.status_code, response.text[:300])
    assert await bot.seam.calls("/access_codes/delete") == []


async def test_refused_submission_with_large_but_accepted_metadata_is_answered_not_a_500(
    alerting: Bot,  # noqa: F811
) -> None:
    """RemedyContext.loads accepts up to 1000 characters per field, so a context whose dumps()
    is over Slack's 3000-character private_metadata limit is "valid"; rendering the refusal
    modal from it (message_modal -> View.to_dict) then raises."""
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    ctx = RemedyContext(
        action="delete_and_recreate",
        code=code_id,
        target="t" * 990,
        channel="C" * 990,
        ts="1" * 990,
        ephemeral=False,
        response_url="",
    )
    # Over Slack's limit as a whole: refused like any malformed metadata (answered, not a 500).
    assert RemedyContext.loads(ctx.dumps()) is None
    response = await submit_raw(bot, "remedy_confirm", {}, ctx.dumps(), user_id="U999")
    assert response.status_code == 200, (response.status_code, response.text[:300])
    assert "REMEDY_ALLOWED_USERS" in response.text


@pytest.mark.parametrize("text", ["&lt;", "&lt;&lt;", "&lt; &lt;", "<"])
async def test_a_lone_angle_bracket_command_gets_a_clear_answer(bot: Bot, text: str) -> None:
    """`/seam-code <` (Slack sends `&lt;`): parse_command_text indexes an empty token list
    (IndexError) before the ack; the user gets "something went wrong", not usage."""
    response, key, _ = await bot.command(text)
    assert response.status_code == 200, (response.status_code, response.text)
    assert any(w in response.text for w in ("Usage", "didn't work", "Give one")), response.text
    await asyncio.sleep(0.3)
    for reply in bot.slack.responses.get(key, []):
        assert "Something went wrong" not in reply_text(reply)


async def test_remedy_button_with_an_unparseable_value_is_told_the_button_is_stale(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """open_remedy has no replies_on_errors: Press.code_id() raising (value "<") escapes the
    listener after the ack, so the clicker hears nothing at all."""
    _, key = await bot.press("remedy:update_pin", "<")
    await bot.slack.wait_for_response(key, timeout=5)
    assert "out of date" in reply_text(bot.slack.responses[key][0])


async def test_unsnooze_does_not_undo_someone_elses_acknowledgement(
    alerting: Bot,  # noqa: F811
) -> None:
    """reopen_state reopens snoozed *or* acknowledged alerts whichever button was pressed: a
    stale Unsnooze (or a race with Acknowledge) silently cancels an acknowledgement and says
    "unsnoozed"."""
    bot = alerting
    key = f"code:{bot.seam.ids['codes']['failed_to_set']}"
    record = await alert_of(bot, key)
    await press_raw(bot, "alert_ack", key, ts=record.ts or "", user_id="U222")
    await wait_thread_reply(bot, record.ts or "", "acknowledged")
    answer = await press_raw(bot, "alert_unsnooze", key, ts=record.ts or "")
    await bot.slack.wait_for(
        lambda: (
            answer in bot.slack.responses
            or any(
                "unsnoozed" in c.body.get("text", "")
                for c in bot.slack.calls_to("chat.postMessage")
            )
        ),
        10,
    )
    assert (await alert_of(bot, key)).state == "acknowledged"


async def test_recheck_never_writes_the_payloads_blocks_onto_another_message(
    alerting: Bot,  # noqa: F811
) -> None:
    """show_working/restore trust `body.message`: a Re-check whose value is code A but whose
    container is alert B's message puts the payload's blocks (here with <!channel>) onto B and
    leaves them there, with a false "Seam could not be read" and no buttons."""
    bot = alerting
    code_a = bot.seam.ids["codes"]["no_space"]
    code_b = bot.seam.ids["codes"]["failed_to_set"]
    alert_b = await alert_of(bot, f"code:{code_b}")
    forged = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "<!channel> door codes moved: <https://evil.test|here>",
            },
        }
    ]
    key = await press_raw(
        bot, "remedy:recheck", code_a, ts=alert_b.ts or "", blocks=forged, text="<!channel>"
    )
    await bot.slack.wait_for_response(key, timeout=10)
    await asyncio.sleep(0.5)
    shown = current_text(bot, alert_b)
    assert "<!channel>" not in shown and "evil.test" not in shown, shown[:400]
    assert "remedy:" in shown or "alert_ack" in shown  # alert B keeps its buttons


async def test_recheck_whose_restore_fails_does_not_leave_the_alert_stuck_without_buttons(
    alerting: Bot,  # noqa: F811
) -> None:
    """show_working edits the alert without touching its stored content hash; if Seam cannot be
    read and the restore edit fails too, later scans see "unchanged" and never redraw it: the
    alert says "Re-checking…" with no buttons for good."""
    bot = alerting
    code_id = bot.seam.ids["codes"]["no_space"]
    akey = f"code:{code_id}"
    record = await alert_of(bot, akey)
    message = bot.slack.message_store[(CHANNEL, record.ts or "")]
    await bot.seam.fail(503, paths=["/access_codes/get", "/devices/get"])
    key = await press_raw(
        bot,
        "remedy:recheck",
        code_id,
        ts=record.ts or "",
        blocks=message.get("blocks"),
        text=message.get("text", ""),
    )
    await bot.slack.wait_for(lambda: "Re-checking" in current_text(bot, record), 10)
    bot.slack.fail_next("chat.update", status=200, error="internal_error", count=3)
    await bot.slack.wait_for_response(key, timeout=30)
    await bot.seam.fail(0)
    services = bot.services
    assert services.alerts is not None
    # Slack refuses the next edits too; every later scan tries again until it is redrawn.
    for _ in range(3):
        await services.alerts.reconcile(
            await scan_workspace(services.seam, catalogue=services.catalogue)
        )
    shown = current_text(bot, record)
    assert "Re-checking" not in shown and "remedy:free_slot" in shown, shown[:400]


async def test_alert_control_thread_reply_goes_to_the_alert_it_changed(
    alerting: Bot,  # noqa: F811
) -> None:
    """Acknowledge/Snooze/Unsnooze post "who did what" in the thread of the *clicked* message
    (press.channel/ts, or private_metadata's for snooze-until), not the thread of the alert the
    value names; a mismatched payload acknowledges A and announces it under B."""
    bot = alerting
    key_a = f"code:{bot.seam.ids['codes']['no_space']}"
    alert_a = await alert_of(bot, key_a)
    alert_b = await alert_of(bot, f"code:{bot.seam.ids['codes']['failed_to_set']}")
    await press_raw(bot, "alert_ack", key_a, ts=alert_b.ts or "")
    await bot.slack.wait_for(
        lambda: any(
            "acknowledged this alert" in c.body.get("text", "")
            for c in bot.slack.calls_to("chat.postMessage")
        ),
        10,
    )
    replies = [
        c.body
        for c in bot.slack.calls_to("chat.postMessage")
        if "acknowledged this alert" in c.body.get("text", "")
    ]
    assert (await alert_of(bot, key_a)).state == "acknowledged"
    assert [r.get("thread_ts") for r in replies] == [alert_a.ts]


@pytest.mark.parametrize(
    "callback_id", ["remedy_confirm", "remedy_update_pin", "remedy_free_slot", "alert_snooze_until"]
)
async def test_deeply_nested_private_metadata_is_answered_in_the_modal(
    bot: Bot, callback_id: str
) -> None:
    """RemedyContext.loads catches ValueError/TypeError only; json.loads of deeply nested
    metadata raises RecursionError, which escapes every submission handler (the HTTP guard
    turns it into a bare 400 with an "unhandled error" traceback in the log)."""
    metadata = '{"action":' + "[" * 2000 + "]" * 2000 + "}"
    response = await submit_raw(bot, callback_id, {"new_pin": {"pin_value": "5821"}}, metadata)
    assert response.status_code == 200, (response.status_code, response.text[:200])
    assert "lost track" in response.text


async def test_two_simultaneous_acknowledgements_announce_once(
    alerting: Bot,  # noqa: F811
) -> None:
    """acknowledge() reads the state, then writes it (two steps): two clicks at once both pass
    the "already acknowledged" check, both are audited and both are announced in the thread."""
    bot = alerting
    key = f"code:{bot.seam.ids['codes']['no_space']}"
    record = await alert_of(bot, key)
    await asyncio.gather(
        press_raw(bot, "alert_ack", key, ts=record.ts or "", user_id="U111"),
        press_raw(bot, "alert_ack", key, ts=record.ts or "", user_id="U222"),
    )
    await wait_thread_reply(bot, record.ts or "", "acknowledged")
    await asyncio.sleep(1.0)
    replies = [
        c
        for c in bot.slack.calls_to("chat.postMessage")
        if c.body.get("thread_ts") == record.ts and "acknowledged this alert" in c.body["text"]
    ]
    audits = [e for e in await bot.services.store.audit_entries() if e.action == "acknowledge"]
    assert len(replies) == 1 and len(audits) == 1, (len(replies), len(audits))


# ============================================================================ correctly refused


async def test_convert_and_delete_of_the_same_duplicate_do_not_both_reach_seam(bot: Bot) -> None:
    """Two remedies on one code: "Convert duplicate" and "Delete duplicate" submitted at the same
    time on the same unmanaged code; only one reaches Seam (the code lock of c5a9117; before it,
    claims were keyed by remedy and both ran)."""
    code_id = bot.seam.ids["codes"]["duplicate"]
    owner = bot.seam.ids["unmanaged"]["owner_code"]
    convert, _ = await open_modal(bot, "convert_unmanaged", code_id)
    delete, _ = await open_modal(bot, "delete_unmanaged", code_id, user_id="U222")
    await bot.seam.reset()
    await asyncio.gather(bot.submit(convert, {}), bot.submit(delete, {}, user_id="U222"))
    await wait_audit(bot, 1)
    await asyncio.sleep(1.0)
    sent = await bot.seam.calls("/access_codes/unmanaged/convert_to_managed") + (
        await bot.seam.calls("/access_codes/unmanaged/delete")
    )
    assert [c["body"]["access_code_id"] for c in sent] == [owner], sent


async def test_update_pin_and_delete_and_recreate_on_one_code_do_not_both_run(
    bot: Bot,
) -> None:
    """Update PIN and Delete & recreate of the same code at once: only one runs (the code lock of
    c5a9117; before it, the per-code claim covered Update PIN forms only and both ran)."""
    code_id = bot.seam.ids["codes"]["external_modification"]
    pin_view, _ = await open_modal(bot, "update_pin", code_id)
    recreate_view, _ = await open_modal(bot, "delete_and_recreate", code_id, user_id="U222")
    await bot.seam.reset()
    await bot.seam.delay(1.0, paths=["/access_codes/update", "/access_codes/delete"])
    await asyncio.gather(
        bot.submit(pin_view, pin_values("5821")),
        bot.submit(recreate_view, {}, user_id="U222"),
    )
    await wait_audit(bot, 1)
    await asyncio.sleep(2.5)
    updates = await bot.seam.calls("/access_codes/update")
    deletes = await bot.seam.calls("/access_codes/delete")
    assert len(updates) + len(deletes) == 1, (len(updates), len(deletes))


async def test_a_pin_is_never_sent_when_the_locks_code_list_is_incomplete(bot: Bot) -> None:
    """A Seam list that loops (repeated cursor) makes the clash check fail closed: the PIN form
    answers with an error and nothing is sent to Seam."""
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    view, _ = await open_modal(bot, "update_pin", code_id)
    await bot.seam.paginate(1, paths=["/access_codes/list"], loop=True)
    response = await bot.submit(view, pin_values("583916"))
    assert response.status_code == 200
    assert '"response_action":"errors"' in response.text.replace(" ", "")
    assert await bot.seam.calls("/access_codes/update") == []


@pytest.mark.parametrize(
    ("action_id", "value", "action_type"),
    [
        ("alert_ack", "{key}", "button"),
        ("alert_unack", "{key}", "button"),
        ("alert_unsnooze", "{key}", "button"),
        ("alert_snooze", "1h|{key}", "static_select"),
        ("alert_snooze", "pick|{key}", "static_select"),
        ("alert_snooze", "end|{key}", "static_select"),
        ("show_pin", "{code}", "button"),
        ("remedy:update_pin", "{code}", "button"),
        ("remedy:pull_backup", "{code}", "button"),
        ("remedy:delete_and_recreate", "{code}", "button"),
        ("remedy:free_slot", "{code}", "button"),
        ("remedy:convert_unmanaged", "{code}", "button"),
        ("remedy:delete_unmanaged", "{code}", "button"),
    ],
)
async def test_unlisted_user_is_refused_on_every_button(
    alerting: Bot,  # noqa: F811
    action_id: str,
    value: str,
    action_type: str,
) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    key = f"code:{code_id}"
    await bot.services.store.snooze(key, datetime.now(UTC) + timedelta(hours=1), "U111")
    record = await alert_of(bot, key)
    before_views = len(bot.slack.calls_to("views.open"))
    before_audit = len(await bot.services.store.audit_entries())
    await bot.seam.reset()
    answer = await press_raw(
        bot,
        action_id,
        value.format(key=key, code=code_id),
        ts=record.ts or "",
        user_id="U999",
        action_type=action_type,
    )
    await bot.slack.wait_for_response(answer, timeout=10)
    assert "can't run remedies" in reply_text(bot.slack.responses[answer][0])
    await asyncio.sleep(0.2)
    assert len(bot.slack.calls_to("views.open")) == before_views
    assert len(await bot.services.store.audit_entries()) == before_audit
    assert (await alert_of(bot, key)).state == "snoozed"
    mutations = [c for c in await bot.seam.calls() if not c["path"].endswith(("/get", "/list"))]
    assert mutations == []


@pytest.mark.parametrize(
    "callback_id", ["remedy_confirm", "remedy_update_pin", "remedy_free_slot", "alert_snooze_until"]
)
async def test_unlisted_user_is_refused_on_every_modal_submission(
    alerting: Bot,  # noqa: F811
    callback_id: str,
) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    key = f"code:{code_id}"
    action = {
        "remedy_confirm": "delete_and_recreate",
        "remedy_update_pin": "update_pin",
        "remedy_free_slot": "free_slot",
        "alert_snooze_until": "snooze_until",
    }[callback_id]
    ctx = RemedyContext(
        action=action,
        code=key if callback_id == "alert_snooze_until" else code_id,
        target=code_id,
        ephemeral=False,
    )
    values: dict[str, dict[str, Any]] = {
        "new_pin": {"pin_value": "5821"},
        BLOCK_PICK: {ACTION_PICK: {"type": "radio_buttons", "selected_option": {"value": code_id}}},
        **snooze_values(int(time.time()) + 7200),
    }
    await bot.seam.reset()
    response = await submit_raw(bot, callback_id, values, ctx.dumps(), user_id="U999")
    assert response.status_code == 200
    assert "REMEDY_ALLOWED_USERS" in response.text
    assert (await alert_of(bot, key)).state == "open"
    assert await bot.services.store.audit_entries() == []
    mutations = [c for c in await bot.seam.calls() if not c["path"].endswith(("/get", "/list"))]
    assert mutations == []


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        "null",
        "[]",
        '"x"',
        "{}",
        '{"action":"update_pin"}',
        '{"action":"update_pin","code":5}',
        '{"action":"update_pin","code":"x","ephemeral":"yes"}',
        '{"action":"nope","code":"x"}',
        '{"action":"update_pin","code":"' + "x" * 1001 + '"}',
    ],
)
@pytest.mark.parametrize(
    "callback_id", ["remedy_confirm", "remedy_update_pin", "remedy_free_slot", "alert_snooze_until"]
)
async def test_tampered_private_metadata_is_answered_in_the_modal(
    bot: Bot, callback_id: str, metadata: str
) -> None:
    values: dict[str, dict[str, Any]] = {
        "new_pin": {"pin_value": "5821"},
        BLOCK_PICK: {ACTION_PICK: {"type": "radio_buttons", "selected_option": {"value": "x"}}},
        **snooze_values(int(time.time()) + 7200),
    }
    response = await submit_raw(bot, callback_id, values, metadata)
    assert response.status_code == 200, (response.status_code, response.text[:200])
    assert "lost track" in response.text
    assert await bot.seam.calls("/access_codes/update") == []


@pytest.mark.parametrize("raw", [True, False, -5, "abc", 1.7e9, None, {"x": 1}, [1], ""])
async def test_snooze_until_odd_values_are_modal_errors(
    alerting: Bot,  # noqa: F811
    raw: Any,
) -> None:
    bot = alerting
    key = f"code:{bot.seam.ids['codes']['failed_to_set']}"
    response = await submit_raw(bot, "alert_snooze_until", snooze_values(raw), snooze_metadata(key))
    assert response.status_code == 200
    assert "errors" in response.text
    assert (await alert_of(bot, key)).state == "open"


async def test_forged_pin_form_for_another_code_changes_only_the_metadata_code_after_checks(
    bot: Bot,
) -> None:
    """A forged remedy_update_pin naming an unmanaged code (another lock's) is refused at
    submission: the runner re-reads the target and `refuses` it; nothing is sent to Seam."""
    landlord = bot.seam.ids["unmanaged"]["landlord_code"]
    ctx = RemedyContext(
        action="update_pin", code=landlord, response_url=bot.slack.response_url("forged-pin")
    )
    response = await submit_raw(
        bot, "remedy_update_pin", {"new_pin": {"pin_value": "5821"}}, ctx.dumps()
    )
    assert response.status_code == 200
    assert "unmanaged" in response.text
    assert await bot.seam.calls("/access_codes/update") == []


async def test_forged_confirm_for_a_code_on_another_lock_is_refused(bot: Bot) -> None:
    """free_slot confirmation whose target is on another lock than the message's code."""
    no_space = bot.seam.ids["codes"]["no_space"]  # lobby
    victim = bot.seam.ids["codes"]["healthy_cleaner"]  # front door
    ctx = RemedyContext(
        action="free_slot",
        code=no_space,
        target=victim,
        response_url=bot.slack.response_url("forged-free"),
    )
    await submit_raw(bot, "remedy_confirm", {}, ctx.dumps())
    entries = await wait_audit(bot)
    assert entries[0].outcome == "error"
    assert await bot.seam.calls("/access_codes/delete") == []
    assert await bot.seam.calls("/access_codes/unmanaged/delete") == []


async def test_forged_response_url_in_private_metadata_is_never_posted_to(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """The middleware checks body.response_url only; a private_metadata response_url outside
    Slack is refused at the point of use (send_to_url), so a backup PIN never leaves."""
    caplog.set_level(logging.INFO)
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    ctx = RemedyContext(
        action="pull_backup",
        code=code_id,
        target=code_id,
        ephemeral=True,
        response_url="http://127.0.0.2:9/steal",
    )
    await submit_raw(bot, "remedy_confirm", {}, ctx.dumps())
    await wait_audit(bot)
    await asyncio.sleep(0.3)
    assert "no usable response_url" in caplog.text
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_mention_injection_through_names_and_seam_messages_is_escaped(
    alerting: Bot,  # noqa: F811
) -> None:
    """Names and Seam messages with <!channel>, <@U…> and links stay escaped in alerts, activity
    lines, thread replies and resolved messages."""
    bot = alerting
    code_id = bot.seam.ids["codes"]["no_space"]
    device_id = bot.seam.ids["devices"]["lobby"]
    evil = "<!channel> <@U0ADMIN> <https://evil.test|click>"
    await bot.seam.update_access_code(
        code_id,
        name=evil,
        errors=[
            {
                "error_code": "no_space_for_access_code_on_device",
                "message": evil,
                "is_access_code_error": True,
                "created_at": "2025-01-01T00:00:00.000Z",
            },
            {
                "error_code": "<!here>_new",
                "message": evil,
                "is_access_code_error": True,
                "created_at": "2025-01-01T00:00:00.000Z",
            },
        ],
    )
    await bot.seam.update_device(device_id, properties={"name": evil})
    record = await alert_of(bot, f"code:{code_id}")
    await press_raw(
        bot,
        "remedy:recheck",
        code_id,
        ts=record.ts or "",
        blocks=bot.slack.message_store[(CHANNEL, record.ts or "")].get("blocks"),
    )
    await bot.slack.wait_for(lambda: "Re-checked" in current_text(bot, record), 10)
    await bot.seam.update_access_code(code_id, errors=[], warnings=[])
    await press_raw(
        bot,
        "remedy:recheck",
        code_id,
        ts=record.ts or "",
        blocks=bot.slack.message_store[(CHANNEL, record.ts or "")].get("blocks"),
    )
    await bot.slack.wait_for(lambda: "Resolved" in current_text(bot, record), 10)
    sent = all_channel_text(bot)
    for needle in ("<!channel>", "<!here>", "<@U0ADMIN>", "<https://evil.test"):
        assert needle not in sent, needle


async def test_no_full_pin_in_channel_messages_logs_or_audit_rows(
    alerting: Bot,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Update PIN from an alert, a Seam refusal quoting the PIN, and a backup pull: the full
    PINs never reach a channel message, a thread reply, a log line or an audit row."""
    from bot.settings import configure_logging

    configure_logging("DEBUG")  # the bot's own logging setup, at its most verbose
    caplog.set_level(logging.DEBUG, logger="bot")
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    record = await alert_of(bot, f"code:{code_id}")
    raw = await bot.seam.get_access_code(code_id)
    assert raw is not None
    old_pin = raw["code"]
    view, _ = await open_modal(
        bot,
        "update_pin",
        code_id,
        is_ephemeral=False,
        channel_id=CHANNEL,
        message_ts=record.ts or "",
    )
    assert old_pin not in view["private_metadata"]
    await bot.submit(view, pin_values("583916"))
    await wait_audit(bot, 1)
    await wait_thread_reply(bot, record.ts or "", "ran *Update PIN*")
    for _ in range(100):  # the code lock is held until the outcome is reported
        if await bot.services.store.remedy_claim(f"code_lock:{code_id}") is None:
            break
        await asyncio.sleep(0.05)
    backup_view, backup_key = await open_modal(
        bot,
        "pull_backup",
        code_id,
        is_ephemeral=False,
        channel_id=CHANNEL,
        message_ts=record.ts or "",
    )
    await bot.submit(backup_view, {})
    await wait_audit(bot, 2)
    note = await bot.reply(backup_key)
    backup_pin = re.search(r"`(\d{4,12})`", reply_text(note))
    assert backup_pin is not None
    await asyncio.sleep(0.5)
    sent = all_channel_text(bot)
    audit = json.dumps([e.__dict__ for e in await bot.services.store.audit_entries()], default=str)
    for pin in ("583916", old_pin, backup_pin.group(1)):
        exact = re.compile(rf"(?<![0-9A-Za-z-]){pin}(?![0-9A-Za-z-])")
        assert not exact.search(sent), pin
        assert not exact.search(audit), pin
        hits = [
            r.name + ": " + r.getMessage()[:300]
            for r in caplog.records
            if exact.search(r.getMessage())
        ]
        assert not hits, (pin, hits)
