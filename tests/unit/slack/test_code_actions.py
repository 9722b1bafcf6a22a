"""Which buttons a message about one code gets (`bot.slack.blocks.code`), with no Slack at all.

`code_actions` merges what the problems' catalogue entries advise (in catalogue order) with what
each registered remedy offers for this code; `remedy_buttons` turns the keys into buttons whose
text comes from the remedy itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.catalogue import CatalogueEntry, RemedyAction, default_catalogue
from bot.remedies.base import BaseRemedy
from bot.remedies.registry import REMEDIES, Registry
from bot.seam.models import AccessCode
from bot.slack import ids
from bot.slack.blocks.code import (
    READ_ONLY_LABELS,
    access_code_message,
    action_label,
    code_actions,
    remedy_buttons,
)
from devtools.fake_slack import validate_blocks

NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)


def entry(problem: str, *actions: str) -> CatalogueEntry:
    """A catalogue entry advising `actions`, most recommended first."""
    return CatalogueEntry.model_validate(
        {
            "code": problem,
            "kind": "error",
            "title": problem.replace("_", " "),
            "explanation": "Something went wrong.",
            "remedy": "Fix it.",
            "scope": "code",
            "blocking": True,
            "actions": list(actions),
            "status": "current",
            "applies_to": ["access_code"],
        }
    )


def code(
    access_code_id: str = "ac1",
    *,
    managed: bool = True,
    backup: bool = False,
    pin: str | None = "482719",
    errors: list[dict[str, Any]] | None = None,
) -> AccessCode:
    return AccessCode.model_validate(
        {
            "access_code_id": access_code_id,
            "device_id": "d1",
            "name": "Guest",
            "code": pin,
            "is_managed": managed,
            "type": "time_bound",
            "starts_at": NOW + timedelta(hours=5),
            "ends_at": NOW + timedelta(days=3),
            "is_backup_access_code_available": backup,
            "errors": errors or [],
        }
    )


FAILED_TO_SET = entry(
    "failed_to_set_on_device", "pull_backup", "update_pin", "recheck", "contact_support"
)
DUPLICATE = entry(
    "duplicate_code_on_device", "convert_unmanaged", "delete_unmanaged", "update_pin", "recheck"
)
OFFLINE = entry("device_offline", "check_device", "contact_support")
NO_SLOT = entry("no_space_for_access_code_on_device", "free_slot")


class TagForReview(BaseRemedy):
    """An extra remedy that offers itself on managed codes, advised or not."""

    key = "tag_for_review"
    button_label = "Tag for review (extra)"
    title = "Tag for review"
    label = "Tag for review"

    def offered_for(self, code: AccessCode, advised: Collection[str]) -> bool:
        return code.is_managed


class NeverOffered(BaseRemedy):
    key = "never_offered"
    button_label = "Never"
    title = "Never"
    label = "Never"

    def offered_for(self, code: AccessCode, advised: Collection[str]) -> bool:
        return False


def with_extra(*extra: BaseRemedy) -> Registry:
    return Registry((*REMEDIES.values(), *extra))


# ------------------------------------------------------------------------------ code_actions


def test_advised_actions_keep_catalogue_order() -> None:
    assert code_actions(code(backup=True), [FAILED_TO_SET]) == [
        "pull_backup",
        "update_pin",
        "recheck",
        "contact_support",
    ]


def test_a_remedy_not_offered_for_the_code_is_left_out() -> None:
    assert code_actions(code(backup=False), [FAILED_TO_SET]) == [
        "update_pin",
        "recheck",
        "contact_support",
    ]


def test_unmanaged_codes_get_no_update_pin_and_no_convert() -> None:
    unmanaged = code(managed=False)
    assert code_actions(unmanaged, [DUPLICATE]) == ["delete_unmanaged", "recheck"]
    assert "update_pin" not in code_actions(unmanaged, [FAILED_TO_SET])
    assert code_actions(code(), [DUPLICATE]) == [
        "convert_unmanaged",
        "delete_unmanaged",
        "update_pin",
        "recheck",
    ]


def test_recheck_is_added_last_when_no_entry_lists_it() -> None:
    assert code_actions(code(), [OFFLINE]) == ["check_device", "contact_support", "recheck"]
    assert code_actions(code(), [NO_SLOT, OFFLINE]) == [
        "free_slot",
        "check_device",
        "contact_support",
        "recheck",
    ]
    assert code_actions(code(), []) == ["recheck"]


def test_entries_in_order_and_each_action_once() -> None:
    actions = code_actions(code(), [OFFLINE, DUPLICATE, FAILED_TO_SET])
    assert actions == [
        "check_device",
        "contact_support",
        "convert_unmanaged",
        "delete_unmanaged",
        "update_pin",
        "recheck",
    ]
    assert len(actions) == len(set(actions))


def test_an_extra_registered_remedy_that_offers_itself_appears_before_recheck() -> None:
    registry = with_extra(TagForReview(), NeverOffered())
    assert code_actions(code(), [OFFLINE], registry) == [
        "check_device",
        "contact_support",
        "tag_for_review",
        "recheck",
    ]
    assert code_actions(code(), [FAILED_TO_SET], registry) == [
        "update_pin",
        "recheck",
        "contact_support",
        "tag_for_review",
    ]
    assert "tag_for_review" not in code_actions(code(managed=False), [OFFLINE], registry)
    assert "never_offered" not in code_actions(code(), [OFFLINE], registry)
    assert "tag_for_review" not in code_actions(code(), [OFFLINE])  # not in the default registry


def test_an_advised_remedy_missing_from_the_registry_is_skipped() -> None:
    without_free_slot = Registry(tuple(r for k, r in REMEDIES.items() if k != "free_slot"))
    assert code_actions(code(), [NO_SLOT], without_free_slot) == ["recheck"]
    assert code_actions(code(), [NO_SLOT]) == ["free_slot", "recheck"]


def test_real_catalogue_entry_for_a_duplicate() -> None:
    real = default_catalogue().lookup("duplicate_code_on_device", "error")
    actions = code_actions(code(), [real])
    assert actions == [a.value for a in real.actions if a.value in actions]  # catalogue order
    assert {"convert_unmanaged", "delete_unmanaged"} <= set(actions)


def test_every_catalogue_action_has_a_button_label() -> None:
    for action in RemedyAction:
        assert action_label(action.value), action
    assert set(READ_ONLY_LABELS).isdisjoint(REMEDIES)


# ------------------------------------------------------------------------------ remedy_buttons


def buttons(block: Any) -> list[dict[str, Any]]:
    assert block is not None
    rendered = block.to_dict()
    assert validate_blocks([rendered], "message") == []
    elements: list[dict[str, Any]] = rendered["elements"]
    return elements


def test_buttons_take_their_label_from_the_remedy_and_carry_only_the_code_id() -> None:
    keys = ["update_pin", "delete_and_recreate", "check_device", "recheck"]
    elements = buttons(remedy_buttons(code("ac42"), keys))
    assert [e["action_id"] for e in elements] == [ids.remedy_action_id(k) for k in keys]
    assert [e["text"]["text"] for e in elements] == [
        REMEDIES["update_pin"].button_label,
        REMEDIES["delete_and_recreate"].button_label,
        READ_ONLY_LABELS[RemedyAction.CHECK_DEVICE],
        READ_ONLY_LABELS[RemedyAction.RECHECK],
    ]
    assert {e["value"] for e in elements} == {"ac42"}


def test_first_button_is_primary_unless_it_is_recheck() -> None:
    first, *rest = buttons(remedy_buttons(code(), ["update_pin", "recheck"]))
    assert first.get("style") == "primary" and all("style" not in e for e in rest)
    only = buttons(remedy_buttons(code(), ["recheck", "update_pin"]))
    assert all("style" not in e for e in only)


def test_unlabelled_actions_are_skipped_and_none_left_means_no_block() -> None:
    elements = buttons(remedy_buttons(code(), ["no_such_action", "recheck"]))
    assert [e["action_id"] for e in elements] == [ids.remedy_action_id("recheck")]
    assert remedy_buttons(code(), ["no_such_action"]) is None
    assert remedy_buttons(code(), []) is None


@pytest.fixture
def tag_remedy() -> Iterator[TagForReview]:
    remedy = TagForReview()
    REMEDIES.register(remedy)
    try:
        yield remedy
    finally:
        REMEDIES.unregister(remedy.key)


def test_a_registered_remedy_gets_its_own_button_on_the_answer(tag_remedy: TagForReview) -> None:
    failing = code(errors=[{"error_code": "failed_to_set_on_device", "message": "m"}])
    message = access_code_message(failing, None, now=NOW)
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    by_id = {e["action_id"]: e for e in actions["elements"]}
    assert by_id[ids.remedy_action_id(tag_remedy.key)]["text"]["text"] == tag_remedy.button_label
    assert by_id[ids.remedy_action_id(tag_remedy.key)]["value"] == "ac1"
    assert validate_blocks(message.blocks, "message") == []


def test_answer_for_an_unmanaged_failing_code_has_no_update_pin() -> None:
    issue = [{"error_code": "failed_to_set_on_device", "message": "m"}]

    def action_ids(subject: AccessCode) -> list[str]:
        message = access_code_message(subject, None, now=NOW)
        [actions] = [b for b in message.blocks if b["type"] == "actions"]
        return [e["action_id"] for e in actions["elements"]]

    managed, unmanaged = (
        action_ids(code(errors=issue)),
        action_ids(code(managed=False, errors=issue)),
    )
    assert ids.remedy_action_id("update_pin") in managed
    assert ids.remedy_action_id("update_pin") not in unmanaged
    assert unmanaged[-1] == ids.ACTION_SHOW_PIN  # Show PIN follows the remedies (a PIN is set)
    assert ids.ACTION_SHOW_PIN not in action_ids(code(pin=None, errors=issue))
