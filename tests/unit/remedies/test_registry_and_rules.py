"""The remedy registry and each remedy's own rules, with no Seam at all.

`offered_for` (which buttons a message gets), `refuses` (what a submission may act on), the pure
helpers (`duplicates_of`, `slot_candidates`, `can_pull_backup`) and the steps that must decide
before Seam is called. Where a remedy takes a Seam client, it gets `NoSeam`, which fails the test
if it is touched at all.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.catalogue import RemedyAction
from bot.remedies import backup, duplicate, free_slot, recreate, update_pin
from bot.remedies.backup import can_pull_backup
from bot.remedies.base import BaseRemedy, Request, follow_attempt, refusal
from bot.remedies.duplicate import duplicates_of
from bot.remedies.free_slot import slot_candidates
from bot.remedies.recreate import delete_and_recreate
from bot.remedies.registry import REMEDIES, Registry
from bot.seam.errors import (
    SeamConflictError,
    SeamInvalidInputError,
    SeamNotFoundError,
    SeamRateLimitedError,
    SeamUnavailableError,
)
from bot.seam.models import AccessCode

NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)

#: Slack's limits: a button's text (75) and a modal's title (24) (Slack's reference, "Blocks",
#: "View objects").
BUTTON_TEXT_MAX = 75
MODAL_TITLE_MAX = 24


class SeamTouched(AssertionError):
    """A remedy used the Seam client where it must decide without it."""


class NoSeam:
    """Stands in for `SeamClient`; any attribute access fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise SeamTouched(f"Seam was used: .{name}")


def code(
    access_code_id: str = "ac1",
    *,
    device_id: str = "d1",
    pin: str | None = "482719",
    managed: bool = True,
    time_bound: bool = False,
    backup_available: bool = False,
    **extra: Any,
) -> AccessCode:
    fields: dict[str, Any] = {
        "access_code_id": access_code_id,
        "device_id": device_id,
        "name": f"Guest {access_code_id}",
        "code": pin,
        "is_managed": managed,
        "is_backup_access_code_available": backup_available,
        **extra,
    }
    if time_bound:
        fields |= {
            "type": "time_bound",
            "starts_at": NOW + timedelta(hours=5),
            "ends_at": NOW + timedelta(days=3),
        }
    return AccessCode.model_validate(fields)


class Stub(BaseRemedy):
    """A remedy with a given key and nothing else (for registry tests)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.button_label = self.title = self.label = key.replace("_", " ").title()


# ------------------------------------------------------------------------------ registry


def test_registered_remedies_have_unique_keys_and_labels_within_slack_limits() -> None:
    remedies = list(REMEDIES.values())
    assert remedies, "the registry is empty"
    assert [r.key for r in remedies] == list(REMEDIES)  # each is filed under its own key
    for attr in ("button_label", "title", "label"):
        values = [getattr(r, attr) for r in remedies]
        assert all(v.strip() for v in values), attr
        assert len(set(values)) == len(values), f"two remedies share a {attr}: {values}"
    for remedy in remedies:
        assert len(remedy.button_label) <= BUTTON_TEXT_MAX, remedy.key
        assert len(remedy.title) <= MODAL_TITLE_MAX, remedy.key
        assert remedy.form in ("confirm", "pin", "choose"), remedy.key
        assert remedy.exclusive_seconds > 0, remedy.key


def test_every_registered_key_is_an_action_the_catalogue_can_name() -> None:
    catalogue_actions = {a.value for a in RemedyAction}
    assert set(REMEDIES) <= catalogue_actions


def test_registry_keeps_registration_order_and_is_read_only() -> None:
    registry = Registry((Stub("zeta"), Stub("alpha"), Stub("mid_one")))
    assert list(registry) == ["zeta", "alpha", "mid_one"]
    assert len(registry) == 3 and registry["alpha"].key == "alpha"
    assert "missing" not in registry and registry.get("missing") is None
    with pytest.raises(TypeError):
        registry["other"] = Stub("other")  # type: ignore[index]


def test_register_refuses_a_duplicate_key_and_keeps_the_first() -> None:
    first = Stub("tag_code")
    registry = Registry((first,))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(Stub("tag_code"))
    assert registry["tag_code"] is first and len(registry) == 1
    with pytest.raises(ValueError, match="registered twice"):
        Registry((Stub("same"), Stub("same")))


@pytest.mark.parametrize(
    "key", ["", "Update_pin", "update-pin", "update pin", "pin2", "a.b", "x:y"]
)
def test_register_refuses_a_bad_key(key: str) -> None:
    registry = Registry(())
    with pytest.raises(ValueError, match="lower-case letters and underscores"):
        registry.register(Stub(key))
    assert len(registry) == 0


def test_register_and_unregister_a_throwaway_remedy() -> None:
    registry = Registry((Stub("one"),))
    registry.register(Stub("two"))
    assert list(registry) == ["one", "two"]
    registry.unregister("two")
    registry.unregister("never_there")  # no error
    assert list(registry) == ["one"]


# ------------------------------------------------------------------------------ offered_for

MANAGED = code()
UNMANAGED = code("u1", managed=False)
WITH_BACKUP = code("b1", time_bound=True, backup_available=True)
NO_BACKUP_LEFT = code("b2", time_bound=True, backup_available=False)
ONGOING_FLAGGED = code("b3", time_bound=False, backup_available=True)
UNMANAGED_WITH_BACKUP = code("b4", managed=False, time_bound=True, backup_available=True)


@pytest.mark.parametrize(
    ("key", "subject", "offered"),
    [
        ("update_pin", MANAGED, True),
        ("update_pin", UNMANAGED, False),
        ("convert_unmanaged", MANAGED, True),
        ("convert_unmanaged", UNMANAGED, False),
        ("delete_unmanaged", MANAGED, True),
        ("delete_unmanaged", UNMANAGED, True),
        ("delete_and_recreate", MANAGED, True),
        ("delete_and_recreate", UNMANAGED, False),
        ("pull_backup", WITH_BACKUP, True),
        ("pull_backup", NO_BACKUP_LEFT, False),
        ("pull_backup", ONGOING_FLAGGED, False),
        ("pull_backup", UNMANAGED_WITH_BACKUP, False),
        ("pull_backup", MANAGED, False),
        ("free_slot", MANAGED, True),
        ("free_slot", UNMANAGED, True),
    ],
)
def test_offered_when_advised_only_for_the_codes_it_can_fix(
    key: str, subject: AccessCode, offered: bool
) -> None:
    remedy = REMEDIES[key]
    assert remedy.offered_for(subject, {key, "recheck"}) is offered


@pytest.mark.parametrize("key", list(REMEDIES))
def test_no_builtin_remedy_offers_itself_unadvised(key: str) -> None:
    remedy = REMEDIES[key]
    others = {k for k in REMEDIES if k != key} | {"recheck", "contact_support"}
    for subject in (MANAGED, UNMANAGED, WITH_BACKUP):
        assert remedy.offered_for(subject, others) is False
        assert remedy.offered_for(subject, ()) is False


# ------------------------------------------------------------------------------ refuses


@pytest.mark.parametrize(
    ("key", "target", "refused"),
    [
        ("update_pin", MANAGED, None),
        ("update_pin", UNMANAGED, "unmanaged"),
        ("convert_unmanaged", UNMANAGED, None),
        ("convert_unmanaged", MANAGED, "managed by Seam"),
        ("convert_unmanaged", code("u2", managed=False, pin="111999"), "not a duplicate"),
        ("delete_unmanaged", UNMANAGED, None),
        ("delete_unmanaged", MANAGED, "managed by Seam"),
        ("delete_unmanaged", code("u3", managed=False, pin="111999"), "not a duplicate"),
        ("delete_and_recreate", MANAGED, None),
        ("delete_and_recreate", UNMANAGED, "unmanaged"),
        ("pull_backup", WITH_BACKUP, None),
        ("pull_backup", NO_BACKUP_LEFT, "backup"),
        ("pull_backup", MANAGED, "backup"),
        ("pull_backup", UNMANAGED_WITH_BACKUP, "backup"),
        ("free_slot", MANAGED, "needs the slot"),  # never the code that needs the slot
        ("free_slot", code("other"), None),
        ("free_slot", UNMANAGED, None),
    ],
)
def test_refuses_a_target_it_cannot_act_on(
    key: str, target: AccessCode, refused: str | None
) -> None:
    reason = REMEDIES[key].refuses(MANAGED, target)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_update_pin_checks_digits_before_seam() -> None:
    remedy = REMEDIES["update_pin"]
    assert remedy.check_input("4827") is None
    assert remedy.check_input("48a7") is not None
    assert remedy.check_input("") is not None
    assert remedy.check_input("1" * 13) is not None


def test_update_pin_check_refuses_a_pin_another_code_on_the_lock_uses() -> None:
    remedy = REMEDIES["update_pin"]
    own, other = code("ac1", pin="111111"), code("ac2", pin="739251")
    clash = Request(code=own, target=own, device=None, others=(own, other), value="739251")
    fine = Request(code=own, target=own, device=None, others=(own, other), value="604817")
    assert remedy.check(clash) is not None
    assert remedy.check(fine) is None


def test_review_of_a_picked_target() -> None:
    question, submit = REMEDIES["free_slot"].review(MANAGED)
    assert "Delete" in question and submit == "Delete"
    stub = Stub("tag_code")
    assert stub.review(None) == ("Tag Code?", "Confirm")  # BaseRemedy's plain confirmation


def test_base_remedy_defaults_follow_advice_and_managed_only() -> None:
    class Managed(Stub):
        managed_only = True

    plain_stub, managed_stub = Stub("tag_code"), Managed("tag_code")
    advised: Collection[str] = {"tag_code"}
    assert plain_stub.offered_for(UNMANAGED, advised) is True
    assert managed_stub.offered_for(UNMANAGED, advised) is False
    assert managed_stub.offered_for(MANAGED, advised) is True
    assert plain_stub.refuses(MANAGED, UNMANAGED) is None
    assert plain_stub.check_input("anything") is None


# ------------------------------------------------------------------------------ helpers


def test_can_pull_backup_needs_managed_time_bound_and_a_backup_available() -> None:
    assert can_pull_backup(WITH_BACKUP) is True
    assert can_pull_backup(NO_BACKUP_LEFT) is False
    assert can_pull_backup(ONGOING_FLAGGED) is False
    assert can_pull_backup(UNMANAGED_WITH_BACKUP) is False


def test_duplicates_of_same_pin_unmanaged_same_lock_only() -> None:
    subject = code("ac1", pin="482719")
    dup = code("u1", pin="482719", managed=False)
    dup2 = code("u2", pin="482719", managed=False)
    managed_same_pin = code("ac2", pin="482719")
    other_lock = code("u3", pin="482719", managed=False, device_id="d2")
    other_pin = code("u4", pin="111111", managed=False)
    found = duplicates_of(subject, [managed_same_pin, dup, other_lock, other_pin, dup2, subject])
    assert [c.access_code_id for c in found] == ["u1", "u2"]


def test_duplicates_of_follows_the_id_seam_names_in_the_error() -> None:
    subject = code(
        "ac1",
        pin=None,  # Seam may not return the PIN it could not set
        errors=[
            {
                "error_code": "duplicate_code_on_device",
                "message": "duplicate",
                "unmanaged_access_code_id": "u9",
            }
        ],
    )
    named = code("u9", pin="999999", managed=False)
    unnamed = code("u8", pin=None, managed=False)  # no PIN on either side is not a match
    assert [c.access_code_id for c in duplicates_of(subject, [unnamed, named])] == ["u9"]
    assert duplicates_of(code("ac1", pin=None), [unnamed, named]) == []


def test_slot_candidates_expired_first_then_oldest() -> None:
    def at(hours: float) -> datetime:
        return NOW + timedelta(hours=hours)

    newest = code("new", created_at=at(-1))
    oldest = code("old", created_at=at(-500))
    expired_recent = code("exp_recent", created_at=at(-2), ends_at=at(-1))
    expired_old = code("exp_old", created_at=at(-300), ends_at=at(-100))
    by_start = code("by_start", starts_at=at(-50))  # no created_at: its start counts
    undated = code("undated")
    given = [undated, newest, expired_recent, by_start, oldest, expired_old]
    ordered = slot_candidates(given, now=NOW)
    assert [c.access_code_id for c in ordered] == [
        "exp_old",
        "exp_recent",
        "old",
        "by_start",
        "new",
        "undated",
    ]
    assert [c.access_code_id for c in given] == [  # the input is not reordered
        "undated",
        "new",
        "exp_recent",
        "by_start",
        "old",
        "exp_old",
    ]
    # before its end a code is not expired, so the older one comes first
    assert slot_candidates([oldest, expired_recent], now=NOW)[0].access_code_id == "exp_recent"
    assert slot_candidates([expired_recent, oldest], now=at(-1.5))[0].access_code_id == "old"


# ------------------------------------------------------------------------------ before Seam


async def test_delete_and_recreate_refuses_a_pin_clash_without_calling_seam() -> None:
    target = code("ac1", pin="482719")
    clash = code("u1", pin="482719", managed=False)
    outcome = await delete_and_recreate(NoSeam(), target, [target, clash])  # type: ignore[arg-type]
    assert outcome.status == "error" and outcome.changed is False
    assert "same PIN" in outcome.summary and "482719" not in outcome.summary

    request = Request(code=target, target=target, device=None, others=(target, clash))
    via_remedy = await recreate.REMEDY.run(NoSeam(), request)  # type: ignore[arg-type]
    assert via_remedy.status == "error" and via_remedy.changed is False


@pytest.mark.parametrize(
    "others",
    [
        [],  # nothing else on the lock
        ["self"],  # the code itself is no clash
        ["other_pin"],
    ],
)
async def test_delete_and_recreate_goes_to_seam_when_nothing_clashes(others: list[str]) -> None:
    target = code("ac1", pin="482719")
    lock = {"self": target, "other_pin": code("ac2", pin="111111")}
    with pytest.raises(SeamTouched):
        await delete_and_recreate(NoSeam(), target, [lock[o] for o in others])  # type: ignore[arg-type]


async def test_delete_and_recreate_of_a_code_without_pin_is_not_a_clash() -> None:
    target, other = code("ac1", pin=None), code("ac2", pin=None)
    with pytest.raises(SeamTouched):
        await delete_and_recreate(NoSeam(), target, [other])  # type: ignore[arg-type]


async def test_prepare_without_seam_reads() -> None:
    seam: Any = NoSeam()
    proposal = await recreate.REMEDY.prepare(seam, MANAGED, None)
    assert proposal.form == "confirm" and proposal.target == MANAGED
    assert len(proposal.submit) <= MODAL_TITLE_MAX

    pulled = await backup.REMEDY.prepare(seam, WITH_BACKUP, None)
    assert pulled.form == "confirm" and pulled.target == WITH_BACKUP
    none_left = await backup.REMEDY.prepare(seam, NO_BACKUP_LEFT, None)
    assert none_left.form == "unavailable" and none_left.target is None

    unmanaged = await update_pin.REMEDY.prepare(seam, UNMANAGED, None)
    assert unmanaged.form == "unavailable" and "unmanaged" in unmanaged.text


async def test_prepare_reads_seam_when_it_needs_the_lock() -> None:
    seam: Any = NoSeam()
    for remedy in (update_pin.REMEDY, duplicate.CONVERT, duplicate.DELETE, free_slot.REMEDY):
        with pytest.raises(SeamTouched):
            await remedy.prepare(seam, MANAGED, None)


async def test_an_attempt_seam_did_not_create_is_done_without_polling() -> None:
    outcome = await follow_attempt(NoSeam(), None, "Done.", "do it")  # type: ignore[arg-type]
    assert outcome.ok and outcome.changed and outcome.summary == "Done."


# ------------------------------------------------------------------------------ refusal


def test_a_lost_answer_is_unknown_but_an_unsent_one_changed_nothing() -> None:
    lost = refusal(SeamUnavailableError("timed out", error_type="timeout"), "update the PIN")
    assert lost.status == "unknown" and lost.changed is True and "Re-check" in lost.summary
    unsent = refusal(SeamUnavailableError("down", error_type="timeout"), "x", sent=False)
    assert unsent.status == "error" and unsent.changed is False


@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (SeamNotFoundError("gone"), "no longer exists"),
        (SeamConflictError("PIN 739251 exists"), "another code may already use that PIN"),
        (SeamInvalidInputError("bad starts_at"), "rejected the request (bad starts_at)"),
        (SeamRateLimitedError("slow down"), "Try again in a minute"),
    ],
)
def test_a_definite_refusal_is_specific_and_changed_nothing(exc: Exception, needle: str) -> None:
    outcome = refusal(exc, "update the PIN")  # type: ignore[arg-type]
    assert outcome.status == "error" and outcome.changed is False
    assert outcome.summary.startswith("Seam could not update the PIN")
    assert needle in outcome.summary
    assert "739251" not in outcome.summary  # a PIN in Seam's words is redacted


# --- remove_backup: offered once the original works again, acts only on its own backup ---


def test_remove_backup_is_offered_only_for_a_healthy_code_that_names_a_pulled_backup() -> None:
    from bot.remedies.remove_backup import REMEDY as REMOVE

    healthy = code("orig", pulled_backup_access_code_id="bk1")
    failing = code(
        "orig",
        pulled_backup_access_code_id="bk1",
        errors=[{"error_code": "failed_to_set_on_device", "message": "x"}],
    )
    assert REMOVE.offered_for(healthy, set())
    assert not REMOVE.offered_for(failing, {REMOVE.key})  # the guest may still need it
    assert not REMOVE.offered_for(code("orig"), {REMOVE.key})  # no backup pulled
    assert REMOVE.refuses(healthy, code("bk1")) is None
    assert "not the backup code" in (REMOVE.refuses(healthy, code("other")) or "")
    assert "still reports a problem" in (REMOVE.refuses(failing, code("bk1")) or "")
    assert REMOVE.key in REMEDIES and len(REMOVE.button_label) <= BUTTON_TEXT_MAX


async def test_remove_backup_explains_itself_without_seam_when_there_is_nothing_to_remove() -> None:
    from bot.remedies.remove_backup import REMEDY as REMOVE

    proposal = await REMOVE.prepare(NoSeam(), code("orig"), None)  # type: ignore[arg-type]
    assert proposal.form == "unavailable" and "Nothing to remove" in proposal.text


def test_slot_candidates_leave_out_codes_that_are_not_on_the_lock() -> None:
    """A code Seam could not program holds no slot: deleting it would free nothing."""
    on_lock = code("on", status="set")
    never_set = code("unset", status="unset")
    unknown = code("unknown")
    picked = slot_candidates([never_set, on_lock, unknown], now=NOW)
    assert {c.access_code_id for c in picked} == {"on", "unknown"}


def test_no_second_backup_is_offered_once_one_was_pulled() -> None:
    fresh = code("g1", time_bound=True, backup_available=True)
    pulled = code("g1", time_bound=True, backup_available=True, pulled_backup_access_code_id="b1")
    assert can_pull_backup(fresh) and not can_pull_backup(pulled)
