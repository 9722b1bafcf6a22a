"""The rules of `bot.domain.alert_plan`: which alert each finding belongs to, what is folded into a
lock's alert, urgency order and "is it worse". Pure: findings and code snapshots in, groups out.

The end-to-end alert lifecycle (posting, editing, snoozing) is in tests/scenario/test_alerts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.alert_plan import AlertGroup, is_worse, plan_alerts
from bot.domain.catalogue import Scope
from bot.domain.findings import Finding
from bot.seam.models import AccessCode

NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)
FAILED = "failed_to_set_on_device"
DUPLICATE = "duplicate_code_on_device"


def on_code(access_code_id: str, problem: str = FAILED, kind: str = "error", **kw: Any) -> Finding:
    return Finding(
        subject="access_code",
        access_code_id=access_code_id,
        device_id=kw.pop("device_id", "d1"),
        problem=problem,
        kind=kind,  # type: ignore[arg-type]
        message="",
        scope=Scope.CODE,
        blocking=kw.pop("blocking", True),
        observed_at=NOW,
        **kw,
    )


def on_lock(
    device_id: str = "d1",
    problem: str = "device_offline",
    kind: str = "error",
    *,
    explains: frozenset[str] = frozenset({FAILED}),
    blocking: bool = True,
    carriers: tuple[str, ...] = (),
) -> Finding:
    return Finding(
        subject="device",
        access_code_id=None,
        device_id=device_id,
        problem=problem,
        kind=kind,  # type: ignore[arg-type]
        message="",
        scope=Scope.DEVICE,
        blocking=blocking,
        observed_at=NOW,
        carrier_code_ids=carriers,
        explains=explains,
    )


def snapshot(
    access_code_id: str, *, starts_in_h: float | None = None, name: str | None = None
) -> AccessCode:
    fields: dict[str, Any] = {
        "access_code_id": access_code_id,
        "device_id": "d1",
        "name": name or f"Guest {access_code_id}",
    }
    if starts_in_h is not None:
        fields |= {
            "type": "time_bound",
            "starts_at": NOW + timedelta(hours=starts_in_h),
            "ends_at": NOW + timedelta(hours=starts_in_h + 48),
        }
    return AccessCode.model_validate(fields)


def snapshots(*codes: AccessCode) -> dict[str, AccessCode]:
    return {c.access_code_id: c for c in codes}


@dataclass(frozen=True)
class Seen:
    kind: str


# ------------------------------------------------------------------------------ grouping


def test_one_alert_per_code_and_per_lock_code_alerts_first() -> None:
    findings = [
        on_lock("d2", explains=frozenset()),
        on_code("a", FAILED),
        on_code("b", DUPLICATE),
        on_code("a", DUPLICATE),
    ]
    groups = plan_alerts(findings, {}, NOW)
    assert list(groups) == ["code:a", "code:b", "device:d2"]
    assert [f.problem for f in groups["code:a"].findings] == [FAILED, DUPLICATE]
    assert groups["code:a"].subject == "access_code" and groups["code:a"].access_code_id == "a"
    lock = groups["device:d2"]
    assert lock.subject == "device" and lock.access_code_id is None and lock.device_id == "d2"
    assert all(g.folded_into is None for g in groups.values())  # nothing is explained


def test_a_code_finding_without_a_code_id_makes_no_alert() -> None:
    nameless = Finding(**{**on_code("a").__dict__, "access_code_id": None})
    assert plan_alerts([nameless], {}, NOW) == {}


def test_carriers_of_a_lock_problem_are_listed_without_folding() -> None:
    codes = snapshots(
        snapshot("late", starts_in_h=40),
        snapshot("soon", starts_in_h=2),
        snapshot("ongoing", name="A ongoing"),
    )
    lock = on_lock(kind="warning", explains=frozenset(), carriers=("ongoing", "late", "soon"))
    group = plan_alerts([lock], codes, NOW)["device:d1"]
    assert [cid for cid, _ in group.affected] == ["soon", "late", "ongoing"]  # soonest first
    assert all(own == () for _, own in group.affected)
    assert group.starts_in == 2 * 3600


# ------------------------------------------------------------------------------ folding


def test_a_code_whose_every_problem_the_lock_explains_is_folded() -> None:
    findings = [on_code("a", FAILED), on_code("b", FAILED), on_code("b", DUPLICATE), on_lock()]
    groups = plan_alerts(findings, {}, NOW)
    assert groups["code:a"].folded_into == "device:d1"
    assert groups["code:b"].folded_into is None  # a duplicate PIN has a cause of its own
    lock = groups["device:d1"]
    assert [(cid, [f.problem for f in own]) for cid, own in lock.affected] == [("a", [FAILED])]
    assert [f.problem for f in lock.all_findings] == ["device_offline", FAILED]


def test_only_a_blocking_lock_error_folds_and_only_on_its_own_lock() -> None:
    for lock in (
        on_lock(kind="warning"),
        on_lock(blocking=False),
        on_lock(explains=frozenset()),
        on_lock(explains=frozenset({DUPLICATE})),
        on_lock("d2"),
    ):
        groups = plan_alerts([on_code("a", FAILED), lock], {}, NOW)
        assert groups["code:a"].folded_into is None, lock
        assert groups[lock.alert_key].affected == ()


def test_folded_errors_make_the_lock_alert_an_error() -> None:
    groups = plan_alerts([on_code("a", FAILED), on_lock()], {}, NOW)
    assert groups["device:d1"].worst_kind == "error"
    warning_only = plan_alerts([on_lock(kind="warning", explains=frozenset())], {}, NOW)
    assert warning_only["device:d1"].worst_kind == "warning"


# ------------------------------------------------------------------------------ urgency


def test_starts_in_and_urgency_order() -> None:
    codes = snapshots(
        snapshot("staying", starts_in_h=-3),
        snapshot("soon", starts_in_h=1),
        snapshot("later", starts_in_h=30),
        snapshot("ongoing"),
    )
    findings = [
        on_code("ongoing"),
        on_code("later", kind="warning"),
        on_code("soon", kind="warning"),
        on_code("staying", kind="warning"),
    ]
    groups = plan_alerts(findings, codes, NOW)
    assert groups["code:staying"].starts_in == -3 * 3600
    assert groups["code:ongoing"].starts_in is None
    ordered = [g.key for g in sorted(groups.values(), key=AlertGroup.urgency_key)]
    assert ordered == ["code:staying", "code:soon", "code:later", "code:ongoing"]


def test_same_start_errors_come_first() -> None:
    codes = snapshots(snapshot("w", starts_in_h=5), snapshot("e", starts_in_h=5))
    groups = plan_alerts([on_code("w", kind="warning"), on_code("e")], codes, NOW)
    ordered = [g.key for g in sorted(groups.values(), key=AlertGroup.urgency_key)]
    assert ordered == ["code:e", "code:w"]


def test_a_lock_alert_is_as_urgent_as_its_soonest_affected_code() -> None:
    codes = snapshots(snapshot("a", starts_in_h=20), snapshot("b", starts_in_h=3))
    groups = plan_alerts([on_code("a"), on_code("b"), on_lock()], codes, NOW)
    assert groups["device:d1"].starts_in == 3 * 3600
    assert [cid for cid, _ in groups["device:d1"].affected] == ["b", "a"]
    assert plan_alerts([on_lock()], {}, NOW)["device:d1"].starts_in is None


# ------------------------------------------------------------------------------ is_worse


def test_is_worse_new_errors_and_warnings_turned_errors() -> None:
    group = plan_alerts(
        [on_code("a", "x_error"), on_code("a", "y_error"), on_code("a", "z_warning", "warning")],
        {},
        NOW,
    )["code:a"]
    assert [f.problem for f in is_worse(group, {})] == ["x_error", "y_error"]
    before = {"code:a:x_error": Seen("error"), "code:a:y_error": Seen("warning")}
    assert [f.problem for f in is_worse(group, before)] == ["y_error"]
    all_open = {"code:a:x_error": Seen("error"), "code:a:y_error": Seen("error")}
    assert is_worse(group, all_open) == []


def test_is_worse_counts_folded_code_problems_for_the_lock() -> None:
    group = plan_alerts([on_code("a", FAILED), on_lock()], {}, NOW)["device:d1"]
    before = {"device:d1:device_offline": Seen("error")}
    assert [f.fingerprint for f in is_worse(group, before)] == [f"code:a:{FAILED}"]
    both = {**before, f"code:a:{FAILED}": Seen("error")}
    assert is_worse(group, both) == []
