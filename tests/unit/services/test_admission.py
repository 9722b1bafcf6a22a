"""`WorkGate`: per-user and overall bounds on the work acked requests start."""

from __future__ import annotations

import pytest

from bot.services.admission import WorkGate


def test_each_user_is_bounded_and_the_others_still_get_in() -> None:
    gate = WorkGate(per_user=2, total=10)
    assert gate.admit("U1") and gate.admit("U1")
    assert not gate.admit("U1")
    assert gate.admit("U2")
    assert gate.running == 3 and gate.refused == 1
    gate.done("U1")
    assert gate.admit("U1")


def test_the_overall_bound_refuses_everyone() -> None:
    gate = WorkGate(per_user=5, total=3)
    assert all(gate.admit(user) for user in ("U1", "U2", "U3"))
    assert not gate.admit("U4") and not gate.admit("U1")
    gate.done("U2")
    assert gate.admit("U4")


def test_entered_ends_the_work_however_the_block_exits() -> None:
    gate = WorkGate(per_user=1, total=1)
    with pytest.raises(RuntimeError), gate.entered("U1") as admitted:
        assert admitted
        raise RuntimeError("listener failed")
    assert gate.running == 0
    with gate.entered("U1") as first, gate.entered("U1") as second:
        assert first and not second
    assert gate.running == 0
