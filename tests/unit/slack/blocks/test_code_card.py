"""The `/seam-code` answer (`bot.slack.blocks.code.access_code_message`): status wording."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.seam.models import AccessCode
from bot.slack.blocks.code import access_code_message
from devtools.fake_slack import validate_blocks

NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)


def card(status: str | None, *, managed: bool = True) -> tuple[str, str]:
    """(the Status field, the small print under the summary) of a code's answer."""
    code = AccessCode.model_validate(
        {
            "access_code_id": "ac1",
            "device_id": "d1",
            "name": "Guest: Jane Doe",
            "code": "482719",
            "type": "time_bound",
            "starts_at": NOW + timedelta(hours=5),
            "ends_at": NOW + timedelta(days=3),
            "status": status,
            "is_managed": managed,
        }
    )
    message = access_code_message(code, None, now=NOW)
    assert validate_blocks(message.blocks, "message") == []
    [summary] = [b for b in message.blocks if b.get("block_id") == "summary"]
    [field] = [f["text"] for f in summary["fields"] if f["text"].startswith("*Status*")]
    context = next(b for b in message.blocks if b["type"] == "context")
    return field, json.dumps(context)


@pytest.mark.parametrize(
    ("status", "plain"),
    [
        ("unset", "Not on the lock yet"),
        ("setting", "Being programmed"),
        ("set", "On the lock"),
        ("removing", "Being removed"),
    ],
)
def test_status_is_shown_in_plain_words_with_seams_term_in_small_print(
    status: str, plain: str
) -> None:
    field, small_print = card(status)
    assert field == f"*Status*\n{plain}"
    assert f"Seam status `{status}`" in small_print


def test_an_unknown_status_says_so_and_shows_seams_term() -> None:
    field, small_print = card("queued_for_sync")
    assert field == "*Status*\nA status this bot does not know"
    assert "Seam status `queued_for_sync`" in small_print
    field, small_print = card(None)
    assert field == "*Status*\nNot reported by Seam" and "Seam status `none`" in small_print


def test_an_unmanaged_unset_code_reads_not_active() -> None:
    field, _ = card("unset", managed=False)
    assert field == "*Status*\nNot active on the lock"
