"""Alerts that never hide or invent a problem, end to end (issue: "alerts that never hide...").

The seeded official Seam fake behind the test shim, the real scanner and alert service, the Slack
fake. Three situations, each asserted on what reaches Slack:

1. a code error that only looks like a lock problem (legacy `august_lock_temporarily_offline`,
   not flagged `is_device_error`, the lock online) beside a bad-format code and a duplicate PIN:
   three code alerts with their own buttons, no lock alert hiding them; once the lock really is
   offline, only what the outage explains is folded;
2. list answers whose cursor repeats (a server that loops) or that stop short: nothing that was
   not read is resolved;
3. every alert offers the buttons its advice names (free a slot, re-check, backup code...).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.seam.client import SeamClient
from bot.store import Store
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from tests.scenario.test_alerts_integration import (  # noqa: F401 (fixtures)
    keys,
    make_manager,
    roots,
    scan_and_reconcile,
    seam,
    slack,
    store,
)
from tests.support.fixtures import seam_fake, seam_fake_process  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="module")


def alert(fake: FakeSlack, key: str) -> dict[str, Any]:
    """The alert message with this key, as the channel shows it now."""
    return next(m for m in roots(fake) if m["metadata"]["event_payload"]["alert_key"] == key)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """action_id -> button text of every button on a message."""
    return {
        element["action_id"]: element.get("text", {}).get("text", "")
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    }


def issue(code: str, **flags: Any) -> dict[str, Any]:
    return {"error_code": code, "message": code.replace("_", " "), **flags}


async def test_a_code_error_that_looks_like_a_lock_problem_hides_nothing(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,  # noqa: F811
    store: Store,  # noqa: F811
    slack: FakeSlack,  # noqa: F811
) -> None:
    ids = seam_fake.ids
    front = ids["devices"]["front_door"]
    looks_offline = ids["codes"]["healthy_cleaner"]
    bad_format = ids["codes"]["august_slots_full"]
    duplicate = ids["codes"]["failed_to_set"]  # a guest code starting within 24 h
    await seam_fake.update_access_code(
        looks_offline, errors=[issue("august_lock_temporarily_offline")]
    )
    await seam_fake.update_access_code(
        bad_format, errors=[issue("august_lock_bad_access_code_format")]
    )
    await seam_fake.update_access_code(duplicate, errors=[issue("duplicate_code_on_device")])
    manager = make_manager(store, slack)
    report = await scan_and_reconcile(seam, manager)
    posted = keys(slack)
    assert f"device:{front}" not in posted  # the lock reports online: no lock alert
    for code_id in (looks_offline, bad_format, duplicate):
        assert f"code:{code_id}" in posted
    assert report.folded == 0
    assert "remedy:convert_unmanaged" in buttons(alert(slack, f"code:{duplicate}"))
    assert "remedy:delete_unmanaged" in buttons(alert(slack, f"code:{duplicate}"))
    assert "remedy:update_pin" in buttons(alert(slack, f"code:{bad_format}"))


async def test_an_offline_lock_folds_only_what_the_outage_explains(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,  # noqa: F811
    store: Store,  # noqa: F811
    slack: FakeSlack,  # noqa: F811
) -> None:
    ids = seam_fake.ids
    front = ids["devices"]["front_door"]
    offline = issue("device_offline", is_device_error=True)
    await seam_fake.update_device(front, errors=[offline], properties={"online": False})
    codes = {
        ids["codes"]["healthy_cleaner"]: "august_lock_temporarily_offline",
        ids["codes"]["august_slots_full"]: "august_lock_bad_access_code_format",
        ids["codes"]["failed_to_set"]: "duplicate_code_on_device",
    }
    for code_id, own in codes.items():
        await seam_fake.update_access_code(code_id, errors=[offline, issue(own)])
    report = await scan_and_reconcile(seam, make_manager(store, slack))
    posted = keys(slack)
    assert f"device:{front}" in posted
    # The outage explains "temporarily offline" (now the lock's own problem, shown there);
    # a bad format and a duplicate PIN have causes of their own: own alerts, own buttons.
    assert f"code:{ids['codes']['healthy_cleaner']}" not in posted
    assert f"code:{ids['codes']['august_slots_full']}" in posted
    assert f"code:{ids['codes']['failed_to_set']}" in posted
    assert report.folded == 0
    duplicate_buttons = buttons(alert(slack, f"code:{ids['codes']['failed_to_set']}"))
    assert "remedy:convert_unmanaged" in duplicate_buttons
    lock_alert = str(alert(slack, f"device:{front}")["blocks"])
    assert "Lock is offline" in lock_alert and "held back" not in lock_alert


@pytest.mark.parametrize(
    ("paths", "page_size"),
    [(["/access_codes/list"], 1), (["/devices/list"], 2)],
)
async def test_a_list_that_loops_resolves_nothing_it_did_not_read(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,  # noqa: F811
    store: Store,  # noqa: F811
    slack: FakeSlack,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    paths: list[str],
    page_size: int,
) -> None:
    manager = make_manager(store, slack)
    first = await scan_and_reconcile(seam, manager)
    assert first.posted >= 8
    open_before = {k for k, r in (await store.load_alerts()).items() if r.state != "resolved"}
    await seam_fake.paginate(page_size, paths, loop=True)
    caplog.set_level(logging.WARNING)
    report = await scan_and_reconcile(seam, manager)
    assert report.resolved == 0
    open_after = {k for k, r in (await store.load_alerts()).items() if r.state != "resolved"}
    assert open_after == open_before
    edits = slack.calls_to("chat.update")
    assert not any("Resolved" in str(call.body) for call in edits)
    assert "list incomplete" in caplog.text and "repeated" in caplog.text
    # The same pages without the loop are read to the end: still nothing is resolved.
    await seam_fake.paginate(page_size, paths, loop=False)
    again = await scan_and_reconcile(seam, manager)
    assert again.resolved == 0 and again.posted == 0


async def test_alerts_offer_the_buttons_their_advice_names(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,  # noqa: F811
    store: Store,  # noqa: F811
    slack: FakeSlack,  # noqa: F811
) -> None:
    ids = seam_fake.ids
    manager = make_manager(store, slack)
    await scan_and_reconcile(seam, manager)
    # "Lock is at its limit of active codes": delete codes (Free a slot), then re-check.
    lobby = buttons(alert(slack, f"device:{ids['devices']['lobby']}"))
    assert "remedy:free_slot" in lobby and "remedy:recheck" in lobby
    # "Another app is also managing this lock": check the device, re-check.
    garage = buttons(alert(slack, f"device:{ids['devices']['garage']}"))
    assert "remedy:check_device" in garage and "remedy:recheck" in garage
    # An offline lock with a guest arriving: a backup code for that guest, named.
    offline = buttons(alert(slack, f"device:{ids['devices']['unit_3a_front_door']}"))
    assert offline.get("remedy:pull_backup", "").startswith("Use backup code: Guest: Sam Rivera")
    assert "remedy:check_device" in offline
