"""`Store` satisfies every storage protocol, statically (mypy) and by signature (at run time)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import bot.store
from bot.store import (
    AlertStore,
    ArrivalStore,
    AuditLog,
    ClaimStore,
    EventLog,
    JournalStore,
    Leadership,
    ScanLog,
    SqliteStore,
    StateStore,
    Store,
    WatchStore,
)

AREAS: tuple[type, ...] = (
    AlertStore,
    ClaimStore,
    AuditLog,
    ScanLog,
    Leadership,
    EventLog,
    WatchStore,
    JournalStore,
    ArrivalStore,
)
ROOT = Path(__file__).resolve().parents[3]


# --- static: mypy --strict checks these assignments (a missing or mistyped method fails) ---


def _as_state_store(store: Store) -> StateStore:
    return store


def _as_alert_store(store: Store) -> AlertStore:
    return store


def _as_claim_store(store: Store) -> ClaimStore:
    return store


def _as_audit_log(store: Store) -> AuditLog:
    return store


def _as_scan_log(store: Store) -> ScanLog:
    return store


def _as_leadership(store: Store) -> Leadership:
    return store


def _as_arrival_store(store: Store) -> ArrivalStore:
    return store


def _narrow(store: StateStore) -> tuple[AlertStore, ClaimStore, AuditLog, ScanLog, Leadership]:
    return store, store, store, store, store


# --- at run time ---


def _own_methods(protocol: type) -> dict[str, object]:
    """The methods a protocol class declares itself (not inherited, no dunders)."""
    return {
        name: value
        for name, value in vars(protocol).items()
        if not name.startswith("_") and inspect.isfunction(value)
    }


def _all_methods(protocol: type) -> set[str]:
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass is not object and getattr(klass, "_is_protocol", False):
            names |= set(_own_methods(klass))
    return names


@pytest.mark.parametrize("protocol", [*AREAS, StateStore], ids=lambda p: p.__name__)
def test_store_has_every_protocol_method_with_the_same_signature(protocol: type) -> None:
    for name in _all_methods(protocol):
        declared = getattr(protocol, name)
        implemented = getattr(Store, name, None)
        assert implemented is not None, f"Store lacks {protocol.__name__}.{name}"
        assert inspect.iscoroutinefunction(declared), f"{protocol.__name__}.{name} is not async"
        assert inspect.iscoroutinefunction(implemented), f"Store.{name} is not async"
        assert inspect.signature(implemented) == inspect.signature(declared), name
        assert inspect.getdoc(declared), f"{protocol.__name__}.{name} has no docstring"


def test_areas_partition_the_public_async_methods_of_store() -> None:
    """Each public coroutine method of Store is in exactly one area (close: StateStore)."""
    owners: dict[str, list[str]] = {}
    for area in AREAS:
        for name in _own_methods(area):
            owners.setdefault(name, []).append(area.__name__)
    assert {n: o for n, o in owners.items() if len(o) > 1} == {}
    public = {  # Store's own methods and its mixins' (bot.store.arrivals.ArrivalSqlMixin)
        name
        for klass in Store.__mro__
        for name, value in vars(klass).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(value)
    }
    assert public == set(owners) | {"close", "check_writable"}
    assert set(_own_methods(StateStore)) == {"close", "check_writable"}
    assert _all_methods(StateStore) == public


def test_sqlite_store_is_store_and_exports() -> None:
    assert SqliteStore is Store
    for name in bot.store.__all__:
        assert getattr(bot.store, name) is not None
    for protocol in (*AREAS, StateStore):
        assert inspect.getdoc(protocol)


def test_store_package_imports_no_outer_layer() -> None:
    """bot.store depends only on the stdlib, aiosqlite, bot.domain and bot.seam.models."""
    code = (
        "import sys, bot.store\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('bot.services', 'bot.slack',"
        " 'bot.remedies', 'bot.app', 'handlers')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
