"""Outcomes verified on the lock: a remedy is "done" only when Seam shows the change.

The served bot, the official Seam fake behind the shim (which can answer 200 without doing
anything, as a lying server would), the Slack fake, real SQLite.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Bot, reply_text
from tests.scenario.test_remedies import open_modal, wait_audit
from tests.support.databases import sqlite_only


async def test_convert_answered_200_while_the_code_stays_unmanaged_is_not_success(
    bot: Bot,
) -> None:
    code_id = bot.seam.ids["codes"]["duplicate"]
    view, key = await open_modal(bot, "convert_unmanaged", code_id)
    # Seam says ok, and changes nothing.
    await bot.seam.fail(
        200, paths=["/access_codes/unmanaged/convert_to_managed"], body=json.dumps({"ok": True})
    )
    await bot.submit(view, {})
    entries = await wait_audit(bot)
    assert entries[0].action == "convert_unmanaged" and entries[0].outcome == "unknown"
    text = reply_text(await bot.reply(key, wait=15))
    assert "now managed" not in text and "still shows as unmanaged" in text


async def test_convert_that_seam_really_did_is_verified(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["duplicate"]
    view, _ = await open_modal(bot, "convert_unmanaged", code_id)
    await bot.submit(view, {})
    entries = await wait_audit(bot)
    assert entries[0].outcome == "success" and "Verified" in entries[0].detail


async def test_an_update_the_lock_never_shows_is_still_working_not_done(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    view, key = await open_modal(bot, "update_pin", code_id)
    # Seam accepts the PIN (no action attempt to follow), but the lock never shows it.
    await bot.seam.fail(200, paths=["/access_codes/update"], body=json.dumps({"ok": True}))
    await bot.submit(view, {"new_pin": {"pin_value": "5821"}})
    entries = await wait_audit(bot)
    assert entries[0].outcome == "pending"
    text = reply_text(await bot.reply(key, wait=15))
    assert "has not confirmed" in text and "5821" not in text


async def test_seam_code_shows_the_locks_own_warnings_too(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["external_modification"]  # on the Garage Entry lock
    _, key, _ = await bot.command(code_id)
    text = reply_text(await bot.reply(key))
    assert "The lock itself reports" in text and "third_party_integration_detected" in text


@sqlite_only  # it holds the SQLite file's write lock
async def test_a_busy_database_never_delays_the_ack_and_the_remedy_still_runs_once(
    bot: Bot,
) -> None:
    import sqlite3
    import threading
    import time

    code_id = bot.seam.ids["codes"]["duplicate"]
    view, key = await open_modal(bot, "delete_unmanaged", code_id)
    locked = threading.Event()

    def hold_the_database() -> None:
        db = sqlite3.connect(bot.settings.database_path, timeout=1)
        db.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(4)
        db.rollback()
        db.close()

    holder = threading.Thread(target=hold_the_database)
    holder.start()
    locked.wait(5)
    started = time.monotonic()
    response = await bot.submit(view, {})
    took = time.monotonic() - started
    assert response.status_code == 200 and took < 1.0, took
    assert "Working on it" in response.text
    holder.join()
    entries = await wait_audit(bot)
    assert [e.action for e in entries] == ["delete_unmanaged"]
    assert len(await bot.seam.calls("/access_codes/unmanaged/delete")) == 1
    assert "Delete unmanaged duplicate" in reply_text(await bot.reply(key, wait=20))


async def test_a_pulled_backup_pin_can_be_shown_again_to_allowed_users_only(
    tmp_path: Any, seam_fake: Any, slack: Any
) -> None:
    from tests.conftest import serve_bot

    async for bot in serve_bot(tmp_path, seam_fake, slack, remedy_allowed_users="U111"):
        code_id = seam_fake.ids["codes"]["failed_to_set"]
        view, key = await open_modal(bot, "pull_backup", code_id)
        await bot.submit(view, {})
        note = await bot.reply(key)
        text = reply_text(note)
        assert "stands in for" in text and "Unit 2B Front Door" in text and "valid" in text
        button = next(
            e
            for b in note["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "show_pin"
        )
        backup = await seam_fake.get_access_code(button["value"])
        assert backup is not None and backup["code"]
        _, again = await bot.press("show_pin", button["value"])  # later, the same person
        assert backup["code"] in reply_text(await bot.reply(again))
        _, other = await bot.press("show_pin", button["value"], user_id="U999")
        refused = reply_text(await bot.reply(other))
        assert "can't run remedies" in refused and backup["code"] not in refused
        shows = [e for e in await bot.services.store.audit_entries() if e.action == "show_pin"]
        assert len(shows) == 1 and shows[0].access_code_id == button["value"]
