"""Alert lifecycle (bot/alerts.py) on synthetic scans: a real SQLite file and the Slack fake.

Covers grouping and suppression, storms, urgency order, reminders, snooze / acknowledge and
wake-on-worse, reopening, Slack refusals (pending, logged once), deleted messages, no-op scans,
and the store's alert methods. Scans against the real Seam fake are in test_alerts_integration.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.alert_plan import is_worse, plan_alerts
from bot.domain.catalogue import default_catalogue
from bot.domain.findings import Finding, findings_for_device
from bot.domain.observation import ScanResult
from bot.seam.models import AccessCode, Device
from bot.slack.alert_channel import ChannelPacer
from bot.slack.alert_channel import slack_alert_service as AlertManager
from bot.store import Store
from devtools.fake_slack import FakeSlack, validate_blocks
from tests.support.databases import database, sqlite_only

CAT = default_catalogue()
CHANNEL = "CALERTS"
T0 = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def err(code: str, message: str = "", **flags: Any) -> dict[str, Any]:
    return {"error_code": code, "message": message or code, **flags}


def warn(code: str, message: str = "") -> dict[str, Any]:
    return {"warning_code": code, "message": message or code}


def device(device_id: str, *errors: dict[str, Any], name: str | None = None) -> Device:
    return Device.model_validate(
        {
            "device_id": device_id,
            "display_name": name or f"Lock {device_id}",
            "errors": [e for e in errors if "error_code" in e],
            "warnings": [e for e in errors if "warning_code" in e],
        }
    )


def code(
    access_code_id: str,
    device_id: str,
    *issues: dict[str, Any],
    starts_in_h: float | None = None,
    name: str | None = None,
) -> AccessCode:
    fields: dict[str, Any] = {
        "access_code_id": access_code_id,
        "device_id": device_id,
        "name": name or f"Guest {access_code_id}",
        "code": "123456",
        "errors": [i for i in issues if "error_code" in i],
        "warnings": [i for i in issues if "warning_code" in i],
    }
    if starts_in_h is not None:
        fields |= {
            "type": "time_bound",
            "starts_at": T0 + timedelta(hours=starts_in_h),
            "ends_at": T0 + timedelta(hours=starts_in_h + 48),
        }
    return AccessCode.model_validate(fields)


def make_scan(
    devices: Iterable[Device],
    codes: Iterable[AccessCode],
    *,
    now: datetime = T0,
    failed: Iterable[str] = (),
    devices_listed: bool = True,
) -> ScanResult:
    devices = list(devices)
    codes = list(codes)
    failed = set(failed)
    findings: list[Finding] = []
    covered = set()
    kept: dict[tuple[str, str], AccessCode] = {}
    for d in devices:
        if d.device_id in failed:
            continue
        own = [c for c in codes if c.device_id == d.device_id]
        kept.update({(c.access_code_id, c.device_id): c for c in own})
        covered.add(d.device_id)
        findings += findings_for_device(d, own, catalogue=CAT, observed_at=now)
    return ScanResult(
        started_at=now,
        finished_at=now,
        devices_listed=devices_listed,
        devices={d.device_id: d for d in devices} if devices_listed else {},
        codes=kept if devices_listed else {},
        covered_device_ids=frozenset(covered) if devices_listed else frozenset(),
        failed_device_ids=frozenset(failed),
        findings=tuple(findings) if devices_listed else (),
    )


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(await database(tmp_path / "alerts.sqlite3"))
    yield s
    await s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def manager(store: Store, slack: FakeSlack, clock: Clock, **kw: Any) -> AlertManager:
    # Escalation as check-in nears has its own tests (test_arrivals_first.py); here the
    # thread replies counted are the reminders, wake-ups and resolutions only.
    kw.setdefault("escalate", False)
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    return AlertManager(store, client, CHANNEL, catalogue=CAT, pace_seconds=0, clock=clock, **kw)


def roots(slack: FakeSlack) -> list[dict[str, Any]]:
    """Top-level messages in the alert channel (not thread replies)."""
    return slack.messages(CHANNEL, include_replies=False)


def replies(slack: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if m.get("thread_ts") == ts and m["ts"] != ts]


def by_key(slack: FakeSlack) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["event_payload"]["alert_key"]: m for m in roots(slack)}


async def alert_rows(store: Store) -> list[tuple[Any, ...]]:
    rows = await store._fetchall("SELECT * FROM alerts ORDER BY alert_key")
    return [tuple(r) for r in rows]


# ------------------------------------------------------------------------------ pure planning


def test_plan_groups_codes_and_folds_under_a_parent_cause() -> None:
    scan = make_scan(
        [
            device("d1", err("device_offline", is_device_error=True)),
            device("d2", warn("third_party_integration_detected")),
        ],
        [
            code("a", "d1", err("device_offline", is_device_error=True), starts_in_h=30),
            code("b", "d1", err("failed_to_set_on_device"), starts_in_h=3),
            code("c", "d1"),  # healthy
            code("x", "d2", err("failed_to_set_on_device")),
        ],
    )
    groups = plan_alerts(scan.findings, scan.codes_by_id(), T0)
    assert set(groups) == {"device:d1", "code:b", "device:d2", "code:x"}
    # The copied device error is the device's problem, not a code alert for "a".
    assert groups["code:b"].folded_into == "device:d1"
    assert groups["code:x"].folded_into is None  # a device *warning* folds nothing
    dev = groups["device:d1"]
    assert [cid for cid, _ in dev.affected] == ["b", "a"]  # most urgent first
    assert [f.problem for f in dict(dev.affected)["b"]] == ["failed_to_set_on_device"]
    assert dev.starts_in == 3 * 3600
    assert groups["device:d2"].affected == ()


def test_same_problem_as_error_and_warning_is_one_finding_of_the_worse_kind() -> None:
    scan = make_scan(
        [device("d1")],
        [
            code(
                "a",
                "d1",
                err("kwikset_unable_to_confirm_code"),
                warn("kwikset_unable_to_confirm_code"),
            )
        ],
    )
    assert [(f.fingerprint, f.kind) for f in scan.findings] == [
        ("code:a:kwikset_unable_to_confirm_code", "error")
    ]


def test_codes_of_other_devices_are_ignored() -> None:
    leaked = code("z", "other", err("failed_to_set_on_device"))
    findings = findings_for_device(device("d1"), [leaked], catalogue=CAT, observed_at=T0)
    assert findings == []


# ------------------------------------------------------------------------------ lifecycle


async def test_post_once_then_nothing_then_resolve(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock)
    failing = code("a", "d1", err("failed_to_set_on_device"), starts_in_h=5)
    healthy = code("h", "d1")
    report = await am.reconcile(make_scan([device("d1")], [failing, healthy]))
    assert report.posted == 1 and report.slack_calls == 1
    [msg] = roots(slack)
    assert validate_blocks(msg["blocks"]) == []
    assert msg["metadata"]["event_payload"]["alert_key"] == "code:a"
    rec = await store.alert_for_code("a")
    assert rec is not None and rec.ts == msg["ts"] and rec.state == "open"

    before = await alert_rows(store)
    calls = len(slack.calls)
    clock.advance(minutes=5)
    report = await am.reconcile(make_scan([device("d1")], [failing, healthy], now=clock.now))
    assert report.slack_calls == 0 and len(slack.calls) == calls
    assert await alert_rows(store) == before  # nothing but the scan record was written
    assert len(await store.recent_scans()) == 2

    fixed = code("a", "d1", starts_in_h=5)
    report = await am.reconcile(make_scan([device("d1")], [fixed, healthy], now=clock.now))
    assert report.resolved == 1
    [msg] = roots(slack)
    assert "Resolved" in msg["text"] and "edited" in msg
    assert not [b for b in msg["blocks"] if b["type"] == "actions"]
    [reply] = replies(slack, msg["ts"])
    assert "Resolved" in reply["text"]
    rec = await store.alert_for_code("a")
    assert rec is not None and rec.state == "resolved"
    fps = await store.fingerprints_for("code:a", include_resolved=True)
    assert [(f.state, f.first_seen) for f in fps] == [("resolved", T0)]


async def test_problems_changing_edit_the_message_in_place(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock)
    await am.reconcile(make_scan([device("d1")], [code("a", "d1", err("failed_to_set_on_device"))]))
    two = code("a", "d1", err("failed_to_set_on_device"), warn("delay_in_setting_on_device"))
    report = await am.reconcile(make_scan([device("d1")], [two]))
    assert (report.posted, report.updated) == (0, 1)
    [msg] = roots(slack)
    assert "delay_in_setting_on_device" in str(msg["blocks"])
    assert len(slack.calls_to("chat.update")) == 1


async def test_code_deleted_from_seam_resolves_as_gone(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock)
    await am.reconcile(make_scan([device("d1")], [code("a", "d1", err("failed_to_set_on_device"))]))
    await am.reconcile(make_scan([device("d1")], []))
    [msg] = roots(slack)
    assert "no longer in Seam" in str(msg["blocks"]) and "Guest a" in msg["text"]


async def test_incomplete_scan_resolves_nothing_it_did_not_see(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock)
    devices = [device("d1"), device("d2")]
    codes = [
        code("a", "d1", err("failed_to_set_on_device")),
        code("b", "d2", err("failed_to_set_on_device")),
    ]
    await am.reconcile(make_scan(devices, codes))
    fixed = [code("a", "d1"), code("b", "d2")]
    report = await am.reconcile(make_scan(devices, fixed, failed=["d2"]))
    assert report.resolved == 1 and report.left_alone == 1
    assert (await store.alert_for_code("b")).state == "open"  # type: ignore[union-attr]
    report = await am.reconcile(make_scan([], [], devices_listed=False))
    assert report.slack_calls == 0 and report.left_alone == 1
    assert (await store.alert_for_code("b")).state == "open"  # type: ignore[union-attr]


async def test_device_outage_is_one_alert_and_folds_new_code_alerts(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock)
    d1 = device("d1")
    existing = code("a", "d1", err("failed_to_set_on_device"))
    await am.reconcile(make_scan([d1], [existing, code("b", "d1")]))
    offline = err("device_offline", "Device is offline", is_device_error=True)
    down = device("d1", offline)
    codes = [
        code("a", "d1", err("failed_to_set_on_device"), offline),
        code("b", "d1", offline, err("failed_to_set_on_device")),
        code("c", "d1", offline),
    ]
    report = await am.reconcile(make_scan([down], codes))
    assert report.posted == 1 and report.folded == 1
    keys = by_key(slack)
    assert set(keys) == {"code:a", "device:d1"}  # a keeps its message; b is folded in
    text = str(keys["device:d1"]["blocks"])
    assert "3 access codes affected" in text and "Guest b" in text and "Guest c" in text

    # The lock comes back: the device alert resolves and b's own problem gets its message.
    back = [
        code("a", "d1", err("failed_to_set_on_device")),
        code("b", "d1", err("failed_to_set_on_device")),
        code("c", "d1"),
    ]
    report = await am.reconcile(make_scan([d1], back))
    assert report.resolved == 1 and report.posted == 1
    assert set(by_key(slack)) == {"code:a", "device:d1", "code:b"}
    assert "Resolved" in by_key(slack)["device:d1"]["text"]


async def test_new_alerts_are_posted_most_urgent_first(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock)
    codes = [
        code("ongoing", "d1", err("failed_to_set_on_device")),
        code("later", "d1", err("failed_to_set_on_device"), starts_in_h=50),
        code("soon", "d1", warn("delay_in_setting_on_device"), starts_in_h=2),
        code("now", "d1", err("failed_to_set_on_device"), starts_in_h=-1),
    ]
    await am.reconcile(make_scan([device("d1")], codes))
    order = [m["metadata"]["event_payload"]["alert_key"] for m in roots(slack)]
    assert order == ["code:now", "code:soon", "code:later", "code:ongoing"]


async def test_reminder_after_remind_hours_then_every_remind_hours(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock, remind_after=24 * 3600)
    codes = [code("a", "d1", err("failed_to_set_on_device"), starts_in_h=40)]
    await am.reconcile(make_scan([device("d1")], codes, now=clock.now))
    [msg] = roots(slack)
    clock.advance(hours=23)
    assert (await am.reconcile(make_scan([device("d1")], codes, now=clock.now))).reminded == 0
    clock.advance(hours=1, minutes=1)
    report = await am.reconcile(make_scan([device("d1")], codes, now=clock.now))
    assert report.reminded == 1 and report.posted == 0
    [reply] = replies(slack, msg["ts"])
    assert "Still open after 24 h" in reply["text"]
    clock.advance(hours=1)
    assert (await am.reconcile(make_scan([device("d1")], codes, now=clock.now))).reminded == 0
    assert len(roots(slack)) == 1


async def test_snooze_and_acknowledge_stop_reminders_and_show_in_the_message(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock, remind_after=3600)
    scan_codes = [
        code("a", "d1", err("failed_to_set_on_device")),
        code("b", "d1", err("failed_to_set_on_device")),
    ]
    await am.reconcile(make_scan([device("d1")], scan_codes, now=clock.now))
    assert await store.snooze("code:a", clock.now + timedelta(hours=10), "U0SNOOZE")
    assert await store.acknowledge("code:b", "U0ACK")
    assert not await store.acknowledge("code:nope", "U0ACK")
    clock.advance(hours=2)
    report = await am.reconcile(make_scan([device("d1")], scan_codes, now=clock.now))
    assert report.reminded == 0 and report.updated == 2  # state lines shown
    keys = by_key(slack)
    assert "Snoozed until" in str(keys["code:a"]["blocks"]) and "<@U0SNOOZE>" in str(
        keys["code:a"]["blocks"]
    )
    assert "Acknowledged by <@U0ACK>" in str(keys["code:b"]["blocks"])
    # The snooze ends: the state line goes, reminders resume one remind period later.
    clock.advance(hours=9)
    report = await am.reconcile(make_scan([device("d1")], scan_codes, now=clock.now))
    assert report.updated == 1 and report.reminded == 0
    assert (await store.alert("code:a")).state == "open"  # type: ignore[union-attr]
    clock.advance(hours=1, minutes=1)
    report = await am.reconcile(make_scan([device("d1")], scan_codes, now=clock.now))
    assert report.reminded == 1  # a only; b stays acknowledged


async def test_snoozed_alert_wakes_when_it_gets_worse(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock)
    warned = [code("a", "d1", warn("kwikset_unable_to_confirm_code"))]
    await am.reconcile(make_scan([device("d1")], warned))
    await store.snooze("code:a", clock.now + timedelta(days=2), "U0SNOOZE")
    await am.reconcile(make_scan([device("d1")], warned))  # unchanged: stays snoozed
    assert (await store.alert("code:a")).state == "snoozed"  # type: ignore[union-attr]
    worse = [code("a", "d1", err("kwikset_unable_to_confirm_code"))]  # warning → error
    report = await am.reconcile(make_scan([device("d1")], worse))
    assert report.woke == 1
    rec = await store.alert("code:a")
    assert rec is not None and rec.state == "open" and rec.snoozed_until is None
    [msg] = roots(slack)
    assert "Snoozed" not in str(msg["blocks"])
    [reply] = replies(slack, msg["ts"])
    assert "Snooze ended early" in reply["text"]


def test_is_worse() -> None:
    scan = make_scan([device("d1")], [code("a", "d1", err("x_error"), warn("y_warning"))])
    group = plan_alerts(scan.findings, scan.codes_by_id(), T0)["code:a"]
    assert [f.problem for f in is_worse(group, {})] == ["x_error"]


async def test_problem_back_soon_after_resolving_reopens_the_same_message(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock, remind_after=24 * 3600)
    failing = [code("a", "d1", err("failed_to_set_on_device"))]
    await am.reconcile(make_scan([device("d1")], failing, now=clock.now))
    clock.advance(hours=1)
    await am.reconcile(make_scan([device("d1")], [code("a", "d1")], now=clock.now))
    clock.advance(hours=1)
    report = await am.reconcile(make_scan([device("d1")], failing, now=clock.now))
    assert report.reopened == 1 and report.posted == 0
    [msg] = roots(slack)
    assert "Resolved" not in msg["text"]
    assert [r["text"][:20] for r in replies(slack, msg["ts"])] == [
        ":white_check_mark: R",
        ":repeat: It's back: ",
    ]
    # Much later it is a new occurrence: a new message.
    await am.reconcile(make_scan([device("d1")], [code("a", "d1")], now=clock.now))
    clock.advance(days=3)
    report = await am.reconcile(make_scan([device("d1")], failing, now=clock.now))
    assert report.posted == 1 and len(roots(slack)) == 2


async def test_storm_posts_one_digest_and_updates_it_in_place(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock, storm_threshold=5)
    codes = [
        code(f"c{i}", "d1", err("failed_to_set_on_device"), starts_in_h=i + 1) for i in range(12)
    ]
    report = await am.reconcile(make_scan([device("d1")], codes))
    assert (report.posted, report.digests, report.digested) == (0, 1, 12)
    [digest] = roots(slack)
    assert validate_blocks(digest["blocks"]) == []
    assert "12 new access-code problems" in digest["text"]
    assert "Guest c0" in str(digest["blocks"])  # most urgent listed
    # Next scan, nothing new: no messages, members are not posted on their own.
    report = await am.reconcile(make_scan([device("d1")], codes))
    assert report.slack_calls == 0
    # One member fixed: the digest is edited in place.
    codes[0] = code("c0", "d1", starts_in_h=1)
    report = await am.reconcile(make_scan([device("d1")], codes))
    assert report.resolved == 1 and report.updated == 1 and len(roots(slack)) == 1
    assert "11 open · 1 resolved" in str(roots(slack)[0]["blocks"])
    # A few new problems later (under the threshold) get their own messages.
    extra = [code("n1", "d1", err("failed_to_set_on_device"))]
    report = await am.reconcile(make_scan([device("d1")], codes + extra))
    assert report.posted == 1 and len(roots(slack)) == 2
    # All fixed: the digest says so, with a thread reply.
    healthy = [code(f"c{i}", "d1") for i in range(12)]
    await am.reconcile(make_scan([device("d1")], healthy + extra))
    digest = roots(slack)[0]
    assert "All 12 problems from this digest are resolved" in str(digest["blocks"])
    assert len(replies(slack, digest["ts"])) == 1
    assert await store.digests() == []


@sqlite_only  # it reads the statements through SQLite's trace callback
async def test_a_big_digest_clearing_resolves_its_members_in_one_transaction(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock, storm_threshold=5)
    failing = [code(f"c{i}", "d1", err("failed_to_set_on_device")) for i in range(40)]
    assert (await am.reconcile(make_scan([device("d1")], failing))).digested == 40
    statements: list[str] = []
    await store._db.set_trace_callback(statements.append)
    report = await am.reconcile(make_scan([device("d1")], [code(f"c{i}", "d1") for i in range(40)]))
    await store._db.set_trace_callback(None)
    assert report.resolved == 40
    assert await store.load_alerts() == {}  # none left unresolved
    member_updates = [s for s in statements if s.startswith("UPDATE alerts SET state = 'resolved'")]
    assert len(member_updates) == 40
    # The scan record, the members together, the digest: not one commit per member.
    assert sum(1 for s in statements if s.strip().upper() == "COMMIT") <= 3


async def test_not_in_channel_keeps_alerts_pending_and_logs_once(
    store: Store, slack: FakeSlack, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    am = manager(store, slack, clock)
    codes = [code(f"c{i}", "d1", err("failed_to_set_on_device")) for i in range(3)]
    caplog.set_level(logging.DEBUG, logger="bot.slack.alert_channel")
    for _ in range(2):
        slack.fail_next("chat.postMessage", status=200, error="not_in_channel")
        report = await am.reconcile(make_scan([device("d1")], codes))
        assert report.posted == 0 and report.pending == 3
        assert report.slack_calls == 1  # the channel is skipped after the first refusal
    errors = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and "not_in_channel" in r.getMessage()
    ]
    assert len(errors) == 1
    rec = await store.alert_for_code("c0")
    assert rec is not None and rec.is_pending and rec.post_attempted_at is not None
    # The bot is invited: the next scan posts every pending alert exactly once.
    report = await am.reconcile(make_scan([device("d1")], codes))
    assert report.posted == 3 and len(roots(slack)) == 3


async def test_deleted_alert_message_is_posted_again(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock)
    await am.reconcile(make_scan([device("d1")], [code("a", "d1", err("failed_to_set_on_device"))]))
    [msg] = roots(slack)
    slack.message_store[(CHANNEL, msg["ts"])]["deleted"] = True
    changed = code("a", "d1", err("failed_to_set_on_device"), warn("delay_in_setting_on_device"))
    report = await am.reconcile(make_scan([device("d1")], [changed]))
    assert report.posted == 1
    [again] = roots(slack)
    assert again["ts"] != msg["ts"]
    assert (await store.alert_for_code("a")).ts == again["ts"]  # type: ignore[union-attr]


async def test_pacing_spaces_writes_per_channel() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = ChannelPacer(1.0, monotonic=lambda: now[0], sleep=sleep)
    for _ in range(3):
        await pacer.wait("C1")
        now[0] += 0.25  # the Slack call itself
    await pacer.wait("C2")
    assert waits == [0.75, 0.75]  # C1 spaced by 1 s; C2 not held up by C1
    assert pacer.waited == 1.5


async def test_concurrent_handlers_and_reconcile_never_lock_the_database(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    am = manager(store, slack, clock)
    codes = [code(f"c{i}", "d1", err("failed_to_set_on_device")) for i in range(10)]
    await am.reconcile(make_scan([device("d1")], codes))

    async def handler(i: int) -> None:
        await store.record_audit(user_id="U1", action="update_pin", outcome="ok")
        await store.claim_remedy(f"k{i}", user_id="U1")
        await store.snooze(f"code:c{i % 10}", clock.now + timedelta(hours=1), "U1")
        await store.acknowledge(f"code:c{(i + 5) % 10}", "U2")

    changed = [
        code(f"c{i}", "d1", err("failed_to_set_on_device"), warn("delay_in_setting_on_device"))
        for i in range(10)
    ]
    results = await asyncio.gather(
        am.reconcile(make_scan([device("d1")], changed)),
        *(handler(i) for i in range(40)),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(await store.audit_entries(limit=100)) == 40


class NamedChannelSlack:
    """A stand-in Web API client whose chat.postMessage answers with the channel's ID."""

    def __init__(self) -> None:
        self.updates: list[str] = []
        self.n = 0

    async def chat_postMessage(self, **kw: Any) -> dict[str, Any]:
        self.n += 1
        return {"ok": True, "channel": "C0RESOLVED", "ts": f"1700000000.{self.n:06d}"}

    async def chat_update(self, **kw: Any) -> dict[str, Any]:
        self.updates.append(kw["channel"])
        return {"ok": True, "channel": kw["channel"], "ts": kw["ts"]}


async def test_alert_channel_given_by_name_is_edited_by_its_id(store: Store, clock: Clock) -> None:
    stub = NamedChannelSlack()
    am = AlertManager(store, stub, "#alerts", catalogue=CAT, pace_seconds=0, clock=clock)  # type: ignore[arg-type]
    await am.reconcile(make_scan([device("d1")], [code("a", "d1", err("failed_to_set_on_device"))]))
    assert (await store.alert_for_code("a")).channel == "C0RESOLVED"  # type: ignore[union-attr]
    await am.reconcile(make_scan([device("d1")], [code("a", "d1")]))
    assert stub.updates == ["C0RESOLVED"]


async def test_store_alert_methods_and_retention(store: Store) -> None:
    from bot.store import AlertIntent, ScanRecord

    def summary(at: datetime) -> ScanRecord:
        return ScanRecord(
            started_at=at, finished_at=at, complete=True, devices=1, codes=1, findings=1,
            seam_calls=3,
        )  # fmt: skip

    first = findings_for_device(
        device("d1"),
        [code("a", "d1", err("failed_to_set_on_device"))],
        catalogue=CAT,
        observed_at=T0,
    )
    await store.record_scan(summary(T0), seen=first)
    later = T0 + timedelta(hours=2)
    again = findings_for_device(
        device("d1"), [code("a", "d1", err("failed_to_set_on_device"))], catalogue=CAT,
        observed_at=later,
    )  # fmt: skip
    await store.record_scan(summary(later), seen=again)
    [fp] = (await store.open_fingerprints()).values()
    assert (fp.first_seen, fp.last_seen, fp.alert_key) == (T0, later, "code:a")
    # Resolved, then back: a new occurrence with a new first_seen.
    await store.record_scan(summary(later), resolved=[fp.fingerprint])
    assert await store.open_fingerprints() == {}
    back = T0 + timedelta(hours=5)
    await store.record_scan(
        summary(back),
        seen=findings_for_device(
            device("d1"), [code("a", "d1", err("failed_to_set_on_device"))], catalogue=CAT,
            observed_at=back,
        ),
    )  # fmt: skip
    [fp] = (await store.open_fingerprints()).values()
    assert fp.first_seen == back

    intent = AlertIntent("code:a", "access_code", "a", "d1", title="Guest a", device_name="Lock")
    await store.begin_alert(intent, channel="C1", at=T0)
    rec = await store.alert("code:a")
    assert rec is not None and rec.is_pending and rec.title == "Guest a"
    await store.set_alert_posted("code:a", channel="C1", ts="1.2", content_hash="h", at=T0)
    assert await store.snooze("code:a", T0 + timedelta(hours=1), "U1")
    await store.resolve_alert("code:a", at=T0)
    assert not await store.snooze("code:a", T0 + timedelta(hours=1), "U1")
    assert not await store.acknowledge("code:a", "U1")
    assert (await store.alert_for_code("a")).state == "resolved"  # type: ignore[union-attr]
    assert await store.load_alerts() == {}
    assert set(await store.load_alerts(resolved_since=T0)) == {"code:a"}

    # Resolved rows and old scans are pruned after the retention period.
    await store.record_scan(
        summary(T0 + timedelta(days=100)), resolved=[fp.fingerprint], retention_days=90
    )
    await store.record_scan(summary(T0 + timedelta(days=200)), retention_days=90)
    assert await store.alert("code:a") is None
    assert await store.fingerprints_for("code:a", include_resolved=True) == []
    assert len(await store.recent_scans()) == 1


async def test_lease_is_exclusive_until_released_or_expired(store: Store) -> None:
    assert await store.acquire_lease("scan", "A", 60)
    assert await store.acquire_lease("scan", "A", 60)  # renewal
    assert not await store.acquire_lease("scan", "B", 60)
    await store.release_lease("scan", "B")  # not B's to release
    assert not await store.acquire_lease("scan", "B", 60)
    await store.release_lease("scan", "A")
    assert await store.acquire_lease("scan", "B", -1)  # taken, but already expired
    assert await store.acquire_lease("scan", "A", 60)
