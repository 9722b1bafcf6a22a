"""Record state fields are `Literal`s: every value round-trips; unknown stored text is refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest
from store_legacy import execute

from bot.domain.catalogue import Scope
from bot.domain.findings import Finding
from bot.store import (
    AlertIntent,
    AlertState,
    ClaimState,
    DigestState,
    FingerprintState,
    IssueKind,
    ScanRecord,
    Source,
    Store,
    StoreCorruptError,
    StoreError,
    Subject,
)
from bot.store.records import (
    ALERT_STATES,
    CLAIM_STATES,
    DIGEST_STATES,
    FINGERPRINT_STATES,
    ISSUE_KINDS,
    SOURCES,
    SUBJECTS,
    literal_value,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Store, Path]]:
    path = tmp_path / "bot.sqlite3"
    store = await Store.open(path)
    yield store, path
    await store.close()


def _scan(at: datetime) -> ScanRecord:
    return ScanRecord(
        started_at=at, finished_at=at, complete=True, devices=1, codes=1, findings=1, seam_calls=2
    )


def _finding(
    kind: IssueKind,
    source: Source = "scan",
    subject: Subject = "access_code",
    problem: str = "failed_to_set_on_device",
) -> Finding:
    return Finding(
        subject=subject,
        access_code_id="ac1" if subject == "access_code" else None,
        device_id="d1",
        problem=problem,
        kind=kind,
        message="Seam could not program it",
        scope=Scope.CODE if subject == "access_code" else Scope.DEVICE,
        blocking=True,
        source=source,
        observed_at=T0,
    )


def test_value_tuples_match_their_literals() -> None:
    assert ALERT_STATES == get_args(AlertState) == ("open", "snoozed", "acknowledged", "resolved")
    assert FINGERPRINT_STATES == get_args(FingerprintState) == ("open", "resolved")
    assert DIGEST_STATES == get_args(DigestState) == ("open", "resolved")
    assert CLAIM_STATES == get_args(ClaimState) == ("running", "done")
    assert SUBJECTS == get_args(Subject) == ("access_code", "device")
    assert ISSUE_KINDS == get_args(IssueKind) == ("error", "warning")
    assert SOURCES == get_args(Source) == ("scan", "webhook", "predictive")


def test_literal_value_accepts_members_and_names_the_bad_value() -> None:
    assert literal_value(ALERT_STATES, "snoozed", table="alerts", column="state") == "snoozed"
    with pytest.raises(StoreCorruptError) as caught:
        literal_value(ALERT_STATES, "pending", table="alerts", column="state")
    error = caught.value
    assert isinstance(error, ValueError) and isinstance(error, StoreError)
    assert (error.table, error.column, error.value) == ("alerts", "state", "pending")
    assert "alerts.state" in str(error) and "'pending'" in str(error) and "'open'" in str(error)
    for bad in (None, 1, b"open", "OPEN", " open"):
        with pytest.raises(StoreCorruptError):
            literal_value(ALERT_STATES, bad, table="alerts", column="state")


async def test_every_alert_state_round_trips(opened: tuple[Store, Path]) -> None:
    store, _ = opened
    cases: tuple[tuple[Subject, str, str | None], ...] = (
        ("access_code", "code:ac9", "ac9"),
        ("device", "device:d9", None),
    )
    for subject, key, code in cases:
        await store.begin_alert(AlertIntent(key, subject, code, "d9"), channel="C1", at=T0)
        rec = await store.alert(key)
        assert rec is not None and rec.subject == subject
    key = "code:ac1"
    await store.begin_alert(AlertIntent(key, "access_code", "ac1", "d1"), channel="C1", at=T0)
    seen: list[AlertState] = []
    for step in ("open", "snoozed", "acknowledged", "resolved"):
        if step == "snoozed":
            assert await store.snooze(key, T0 + timedelta(hours=1), "U1")
        elif step == "acknowledged":
            assert await store.acknowledge(key, "U1")
        elif step == "resolved":
            await store.resolve_alert(key, at=T0)
        rec = await store.alert(key)
        assert rec is not None and rec.state == step
        seen.append(rec.state)
    assert tuple(seen) == ALERT_STATES


async def test_claim_and_digest_states_round_trip(opened: tuple[Store, Path]) -> None:
    store, _ = opened
    assert await store.claim_remedy("k", user_id="U1")
    states: list[ClaimState] = []
    claim = await store.remedy_claim("k")
    assert claim is not None
    states.append(claim.state)
    await store.finish_remedy("k", "success")
    claim = await store.remedy_claim("k")
    assert claim is not None
    states.append(claim.state)
    assert tuple(states) == CLAIM_STATES

    digest_id = await store.begin_digest(
        [AlertIntent("code:a", "access_code", "a", "d1")], channel="C1", at=T0
    )
    (digest,) = await store.digests()
    assert digest.state == "open" and digest.member_keys == ("code:a",)
    await store.resolve_digest(digest_id, content_hash="h", at=T0)
    (digest,) = await store.digests(include_resolved=True)
    assert digest.state == "resolved"
    assert digest.created_at == T0 and digest.resolved_at == T0


async def test_fingerprint_literals_round_trip(opened: tuple[Store, Path]) -> None:
    store, _ = opened
    for kind in ISSUE_KINDS:
        for source in SOURCES:
            # One problem per pair: an unchanged open problem is not rewritten by a scan.
            finding = _finding(kind, source, problem=f"p_{kind}_{source}")
            await store.record_scan(_scan(T0), seen=[finding])
            fp = (await store.open_fingerprints())[finding.fingerprint]
            assert (fp.kind, fp.source, fp.state, fp.subject) == (
                kind,
                source,
                "open",
                "access_code",
            )
            assert fp.first_seen == T0
    device = _finding("error", subject="device")
    await store.record_scan(_scan(T0), seen=[device])
    assert (await store.open_fingerprints())[device.fingerprint].subject == "device"
    await store.record_scan(_scan(T0 + timedelta(minutes=5)), resolved=[device.fingerprint])
    (resolved,) = await store.fingerprints_for(device.alert_key, include_resolved=True)
    assert resolved.state == "resolved"
    assert resolved.resolved_at == T0 + timedelta(minutes=5)
    assert {r.state for r in await store.fingerprints_for("code:ac1")} == {"open"}


@pytest.mark.parametrize(
    ("sql", "read", "where"),
    [
        (
            "INSERT INTO alerts (alert_key, subject, device_id, state, opened_at)"
            " VALUES ('code:z', 'access_code', 'd1', 'pending', '2024-05-01T12:00:00+00:00')",
            "alert",
            "alerts.state holds 'pending'",
        ),
        (
            "INSERT INTO alerts (alert_key, subject, device_id, state, opened_at)"
            " VALUES ('code:z', 'lock', 'd1', 'open', '2024-05-01T12:00:00+00:00')",
            "alert",
            "alerts.subject holds 'lock'",
        ),
        (
            "INSERT INTO alerts (alert_key, subject, device_id, state, opened_at)"
            " VALUES ('code:z', 'access_code', 'd1', 'open', 'yesterday')",
            "alert",
            "alerts.opened_at holds 'yesterday'",
        ),
        (
            "INSERT INTO alerts (alert_key, subject, device_id, state, opened_at)"
            " VALUES ('code:z', 'access_code', 'd1', 'open', '2024-05-01T12:00:00')",
            "alert",
            "alerts.opened_at holds '2024-05-01T12:00:00'",  # naive: not UTC-aware
        ),
        (
            "INSERT INTO remedy_claims (claim_key, user_id, state, claimed_at)"
            " VALUES ('k', 'U1', 'stuck', '2024-05-01T12:00:00+00:00')",
            "claim",
            "remedy_claims.state holds 'stuck'",
        ),
        (
            "INSERT INTO alert_fingerprints (fingerprint, alert_key, subject, device_id, problem,"
            " kind, source, state, first_seen, last_seen) VALUES ('f', 'code:z', 'access_code',"
            " 'd1', 'p', 'fatal', 'scan', 'open', '2024-05-01T12:00:00+00:00',"
            " '2024-05-01T12:00:00+00:00')",
            "fingerprints",
            "alert_fingerprints.kind holds 'fatal'",
        ),
        (
            "INSERT INTO alert_fingerprints (fingerprint, alert_key, subject, device_id, problem,"
            " kind, source, state, first_seen, last_seen) VALUES ('f', 'code:z', 'access_code',"
            " 'd1', 'p', 'error', 'email', 'open', '2024-05-01T12:00:00+00:00',"
            " '2024-05-01T12:00:00+00:00')",
            "fingerprints",
            "alert_fingerprints.source holds 'email'",
        ),
        (
            "INSERT INTO alert_digests (channel, state, created_at)"
            " VALUES ('C1', 'closed', '2024-05-01T12:00:00+00:00')",
            "digests",
            "alert_digests.state holds 'closed'",
        ),
    ],
)
async def test_unknown_stored_text_raises_store_corrupt_error(
    opened: tuple[Store, Path], sql: str, read: str, where: str
) -> None:
    store, path = opened
    execute(path, sql)
    with pytest.raises(StoreCorruptError, match="^" + re.escape(where)):
        if read == "alert":
            await store.alert("code:z")
        elif read == "claim":
            await store.remedy_claim("k")
        elif read == "fingerprints":
            await store.fingerprints_for("code:z")
        else:
            await store.digests(include_resolved=True)
