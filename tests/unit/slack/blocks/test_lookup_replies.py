"""Replies of the read-only buttons (`bot.slack.blocks.replies`): Contact Seam support and
Check device."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.catalogue import default_catalogue
from bot.seam.failures import FailedCall
from bot.seam.models import AccessCode
from bot.slack.blocks.common import Message
from bot.slack.blocks.replies import device_check_message, support_summary_message
from devtools.fake_slack import validate_blocks
from tests.unit.domain.test_device_check import lock

NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)
CAT = default_catalogue()

CODE = AccessCode.model_validate(
    {
        "access_code_id": "ac1",
        "device_id": "d1",
        "workspace_id": "ws1",
        "name": "Guest: Jane Doe",
        "code": "482719",
        "status": "unset",
        "errors": [{"error_code": "failed_to_set_on_device", "message": "m"}],
    }
)


def text_of(message: Message) -> str:
    """The one section's mrkdwn of a notice message (checked against Slack's limits)."""
    assert validate_blocks(message.blocks, "message") == []
    return str(message.blocks[0]["text"]["text"])


def test_support_summary_lists_failed_requests_newest_first_with_their_ids() -> None:
    failures = [
        FailedCall(
            at=NOW,
            path="/access_codes/delete",
            error_type="lock_offline",
            request_id="req-d",
            action_attempt_id="aa-1",
        ),
        FailedCall(
            at=NOW - timedelta(minutes=5),
            path="/access_codes/update",
            error_type="rate_limited",
            status_code=429,
            request_id="req-9",
        ),
        FailedCall(at=NOW - timedelta(hours=1), path="/access_codes/get", error_type="timeout"),
    ]
    text = text_of(support_summary_message(CODE, failures))
    lines = text.split("```")[1].splitlines()
    assert "access_code_id: ac1" in lines and "device_id: d1" in lines
    assert "status: unset (not on the lock yet)" in lines
    assert lines.index("failed Seam requests seen by this bot (newest first):") == 5
    assert lines[6] == (
        "  2025-11-30 12:00:00 UTC  /access_codes/delete  action attempt aa-1 failed: "
        "lock_offline  seam-request-id req-d"
    )
    assert lines[7] == (
        "  2025-11-30 11:55:00 UTC  /access_codes/update  HTTP 429 rate_limited  "
        "seam-request-id req-9"
    )
    assert lines[8] == (
        "  2025-11-30 11:00:00 UTC  /access_codes/get  timeout (no answer)  no seam-request-id"
    )
    assert "482719" not in text and "••" not in text  # not even a masked PIN: support needs ids


def test_support_summary_says_when_the_bot_saw_no_failed_request() -> None:
    text = text_of(support_summary_message(CODE))
    assert "failed Seam requests seen by this bot: none since it last started" in text
    assert "any failed request" not in text  # no longer asks the reader to dig up the ids


# ------------------------------------------------------------------------------ device check


def test_device_check_of_an_offline_lock_says_since_when_and_what_to_do() -> None:
    since = NOW - timedelta(hours=2)
    offline = lock(
        False,
        {"error_code": "device_offline", "message": "Device is offline", "created_at": since},
        battery_level=0.18,
        battery={"status": "low"},
    )
    text = text_of(device_check_message(offline, CAT))
    assert f"*Unit 3A Front Door* is *offline* since <!date^{int(since.timestamp())}^" in text
    assert "(Seam's `device_offline`)" in text
    assert "Battery 18 % (Seam's last reading, low)." in text
    assert f"*What to do:*\n• {CAT.lookup('device_offline', 'error').remedy}" in text
    assert "If it is offline" not in text and "if Seam reports" not in text


def test_device_check_of_a_disconnected_account_says_to_reconnect_it() -> None:
    disconnected = lock(
        False, {"error_code": "account_disconnected", "message": "m", "is_device_error": False}
    )
    text = text_of(device_check_message(disconnected, CAT))
    assert f"• {CAT.lookup('account_disconnected', 'error').remedy}" in text
    assert CAT.lookup("device_offline", "error").remedy not in text
    assert " since " not in text  # Seam gave no time: nothing is said about it


def test_device_check_of_a_healthy_lock_says_there_is_nothing_to_do() -> None:
    text = text_of(device_check_message(lock(True), CAT))
    assert "*Unit 3A Front Door* is online." in text
    assert "Nothing to do" in text and "What to do" not in text and "offline" not in text


def test_device_check_when_seam_does_not_say() -> None:
    text = text_of(device_check_message(lock(None), CAT))
    assert "is in an unknown state." in text and "lock maker's app" in text
    missing = text_of(device_check_message(None, CAT))
    assert "Seam did not return the lock" in missing
