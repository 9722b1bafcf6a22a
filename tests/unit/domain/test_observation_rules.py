"""The streaming contract of `bot.domain.observation`: which codes keep their full model, and
that every kept code also counts as seen. Pure: code snapshots in, decisions out.

The scan that applies it against the Seam fake is in tests/scenario/test_scanner.py; alerts
resolved from ids alone are in tests/scenario/test_alerts_integration.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.observation import ARRIVALS_WINDOW, Observation, keeps_model, slim
from bot.seam.models import AccessCode

NOW = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)


def code(**fields: Any) -> AccessCode:
    return AccessCode.model_validate({"access_code_id": "c1", "device_id": "d1", **fields})


def test_a_healthy_ongoing_code_is_kept_as_its_id_only() -> None:
    assert not keeps_model(code(), now=NOW)


@pytest.mark.parametrize(
    "fields",
    [
        {"errors": [{"error_code": "failed_to_set_on_device"}]},
        {"warnings": [{"warning_code": "delay_in_setting_on_device"}]},
        {"pulled_backup_access_code_id": "backup-1"},
        {"type": "time_bound", "starts_at": (NOW + timedelta(hours=5)).isoformat()},
        {"type": "time_bound", "starts_at": (NOW + ARRIVALS_WINDOW).isoformat()},
    ],
    ids=["error", "warning", "pulled-backup", "arrives-in-5h", "arrives-at-72h"],
)
def test_codes_alerting_reads_keep_their_model(fields: dict[str, Any]) -> None:
    assert keeps_model(code(**fields), now=NOW)


@pytest.mark.parametrize(
    "starts_at", [NOW + ARRIVALS_WINDOW + timedelta(seconds=1), NOW - timedelta(hours=1)]
)
def test_arrivals_outside_the_window_are_ids_only(starts_at: datetime) -> None:
    assert not keeps_model(code(type="time_bound", starts_at=starts_at.isoformat()), now=NOW)


def test_the_first_code_of_a_troubled_lock_is_kept() -> None:
    assert keeps_model(code(), now=NOW, first_on_troubled_lock=True)


def test_a_kept_model_is_always_seen() -> None:
    kept = code(errors=[{"error_code": "failed_to_set_on_device"}])
    scan = Observation(
        started_at=NOW,
        finished_at=NOW,
        devices_listed=True,
        codes={("c1", "d1"): kept},
        seen_code_ids=frozenset({"c2"}),
    )
    assert scan.saw_code("c1") and scan.saw_code("c2") and not scan.saw_code("c3")
    assert scan.codes_seen == 2 and scan.code("c1") is kept and scan.code("c2") is None


def test_a_slim_model_keeps_every_value_and_shares_its_bookkeeping() -> None:
    raw = {"name": "Guest", "type": "time_bound", "starts_at": NOW.isoformat(), "extra": 1}
    before = code(**raw).model_dump()
    one, two = slim(code(**raw)), slim(code(**raw))
    assert one.model_dump() == before and one.model_extra == {"extra": 1}
    assert one.__pydantic_fields_set__ is two.__pydantic_fields_set__
    assert one.device_id is two.device_id  # interned
