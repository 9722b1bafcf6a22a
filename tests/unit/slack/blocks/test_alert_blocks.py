"""Alert message builders (bot/alert_blocks.py): Block Kit limits, escaping, PINs, urgency."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.catalogue import Scope, default_catalogue
from bot.domain.findings import Finding
from bot.seam.models import AccessCode, Device
from bot.slack.blocks.alerts import (
    MAX_CODES_SHOWN,
    MAX_DIGEST_ITEMS,
    AlertStatus,
    DigestItem,
    code_alert_message,
    device_alert_message,
    digest_message,
    message_hash,
    reminder_reply,
    reopened_reply,
    resolved_message,
    resolved_reply,
    seconds_to_start,
    urgency_label,
    woke_reply,
)
from bot.slack.blocks.common import Message
from devtools.fake_slack import validate_blocks

CAT = default_catalogue()
NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)


def code(
    access_code_id: str = "ac1",
    *,
    name: str | None = "Guest: Jane",
    pin: str | None = "482719",
    starts_in_h: float | None = 5,
    managed: bool = True,
) -> AccessCode:
    fields: dict[str, Any] = {
        "access_code_id": access_code_id,
        "device_id": "d1",
        "name": name,
        "code": pin,
        "is_managed": managed,
    }
    if starts_in_h is not None:
        fields |= {
            "type": "time_bound",
            "starts_at": NOW + timedelta(hours=starts_in_h),
            "ends_at": NOW + timedelta(hours=starts_in_h + 72),
        }
    return AccessCode.model_validate(fields)


def finding(
    problem: str = "failed_to_set_on_device",
    *,
    kind: str = "error",
    access_code_id: str | None = "ac1",
    message: str = "Failed to set code on device.",
    scope: Scope = Scope.CODE,
    blocking: bool = True,
) -> Finding:
    return Finding(
        subject="access_code" if access_code_id else "device",
        access_code_id=access_code_id,
        device_id="d1",
        problem=problem,
        kind=kind,  # type: ignore[arg-type]
        message=message,
        scope=scope,
        blocking=blocking,
        observed_at=NOW,
    )


DEVICE = Device.model_validate(
    {"device_id": "d1", "display_name": "Unit 2B Front Door", "properties": {"online": True}}
)


def check(message: Message) -> str:
    """Valid for Slack (FakeSlack's validator), ≤ 50 blocks; returns all text as one string."""
    assert message.text
    assert len(message.blocks) <= 50
    assert validate_blocks(message.blocks, "message") == []
    return message.text + "\n" + json.dumps(message.blocks, ensure_ascii=False)


def test_code_alert_shows_problem_urgency_masked_pin_and_buttons() -> None:
    msg = code_alert_message(
        "ac1",
        "d1",
        [finding()],
        code=code(),
        device=DEVICE,
        catalogue=CAT,
        now=NOW,
        status=AlertStatus(first_seen=NOW - timedelta(hours=1)),
    )
    text = check(msg)
    assert "Guest: Jane" in text and "Unit 2B Front Door" in text
    assert "Starts within 8 h" in text  # 5 h away: the 8 h band
    assert "<!date^" in text  # Slack date tokens, seen in each reader's time zone
    assert "482719" not in text and "••19" in text
    assert "failed_to_set_on_device" in text
    actions = [b for b in msg.blocks if b["type"] == "actions"]
    assert [b["block_id"] for b in actions] == ["remedies", "alert_controls"]
    values = {e["value"] for e in actions[0]["elements"]}
    assert values == {"ac1"}  # buttons carry only the id
    ids = [e["action_id"] for e in actions[0]["elements"]]
    assert "remedy:recheck" in ids and "remedy:pull_backup" not in ids  # no backup available
    ack, snooze = actions[1]["elements"]
    assert ack["action_id"] == "alert_ack" and ack["value"] == "code:ac1"
    snooze_values = [o["value"] for o in snooze["options"]]
    # a labelled menu (not an unlabeled overflow), with a date-and-time choice
    assert snooze["type"] == "static_select" and snooze["placeholder"]["text"] == "Snooze…"
    assert snooze_values == ["1h|code:ac1", "24h|code:ac1", "end|code:ac1", "pick|code:ac1"]
    assert "starts within 8 h" in msg.text


def test_user_controlled_text_is_escaped_and_catalogue_text_is_not_double_escaped() -> None:
    evil = code(name="<!channel> & <https://x.example|click>")
    unknown = finding("brand_new_code", message="Lock said <b> & left")
    msg = code_alert_message(
        "ac1", "d1", [unknown], code=evil, device=DEVICE, catalogue=CAT, now=NOW
    )
    text = check(msg)
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;https" in text
    # The generic entry quotes Seam's message already made mrkdwn-safe by the catalogue
    # (lookalike characters); it is shown as is, never escaped a second time.
    assert "&amp;amp;" not in text and "&amp;lt;" not in text
    assert "Lock said ‹b› ＆ left" in text


def test_many_problems_stay_under_slack_limits() -> None:
    findings = [finding(f"problem_{i}", message="m" * 400) for i in range(60)]
    msg = code_alert_message(
        "ac1", "d1", findings, code=code(), device=DEVICE, catalogue=CAT, now=NOW
    )
    text = check(msg)
    assert "…and 52 more problems" in text


def test_unknown_code_snapshot_still_renders_ids() -> None:
    msg = code_alert_message(
        "ac9", "d9", [finding()], code=None, device=None, catalogue=CAT, now=NOW
    )
    text = check(msg)
    assert "ac9" in text and "d9" in text


def test_device_alert_lists_affected_codes_capped() -> None:
    offline = finding(
        "device_offline", access_code_id=None, message="Device is offline", scope=Scope.DEVICE
    )
    codes = {f"ac{i}": code(f"ac{i}", name=f"Guest {i}", starts_in_h=i + 1) for i in range(40)}
    affected = [
        (cid, (finding(access_code_id=cid),) if i == 0 else ()) for i, cid in enumerate(codes)
    ]
    msg = device_alert_message(
        "d1", [offline], affected, device=DEVICE, codes=codes, catalogue=CAT, now=NOW
    )
    text = check(msg)
    assert "40 access codes affected" in text and "held back" in text
    assert f"…and {40 - MAX_CODES_SHOWN} more affected codes" in text
    assert "Guest 0" in text and "Guest 39" not in text
    assert "Code could not be put on the lock" in text  # folded code-level problem
    assert all(c.code not in text for c in codes.values() if c.code)
    buttons = [b for b in msg.blocks if b["type"] == "actions"]
    assert buttons and buttons[0]["elements"][0]["action_id"] == "remedy:check_device"


def test_device_warning_does_not_claim_to_hold_codes_back() -> None:
    warning = finding(
        "third_party_integration_detected",
        kind="warning",
        access_code_id=None,
        scope=Scope.DEVICE,
        blocking=False,
    )
    msg = device_alert_message("d1", [warning], [], device=DEVICE, codes={}, catalogue=CAT, now=NOW)
    text = check(msg)
    assert "held back" not in text and "Lock problem" in text
    actions = [b["block_id"] for b in msg.blocks if b["type"] == "actions"]
    assert actions == ["alert_controls"]  # no remedy buttons without affected codes


@pytest.mark.parametrize(
    ("hours", "label"),
    [
        (0.5, "starts within 1 h"),
        (1.5, "starts within 2 h"),
        (5, "starts within 8 h"),
        (23, "starts within 24 h"),
        (30, "starts within 2 d"),
        (60, "starts within 3 d"),
        (8 * 24, "starts within 9 d"),
        (10 * 24, None),
        (-2, "stay in progress"),
    ],
)
def test_urgency_bands(hours: float, label: str | None) -> None:
    assert urgency_label(hours * 3600) == label


def test_seconds_to_start() -> None:
    assert seconds_to_start(code(starts_in_h=5), NOW) == 5 * 3600
    assert seconds_to_start(code(starts_in_h=None), NOW) is None  # ongoing
    assert seconds_to_start(code(starts_in_h=-100), NOW) is None  # ended
    assert seconds_to_start(None, NOW) is None


def test_hash_is_stable_within_a_band_and_changes_across_bands() -> None:
    def render(now: datetime) -> str:
        return message_hash(
            code_alert_message(
                "ac1", "d1", [finding()], code=code(), device=DEVICE, catalogue=CAT, now=now
            )
        )

    assert render(NOW) == render(NOW + timedelta(minutes=50))  # 5 h → 4.2 h: still "within 8 h"
    assert render(NOW) != render(NOW + timedelta(hours=1, minutes=30))  # 3.5 h: "within 4 h"


def test_status_lines() -> None:
    snoozed = code_alert_message(
        "ac1",
        "d1",
        [finding()],
        code=code(),
        device=DEVICE,
        catalogue=CAT,
        now=NOW,
        status=AlertStatus(state="snoozed", snoozed_until=NOW + timedelta(hours=4), by="U123ABC"),
    )
    assert "Snoozed until <!date^" in check(snoozed) and "<@U123ABC>" in check(snoozed)
    acked = code_alert_message(
        "ac1",
        "d1",
        [finding()],
        code=code(),
        device=DEVICE,
        catalogue=CAT,
        now=NOW,
        status=AlertStatus(state="acknowledged", by="<!here>"),
    )
    assert "<!here>" not in check(acked) and "Acknowledged by &lt;!here&gt;" in check(acked)


def test_resolved_form_and_replies() -> None:
    msg = resolved_message(
        subject="access_code",
        title="Guest <Jane>",
        device_name="Front",
        problem_titles=["Code could not be put on the lock"],
        resolved_at=NOW,
        gone=False,
        access_code_id="ac1",
        device_id="d1",
    )
    text = check(msg)
    assert "Resolved" in text and "Guest &lt;Jane&gt;" in text
    assert not [b for b in msg.blocks if b["type"] == "actions"]
    gone = resolved_message(
        subject="device",
        title="Front",
        device_name="Front",
        problem_titles=[],
        resolved_at=NOW,
        gone=True,
        access_code_id=None,
        device_id="d1",
    )
    assert "no longer in Seam" in check(gone)
    for reply in (
        resolved_reply(subject="access_code", gone=False),
        resolved_reply(subject="device", gone=False),
        resolved_reply(subject="access_code", gone=True),
        reminder_reply(open_seconds=26 * 3600, problem_titles=["X"], starts_in=3 * 3600),
        reopened_reply(["X"]),
        woke_reply(["X"]),
    ):
        check(reply)
    assert (
        "Still open after 26 h"
        in reminder_reply(open_seconds=26 * 3600, problem_titles=["X"], starts_in=3 * 3600).text
    )


def digest_items(n: int, *, open_: bool = True) -> list[DigestItem]:
    return [
        DigestItem(
            alert_key=f"code:ac{i}",
            title=f"Guest <{i}>",
            device_name="Front",
            problem_titles=("Code could not be put on the lock",),
            worst_kind="error",
            starts_in=(i + 1) * 3600.0,
            starts_at=NOW + timedelta(hours=i + 1),
            access_code_id=f"ac{i}",
            open=open_,
        )
        for i in range(n)
    ]


def test_digest_lists_top_items_and_counts_the_rest() -> None:
    msg = digest_message(digest_items(100), now=NOW, created_at=NOW)
    text = check(msg)
    assert "100 new access-code problems" in text
    assert f"…and {100 - MAX_DIGEST_ITEMS} more" in text
    assert "Guest &lt;0&gt;" in text and "Guest &lt;99&gt;" not in text
    assert "100 open · 0 resolved" in text


def test_digest_resolved_form() -> None:
    msg = digest_message(digest_items(30, open_=False), now=NOW, created_at=NOW)
    assert "All 30 problems from this digest are resolved" in check(msg)
