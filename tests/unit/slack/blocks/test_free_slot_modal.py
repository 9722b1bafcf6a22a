"""Free a slot, from the list to the review (`bot.remedies.free_slot`, `bot.domain.stays`,
`bot.slack.blocks.modals`): what is listed last and marked, what the review warns, the dates.

Pure: codes in, ordering, option texts and views out, at a fixed `NOW`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.stays import ARRIVING_SOON_SECONDS, deletion_warning, stay_of
from bot.remedies.free_slot import REMEDY, slot_candidates
from bot.seam.models import AccessCode, Device
from bot.slack.blocks.modals import confirm_modal, free_slot_modal
from bot.slack.ids import BLOCK_PICK
from bot.slack.payloads import RemedyContext
from devtools.fake_slack import validate_view

NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)
CTX = RemedyContext(action="free_slot", code="needs", response_url="https://hooks.slack.test/x")
LOCK = Device.model_validate({"device_id": "d1", "properties": {"name": "Unit 2B Front Door"}})


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


def guest(
    access_code_id: str, starts_h: float, ends_h: float, *, name: str | None = None, **extra: Any
) -> AccessCode:
    return AccessCode.model_validate(
        {
            "access_code_id": access_code_id,
            "device_id": "d1",
            "name": name if name is not None else f"Guest: {access_code_id}",
            "code": "482719",
            "type": "time_bound",
            "starts_at": at(starts_h),
            "ends_at": at(ends_h),
            "created_at": at(-400),
            **extra,
        }
    )


def ongoing(access_code_id: str, created_h: float, *, managed: bool = True) -> AccessCode:
    return AccessCode.model_validate(
        {
            "access_code_id": access_code_id,
            "device_id": "d1",
            "name": access_code_id.capitalize(),
            "code": "1470",
            "created_at": at(created_h),
            "is_managed": managed,
        }
    )


ARRIVING_5H = guest("jane", 5, 77, name="Guest: Jane Doe")
ARRIVING_30H = guest("priya", 30, 100)
STAYING = guest("tom", -20, 50)
LATER = guest("aiko", 24 * 6, 24 * 9)  # a week out: not "soon"
EXPIRED = guest("past", -100, -2)
CLEANER = ongoing("cleaner", -24 * 90)
OWNER = ongoing("owner", -24 * 300, managed=False)


# ------------------------------------------------------------------------------ the rules


def test_stay_phases_at_now() -> None:
    assert stay_of(ARRIVING_5H, NOW).phase == "arriving_soon"
    assert stay_of(STAYING, NOW).phase == "in_stay"
    assert stay_of(LATER, NOW).phase == "upcoming"
    assert stay_of(EXPIRED, NOW).phase == "expired"
    assert stay_of(CLEANER, NOW).phase == "ongoing"
    edge = guest("edge", ARRIVING_SOON_SECONDS / 3600, 200)
    assert stay_of(edge, NOW).at_risk and not stay_of(edge, at(-0.1)).at_risk
    assert stay_of(ARRIVING_5H, NOW).note == "arrives in 5 h"


def test_codes_starting_soon_or_in_use_go_last_the_soonest_at_the_very_end() -> None:
    given = [ARRIVING_5H, STAYING, CLEANER, ARRIVING_30H, EXPIRED, LATER, OWNER]
    ordered = [c.access_code_id for c in slot_candidates(given, now=NOW)]
    assert ordered == ["past", "owner", "cleaner", "aiko", "priya", "jane", "tom"]


def test_the_warning_names_the_guest_and_what_deleting_does() -> None:
    assert deletion_warning(ARRIVING_5H, NOW) == (
        "*Guest: Jane Doe* arrives in 5 h: deleting this code locks them out."
    )
    staying = deletion_warning(STAYING, NOW)
    assert staying is not None
    assert staying.startswith("*Guest: tom* is staying now (until <!date^")
    assert staying.endswith("): deleting this code locks them out.")
    unnamed = guest("x", 3, 50, name="")
    assert deletion_warning(unnamed, NOW) == (
        "The guest of this code arrives in 3 h: deleting this code locks them out."
    )
    for safe in (LATER, EXPIRED, CLEANER):
        assert deletion_warning(safe, NOW) is None


def test_the_review_repeats_the_warning_for_a_guest_arriving_soon() -> None:
    question, submit = REMEDY.review(ARRIVING_5H, now=NOW)
    assert question.startswith(
        ":rotating_light: *Warning:* *Guest: Jane Doe* arrives in 5 h: deleting this code "
        "locks them out.\n"
    )
    assert submit == "Delete anyway"
    question, submit = REMEDY.review(STAYING, now=NOW)
    assert "is staying now" in question and submit == "Delete anyway"


def test_the_review_of_a_safe_code_is_the_plain_confirmation() -> None:
    for safe in (LATER, EXPIRED, CLEANER, None):
        question, submit = REMEDY.review(safe, now=NOW)
        assert question == "Delete this code from the lock? It stops working at once."
        assert submit == "Delete"


# ------------------------------------------------------------------------------ the views


def options_of(view: dict[str, Any]) -> list[dict[str, Any]]:
    assert validate_view(view) == []
    assert "482719" not in json.dumps(view) and "1470" not in json.dumps(view)
    [pick] = [b for b in view["blocks"] if b.get("block_id") == BLOCK_PICK]
    return list(pick["element"]["options"])


def test_the_list_marks_codes_at_risk_and_keeps_the_mark_when_the_name_is_long() -> None:
    long_name = guest("long", 2, 60, name="Guest: " + "Bartholomew-Fitzgerald " * 5)
    codes = slot_candidates([ARRIVING_5H, STAYING, CLEANER, EXPIRED, long_name], now=NOW)
    options = options_of(free_slot_modal(CTX, codes, LOCK, now=NOW))
    texts = {o["value"]: o["text"]["text"] for o in options}
    assert texts["jane"] == ":warning: Guest: Jane Doe · ••19 · arrives in 5 h"
    assert texts["tom"] == ":warning: Guest: tom · ••19 · guest staying now"
    assert texts["long"].startswith(":warning: Guest: Bartholomew")
    assert texts["long"].endswith("… · ••19 · arrives in 2 h") and len(texts["long"]) <= 75
    assert texts["past"] == "Guest: past · ••19 · expired"
    assert not texts["cleaner"].startswith(":warning:")
    assert [o["value"] for o in options][-3:] == ["jane", "long", "tom"]  # soonest last


def test_dates_under_each_option_are_slack_date_tokens_within_slacks_limit() -> None:
    codes = [EXPIRED, OWNER, CLEANER, LATER, ARRIVING_5H, STAYING]
    options = options_of(free_slot_modal(CTX, codes, LOCK, now=NOW))
    notes = {o["value"]: o["description"] for o in options}
    assert all(n["type"] == "mrkdwn" and len(n["text"]) <= 75 for n in notes.values())

    def token(moment: datetime | None) -> str:
        assert moment is not None
        return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}}|{moment:%Y-%m-%d}>"

    assert notes["cleaner"]["text"] == f"no end date, created {token(CLEANER.created_at)}"
    assert notes["owner"]["text"] == f"no end date, first seen {token(OWNER.created_at)}"
    assert notes["past"]["text"] == f"ended {token(EXPIRED.ends_at)}, safe to delete"
    assert notes["aiko"]["text"] == f"starts {token(LATER.starts_at)}"
    assert notes["jane"]["text"] == f"check-in {token(ARRIVING_5H.starts_at)}"
    assert notes["tom"]["text"] == f"staying until {token(STAYING.ends_at)}"
    assert "%Y" not in json.dumps(notes) and "2025-" not in json.dumps(options[0]["text"])


def test_the_list_says_how_it_is_ordered_and_what_the_mark_means() -> None:
    view = free_slot_modal(CTX, [ARRIVING_5H, CLEANER], LOCK, now=NOW)
    intro = view["blocks"][0]["text"]["text"]
    assert "Expired and oldest codes are listed first" in intro
    assert ":warning: marks a guest staying now or arriving within 2 d (listed last)" in intro


def test_codes_past_the_tenth_are_counted_with_those_at_risk() -> None:
    many = [ongoing(f"staff{i}", -100 - i) for i in range(10)] + [ARRIVING_5H, STAYING, LATER]
    view = free_slot_modal(CTX, slot_candidates(many, now=NOW), LOCK, now=NOW)
    assert len(options_of(view)) == 10
    assert "…and 3 more codes not listed (2 of a guest staying now or arriving soon)" in json.dumps(
        view, ensure_ascii=False
    )


def test_the_review_goes_back_to_the_list_when_closed() -> None:
    question = "Delete this code from the lock? It stops working at once."
    view = confirm_modal(
        CTX, "Free a slot", question, "*Guest: Jane Doe*", "Delete anyway", close="Back"
    )
    assert validate_view(view) == []
    assert view["close"]["text"] == "Back" and view["submit"]["text"] == "Delete anyway"
    assert view["blocks"][0]["text"]["text"] == question
