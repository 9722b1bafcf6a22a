"""Arrivals first, pure rules (bot/domain/arrivals.py): predictive findings, arrival states,
escalation thresholds, digest days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.arrivals import (
    ESCALATION_THRESHOLDS,
    arrivals_by_day,
    arrivals_for_device,
    count_arrivals,
    digest_due,
    due_escalation,
    in_final_hour,
    next_digest_at,
    predictive_findings,
)
from bot.domain.catalogue import default_catalogue
from bot.domain.findings import findings_for_device
from bot.seam.models import AccessCode, Device

CAT = default_catalogue()
NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)


def lock(**props: Any) -> Device:
    warnings = props.pop("warnings", [])
    errors = props.pop("errors", [])
    return Device.model_validate(
        {
            "device_id": "d1",
            "display_name": "Front Door",
            "properties": {"online": True, **props},
            "errors": errors,
            "warnings": warnings,
        }
    )


def code(cid: str, hours: float | None, **fields: Any) -> AccessCode:
    data: dict[str, Any] = {"access_code_id": cid, "device_id": "d1", "name": f"Guest {cid}"}
    data["status"] = fields.pop("status", "set")
    if hours is not None:
        data |= {
            "type": "time_bound",
            "starts_at": NOW + timedelta(hours=hours),
            "ends_at": NOW + timedelta(hours=hours + 48),
        }
    return AccessCode.model_validate(data | fields)


def problems(device: Device, codes: list[AccessCode], **kw: Any) -> dict[str, tuple[str, ...]]:
    found = predictive_findings(device, codes, catalogue=CAT, now=NOW, **kw)
    assert all(f.source == "predictive" and f.kind == "warning" for f in found)
    assert all(not CAT.lookup(f.problem, f.kind).is_generic for f in found)
    return {
        f.fingerprint: (f.access_code_id,) if f.access_code_id else f.carrier_code_ids
        for f in found
    }


def test_a_code_not_set_inside_at_risk_hours_without_an_error_is_at_risk() -> None:
    codes = [
        code("soon", 5, status="setting"),
        code("far", 30, status="unset"),  # outside AT_RISK_HOURS (24)
        code("set", 5),  # on the lock
        code("erred", 5, status="unset", errors=[{"error_code": "failed_to_set_on_device"}]),
        code("ongoing", None, status="unset"),
        code("started", -2, status="unset"),  # stay under way: not an arrival
        code("other", 5, status="unset", device_id="d2"),  # another lock's
    ]
    assert problems(lock(), codes) == {"code:soon:at_risk_not_set": ("soon",)}
    assert "code:far:at_risk_not_set" in problems(lock(), codes, at_risk_hours=48)


def test_an_offline_lock_with_arrivals_names_them() -> None:
    codes = [code("a", 20), code("b", 60, status="unset"), code("late", 80), code("on", None)]
    found = predictive_findings(lock(online=False), codes, catalogue=CAT, now=NOW)
    (offline,) = [f for f in found if f.problem == "at_risk_lock_offline"]
    assert offline.subject == "device" and offline.carrier_code_ids == ("a", "b")
    assert "Guest a, Guest b" in offline.message and "offline" in offline.message
    # disconnected (a device error) counts too; no arrivals: nothing
    gone = lock(errors=[{"error_code": "account_disconnected", "is_connected_account_error": True}])
    assert "device:d1:at_risk_lock_offline" in problems(gone, codes)
    assert problems(lock(online=False), [code("late", 80)]) == {}


def test_no_backup_only_where_the_lock_supports_a_pool() -> None:
    codes = [
        code("none", 10),
        code("has", 10, is_backup_access_code_available=True),
        code("pulled", 10, pulled_backup_access_code_id="bk"),
        code("later", 30),
    ]
    assert problems(lock(supports_backup_access_code_pool=True), codes) == {
        "code:none:at_risk_no_backup": ("none",)
    }
    assert problems(lock(), codes) == {}


def test_slots_where_seam_reports_the_limit() -> None:
    pending = [code("p1", 30, status="unset"), code("p2", 50, status="unset"), code("s", None)]
    full = lock(
        max_active_codes_supported=4,
        warnings=[{"warning_code": "max_access_codes_reached", "active_access_code_count": 3}],
    )
    assert problems(full, pending) == {"device:d1:at_risk_slots": ("p1", "p2")}
    assert problems(lock(max_active_codes_supported=3), pending) == {}  # 1 set, 2 free
    assert problems(lock(max_active_codes_supported=2), pending)  # 1 set, 1 free < 2
    assert problems(lock(), pending) == {}  # no limit reported: no guess


def test_low_battery_and_flaky_connection_with_arrivals() -> None:
    codes = [code("a", 30)]
    assert problems(lock(battery={"status": "low", "level": 0.18}), codes) == {
        "device:d1:at_risk_low_battery": ("a",)
    }
    flaky = lock(warnings=[{"warning_code": "device_has_flaky_connection"}])
    assert problems(flaky, codes) == {"device:d1:at_risk_flaky_connection": ("a",)}
    assert problems(flaky, [code("ongoing", None)]) == {}


def test_messages_do_not_count_down() -> None:
    device = lock(online=False)
    codes = [code("a", 20, status="setting")]
    first = predictive_findings(device, codes, catalogue=CAT, now=NOW)
    later = predictive_findings(device, codes, catalogue=CAT, now=NOW + timedelta(hours=3))
    assert [f.message for f in first] == [f.message for f in later]


def test_arrival_states_ok_at_risk_failing() -> None:
    device = lock(online=True)
    codes = [
        code("ok", 30),
        code("risky", 5, status="setting"),
        code("slow", 40, warnings=[{"warning_code": "delay_in_setting_on_device"}]),
        code("bad", 10, errors=[{"error_code": "failed_to_set_on_device"}]),
        code("outside", 100),
        code("now", -1),
        code("backup", 10, is_backup=True),
    ]
    found = findings_for_device(device, codes, catalogue=CAT, observed_at=NOW)
    found += predictive_findings(device, codes, catalogue=CAT, now=NOW)
    arrivals = arrivals_for_device(device, codes, found, catalogue=CAT, now=NOW)
    assert [(a.access_code_id, a.state) for a in arrivals] == [
        ("risky", "at_risk"),
        ("bad", "failing"),
        ("ok", "ok"),
        ("slow", "at_risk"),
    ]
    assert arrivals[0].problems == ("at_risk_not_set",)
    assert arrivals[1].device_name == "Front Door"
    assert count_arrivals(arrivals) == count_arrivals(reversed(arrivals))
    counts = count_arrivals(arrivals)
    assert (counts.total, counts.ok, counts.at_risk, counts.failing) == (4, 1, 2, 1)


def test_arrivals_group_by_local_day() -> None:
    device = lock()
    # 12:00 UTC + 13 h = 01:00 UTC next day, which is still the 30th in New York
    codes = [code("a", 13), code("b", 2), code("c", 40)]
    arrivals = arrivals_for_device(device, codes, [], catalogue=CAT, now=NOW)
    utc = [
        (d.isoformat(), [a.access_code_id for a in items])
        for d, items in arrivals_by_day(arrivals, UTC)
    ]
    assert utc == [("2025-11-30", ["b"]), ("2025-12-01", ["a"]), ("2025-12-02", ["c"])]
    ny = arrivals_by_day(arrivals, ZoneInfo("America/New_York"))
    assert [[a.access_code_id for a in items] for _, items in ny] == [["b", "a"], ["c"]]


@pytest.mark.parametrize(
    ("hours", "done", "due", "passed"),
    [
        (30, (), None, ()),
        (23, (), "T-24 h", ("T-24 h",)),
        (23, (24 * 3600.0,), None, ()),
        (3.5, (24 * 3600.0,), "T-4 h", ("T-4 h",)),
        (0.5, (), "T-1 h", ("T-24 h", "T-4 h", "T-1 h")),  # a late first look: one reply
        (-1, (), None, ()),
        (None, (), None, ()),
    ],
)
def test_escalation_thresholds(
    hours: float | None, done: tuple[float, ...], due: str | None, passed: tuple[str, ...]
) -> None:
    got, crossed = due_escalation(None if hours is None else hours * 3600, done)
    assert (got.label if got else None) == due
    assert tuple(t.label for t in crossed) == passed
    assert [t.mention for t in ESCALATION_THRESHOLDS] == [False, True, True]


def test_final_hour_and_digest_times() -> None:
    assert in_final_hour(3599) and in_final_hour(3600) and not in_final_hour(3601)
    assert not in_final_hour(-5) and not in_final_hour(None)
    paris = ZoneInfo("Europe/Paris")
    assert digest_due(datetime(2025, 11, 30, 6, 59, tzinfo=UTC), paris, 8, 0) is None
    assert digest_due(datetime(2025, 11, 30, 7, 0, tzinfo=UTC), paris, 8, 0).isoformat() == (  # type: ignore[union-attr]
        "2025-11-30"
    )
    nxt = next_digest_at(datetime(2025, 11, 30, 7, 0, tzinfo=UTC), paris, 8, 0)
    assert nxt.astimezone(UTC) == datetime(2025, 12, 1, 7, 0, tzinfo=UTC)
