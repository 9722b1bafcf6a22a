"""`/seam-code` text as Slack really sends it: escaped, linked, mentioned, with extra words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.payloads import parse_command_text

UUID = "8f4c0b2e-5d1a-4c1e-9d5f-2b7a9e0c1a23"


@pytest.mark.parametrize(
    "text",
    [
        f"<https://console.seam.co/access_codes/{UUID}|Jane's code>",  # the URL holds the id
        f"<https://console.seam.co/x?access_code_id={UUID}|open in Seam>",
        f"<https://console.seam.co/access_codes/x|{UUID}>",  # the label holds the id
        f"&lt;{UUID}&gt;",  # Slack escapes < > &
        f"{UUID}\u00a0extra",
        f"*fix* {UUID} café",
        f"please check {UUID}",
        UUID.upper(),  # Seam ids are lower case
        f"`{UUID.upper()}`",
    ],
)
def test_the_one_id_is_found(text: str) -> None:
    parsed = parse_command_text(text)
    assert (parsed.kind, parsed.value) == ("id", UUID)


@pytest.mark.parametrize("text", ["<@U0123ABCD|jane>", "<#C0123ABCD|alerts>", "<@U0123ABCD>"])
def test_a_mention_or_channel_is_never_sent_to_seam_as_an_id(text: str) -> None:
    assert parse_command_text(text).kind == "help"


@pytest.mark.parametrize("text", [f"{UUID} {UUID.replace('8f4c', '9f4c')}", "fix this code"])
def test_two_ids_or_none_among_several_words_is_refused(text: str) -> None:
    parsed = parse_command_text(text)
    assert parsed.kind == "invalid" and "one access code ID" in parsed.value


def test_a_non_uuid_id_keeps_its_case() -> None:
    assert parse_command_text("Access_Code1").value == "Access_Code1"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("<>|@#!&;: \u00a0*`'\"abcAB01-_"), max_size=40))
def test_any_text_gets_an_answer_never_an_exception(text: str) -> None:
    parsed = parse_command_text(text)
    assert parsed.kind in ("help", "id", "invalid")
