"""What an alert says about the last thing someone did on it, and the Update PIN modal's rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.alert_plan import AlertActivity, AlertStatus
from bot.domain.catalogue import Scope, default_catalogue
from bot.domain.findings import Finding
from bot.domain.pins import check_pin, describe_rules, easy_pin
from bot.seam.models import AccessCode, Device
from bot.slack.blocks.alerts import code_alert_message, resolved_message
from bot.slack.blocks.modals import update_pin_modal
from bot.slack.payloads import RemedyContext

CAT = default_catalogue()
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
CODE = AccessCode.model_validate(
    {"access_code_id": "ac1", "device_id": "d1", "name": "Guest", "code": "482719"}
)
FAILED = Finding(
    subject="access_code",
    access_code_id="ac1",
    device_id="d1",
    problem="code_constraints_violated",
    kind="error",
    message="",
    scope=Scope.CODE,
    blocking=True,
)


def render(activity: AlertActivity | None) -> str:
    msg = code_alert_message(
        "ac1",
        "d1",
        [FAILED],
        code=CODE,
        device=None,
        catalogue=CAT,
        now=NOW,
        status=AlertStatus(activity=activity),
    )
    return json.dumps(msg.blocks)


def test_the_last_activity_is_a_line_on_the_alert() -> None:
    activity = AlertActivity(verb="Re-checked", by="U0ABC", at=NOW, outcome="unchanged")
    text = render(activity)
    assert "Re-checked <!date^" in text and "by <@U0ABC>: unchanged" in text
    assert "Re-checked" not in render(None)


def test_a_remedy_that_went_through_replaces_its_button_with_its_outcome() -> None:
    assert "remedy:update_pin" in render(None)
    done = AlertActivity(
        verb="Update PIN", by="U0ABC", at=NOW, outcome="done", hidden_actions=("update_pin",)
    )
    text = render(done)
    assert "remedy:update_pin" not in text and "Update PIN" in text and ": done" in text
    assert "remedy:recheck" in text  # the other buttons stay


def test_activity_round_trips_through_storage_text_and_bad_text_is_none() -> None:
    activity = AlertActivity(
        verb="Delete and recreate",
        by="U1",
        at=NOW,
        outcome="done",
        hidden_actions=("delete_and_recreate",),
        replaced_by="new-id",
    )
    assert AlertActivity.loads(activity.dumps()) == activity
    assert AlertActivity.loads("not json") is None and AlertActivity.loads(None) is None


def test_a_recreated_code_resolves_as_recreated_not_gone() -> None:
    activity = AlertActivity(verb="Delete and recreate", by="U1", at=NOW, replaced_by="ac2")
    args = {
        "subject": "access_code",
        "title": "Guest",
        "device_name": "Front",
        "problem_titles": [],
        "resolved_at": NOW,
        "gone": True,
        "access_code_id": "ac1",
        "device_id": "d1",
    }
    assert "no longer in Seam" in json.dumps(resolved_message(**args).blocks)  # type: ignore[arg-type]
    text = json.dumps(resolved_message(**args, activity=activity).blocks)  # type: ignore[arg-type]
    assert "Re-created as a new code `ac2`" in text and "no longer in Seam" not in text


@pytest.mark.parametrize("pin", ["1111", "0000", "1234", "9876", "123456", "1212", "474747"])
def test_easy_pins_are_refused_before_seam(pin: str) -> None:
    assert easy_pin(pin) is not None
    assert check_pin(pin, None) == easy_pin(pin)


@pytest.mark.parametrize("pin", ["5821", "2580", "4827", "1297", "135790"])
def test_ordinary_pins_pass(pin: str) -> None:
    assert easy_pin(pin) is None and check_pin(pin, None) is None


def test_the_update_pin_modal_shows_the_locks_own_rules_up_front() -> None:
    device = Device.model_validate(
        {
            "device_id": "d1",
            "properties": {
                "name": "Front",
                "supported_code_lengths": [4, 5, 6],
                "code_constraints": [
                    {"constraint_type": "no_zeros"},
                    {"constraint_type": "cannot_start_with_12"},
                ],
            },
        }
    )
    rules = describe_rules(device)
    assert rules[0] == "4 to 6 digits" and "no 0" in rules and "must not start with 12" in rules
    ctx = RemedyContext(action="update_pin", code="ac1")
    view = json.dumps(update_pin_modal(ctx, CODE, device, lengths=[4, 5, 6]))
    assert "This lock's PIN rules" in view and "no 0" in view and "start with 12" in view
    assert "1234" in view  # easy PINs are named before anyone types one
    assert describe_rules(None)[0] == "4 to 12 digits"


def test_activity_timestamps_are_utc() -> None:
    activity = AlertActivity(verb="Re-checked", by="U1", at=NOW + timedelta(minutes=1))
    again = AlertActivity.loads(activity.dumps())
    assert again is not None and again.at.utcoffset() == timedelta(0)
