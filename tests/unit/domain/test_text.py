"""Pure text helpers (`bot.domain.text`): masking, escaping, Slack dates, durations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.text import escape_mrkdwn, humanize_delta, mask_pin, slack_date


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
