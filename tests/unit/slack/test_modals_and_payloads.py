"""Remedy modals (`bot.slack.blocks.modals`) and reading what Slack sends (`bot.slack.payloads`).

Pure: a `Proposal` in, a view dict out (checked with the Slack fake's pure validator); a payload
dict in, a `Press` / `RemedyContext` / string out, never an exception.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.remedies.base import BaseRemedy, Proposal
from bot.remedies.registry import REMEDIES
from bot.seam.models import AccessCode, Device
from bot.slack.blocks.modals import proposal_modal
from bot.slack.ids import (
    ACTION_PICK,
    ACTION_PIN,
    BLOCK_PICK,
    BLOCK_PIN,
    CALLBACK_CONFIRM,
    CALLBACK_FREE_SLOT,
    CALLBACK_UPDATE_PIN,
)
from bot.slack.payloads import Press, RemedyContext, read_press, user_id_of, view_value
from devtools.fake_slack import validate_view
from devtools.slack_requests import block_actions_body

NOW = datetime.now(UTC)
PIN = "482719"

CTX = RemedyContext(
    action="update_pin",
    code="ac1",
    target="",
    channel="C111",
    ts="1700000000.000100",
    ephemeral=True,
    response_url="https://hooks.slack.test/actions/T1/1/abc",
)

DEVICE = Device.model_validate(
    {"device_id": "d1", "display_name": "Unit 2B Front Door", "properties": {"online": True}}
)


def code(
    access_code_id: str = "ac1",
    *,
    name: str | None = "Guest: Jane",
    pin: str | None = PIN,
    managed: bool = True,
    ends_in_h: float | None = None,
    created_days_ago: float | None = None,
) -> AccessCode:
    fields: dict[str, Any] = {
        "access_code_id": access_code_id,
        "device_id": "d1",
        "name": name,
        "code": pin,
        "is_managed": managed,
    }
    if ends_in_h is not None:
        fields |= {
            "type": "time_bound",
            "starts_at": NOW + timedelta(hours=ends_in_h - 72),
            "ends_at": NOW + timedelta(hours=ends_in_h),
        }
    if created_days_ago is not None:
        fields["created_at"] = NOW - timedelta(days=created_days_ago)
    return AccessCode.model_validate(fields)


def checked(view: dict[str, Any]) -> str:
    """The view is one Slack accepts and never holds the code's PIN; returns it as text."""
    assert validate_view(view) == []
    text = json.dumps(view, ensure_ascii=False)
    assert PIN not in text
    return text


def block_ids(view: dict[str, Any]) -> list[str | None]:
    return [b.get("block_id") for b in view["blocks"]]


# ------------------------------------------------------------------------------ proposal_modal


def test_pin_form_is_a_pin_entry_with_lengths_and_suggestion() -> None:
    remedy = REMEDIES["update_pin"]
    proposal = Proposal(
        form="pin",
        code=code(),
        device=DEVICE,
        target=code(),
        suggestion="604817",
        lengths=(4, 5, 6, 7, 8),
    )
    view = proposal_modal(CTX, remedy, proposal)
    text = checked(view)
    assert view["callback_id"] == CALLBACK_UPDATE_PIN
    assert view["title"]["text"] == remedy.title
    assert view["submit"]["text"] == "Set PIN"
    [pin_input] = [b for b in view["blocks"] if b.get("block_id") == BLOCK_PIN]
    assert pin_input["element"]["action_id"] == ACTION_PIN
    hint = pin_input["hint"]["text"]
    assert "4–8 long" in hint and "604817" in hint
    assert "Guest: Jane" in text and "Unit 2B Front Door" in text and "••19" in text
    assert RemedyContext.loads(view["private_metadata"]) == CTX


@pytest.mark.parametrize(
    ("lengths", "suggestion", "hint"),
    [
        ((6,), None, "Digits only, 6 long."),
        ((), None, "Digits only."),
        ((), "1357", "Digits only. Seam suggests 1357; you may use it."),
    ],
)
def test_pin_hint(lengths: tuple[int, ...], suggestion: str | None, hint: str) -> None:
    proposal = Proposal(form="pin", code=code(), suggestion=suggestion, lengths=lengths)
    view = proposal_modal(CTX, REMEDIES["update_pin"], proposal)
    [pin_input] = [b for b in view["blocks"] if b.get("block_id") == BLOCK_PIN]
    assert pin_input["hint"]["text"] == hint
    checked(view)


def test_confirm_form_shows_question_target_and_submit() -> None:
    remedy = REMEDIES["delete_unmanaged"]
    dup = code("u1", name="Old keypad code", managed=False, created_days_ago=40)
    proposal = Proposal(
        form="confirm",
        code=code(),
        device=DEVICE,
        target=dup,
        text="Delete *this* duplicate?",
        submit="Delete",
    )
    view = proposal_modal(CTX, remedy, proposal)
    text = checked(view)
    assert view["callback_id"] == CALLBACK_CONFIRM
    assert view["title"]["text"] == remedy.title
    assert view["submit"]["text"] == "Delete" and view["close"]["text"] == "Cancel"
    question, subject = (b["text"]["text"] for b in view["blocks"])
    assert question == "Delete *this* duplicate?"
    assert "Old keypad code" in subject and "Unmanaged" in subject
    assert "Guest: Jane" not in text  # the target is described, not the message's code


def test_confirm_without_submit_text_says_confirm() -> None:
    proposal = Proposal(form="confirm", code=code(), target=code(), text="Sure?")
    view = proposal_modal(CTX, REMEDIES["delete_and_recreate"], proposal)
    assert view["submit"]["text"] == "Confirm"
    checked(view)


@pytest.mark.parametrize(
    ("proposal", "shown"),
    [
        (Proposal(form="unavailable", code=code(), text="No backup *now*."), "No backup *now*."),
        (Proposal(form="unavailable", code=code()), "There is nothing to do now."),
        (Proposal(form="confirm", code=code(), text="Target vanished."), "Target vanished."),
    ],
)
def test_unavailable_or_targetless_is_a_message_with_close_only(
    proposal: Proposal, shown: str
) -> None:
    view = proposal_modal(CTX, REMEDIES["pull_backup"], proposal)
    checked(view)
    assert view["callback_id"] == CALLBACK_CONFIRM
    assert "submit" not in view and view["close"]["text"] == "Close"
    assert [b["text"]["text"] for b in view["blocks"]] == [shown]


def test_choose_form_lists_candidates_in_order_capped_at_ten() -> None:
    candidates = [
        code("exp", name="Past guest", ends_in_h=-5),
        code("unm", name="Keypad", managed=False),
        *(code(f"c{i}", name=f"Guest {i}", created_days_ago=30 - i) for i in range(10)),
    ]
    proposal = Proposal(form="choose", code=code(), device=DEVICE, candidates=tuple(candidates))
    view = proposal_modal(CTX, REMEDIES["free_slot"], proposal)
    text = checked(view)
    assert view["callback_id"] == CALLBACK_FREE_SLOT and view["submit"]["text"] == "Review"
    [pick] = [b for b in view["blocks"] if b.get("block_id") == BLOCK_PICK]
    assert pick["element"]["action_id"] == ACTION_PICK
    options = pick["element"]["options"]
    assert [o["value"] for o in options] == [c.access_code_id for c in candidates[:10]]
    labels = [o["text"]["text"] for o in options]
    assert labels[0].endswith("· expired") and "safe to delete" in options[0]["description"]["text"]
    assert labels[1].endswith("· unmanaged")
    assert "…and 2 more codes not listed" in text
    assert "Unit 2B Front Door" in text


def test_a_long_title_is_cut_to_slacks_limit() -> None:
    class Verbose(BaseRemedy):
        key = "verbose"
        title = "A remedy title far longer than Slack allows"
        label = button_label = "Verbose"

    proposal = Proposal(form="confirm", code=code(), target=code(), text="Go?", submit="Go")
    view = proposal_modal(CTX, Verbose(), proposal)
    assert len(view["title"]["text"]) <= 24 and view["title"]["text"].startswith("A remedy")
    checked(view)


# ------------------------------------------------------------------------------ RemedyContext


def test_context_round_trips_through_private_metadata() -> None:
    full = RemedyContext(
        action="free_slot",
        code="ac1",
        target="ac9",
        channel="CALERTS",
        ts="1700000000.000200",
        ephemeral=False,
        response_url="https://hooks.slack.test/x",
    )
    for ctx in (full, CTX, RemedyContext(action="recheck", code="ac2")):
        raw = ctx.dumps()
        assert len(raw) < 3000 and " " not in raw
        assert RemedyContext.loads(raw) == ctx


def test_context_ignores_unknown_keys() -> None:
    raw = json.dumps({"action": "update_pin", "code": "ac1", "pin": "1234", "x": [1]})
    assert RemedyContext.loads(raw) == RemedyContext(action="update_pin", code="ac1")


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "not json",
        "{",
        "null",
        "[]",
        '"ac1"',
        "42",
        "{}",
        '{"code": "ac1"}',  # no action
        '{"action": "update_pin"}',  # no code
        '{"action": "update_pin", "code": ""}',
        '{"action": 5, "code": "ac1"}',
        '{"action": "update_pin", "code": ["ac1"]}',
        '{"action": "update_pin", "code": "ac1", "target": null}',
        '{"action": "update_pin", "code": "ac1", "ephemeral": "yes"}',
        '{"action": "update_pin", "code": "ac1", "ephemeral": 1}',
        json.dumps({"action": "update_pin", "code": "ac1", "response_url": "h" * 1001}),
    ],
)
def test_malformed_metadata_is_refused(raw: str | None) -> None:
    assert RemedyContext.loads(raw) is None


# ------------------------------------------------------------------------------ read_press


def payload(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(parse_qs(body.decode())["payload"][0])
    return data


def test_read_press_of_a_real_shaped_button_click() -> None:
    body = payload(
        block_actions_body(
            "remedy:update_pin",
            "ac1",
            user_id="U222",
            channel_id="C333",
            message_ts="1700000000.000900",
            response_url="https://hooks.slack.test/r",
            trigger_id="trig.1",
            is_ephemeral=False,
        )
    )
    press = read_press(body)
    assert press == Press(
        user_id="U222",
        action_id="remedy:update_pin",
        value="ac1",
        channel="C333",
        ts="1700000000.000900",
        ephemeral=False,
        response_url="https://hooks.slack.test/r",
        trigger_id="trig.1",
    )
    assert press.code_id() == "ac1"
    assert press.context("update_pin", "ac1", "u1") == RemedyContext(
        action="update_pin",
        code="ac1",
        target="u1",
        channel="C333",
        ts="1700000000.000900",
        ephemeral=False,
        response_url="https://hooks.slack.test/r",
    )
    assert user_id_of(body) == "U222"


def test_read_press_takes_an_overflow_choice_and_the_channel_object() -> None:
    body = {
        "user": {"id": "U1"},
        "actions": [{"action_id": "alert_snooze", "selected_option": {"value": "1h|code:ac1"}}],
        "channel": {"id": "C9"},
        "container": {"message_ts": "1.2"},
    }
    press = read_press(body)
    assert (press.action_id, press.value, press.channel, press.ts) == (
        "alert_snooze",
        "1h|code:ac1",
        "C9",
        "1.2",
    )
    assert press.ephemeral is True  # Slack's default when the container does not say


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"actions": None},
        {"actions": []},
        {"actions": "remedy:update_pin"},
        {"actions": ["remedy:update_pin"]},
        {"actions": [None], "user": "U1", "container": [], "channel": 7},
        {"actions": [{"action_id": 5, "value": {"x": 1}}], "response_url": 3, "trigger_id": None},
        {"actions": [{"selected_option": "1h"}], "user": {"id": ["U1"]}},
    ],
)
def test_read_press_of_odd_payloads_is_empty_never_an_error(body: dict[str, Any]) -> None:
    press = read_press(body)
    assert (press.user_id, press.action_id, press.value) == ("", "", "")
    assert (press.channel, press.ts, press.response_url, press.trigger_id) == ("", "", "", "")
    assert press.code_id() is None


@pytest.mark.parametrize(
    ("value", "code_id"),
    [("ac1", "ac1"), ("  ac1 ", "ac1"), ("", None), ("<!channel>", None), ("a b", None)],
)
def test_press_code_id_accepts_only_a_well_formed_id(value: str, code_id: str | None) -> None:
    press = read_press({"actions": [{"action_id": "remedy:recheck", "value": value}]})
    assert press.code_id() == code_id


def test_user_id_of_slash_commands_and_odd_bodies() -> None:
    assert user_id_of({"user_id": "U5"}) == "U5"
    assert user_id_of({"user": {"id": "U6"}, "user_id": "U5"}) == "U6"
    assert user_id_of({"user": "U6", "user_id": 5}) == ""


# ------------------------------------------------------------------------------ view_value


def state(values: Any) -> dict[str, Any]:
    return {"state": {"values": values}}


def test_view_value_reads_text_and_selected_option() -> None:
    view = state(
        {
            BLOCK_PIN: {ACTION_PIN: {"type": "plain_text_input", "value": "604817"}},
            BLOCK_PICK: {
                ACTION_PICK: {"type": "radio_buttons", "selected_option": {"value": "ac9"}}
            },
        }
    )
    assert view_value(view, BLOCK_PIN, ACTION_PIN) == "604817"
    assert view_value(view, BLOCK_PICK, ACTION_PICK) == "ac9"
    assert view_value(view, BLOCK_PICK, ACTION_PIN) == ""
    assert view_value(view, "other_block", ACTION_PIN) == ""


@pytest.mark.parametrize(
    "view",
    [
        {},
        {"state": None},
        {"state": {"values": []}},
        {"state": {"values": None}},
        state({BLOCK_PIN: None}),
        state({BLOCK_PIN: {ACTION_PIN: "604817"}}),
        state({BLOCK_PIN: {ACTION_PIN: {"value": None}}}),
        state({BLOCK_PIN: {ACTION_PIN: {"selected_option": None}}}),
        state({BLOCK_PIN: {ACTION_PIN: {"selected_option": {"value": None}}}}),
    ],
)
def test_view_value_of_odd_state_is_empty(view: dict[str, Any]) -> None:
    assert view_value(view, BLOCK_PIN, ACTION_PIN) == ""
