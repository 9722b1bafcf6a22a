"""The rules of `bot.domain.findings`: where a problem lives, how urgent a code is, display order,
and how one device's codes become findings. Pure: Seam objects in, findings out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from bot.domain.catalogue import CatalogueEntry, Scope, default_catalogue
from bot.domain.findings import (
    URGENCY_BANDS,
    Finding,
    findings_for_device,
    issue_scope,
    merge_findings,
    seconds_to_start,
    sort_findings,
    time_to_start_text,
    urgency_label,
)
from bot.seam.models import AccessCode, Device, SeamIssue

NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)
CAT = default_catalogue()


def entry(scope: Scope) -> CatalogueEntry:
    return CatalogueEntry.model_validate(
        {
            "code": "some_problem",
            "kind": "error",
            "title": "Some problem",
            "explanation": "Something.",
            "remedy": "Fix it.",
            "scope": scope,
            "blocking": True,
            "actions": ["recheck"],
            "status": "current",
            "applies_to": ["access_code", "device"],
        }
    )


def issue(**flags: bool) -> SeamIssue:
    return SeamIssue(kind="error", code="some_problem", message="m", **flags)


def code(
    access_code_id: str = "ac1",
    *,
    device_id: str = "d1",
    starts_in_h: float | None = None,
    ends_in_h: float | None = None,
    time_bound: bool = True,
    errors: list[dict[str, Any]] | None = None,
    warnings: list[dict[str, Any]] | None = None,
) -> AccessCode:
    fields: dict[str, Any] = {
        "access_code_id": access_code_id,
        "device_id": device_id,
        "type": "time_bound" if time_bound else "ongoing",
        "errors": errors or [],
        "warnings": warnings or [],
    }
    if starts_in_h is not None:
        fields["starts_at"] = NOW + timedelta(hours=starts_in_h)
    if ends_in_h is not None:
        fields["ends_at"] = NOW + timedelta(hours=ends_in_h)
    return AccessCode.model_validate(fields)


def finding(problem: str, kind: str = "error", *, blocking: bool = True) -> Finding:
    return Finding(
        subject="access_code",
        access_code_id="ac1",
        device_id="d1",
        problem=problem,
        kind=kind,  # type: ignore[arg-type]
        message="",
        scope=Scope.CODE,
        blocking=blocking,
        observed_at=NOW,
    )


# ------------------------------------------------------------------------------ issue_scope


@pytest.mark.parametrize("catalogue_scope", list(Scope))
@pytest.mark.parametrize(
    ("flags", "scope"),
    [
        ({"is_connected_account_error": True}, Scope.ACCOUNT),
        ({"is_connected_account_error": True, "is_device_error": True}, Scope.ACCOUNT),
        ({"is_device_error": True}, Scope.DEVICE),
        ({"is_bridge_error": True}, Scope.DEVICE),
    ],
)
def test_seams_flags_win_over_the_catalogue(
    catalogue_scope: Scope, flags: dict[str, bool], scope: Scope
) -> None:
    assert issue_scope(issue(**flags), entry(catalogue_scope)) is scope


@pytest.mark.parametrize("catalogue_scope", list(Scope))
def test_without_flags_the_catalogue_decides(catalogue_scope: Scope) -> None:
    assert issue_scope(issue(), entry(catalogue_scope)) is catalogue_scope


# ------------------------------------------------------------------------------ urgency


def test_seconds_to_start_edges() -> None:
    assert seconds_to_start(code(starts_in_h=5, ends_in_h=77), NOW) == 5 * 3600
    assert seconds_to_start(code(starts_in_h=-2, ends_in_h=70), NOW) == -2 * 3600  # under way
    assert seconds_to_start(code(starts_in_h=5), NOW) == 5 * 3600  # no end is not "ended"
    assert seconds_to_start(code(starts_in_h=-72, ends_in_h=0), NOW) is None  # ends right now
    assert seconds_to_start(code(starts_in_h=None, ends_in_h=5), NOW) is None  # no start
    assert seconds_to_start(code(starts_in_h=5, time_bound=False), NOW) is None  # ongoing
    assert seconds_to_start(None, NOW) is None


def test_each_band_ends_exactly_at_its_bound() -> None:
    previous = 0
    for bound in URGENCY_BANDS:
        label = urgency_label(bound)
        assert label is not None and label.startswith("starts within ")
        assert urgency_label(bound - 0.5) == label  # inside the band
        if previous:
            assert urgency_label(previous + 1) == label  # just past the previous bound
            assert urgency_label(previous) != label
        previous = bound
    assert urgency_label(URGENCY_BANDS[-1] + 1) is None  # beyond Seam's 9-day programming window


@pytest.mark.parametrize(
    ("seconds", "label"),
    [
        (None, None),
        (-86400, "stay in progress"),
        (0, "stay in progress"),
        (1, "starts within 1 h"),
        (3600, "starts within 1 h"),
        (3601, "starts within 2 h"),
        (9 * 86400, "starts within 9 d"),
    ],
)
def test_urgency_label_edges(seconds: float | None, label: str | None) -> None:
    assert urgency_label(seconds) == label


def test_bands_only_get_more_urgent_as_time_passes() -> None:
    labels = [urgency_label(h * 3600.0) for h in range(9 * 24, -1, -1)]
    changes = [b for a, b in pairwise(labels) if a != b]
    assert len(changes) == len(URGENCY_BANDS)  # each band is entered once, none twice
    assert labels[-1] == "stay in progress"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, None), (0, "stay in progress"), (-5, "stay in progress"), (5 * 3600, "starts in 5 h")],
)
def test_time_to_start_text(seconds: float | None, text: str | None) -> None:
    assert time_to_start_text(seconds) == text


# ------------------------------------------------------------------------------ order


def test_sort_findings_errors_then_blocking_then_problem() -> None:
    given = [
        finding("b_warning", "warning", blocking=False),
        finding("z_error", blocking=False),
        finding("a_warning", "warning", blocking=True),
        finding("y_error"),
        finding("c_error"),
        finding("a_error", blocking=False),
    ]
    ordered = [f.problem for f in sort_findings(given)]
    assert ordered == ["c_error", "y_error", "a_error", "z_error", "a_warning", "b_warning"]
    assert [f.problem for f in given] == [  # the input is not reordered
        "b_warning",
        "z_error",
        "a_warning",
        "y_error",
        "c_error",
        "a_error",
    ]


# ------------------------------------------------------------------------------ findings


def test_fingerprint_alert_key_and_parent_cause() -> None:
    own = finding("failed_to_set_on_device")
    assert own.fingerprint == "code:ac1:failed_to_set_on_device"
    assert own.alert_key == "code:ac1" and not own.is_parent_cause
    lock = Finding(
        subject="device",
        access_code_id=None,
        device_id="d1",
        problem="device_offline",
        kind="error",
        message="",
        scope=Scope.DEVICE,
        blocking=True,
        explains=frozenset({"failed_to_set_on_device"}),
    )
    assert lock.fingerprint == "device:d1:device_offline" and lock.alert_key == "device:d1"
    assert lock.is_parent_cause
    for not_parent in (
        Finding(**{**lock.__dict__, "kind": "warning"}),
        Finding(**{**lock.__dict__, "blocking": False}),
        Finding(**{**lock.__dict__, "scope": Scope.CODE}),
        Finding(**{**lock.__dict__, "explains": frozenset()}),  # explains no code problem
    ):
        assert not not_parent.is_parent_cause


def test_merge_keeps_first_position_and_the_error() -> None:
    warned = Finding(**{**finding("x").__dict__, "kind": "warning", "blocking": False})
    errored = Finding(**{**finding("x").__dict__, "message": "Seam's words"})
    merged = merge_findings([finding("first"), warned, errored])
    assert [f.problem for f in merged] == ["first", "x"]
    assert merged[1].kind == "error" and merged[1].blocking and merged[1].message == "Seam's words"


def test_a_flagged_device_error_on_codes_is_one_device_finding_with_carriers() -> None:
    lock = Device.model_validate({"device_id": "d1", "display_name": "Front"})
    copied = {"error_code": "device_offline", "message": "offline", "is_device_error": True}
    own = {"error_code": "failed_to_set_on_device", "message": "failed"}
    codes = [
        code("ac1", errors=[copied, own]),
        code("ac2", errors=[copied]),
        code("elsewhere", device_id="d2", errors=[own]),  # another lock's code: ignored
    ]
    found = findings_for_device(lock, codes, catalogue=CAT, observed_at=NOW, source="webhook")
    by_print = {f.fingerprint: f for f in found}
    assert set(by_print) == {"device:d1:device_offline", "code:ac1:failed_to_set_on_device"}
    device_finding = by_print["device:d1:device_offline"]
    assert device_finding.subject == "device" and device_finding.access_code_id is None
    assert device_finding.carrier_code_ids == ("ac1", "ac2")
    assert device_finding.scope is Scope.DEVICE
    assert all(f.source == "webhook" and f.observed_at == NOW for f in found)


def test_the_same_problem_as_warning_and_error_on_a_code_is_one_error() -> None:
    lock = Device.model_validate({"device_id": "d1"})
    twice = code(
        "ac1",
        errors=[{"error_code": "failed_to_set_on_device", "message": "e"}],
        warnings=[{"warning_code": "failed_to_set_on_device", "message": "w"}],
    )
    [only] = findings_for_device(lock, [twice], catalogue=CAT, observed_at=NOW)
    assert only.kind == "error" and only.message == "e"
