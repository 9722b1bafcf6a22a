"""Table-driven tests of the remedy catalogue (bot/catalogue.py + bot/catalogue.toml)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain.catalogue import (
    CATALOGUE_PATH,
    Catalogue,
    CatalogueEntry,
    Kind,
    RemedyAction,
    Scope,
    default_catalogue,
    load_catalogue,
)

A = RemedyAction
CAT = default_catalogue()

# code, kind, scope, blocking, actions (exact, in order), remedy substrings (case-insensitive)
SEEDS: list[tuple[str, Kind, Scope, bool, tuple[RemedyAction, ...], tuple[str, ...]]] = [
    # Seam's troubleshooting-guide table (all 13)
    (
        "failed_to_set_on_device",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.PULL_BACKUP, A.UPDATE_PIN, A.RECHECK, A.CONTACT_SUPPORT),
        ("seam's message", "backup code", "update the pin"),
    ),
    (
        "failed_to_remove_from_device",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.CHECK_DEVICE, A.RECHECK, A.CONTACT_SUPPORT),
        ("lock maker's app", "already have been deleted"),
    ),
    (
        "code_modified_external_to_seam",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.DELETE_AND_RECREATE, A.CONVERT_UNMANAGED, A.RECHECK),
        ("delete and recreate the code through seam", "convert that unmanaged code to managed"),
    ),
    (
        "august_device_programming_delay",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.CHECK_DEVICE, A.RECHECK),
        ("stable internet connection", "locking and unlocking it through seam"),
    ),
    (
        "august_device_slots_full",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.FREE_SLOT, A.RECHECK),
        ("free slots by deleting codes", "through seam"),
    ),
    (
        "august_lock_bad_access_code_format",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.UPDATE_PIN, A.RECHECK),
        ("pin and name rules", "update the code"),
    ),
    (
        "august_lock_temporarily_offline",
        Kind.ERROR,
        Scope.DEVICE,
        True,
        (A.CHECK_DEVICE, A.RECHECK),
        ("stable internet connection",),
    ),
    (
        "duplicate_code_on_device",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.CONVERT_UNMANAGED, A.DELETE_UNMANAGED, A.UPDATE_PIN, A.RECHECK),
        ("unmanaged code with the same pin", "convert it to a managed code", "delete it"),
    ),
    (
        "salto_site_user_not_subscribed",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.CHECK_DEVICE, A.RECHECK),
        ("salto user's subscription", "subscription limit"),
    ),
    (
        "smartthings_failed_to_set_after_multiple_retries",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.UPDATE_PIN, A.PULL_BACKUP, A.RECHECK, A.CONTACT_SUPPORT),
        ("duplicate codes", "rboy apps", "disable them"),
    ),
    (
        "smartthings_no_free_slots_available",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.FREE_SLOT, A.RECHECK),
        ("free slots", "3 extra codes"),
    ),
    (
        "kwikset_unable_to_confirm_code",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.UPDATE_PIN, A.RECHECK, A.CONTACT_SUPPORT),
        ("update this code's pin through seam",),
    ),
    (
        "kwikset_unable_to_confirm_deletion",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.RECHECK, A.CONTACT_SUPPORT),
        ("kwikset app", "bluetooth", "contact seam support", "remove their record"),
    ),
    # current generic codes
    (
        "no_space_for_access_code_on_device",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.FREE_SLOT, A.RECHECK),
        ("free a slot", "through seam"),
    ),
    (
        "code_constraints_violated",
        Kind.ERROR,
        Scope.CODE,
        True,
        (A.UPDATE_PIN, A.RECHECK),
        ("update the code to a pin this lock accepts",),
    ),
    (
        "conflicting_external_modification",
        Kind.ERROR,
        Scope.CODE,
        True,
        # Its advice also says to convert or delete a code someone added on the lock.
        (A.DELETE_AND_RECREATE, A.CONVERT_UNMANAGED, A.DELETE_UNMANAGED, A.RECHECK),
        ("delete and recreate the code through seam",),
    ),
    (
        "device_offline",
        Kind.ERROR,
        Scope.DEVICE,
        True,
        # Its advice says a backup code can help a guest arriving before it reconnects.
        (A.CHECK_DEVICE, A.PULL_BACKUP, A.RECHECK, A.CONTACT_SUPPORT),
        ("batteries", "wi-fi or hub"),
    ),
    (
        "account_disconnected",
        Kind.ERROR,
        Scope.ACCOUNT,
        True,
        (A.CHECK_DEVICE, A.RECHECK, A.CONTACT_SUPPORT),
        ("reconnect the account",),
    ),
    (
        "bridge_disconnected",
        Kind.ERROR,
        Scope.ACCOUNT,
        True,
        (A.CHECK_DEVICE, A.RECHECK, A.CONTACT_SUPPORT),
        ("seam bridge program is running",),
    ),
    (
        "insufficient_permissions",
        Kind.ERROR,
        Scope.ACCOUNT,
        True,
        (A.CHECK_DEVICE, A.RECHECK, A.CONTACT_SUPPORT),
        ("admin or owner access",),
    ),
    (
        "third_party_integration_detected",
        Kind.WARNING,
        Scope.DEVICE,
        False,
        (A.CHECK_DEVICE, A.RECHECK),
        ("disable the other app",),
    ),
    (
        "max_access_codes_reached",
        Kind.WARNING,
        Scope.DEVICE,
        True,
        (A.FREE_SLOT, A.RECHECK),
        ("delete codes that are no longer needed",),
    ),
    (
        "delay_in_setting_on_device",
        Kind.WARNING,
        Scope.CODE,
        True,
        (A.CHECK_DEVICE, A.PULL_BACKUP, A.RECHECK),
        ("pull a backup code",),
    ),
    (
        "code_rotates_periodically",
        Kind.WARNING,
        Scope.CODE,
        False,
        (A.RECHECK,),
        ("latest pin",),
    ),
    (
        "management_transferred",
        Kind.WARNING,
        Scope.CODE,
        False,
        (A.RECHECK, A.CONTACT_SUPPORT),
        ("contact seam support",),
    ),
    ("being_deleted", Kind.WARNING, Scope.CODE, False, (A.RECHECK,), ("nothing to do",)),
]


@pytest.mark.parametrize(
    ("code", "kind", "scope", "blocking", "actions", "remedy_bits"),
    SEEDS,
    ids=[f"{s[0]}/{s[1].value}" for s in SEEDS],
)
def test_seed_code_has_its_specific_remedy(
    code: str,
    kind: Kind,
    scope: Scope,
    blocking: bool,
    actions: tuple[RemedyAction, ...],
    remedy_bits: tuple[str, ...],
) -> None:
    entry = CAT.lookup(code, kind, message="ignored for known codes")
    assert not entry.is_generic
    assert (entry.code, entry.kind) == (code, kind)
    assert entry.scope is scope
    assert entry.blocking is blocking
    assert entry.actions == actions
    for bit in remedy_bits:
        assert bit in entry.remedy.lower(), f"{code}: remedy lacks {bit!r}: {entry.remedy}"
    assert "ignored for known codes" not in entry.explanation


@pytest.mark.parametrize(
    "code",
    [
        "device_offline",
        "device_removed",
        "hub_disconnected",
        "device_disconnected",
        "empty_backup_access_code_pool",
        "august_lock_not_authorized",
        "missing_device_credentials",
        "auxiliary_heat_running",
        "subscription_required",
    ],
)
def test_device_errors_are_device_level(code: str) -> None:
    entry = CAT.lookup(code, Kind.ERROR)
    assert entry.scope is Scope.DEVICE
    assert entry.is_parent_cause
    assert entry.applies_to == {"access_code", "device"}  # Seam copies them onto codes


@pytest.mark.parametrize(
    "code",
    [
        "account_disconnected",
        "salto_ks_subscription_limit_exceeded",
        "dormakaba_sites_disconnected",
        "insufficient_permissions",
        "bridge_disconnected",
    ],
)
def test_account_errors_are_account_level(code: str) -> None:
    entry = CAT.lookup(code, Kind.ERROR)
    assert entry.scope is Scope.ACCOUNT
    assert entry.is_parent_cause
    assert A.CHECK_DEVICE in entry.actions


def test_device_only_warnings_are_parent_causes() -> None:
    device_only = [e for e in CAT.entries() if e.applies_to == {"device"}]
    assert len(device_only) > 25
    assert [e.code for e in device_only if not e.is_parent_cause] == []


def test_no_code_has_two_scopes() -> None:
    scopes: dict[str, set[Scope]] = defaultdict(set)
    for entry in CAT.entries():
        scopes[entry.code].add(entry.scope)
    assert {c: s for c, s in scopes.items() if len(s) > 1} == {}
    # the multi-list codes named in the brief are each one scope
    assert CAT.lookup("device_offline", "error").scope is Scope.DEVICE
    assert CAT.lookup("third_party_integration_detected", "warning").scope is Scope.DEVICE
    for kind in Kind:
        assert CAT.lookup("kwikset_unable_to_confirm_code", kind).scope is Scope.CODE
        assert CAT.lookup("provider_issue", kind).scope is Scope.CODE
        assert CAT.lookup("insufficient_permissions", kind).scope is Scope.ACCOUNT


@pytest.mark.parametrize(
    ("legacy", "current"),
    [
        ("august_device_slots_full", "no_space_for_access_code_on_device"),
        ("smartthings_no_free_slots_available", "no_space_for_access_code_on_device"),
        ("hubitat_no_free_positions_available", "no_space_for_access_code_on_device"),
        ("code_modified_external_to_seam", "conflicting_external_modification"),
        ("august_lock_invalid_code_length", "code_constraints_violated"),
        ("august_lock_bad_access_code_format", "code_constraints_violated"),
        ("kwikset_insufficient_permissions", "insufficient_permissions"),
        ("kwikset_unable_to_confirm_code", "failed_to_set_on_device"),
        ("kwikset_unable_to_confirm_deletion", "failed_to_remove_from_device"),
        ("august_lock_temporarily_offline", "device_offline"),
        ("duplicate_code_attempt_prevented", "duplicate_code_on_device"),
    ],
)
def test_legacy_codes_point_to_current_equivalent_first(legacy: str, current: str) -> None:
    entry = CAT.lookup(legacy, Kind.ERROR)
    assert entry.status == "legacy"
    assert entry.related[0] == current
    assert CAT.lookup(current, Kind.ERROR).status == "current"


def test_slot_codes_share_the_free_slot_remedy() -> None:
    slot_codes = [
        e for e in CAT.entries() if "no_space_for_access_code_on_device" in (e.code, *e.related)
    ]
    assert len(slot_codes) >= 5
    for entry in slot_codes:
        if entry.code != "replaced_by_newer_access_code":
            assert entry.actions[0] is A.FREE_SLOT, entry.code


def test_unmanaged_actions_only_where_a_duplicate_exists() -> None:
    unmanaged = {A.CONVERT_UNMANAGED, A.DELETE_UNMANAGED}
    offering = {e.code for e in CAT.entries() if unmanaged & set(e.actions)}
    # ...or where the advice names converting the outside code (every advised action has its
    # button; the convert remedy finds the unmanaged code with the same PIN, or says none is).
    assert offering == {
        "duplicate_code_on_device",
        "schlage_detected_duplicate",
        "conflicting_external_modification",
        "code_modified_external_to_seam",
    }
    # Kwikset has no unmanaged codes, so its duplicate-caused error must not offer them.
    for entry in CAT.entries():
        if entry.code.startswith("kwikset_"):
            assert not unmanaged & set(entry.actions), entry.code


@pytest.mark.parametrize(
    ("code", "kind", "label"),
    [
        ("failed_to_set_on_device", "error", "error (blocking)"),
        ("auxiliary_heat_running", "error", "error (informational)"),
        ("code_rotates_periodically", "warning", "warning (informational)"),
        ("delay_in_setting_on_device", "warning", "warning (blocking)"),
    ],
)
def test_severity_label(code: str, kind: str, label: str) -> None:
    assert CAT.lookup(code, kind).severity == label


def test_entry_text_is_short_plain_and_mrkdwn_safe() -> None:
    for e in CAT.entries():
        assert 0 < len(e.title) <= 60 and not e.title.endswith("."), e.code
        assert 0 < len(e.explanation) <= 400 and e.explanation.endswith("."), e.code
        assert 0 < len(e.remedy) <= 500 and e.remedy.endswith("."), e.code
        for text in (e.title, e.explanation, e.remedy):
            assert not re.search(r"[<>&*_`~]|\s{2,}|\n", text), f"{e.code}: {text!r}"
        assert e.actions, e.code
        assert len(set(e.actions)) == len(e.actions), e.code


def test_get_and_codes() -> None:
    entry = CAT.get("failed_to_set_on_device", Kind.ERROR)
    assert entry is not None
    assert CAT.get("failed_to_set_on_device", "error") is entry
    assert CAT.get(" failed_to_set_on_device ", "Errors") is entry
    assert CAT.get("failed_to_set_on_device", "warning") is None
    assert CAT.get("failed_to_set_on_device", "bogus") is None
    assert CAT.get("not_a_code", "error") is None
    errors, warnings = CAT.codes(Kind.ERROR), CAT.codes("warning")
    assert "failed_to_set_on_device" in errors - warnings
    assert "code_rotates_periodically" in warnings - errors
    assert "kwikset_unable_to_confirm_code" in errors & warnings
    assert CAT.codes() == errors | warnings
    assert CAT.codes("bogus") == set()
    assert len(CAT) == len(CAT.entries()) == 122  # 116 Seam codes + 6 of the bot's own
    assert default_catalogue() is CAT


# --- unknown codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "blocking"), [(Kind.ERROR, True), (Kind.WARNING, False), ("weird", True)]
)
def test_unknown_code_gets_generic_entry_quoting_seams_message(
    kind: Kind | str, blocking: bool
) -> None:
    entry = CAT.lookup("brand_new_code", kind, message="The lock's keypad is upside down.")
    assert entry.is_generic
    assert entry.code == "brand_new_code"
    assert "brand_new_code" in entry.title
    assert "Seam says: “The lock's keypad is upside down.”" in entry.explanation
    assert entry.scope is Scope.CODE
    assert entry.blocking is blocking
    assert entry.actions == (A.RECHECK, A.CONTACT_SUPPORT)


def test_unknown_code_without_message() -> None:
    for message in (None, "", "   \n\t"):
        entry = CAT.lookup("brand_new_code", "warning", message=message)
        assert entry.is_generic
        assert "Seam gave no details" in entry.explanation


def test_generic_entry_neutralises_slack_control_characters() -> None:
    entry = CAT.lookup("x<y>", "error", message="<!channel> ping & <https://evil|click>")
    assert not re.search(r"[<>&]", entry.title + entry.explanation + entry.remedy)
    assert "“‹!channel› ping ＆ ‹https://evil|click›”" in entry.explanation
    assert "“x‹y›”" in entry.explanation
    assert entry.title == "Unrecognized Seam error: xy"


def test_generic_entry_truncates_absurd_message() -> None:
    entry = CAT.lookup("brand_new_code", "error", message="word " * 10_000)
    assert len(entry.explanation) <= 400
    assert entry.explanation.endswith("…”")
    quoted = entry.explanation.split("Seam says: “", 1)[1]
    assert 250 <= len(quoted) <= 301


def test_generic_scope_comes_from_hint_or_other_kind() -> None:
    # a code known under the other kind keeps its scope (one scope per code)
    assert CAT.lookup("device_offline", "warning").scope is Scope.DEVICE
    assert CAT.lookup("device_offline", "warning").is_generic
    assert CAT.lookup("brand_new_code", "error", scope="account").scope is Scope.ACCOUNT
    assert CAT.lookup("brand_new_code", "error", scope=Scope.DEVICE).applies_to == {
        "access_code",
        "device",
    }
    assert CAT.lookup("brand_new_code", "error", scope="nonsense").scope is Scope.CODE


@pytest.mark.parametrize(
    "code",
    ["", " ", "\ud800", "日本語のコード", "a" * 100_000, "\x00\x1b[31m", "code\nwith\nlines"],
)
def test_lookup_never_raises_on_odd_codes(code: str) -> None:
    entry = CAT.lookup(code, "error", message="\udfff" + "m" * 1000)
    assert entry.is_generic
    assert len(entry.title) <= 60 and len(entry.explanation) <= 400
    assert len(entry.code) <= 200


@settings(max_examples=200, deadline=None)
@given(
    code=st.text(max_size=300),
    kind=st.one_of(st.sampled_from(list(Kind)), st.text(max_size=10)),
    message=st.one_of(st.none(), st.text(max_size=2000)),
)
def test_lookup_never_raises_property(code: str, kind: Kind | str, message: str | None) -> None:
    entry = CAT.lookup(code, kind, message=message)
    assert isinstance(entry, CatalogueEntry)
    assert not re.search(r"[<>&]", entry.title + entry.explanation + entry.remedy)
    assert len(entry.title) <= 60 and len(entry.explanation) <= 400
    assert entry.actions


# --- the bot's own predictive checks ------------------------------------------------------

BOT_CODES = {
    "at_risk_not_set",
    "at_risk_lock_offline",
    "at_risk_no_backup",
    "at_risk_slots",
    "at_risk_low_battery",
    "at_risk_flaky_connection",
}


def test_the_bots_own_checks_are_marked_as_such() -> None:
    bot = {e.code for e in CAT.entries() if e.is_bot_check}
    assert bot == BOT_CODES
    for entry in CAT.entries():
        assert entry.is_bot_check == entry.code.startswith("at_risk_"), entry.code
        if entry.is_bot_check:
            assert entry.status == "bot" and entry.kind is Kind.WARNING
            assert "the bot's own" in entry.explanation, entry.code
            assert not entry.explains


def test_a_seam_status_on_an_at_risk_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[[entry]]\ncode = "at_risk_x"\nkind = "warning"\nstatus = "current"\n'
        'applies_to = ["access_code"]\nscope = "code"\nblocking = false\ntitle = "T"\n'
        'explanation = "E."\nremedy = "R."\nactions = ["recheck"]\n'
    )
    with pytest.raises(ValueError, match="status 'bot'"):
        load_catalogue(path)
    path.write_text(
        path.read_text().replace('code = "at_risk_x"', 'code = "x"').replace('"current"', '"bot"')
    )
    with pytest.raises(ValueError, match="status 'bot'"):
        load_catalogue(path)
    # an unknown code Seam sends that happens to look like ours still gets a generic entry
    assert CAT.lookup("at_risk_from_seam", "error").is_generic


def test_entries_are_frozen() -> None:
    entry = CAT.lookup("failed_to_set_on_device", "error")
    with pytest.raises(ValidationError):
        entry.blocking = False  # type: ignore[misc]


# --- loader validation -----------------------------------------------------------------------

GOOD = """
[[entry]]
code = "{code}"
kind = "{kind}"
status = "current"
applies_to = ["access_code"]
scope = "{scope}"
blocking = true
title = "A title"
explanation = "An explanation."
remedy = "A remedy."
actions = [{actions}]
related = [{related}]
"""


def _entry(
    code: str = "some_code",
    kind: str = "error",
    scope: str = "code",
    actions: str = '"recheck"',
    related: str = "",
) -> str:
    return GOOD.format(code=code, kind=kind, scope=scope, actions=actions, related=related)


def _load(tmp_path: Path, text: str) -> Catalogue:
    path = tmp_path / "catalogue.toml"
    path.write_text(text, encoding="utf-8")
    return load_catalogue(path)


def test_loader_accepts_a_minimal_file(tmp_path: Path) -> None:
    cat = _load(tmp_path, _entry() + _entry(kind="warning"))
    assert cat.codes() == {"some_code"}
    assert cat.lookup("some_code", "error").title == "A title"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (_entry() + _entry(), r"duplicate entry for \('some_code', 'error'\)"),
        (_entry(actions='"recheck", "reboot_lock"'), r"unknown action\(s\) \['reboot_lock'\]"),
        (
            _entry() + _entry(kind="warning", scope="device"),
            "scope contradiction for code 'some_code'",
        ),
        (_entry(related='"nowhere"'), "related code 'nowhere'"),
        (_entry(related='"some_code"'), "related code 'some_code'"),
        (_entry(actions=""), "actions"),
        (_entry(actions='"recheck", "recheck"'), "repeat"),
        (_entry(code="Bad Code"), "not a lower_snake_case"),
        (_entry().replace("A title", "Use <b>this</b>"), "title"),
        (_entry().replace("A remedy.", "Call Bob &amp; Alice."), "remedy"),
        (_entry().replace("A title", "x" * 61), "title"),
        (_entry().replace('scope = "code"', 'scope = "planet"'), "scope"),
        (_entry().replace("blocking = true", "blocking = true\nsurprise = 1"), "surprise"),
        (_entry().replace("blocking = true", ""), "blocking"),
        ("[[entry]\n", "invalid TOML"),
        ("", "no \\[\\[entry\\]\\] tables"),
        ("title = 'x'\n" + _entry(), "unexpected top-level keys"),
        (_entry() + "is_generic = true\n", "is_generic"),
    ],
)
def test_loader_rejects_bad_data_with_clear_message(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _load(tmp_path, text)


def test_packaged_file_is_the_default() -> None:
    assert CATALOGUE_PATH.name == "catalogue.toml"
    assert [e.code for e in load_catalogue().entries()] == [e.code for e in CAT.entries()]
