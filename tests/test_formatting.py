"""Pure text helpers: masking, escaping, Slack dates, command parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.text import escape_mrkdwn, humanize_delta, mask_pin, slack_date
from bot.slack.payloads import parse_command_text


@pytest.mark.parametrize(
    ("pin", "shown"),
    [
        ("123434", "••34"),
        ("2580", "••80"),
        ("12", "••••"),
        (None, "(no PIN yet)"),
        ("", "(no PIN yet)"),
    ],
)
def test_mask_pin(pin: str | None, shown: str) -> None:
    assert mask_pin(pin) == shown
    if pin and len(pin) >= 4:
        assert pin not in mask_pin(pin)


def test_escape_blocks_mentions_and_links() -> None:
    assert escape_mrkdwn("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
    assert escape_mrkdwn("x" * 10, limit=5) == "xxxx…"


def test_slack_date_has_token_and_utc_fallback() -> None:
    moment = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    token = slack_date(moment)
    assert token.startswith(f"<!date^{int(moment.timestamp())}^")
    assert token.endswith("|2026-12-01 15:00 UTC>")
    assert slack_date(None) == "—"


def test_humanize_delta() -> None:
    assert humanize_delta(5 * 3600) == "5 h"
    assert humanize_delta(90) == "2 min"
    assert humanize_delta(3 * 86400) == "3 d"


UUID = "8f4c0b2e-5d1a-4c1e-9d5f-2b7a9e0c1a23"


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("", "help", ""),
        (None, "help", ""),
        ("   ", "help", ""),
        ("help", "help", ""),
        ("HELP", "help", ""),
        (UUID, "id", UUID),
        (f"  {UUID}\u00a0", "id", UUID),
        (f"\u200b{UUID}\u200d", "id", UUID),
        (f"\ufeff{UUID}", "id", UUID),
        (f"`{UUID}`", "id", UUID),
        (f"<https://console.seam.co/access_codes/{UUID}|{UUID}>", "id", UUID),
        (f"<https://console.seam.co/access_codes/{UUID}>", "id", UUID),
        (f"https://console.seam.co/x?access_code_id={UUID}", "id", UUID),
        ("access_code1", "id", "access_code1"),
        ("a b", "invalid", "one access code ID"),
        ("x" * 65, "invalid", "too long"),
        ("<!channel>", "invalid", "doesn't look like"),
        ("abc;drop", "invalid", "doesn't look like"),
        ("../../etc", "invalid", "doesn't look like"),
    ],
)
def test_parse_command_text(text: str | None, kind: str, value: str) -> None:
    parsed = parse_command_text(text)
    assert parsed.kind == kind
    if kind == "id":
        assert parsed.value == value
    elif kind == "invalid":
        assert value in parsed.value
