"""Buttons answer where you click: the clicked alert says what is under way and what came of it.

The served bot, the official Seam fake behind the shim, the Slack fake, real SQLite; every
assertion is on what reaches the Slack fake (`chat.update` of the clicked alert, thread replies,
the message as the channel shows it now).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.slack_requests import block_actions_body, view_submission_body
from tests.conftest import Bot, reply_text
from tests.scenario.test_alert_controls import (  # noqa: F401 (fixture)
    CHANNEL,
    alert_of,
    alerting,
    current_text,
    wait_resolved,
    wait_thread_reply,
)
from tests.scenario.test_remedies import open_modal, pin_values


async def press_on_alert(bot: Bot, action_id: str, value: str, ts: str, **kw: Any) -> str:
    """Click a button on the alert message `ts`, sending its blocks as Slack does."""
    key = f"fb{time.monotonic_ns()}"
    message = bot.slack.message_store[(CHANNEL, ts)]
    body = block_actions_body(
        action_id,
        value,
        channel_id=CHANNEL,
        message_ts=ts,
        response_url=bot.slack.response_url(key),
        trigger_id=bot.slack.issue_trigger_id(),
        message_blocks=message.get("blocks"),
        message_text=message.get("text", ""),
        **kw,
    )
    response = await bot.post(body)
    assert response.status_code == 200
    return key


def updates_of(bot: Bot, ts: str) -> list[str]:
    """The texts (with blocks) of every chat.update of the message `ts`, in order."""
    return [
        json.dumps(c.body, ensure_ascii=False)
        for c in bot.slack.calls_to("chat.update")
        if c.body.get("ts") == ts
    ]


async def test_recheck_on_an_alert_shows_working_then_the_outcome_on_the_alert(
    alerting: Bot,  # noqa: F811
) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["no_space"]
    record = await alert_of(bot, f"code:{code_id}")
    assert record.ts
    before = len(updates_of(bot, record.ts))
    started = time.monotonic()
    await press_on_alert(bot, "remedy:recheck", code_id, record.ts)
    await bot.slack.wait_for(lambda: len(updates_of(bot, record.ts or "")) >= before + 2, 10)
    assert time.monotonic() - started < 3
    working, after = updates_of(bot, record.ts)[before : before + 2]
    assert "Re-checking…" in working and "<@U111>" in working
    assert "remedy:" not in working  # buttons held back while it runs
    assert "Re-checked" in after and "by <@U111>: unchanged" in after
    shown = current_text(bot, record)
    assert "Re-checked" in shown and "remedy:free_slot" in shown  # buttons back, outcome said


async def test_recheck_that_finds_the_problem_gone_says_resolved(alerting: Bot) -> None:  # noqa: F811
    bot = alerting
    code_id = bot.seam.ids["codes"]["kwikset_unconfirmed"]
    record = await alert_of(bot, f"code:{code_id}")
    await bot.seam.update_access_code(code_id, errors=[], warnings=[])
    await press_on_alert(bot, "remedy:recheck", code_id, record.ts or "")
    await wait_resolved(bot, f"code:{code_id}")
    shown = current_text(bot, record)
    assert "Resolved" in shown and "Re-checked" in shown and "resolved" in shown


async def test_recheck_while_seam_is_down_puts_the_alert_back_and_says_so(
    alerting: Bot,  # noqa: F811
) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["no_space"]
    record = await alert_of(bot, f"code:{code_id}")
    original = current_text(bot, record)
    await bot.seam.fail(503, paths=["/access_codes/get", "/devices/get"])
    key = await press_on_alert(bot, "remedy:recheck", code_id, record.ts or "")
    await bot.slack.wait_for(lambda: "did not finish" in current_text(bot, record), 20)
    shown = current_text(bot, record)
    assert "remedy:free_slot" in shown  # the buttons are back
    assert original.split("did not finish")[0][:200] in shown
    assert "Seam" in reply_text(await bot.reply(key))  # the clicker is told why


async def test_unsnooze_and_unacknowledge_put_the_alert_back_to_open(
    alerting: Bot,  # noqa: F811
) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    key = f"code:{code_id}"
    record = await alert_of(bot, key)
    await press_on_alert(
        bot, "alert_snooze", f"24h|{key}", record.ts or "", action_type="static_select"
    )
    await bot.slack.wait_for(lambda: "alert_unsnooze" in current_text(bot, record), 10)
    assert (await alert_of(bot, key)).state == "snoozed"
    await press_on_alert(bot, "alert_unsnooze", key, record.ts or "")
    await wait_thread_reply(bot, record.ts or "", "unsnoozed")
    assert (await alert_of(bot, key)).state == "open"
    await bot.slack.wait_for(lambda: "alert_unsnooze" not in current_text(bot, record), 10)

    await press_on_alert(bot, "alert_ack", key, record.ts or "")
    await bot.slack.wait_for(lambda: "alert_unack" in current_text(bot, record), 10)
    await press_on_alert(bot, "alert_unack", key, record.ts or "")
    await wait_thread_reply(bot, record.ts or "", "unacknowledged")
    assert (await alert_of(bot, key)).state == "open"
    entries = [e.action for e in await bot.services.store.audit_entries()]
    assert {"unsnooze", "unacknowledge"} <= set(entries)


async def test_snooze_until_a_picked_date_and_time(alerting: Bot) -> None:  # noqa: F811
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    key = f"code:{code_id}"
    record = await alert_of(bot, key)
    await press_on_alert(
        bot, "alert_snooze", f"pick|{key}", record.ts or "", action_type="static_select"
    )
    await bot.slack.wait_for_call("views.open", timeout=10)
    view = bot.slack.calls_to("views.open")[-1].body["view"]
    assert "datetimepicker" in json.dumps(view)

    def submit(when: datetime) -> bytes:
        return view_submission_body(
            view["callback_id"],
            {
                "snooze_until": {
                    "snooze_until_value": {
                        "type": "datetimepicker",
                        "selected_date_time": int(when.timestamp()),
                    }
                }
            },
            private_metadata=view["private_metadata"],
            trigger_id=bot.slack.issue_trigger_id(),
        )

    past = await bot.post(submit(datetime.now(UTC) - timedelta(hours=1)))
    assert "future" in past.text and (await alert_of(bot, key)).state == "open"
    far = await bot.post(submit(datetime.now(UTC) + timedelta(days=90)))
    assert "30 days" in far.text
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    ok = await bot.post(submit(when))
    assert ok.status_code == 200 and ok.text in ("", "null")
    await wait_thread_reply(bot, record.ts or "", "snoozed")
    snoozed = await alert_of(bot, key)
    assert snoozed.state == "snoozed" and snoozed.snoozed_until == when


async def test_a_fix_from_seam_code_is_said_in_the_alerts_thread_and_on_the_alert(
    alerting: Bot,  # noqa: F811
) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    record = await alert_of(bot, f"code:{code_id}")
    view, _ = await open_modal(bot, "update_pin", code_id)  # from an ephemeral /seam-code answer
    response = await bot.submit(view, pin_values("5821"))
    assert response.status_code == 200
    reply = await wait_thread_reply(bot, record.ts or "", "Update PIN")
    assert "<@U111>" in reply["text"] and "5821" not in reply["text"]
    await bot.slack.wait_for(lambda: "Update PIN" in current_text(bot, record), 10)
    assert "5821" not in current_text(bot, record)


async def test_delete_and_recreate_resolves_as_re_created_with_the_new_id(
    alerting: Bot,  # noqa: F811
) -> None:
    bot = alerting
    code_id = bot.seam.ids["codes"]["external_modification"]
    record = await alert_of(bot, f"code:{code_id}")
    view, _ = await open_modal(
        bot,
        "delete_and_recreate",
        code_id,
        is_ephemeral=False,
        channel_id=CHANNEL,
        message_ts=record.ts or "",
    )
    assert (await bot.submit(view, {})).status_code == 200
    await wait_resolved(bot, f"code:{code_id}")
    await bot.slack.wait_for(lambda: "Re-created as a new code" in current_text(bot, record), 10)
    shown = current_text(bot, record)
    assert "no longer in Seam" not in shown
    entries = await bot.services.store.audit_entries()
    new_id = next(e.detail for e in entries if e.action == "delete_and_recreate")
    assert new_id.split("new_access_code_id=")[-1] in shown


async def test_a_backup_code_still_on_the_lock_is_offered_for_removal_once_the_code_works(
    alerting: Bot,  # noqa: F811
) -> None:
    """Pull a backup for a failing guest code, then the original code works again: the
    resolved alert says the backup code still opens the lock and offers to remove it; removing
    it deletes exactly that code from Seam (read back), and is audited."""
    bot = alerting
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    record = await alert_of(bot, f"code:{code_id}")
    key = await press_on_alert(bot, "remedy:pull_backup", code_id, record.ts or "")
    await bot.slack.wait_for_call("views.update", timeout=10)
    view = bot.slack.views[bot.slack.calls_to("views.update")[-1].body["view_id"]]
    await bot.submit(view, {})
    await bot.slack.wait_for_response(key, timeout=10)
    original = await bot.seam.get_access_code(code_id)
    assert original is not None
    backup_id = original["pulled_backup_access_code_id"]
    assert backup_id and await bot.seam.get_access_code(backup_id) is not None

    await bot.seam.update_access_code(code_id, errors=[], warnings=[], status="set")
    await bot.services.refresh_devices([original["device_id"]])  # as a scan or webhook would
    await wait_resolved(bot, f"code:{code_id}")
    shown = current_text(bot, record)
    assert "Resolved" in shown and backup_id in shown and "still opens it" in shown
    assert "remedy:remove_backup" in shown

    view, _ = await open_modal(
        bot,
        "remove_backup",
        code_id,
        is_ephemeral=False,
        channel_id=CHANNEL,
        message_ts=record.ts or "",
    )
    assert "Remove backup" in json.dumps(view) and "stops working at once" in json.dumps(view)
    await bot.submit(view, {})
    for _ in range(150):
        entries = [
            e for e in await bot.services.store.audit_entries() if e.action == "remove_backup"
        ]
        if entries:
            break
        await asyncio.sleep(0.1)
    assert len(entries) == 1 and entries[0].outcome == "success"
    assert entries[0].access_code_id == backup_id
    deletes = await bot.seam.calls("/access_codes/delete")
    assert [c["body"]["access_code_id"] for c in deletes] == [backup_id]
    assert await bot.seam.get_access_code(backup_id) is None
    assert await bot.seam.get_access_code(code_id) is not None  # the guest's own code stays


async def test_a_re_check_of_an_alert_another_refresh_resolves_meanwhile_shows_it_resolved(
    alerting: Bot,  # noqa: F811
) -> None:
    """A scan or webhook resolves the alert while someone's re-check is reading Seam: the
    re-check must not put the open message back with "did not finish" (it did finish)."""
    bot = alerting
    code_id = bot.seam.ids["codes"]["kwikset_unconfirmed"]
    record = await alert_of(bot, f"code:{code_id}")
    code = await bot.seam.get_access_code(code_id)
    assert code is not None
    await bot.seam.delay(1.5, paths=["/access_codes/get"], phase="before")
    await press_on_alert(bot, "remedy:recheck", code_id, record.ts or "")
    await bot.slack.wait_for(lambda: "Re-checking" in current_text(bot, record), 5)
    await bot.seam.update_access_code(code_id, errors=[], warnings=[])
    await bot.services.refresh_devices([code["device_id"]])  # resolves it meanwhile
    replies = len(bot.slack.calls_to("chat.postMessage"))
    await bot.slack.wait_for(lambda: "Re-checked" in current_text(bot, record), 10)
    shown = current_text(bot, record)
    assert "Resolved" in shown and "did not finish" not in shown and "Re-checking" not in shown
    assert len(bot.slack.calls_to("chat.postMessage")) == replies  # no second "Resolved" reply
