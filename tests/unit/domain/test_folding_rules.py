"""Which problems a lock- or account-level problem explains (catalogue data), one test per rule,
and what the catalogue's advice names always has its button. Pure: no fakes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.alert_plan import plan_alerts
from bot.domain.catalogue import Scope, default_catalogue
from bot.domain.findings import findings_for_device
from bot.seam.models import AccessCode, Device

CAT = default_catalogue()
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)

#: Code problems with causes of their own: no lock problem explains them.
OWN_CAUSE = (
    "duplicate_code_on_device",
    "august_lock_bad_access_code_format",
    "no_space_for_access_code_on_device",
    "code_constraints_violated",
    "salto_site_user_not_subscribed",
    "conflicting_external_modification",
)
#: Symptoms of a lock that cannot be reached: every lock/account outage explains them.
SYMPTOMS = (
    "failed_to_set_on_device",
    "delay_in_setting_on_device",
    "failed_to_remove_from_device",
    "delay_in_removing_from_device",
)
PARENTS = [e for e in CAT.entries() if e.explains]


def device(online: bool | None = True, errors: list[dict[str, Any]] | None = None) -> Device:
    props: dict[str, Any] = {} if online is None else {"online": online}
    return Device.model_validate(
        {"device_id": "d1", "properties": {"name": "Front", **props}, "errors": errors or []}
    )


def code(cid: str, *errors: dict[str, Any]) -> AccessCode:
    return AccessCode.model_validate(
        {
            "access_code_id": cid,
            "device_id": "d1",
            "name": cid,
            "code": "4821",
            "type": "time_bound",
            "starts_at": (NOW + timedelta(hours=5)).isoformat(),
            "ends_at": (NOW + timedelta(days=2)).isoformat(),
            "errors": list(errors),
        }
    )


def err(name: str, **flags: Any) -> dict[str, Any]:
    return {"error_code": name, "message": name, **flags}


def plan(dev: Device, codes: list[AccessCode]) -> dict[str, Any]:
    findings = findings_for_device(dev, codes, catalogue=CAT, observed_at=NOW)
    return plan_alerts(findings, {c.access_code_id: c for c in codes}, NOW)


def test_every_lock_and_account_outage_explains_the_programming_symptoms() -> None:
    outages = {"device_offline", "device_disconnected", "hub_disconnected", "account_disconnected"}
    assert outages <= {e.code for e in PARENTS}
    for entry in PARENTS:
        assert entry.scope is not Scope.CODE and entry.kind.value == "error"
        assert set(SYMPTOMS) <= set(entry.explains), entry.code


@pytest.mark.parametrize("entry", PARENTS, ids=lambda e: e.code)
def test_no_parent_explains_a_problem_with_its_own_cause(entry: Any) -> None:
    assert not set(OWN_CAUSE) & set(entry.explains)
    for symptom in entry.explains:
        catalogued = CAT.get(symptom, "error") or CAT.get(symptom, "warning")
        assert catalogued is not None and catalogued.scope is Scope.CODE, symptom


@pytest.mark.parametrize("symptom", SYMPTOMS)
def test_an_offline_lock_folds_each_symptom(symptom: str) -> None:
    offline = err("device_offline", is_device_error=True)
    dev = device(False, [offline])
    groups = plan(dev, [code("c1", offline, err(symptom))])
    assert groups["code:c1"].folded_into == "device:d1"
    assert [cid for cid, own in groups["device:d1"].affected if own] == ["c1"]


@pytest.mark.parametrize("own_cause", OWN_CAUSE)
def test_an_offline_lock_never_folds_a_problem_with_its_own_cause(own_cause: str) -> None:
    offline = err("device_offline", is_device_error=True)
    dev = device(False, [offline])
    groups = plan(dev, [code("c1", offline, err(own_cause)), code("c2", offline, err(own_cause))])
    assert groups["code:c1"].folded_into is None and groups["code:c2"].folded_into is None
    # ...also when the code has an explained symptom beside it: the own cause keeps it.
    mixed = plan(dev, [code("c3", offline, err("failed_to_set_on_device"), err(own_cause))])
    assert mixed["code:c3"].folded_into is None


def test_a_device_warning_folds_nothing() -> None:
    dev = Device.model_validate(
        {
            "device_id": "d1",
            "properties": {"name": "Front", "online": True},
            "warnings": [{"warning_code": "third_party_integration_detected", "message": "x"}],
        }
    )
    groups = plan(dev, [code("c1", err("failed_to_set_on_device"))])
    assert groups["code:c1"].folded_into is None


def test_a_lock_looking_error_on_a_code_stays_a_code_alert_while_the_lock_is_online() -> None:
    codes = [
        code("a", err("august_lock_temporarily_offline")),
        code("b", err("august_lock_bad_access_code_format")),
        code("c", err("duplicate_code_on_device")),
    ]
    groups = plan(device(True), codes)
    assert sorted(groups) == ["code:a", "code:b", "code:c"]
    assert all(g.folded_into is None for g in groups.values())


def test_the_same_error_is_the_locks_problem_when_the_lock_is_offline_or_seam_flags_it() -> None:
    offline_lock = plan(device(False), [code("a", err("august_lock_temporarily_offline"))])
    assert "device:d1" in offline_lock and "code:a" not in offline_lock
    flagged = plan(
        device(True), [code("a", err("august_lock_temporarily_offline", is_device_error=True))]
    )
    assert "device:d1" in flagged and "code:a" not in flagged
    unknown = plan(device(None), [code("a", err("august_lock_temporarily_offline"))])
    assert "device:d1" in unknown  # no word from the lock: the catalogue's scope stands


# ----------------------------------------------------------------------------- advice -> buttons

#: Words in advice that name an action the bot can take, and the action's key.
ADVICE = {
    "pull_backup": r"\b(use|pull) an? backup code|backup code[^.]*\bcan help",
    "free_slot": r"\b(delete|remove) (codes|old|expired|unused|one of)|free (up )?a slot",
    "update_pin": r"\b(update|change) (this code's |the |its )?PIN|\b(new|different) PIN",
    "convert_unmanaged": r"\bconvert (that|the|it|this)\b",
    "delete_and_recreate": r"\bdelete and recreate|\bre-?create (the|this|it)\b",
    "recheck": r"\bre-?check",
    "contact_support": r"\bSeam support",
}


@pytest.mark.parametrize("entry", CAT.entries(), ids=lambda e: f"{e.code}/{e.kind.value}")
def test_every_action_the_advice_names_has_its_button(entry: Any) -> None:
    named = {key for key, pattern in ADVICE.items() if re.search(pattern, entry.remedy, re.I)}
    missing = named - {str(a) for a in entry.actions}
    assert not missing, f"{entry.code}: advice names {sorted(missing)}: {entry.remedy}"


def test_the_advice_patterns_find_what_they_are_for() -> None:
    # The walk above is only as good as its patterns: each one matches its own wording.
    samples = {
        "pull_backup": "If a guest arrives first, a backup code already on the lock can help.",
        "free_slot": "Delete codes that are no longer needed.",
        "update_pin": "Update the PIN to one the lock accepts.",
        "convert_unmanaged": "Convert that code to managed.",
        "delete_and_recreate": "Delete and recreate the code through Seam.",
        "recheck": "Then re-check.",
        "contact_support": "Contact Seam support if it persists.",
    }
    for key, text in samples.items():
        assert re.search(ADVICE[key], text, re.I), key
