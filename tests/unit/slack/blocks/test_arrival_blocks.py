"""Block Kit of arrivals first: the digest, `/seam-code open|arrivals`, the App Home dashboard,
within Slack's limits; and the new command forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.arrivals import ESCALATION_THRESHOLDS, Arrival
from bot.domain.catalogue import default_catalogue
from bot.domain.dashboard import OpenProblem, order_problems, urgency_counts
from bot.slack import ids
from bot.slack.blocks.arrivals import (
    arrival_digest_message,
    arrivals_reply,
    escalation_reply,
    headline,
)
from bot.slack.blocks.common import usage_message
from bot.slack.blocks.dashboard import HomeHealth, dashboard_view, open_problems_reply
from bot.slack.payloads import parse_command_text
from devtools.fake_slack import validate_blocks, validate_view

CAT = default_catalogue()
NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)
HEALTH = HomeHealth(
    alert_channel="C1",
    channel_problem=None,
    remedies="everyone",
    webhooks_on=False,
    webhook_warning=None,
    scanning=True,
)


def arrival(i: int, state: str = "ok", hours: float = 10, **kw: Any) -> Arrival:
    problems = {"ok": (), "at_risk": ("at_risk_not_set",), "failing": ("failed_to_set_on_device",)}
    return Arrival(
        access_code_id=f"c{i}",
        device_id="d1",
        name=kw.get("name", f"Guest {i} <@U1>"),
        device_name="Front & Back",
        starts_at=NOW + timedelta(hours=hours),
        ends_at=None,
        state=state,  # type: ignore[arg-type]
        problems=problems[state],
    )


def problem(i: int, hours: float | None, kind: str = "error", **kw: Any) -> OpenProblem:
    return OpenProblem(
        alert_key=f"code:c{i}",
        subject="access_code",
        title=f"Guest {i}",
        device_name="Front Door",
        access_code_id=f"c{i}",
        device_id="d1",
        state=kw.get("state", "open"),
        problems=(("failed_to_set_on_device" if kind == "error" else "at_risk_not_set", kind),),  # type: ignore[arg-type]
        starts_at=None if hours is None else NOW + timedelta(hours=hours),
    )


def body(message: Any) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


def test_digest_headline_states_buttons_and_escaping() -> None:
    arrivals = [arrival(1, "ok", 30), arrival(2, "at_risk", 5), arrival(3, "failing", 50)]
    message = arrival_digest_message(arrivals, catalogue=CAT, now=NOW, tz=UTC)
    assert validate_blocks(message.blocks) == []
    assert message.text == "Pre-arrival check: 3 arrivals, 1 ready, 1 at risk, 1 failing"
    text = body(message)
    assert "&lt;@U1&gt;" in text and "<@U1>" not in text and "Front &amp; Back" in text
    buttons = [b["accessory"] for b in message.blocks if b.get("accessory")]
    assert [b["value"] for b in buttons] == ["c2", "c3"]  # soonest first, only those not OK
    assert {b["action_id"] for b in buttons} == {ids.remedy_action_id("recheck")}
    assert "Guest code not on the lock yet" in text and "(at risk)" in text
    assert "<!date^" in text and "{date_long_pretty}" in text  # days as date tokens


def test_no_arrivals_is_one_short_line() -> None:
    message = arrival_digest_message([], catalogue=CAT, now=NOW, tz=UTC)
    assert len(message.blocks) == 1
    assert message.text == "Pre-arrival check: No arrivals in the next 3 d."


def test_many_arrivals_stay_within_50_blocks_and_say_how_many_more() -> None:
    arrivals = [arrival(i, "failing" if i % 2 else "ok", hours=1 + i % 70) for i in range(400)]
    message = arrival_digest_message(arrivals, catalogue=CAT, now=NOW, tz=UTC, unseen_locks=2)
    assert validate_blocks(message.blocks) == []
    assert len(message.blocks) <= 50
    text = body(message)
    assert "…and " in text and "more" in text and "2 locks" in text
    assert "400 arrivals, 200 ready, 0 at risk, 200 failing" in text
    reply = arrivals_reply(arrivals, catalogue=CAT, now=NOW, tz=UTC, hours=72, as_of=NOW)
    assert validate_blocks(reply.blocks) == [] and len(reply.blocks) <= 50


def test_headline_counts() -> None:
    assert headline([arrival(1)], 72) == "1 arrival, 1 ready, 0 at risk, 0 failing"
    assert headline([], 24) == "No arrivals in the next 24 h."


def test_escalation_reply_mentions_only_when_given() -> None:
    t24, t4, _ = ESCALATION_THRESHOLDS
    quiet = escalation_reply(t24, starts_at=NOW, mention=None, problem_titles="X")
    assert "under 24 h" in quiet.text and "<!subteam" not in quiet.text
    loud = escalation_reply(t4, starts_at=NOW, mention="<!subteam^S1>", problem_titles="X")
    assert loud.text.startswith("<!subteam^S1>") and ":rotating_light:" in loud.text


def test_open_problems_urgent_first_and_counted() -> None:
    problems = order_problems(
        [problem(1, 30), problem(2, 2), problem(3, None), problem(4, -1), problem(5, 2, "warning")],
        NOW,
    )
    assert [p.access_code_id for p in problems] == ["c4", "c2", "c5", "c1", "c3"]
    assert urgency_counts(problems, NOW) == [
        ("stay in progress", 1),
        ("within 4 h", 2),
        ("within 24 h", 0),
        ("within 72 h", 1),
        ("no arrival soon", 1),
    ]
    reply = open_problems_reply(problems, catalogue=CAT, now=NOW)
    assert validate_blocks(reply.blocks) == []
    values = [b["accessory"]["value"] for b in reply.blocks if b.get("accessory")]
    assert values == ["c4", "c2", "c5", "c1", "c3"]
    assert "5 open problems" in body(reply)
    assert "No open problems" in open_problems_reply([], catalogue=CAT, now=NOW).text


def test_dashboard_stays_within_100_blocks_and_summarises() -> None:
    problems = order_problems([problem(i, i % 90) for i in range(300)], NOW)
    arrivals = [arrival(i, "failing", hours=1 + i % 70) for i in range(300)]
    view = dashboard_view(
        now=NOW,
        problems=problems,
        arrivals=arrivals,
        last_scan_at=NOW,
        last_webhook_at=None,
        health=HEALTH,
        catalogue=CAT,
        tz=UTC,
    )
    assert validate_view(view) == []
    assert len(view["blocks"]) <= 100
    text = json.dumps(view, ensure_ascii=False)
    assert "300 open problems" in text and "more; `/seam-code open` lists them" in text
    buttons = [b["accessory"] for b in view["blocks"] if b.get("accessory")]
    assert buttons and {b["action_id"] for b in buttons} == {ids.ACTION_HOME_SHOW_CODE}
    assert buttons[0]["value"] == "c0"  # the most urgent first
    assert "Last scan" in text and "Alert channel" in text


def test_dashboard_health_says_what_is_wrong() -> None:
    sick = HomeHealth(
        alert_channel="C1",
        channel_problem="chat.postMessage: not_in_channel",
        remedies="nobody",
        webhooks_on=False,
        webhook_warning=None,
        scanning=False,
    )
    view = dashboard_view(
        now=NOW,
        problems=[],
        arrivals=[],
        last_scan_at=None,
        last_webhook_at=None,
        health=sick,
        catalogue=CAT,
        tz=UTC,
    )
    text = json.dumps(view, ensure_ascii=False)
    assert "not_in_channel" in text and "Nobody may run remedies" in text
    assert "Seam webhooks off" in text and "No open problems" in text


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("open", "open", ""),
        ("OPEN", "open", ""),
        ("arrivals", "arrivals", "72"),
        ("arrivals 24", "arrivals", "24"),
        ("arrivals 48h", "arrivals", "48"),
        ("arrivals 0", "invalid", None),
        ("arrivals 500", "invalid", None),
        ("arrivals soon", "invalid", None),
        ("arrivals 1 2", "invalid", None),
    ],
)
def test_command_forms(text: str, kind: str, value: str | None) -> None:
    parsed = parse_command_text(text)
    assert parsed.kind == kind
    if value is not None:
        assert parsed.value == value
    else:
        assert "1 to 216" in parsed.value


def test_help_documents_every_form() -> None:
    text = body(usage_message())
    for form in ("<access_code_id>", "open", "arrivals [hours]", "help"):
        assert f"/seam-code {form}" in text
