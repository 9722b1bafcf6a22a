"""Seam's access-code statuses in plain words (`bot.domain.code_status`)."""

from __future__ import annotations

import pytest

from bot.domain.code_status import status_words


@pytest.mark.parametrize(
    ("status", "plain"),
    [
        ("unset", "not on the lock yet"),
        ("setting", "being programmed"),
        ("set", "on the lock"),
        ("removing", "being removed"),
        ("unknown", "Seam cannot confirm it"),
    ],
)
def test_every_documented_status_has_plain_words_and_keeps_seams_term(
    status: str, plain: str
) -> None:
    words = status_words(status)
    assert words.plain == plain and words.term == status and words.known
    assert status not in words.plain.split()  # the plain words are not Seam's term again


def test_an_unmanaged_unset_code_is_not_active_rather_than_not_yet_set() -> None:
    assert status_words("unset", managed=False).plain == "not active on the lock"
    assert status_words("set", managed=False).plain == "on the lock"


def test_an_undocumented_or_missing_status_is_said_to_be_unknown_never_guessed() -> None:
    new = status_words("queued_for_sync")
    assert not new.known and new.term == "queued_for_sync"
    assert new.plain == "a status this bot does not know"
    missing = status_words(None)
    assert not missing.known and missing.term == "none" and missing.plain == "not reported by Seam"
    assert status_words("  ").term == "none"


def test_sentence_starts_with_a_capital_letter() -> None:
    assert status_words("setting").sentence == "Being programmed"
    assert status_words("unknown").sentence == "Seam cannot confirm it"
