"""Slash-command text parsing (`bot.slack.payloads.parse_command_text`)."""

from __future__ import annotations

import pytest

from bot.slack.payloads import parse_command_text

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
