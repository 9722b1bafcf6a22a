"""What "Check device" reads from a lock (`bot.domain.device_check.check_device`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.catalogue import default_catalogue
from bot.domain.device_check import check_device
from bot.seam.models import Device

CAT = default_catalogue()
NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)


def lock(online: bool | None, *errors: dict[str, Any], **props: Any) -> Device:
    properties: dict[str, Any] = {"name": "Unit 3A Front Door", **props}
    if online is not None:
        properties["online"] = online
    return Device.model_validate(
        {"device_id": "d1", "properties": properties, "errors": list(errors)}
    )


def error(code: str, at: datetime | None = None) -> dict[str, Any]:
    raised = {"error_code": code, "message": "m", "is_device_error": True}
    return raised | ({"created_at": at.isoformat()} if at else {})


def remedy(code: str) -> str:
    return CAT.lookup(code, "error").remedy


def test_an_offline_lock_says_since_when_and_what_to_do_for_being_offline() -> None:
    check = check_device(lock(False, error("device_offline", NOW - timedelta(hours=2))), CAT)
    assert check.state == "offline"
    assert check.offline_since == NOW - timedelta(hours=2)
    assert check.offline_error == "device_offline"
    assert check.advice == (remedy("device_offline"),)


def test_the_advice_follows_the_error_the_lock_really_reports() -> None:
    account = check_device(lock(False, error("account_disconnected", NOW)), CAT)
    assert account.advice == (remedy("account_disconnected"),)
    assert "reconnect" in account.advice[0] and "batteries" not in account.advice[0]
    hub = check_device(lock(False, error("hub_disconnected", NOW), error("device_offline")), CAT)
    assert hub.advice == (remedy("hub_disconnected"), remedy("device_offline"))
    assert hub.offline_error == "hub_disconnected"  # the only one Seam dated


def test_an_offline_lock_with_no_error_gets_the_offline_remedy_and_no_since() -> None:
    check = check_device(lock(False), CAT)
    assert check.advice == (remedy("device_offline"),)
    assert check.offline_since is None and check.offline_error is None


def test_an_online_lock_with_no_error_needs_nothing_and_has_no_since() -> None:
    check = check_device(lock(True), CAT)
    assert check.state == "online" and check.advice == () and check.offline_since is None


def test_a_warning_of_an_online_lock_is_advice_too_after_the_errors() -> None:
    flaky = Device.model_validate(
        {
            "device_id": "d1",
            "properties": {"online": True},
            "warnings": [{"warning_code": "device_has_flaky_connection", "message": "m"}],
            "errors": [error("account_disconnected")],
        }
    )
    check = check_device(flaky, CAT)
    assert check.advice == (
        remedy("account_disconnected"),
        CAT.lookup("device_has_flaky_connection", "warning").remedy,
    )
    assert [p.kind for p in check.problems] == ["error", "warning"]


def test_an_unknown_state_says_to_look_in_the_makers_app() -> None:
    check = check_device(lock(None), CAT)
    assert check.state == "unknown" and "lock maker's app" in check.advice[0]


def test_the_battery_reading_is_kept_and_low_is_seams_own_rating() -> None:
    low = check_device(lock(False, battery_level=0.18, battery={"status": "low"}), CAT)
    assert low.battery_level == 0.18 and low.battery_low
    good = check_device(lock(True, battery_level=0.82, battery={"status": "good"}), CAT)
    assert good.battery_level == 0.82 and not good.battery_low
    unread = check_device(lock(True, battery_level="full"), CAT)
    assert unread.battery_level is None and not unread.battery_low
