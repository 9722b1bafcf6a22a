"""Arrivals first, end to end: at-risk findings, the pre-arrival digest, escalation.

The official Seam fake (seeded scenario, restored between tests), the loopback Slack fake and
real SQLite files; escalation runs on synthetic scans with a fake clock.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli import run_cli, run_digest
from bot.domain.catalogue import default_catalogue
from bot.seam.client import SeamClient
from bot.services.observing import scan_workspace
from bot.settings import Settings
from bot.slack.alert_channel import slack_alert_service
from bot.slack.arrivals import slack_pre_arrival_digest
from bot.store import Store
from devtools.fake_slack import FakeSlack, validate_blocks, validate_view
from devtools.seam_fake import SeamFake
from tests.scenario.test_alerts import Clock, code, device, err, make_scan
from tests.scenario.test_alerts_integration import seam  # noqa: F401
from tests.scenario.test_scanner import settings
from tests.support.fixtures import seam_fake, seam_fake_process  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="module")

CAT = default_catalogue()
CHANNEL = "CARRIVALS"


@pytest_asyncio.fixture(loop_scope="module")
async def slack() -> AsyncIterator[FakeSlack]:
    """A fresh Slack fake per test."""
    async with FakeSlack() as fake:
        yield fake


def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.api_url)


def roots(slack: FakeSlack, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return slack.messages(channel, include_replies=False)


def by_key(slack: FakeSlack, channel: str = CHANNEL) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["event_payload"]["alert_key"]: m for m in roots(slack, channel)}


def replies(slack: FakeSlack, ts: str, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts]


def text_of(message: dict[str, Any]) -> str:
    return message.get("text", "") + json.dumps(message.get("blocks", []), ensure_ascii=False)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def settings_for(fake: SeamFake, slack: FakeSlack, tmp_path: Path) -> Settings:
    return settings(fake, tmp_path, slack_api_url=slack.api_url, alert_channel=CHANNEL)  # type: ignore[no-any-return]


async def add_arrival(
    fake: SeamFake, device_key: str, name: str, hours: float, **fields: Any
) -> str:
    """A time-bound code on a seeded lock starting `hours` from now (3 days long); its id."""
    now = datetime.now(UTC)
    added = await fake.add_access_code(
        device_id=fake.ids["devices"][device_key],
        name=name,
        type="time_bound",
        starts_at=iso(now + timedelta(hours=hours)),
        ends_at=iso(now + timedelta(hours=hours + 72)),
        **fields,
    )
    return str(added["access_code_id"])


def alert_service(store: Store, slack: FakeSlack, **kw: Any) -> Any:
    return slack_alert_service(store, client(slack), CHANNEL, catalogue=CAT, pace_seconds=0, **kw)


# ------------------------------------------------------------------------------ at risk


async def test_a_code_not_set_5_h_before_it_starts_is_alerted_at_risk_and_resolves_when_set(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,  # noqa: F811
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    code_id = await add_arrival(seam_fake, "side_gate", "Guest: Lena Berg", 5, status="setting")
    store = await Store.open(tmp_path / "s.sqlite3")
    try:
        alerts = alert_service(store, slack)
        report = await alerts.reconcile(await scan_workspace(seam, catalogue=CAT))
        assert report.posted >= 1
        alert = by_key(slack)[f"code:{code_id}"]
        body = text_of(alert)
        assert "Access code at risk: Guest: Lena Berg" in alert["text"]
        assert "at_risk_not_set" in body and "Guest code not on the lock yet" in body
        assert "The bot's check" in body and "Seam says" not in body  # never Seam's word
        assert "Starts within 8 h" in body  # the urgency badge
        assert validate_blocks(alert["blocks"]) == []
        fingerprint = (await store.open_fingerprints())[f"code:{code_id}:at_risk_not_set"]
        assert fingerprint.source == "predictive"

        await seam_fake.update_access_code(code_id, status="set")
        report = await alerts.reconcile(await scan_workspace(seam, catalogue=CAT))
        assert report.resolved == 1
        assert "Resolved" in by_key(slack)[f"code:{code_id}"]["text"]
        assert (await store.alert(f"code:{code_id}")).state == "resolved"  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_an_offline_lock_with_an_arrival_tomorrow_names_it(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,  # noqa: F811
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    gate = seam_fake.ids["devices"]["side_gate"]
    await add_arrival(seam_fake, "side_gate", "Guest: Omar Haddad", 26)
    await seam_fake.update_device(gate, properties={"online": False})
    scan = await scan_workspace(seam, catalogue=CAT)
    (offline,) = [
        f for f in scan.findings if f.fingerprint == f"device:{gate}:at_risk_lock_offline"
    ]
    assert "Guest: Omar Haddad" in offline.message and offline.source == "predictive"
    store = await Store.open(tmp_path / "s.sqlite3")
    try:
        alerts = alert_service(store, slack)
        await alerts.reconcile(scan)
        alert = by_key(slack)[f"device:{gate}"]
        body = text_of(alert)
        assert "Lock offline with arrivals coming" in body and "Omar Haddad" in body
        assert "remedy:check_device" in body
    finally:
        await store.close()


# ------------------------------------------------------------------------------ the digest


async def test_digest_once_lists_every_arrival_in_72_h_with_its_state(
    seam_fake: SeamFake,  # noqa: F811
    slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.slack.alert_channel.ALERT_PACE_SECONDS", 0.0)
    await add_arrival(seam_fake, "back_door", "Guest: Far Future", 80)
    out = io.StringIO()
    assert await run_digest(settings_for(seam_fake, slack, tmp_path), out) == 0
    assert "7 arrival(s); posted" in out.getvalue()
    (digest,) = roots(slack)
    assert digest["metadata"]["event_payload"]["alert_key"].startswith("arrivals:")
    assert validate_blocks(digest["blocks"]) == []
    body = text_of(digest)
    assert "7 arrivals, 1 ready, 1 at risk, 5 failing" in digest["text"]
    lines = {
        b["text"]["text"]: b.get("accessory") for b in digest["blocks"] if b["type"] == "section"
    }
    expected = {
        "Jane Doe": "failing",
        "Sam Rivera": "failing",
        "Tom Becker": "failing",
        "Marco Rossi": "failing",
        "Priya Patel": "failing",
        "Aiko Tanaka": "at risk",
        "Noah Kim": "ready",
    }
    for name, state in expected.items():
        (line,) = [t for t in "\n".join(lines).splitlines() if name in t]
        assert f"({state})" in line, line
    buttons = [a for a in lines.values() if a is not None]
    assert len(buttons) == 6  # every arrival not OK has one; the ready one has none
    codes = seam_fake.ids["codes"]
    assert {b["value"] for b in buttons} == {
        codes[k]
        for k in (
            "failed_to_set",
            "offline_guest",
            "duplicate",
            "no_space",
            "august_slots_full",
            "delay_warning",
        )
    }
    for outside in ("Emma Wilson", "Far Future", "Cleaner", "Dog walker"):
        assert outside not in body  # a stay under way, beyond 72 h, ongoing codes
    assert "<!date^" in body  # times as Slack date tokens


async def test_the_daily_digest_posts_once_across_a_restart(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,  # noqa: F811
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    clock = Clock(datetime(2025, 11, 30, 6, 30, tzinfo=UTC))  # 07:30 in Paris
    path = tmp_path / "digest.sqlite3"

    def digest(store: Store) -> Any:
        return slack_pre_arrival_digest(
            store,
            client(slack),
            CHANNEL,
            seam=seam,
            catalogue=CAT,
            tz=ZoneInfo("Europe/Paris"),
            at=(8, 0),
            at_risk_hours=24,
            pace_seconds=0,
            clock=clock,
        )

    store = await Store.open(path)
    try:
        first = digest(store)
        assert await first.post_if_due() is None  # before 08:00 local
        clock.advance(hours=1)  # 08:30 in Paris
        outcome = await first.post_if_due()
        assert outcome is not None and outcome.posted and outcome.day.isoformat() == "2025-11-30"
        assert await first.post_if_due() is None
    finally:
        await store.close()
    # restart: a new process, the same database: nothing more today
    clock.advance(hours=10)
    store = await Store.open(path)
    try:
        second = digest(store)
        assert await second.post_if_due() is None
        assert len(roots(slack)) == 1
        clock.advance(hours=14)  # the next morning, 08:30 in Paris
        again = await second.post_if_due()
        assert again is not None and again.day.isoformat() == "2025-12-01"
        assert len(roots(slack)) == 2
    finally:
        await store.close()


async def test_a_missed_digest_is_posted_once_at_start_up_and_not_after_a_restart(
    seam_fake: SeamFake,  # noqa: F811
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    from tests.conftest import serve_bot

    overrides = {
        "alert_channel": CHANNEL,
        "scan_interval_seconds": 3600,
        "digest_time": "00:00",  # long past: today's is "missed"
        "database_path": tmp_path / "bot.sqlite3",
    }

    def digests() -> list[dict[str, Any]]:
        return [
            m
            for m in roots(slack)
            if m["metadata"]["event_payload"]["alert_key"].startswith("arrivals:")
        ]

    async for _bot in serve_bot(tmp_path, seam_fake, slack, **overrides):
        await slack.wait_for(lambda: len(digests()) == 1, timeout=20, what="the digest")
    async for _bot in serve_bot(tmp_path, seam_fake, slack, **overrides):
        await slack.wait_for(lambda: len(roots(slack)) >= 14, timeout=20, what="the alerts")
        assert len(digests()) == 1


async def test_scan_once_post_still_posts_only_alerts(
    seam_fake: SeamFake,  # noqa: F811
    slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.slack.alert_channel.ALERT_PACE_SECONDS", 0.0)
    assert await run_cli(settings_for(seam_fake, slack, tmp_path), once=True, post=True) == 0
    assert not [k for k in by_key(slack) if k.startswith("arrivals:")]


# ------------------------------------------------------------------------------ escalation


async def test_escalation_at_t24_t4_t1_once_each_with_mentions_only_where_due(
    slack: FakeSlack, tmp_path: Path
) -> None:
    clock = Clock()
    start_in = 30.0
    store = await Store.open(tmp_path / "esc.sqlite3")
    try:
        alerts = alert_service(
            store,
            slack,
            clock=clock,
            escalation_mention="<!subteam^S0ONCALL>",
            remind_after=1000 * 3600,
        )
        start = clock.now + timedelta(hours=start_in)

        async def scan() -> None:
            # `code` places starts_at at T0 + starts_in_h: a fixed start as the clock moves
            failing = code("a", "d1", err("failed_to_set_on_device"), starts_in_h=start_in)
            await alerts.reconcile(make_scan([device("d1")], [failing], now=clock.now))

        def thread() -> list[str]:
            ts = by_key(slack)["code:a"]["ts"]
            return [m["text"] for m in replies(slack, ts)]

        def badge() -> str:
            return text_of(by_key(slack)["code:a"])

        await scan()  # T-30 h: posted, nothing to raise
        assert thread() == [] and "Starts within 2 d" in badge()
        clock.now = start - timedelta(hours=23)
        await scan()
        (t24,) = thread()
        assert "Check-in in under 24 h" in t24 and "subteam" not in t24
        assert "Starts within 24 h" in badge()  # the badge was edited
        await scan()
        assert len(thread()) == 1  # each once
        clock.now = start - timedelta(hours=3.5)
        await scan()
        assert len(thread()) == 2 and thread()[1].startswith("<!subteam^S0ONCALL>")
        assert "Check-in in under 4 h" in thread()[1] and "Starts within 4 h" in badge()
        # acknowledged: the badge still changes, the T-1 h reply names nobody
        assert await store.acknowledge("code:a", "U1")
        clock.now = start - timedelta(minutes=50)
        await scan()
        await scan()
        assert len(thread()) == 3
        assert "Check-in in under 1 h" in thread()[2] and "subteam" not in thread()[2]
        assert "Starts within 1 h" in badge() and "Acknowledged" in badge()
    finally:
        await store.close()


async def test_a_late_first_look_raises_once_and_snooze_never_hides_past_t1(
    slack: FakeSlack, tmp_path: Path
) -> None:
    clock = Clock()
    store = await Store.open(tmp_path / "esc2.sqlite3")
    try:
        alerts = alert_service(
            store,
            slack,
            clock=clock,
            escalation_mention="<@U0ONCALL>",
        )
        start = clock.now + timedelta(hours=10)

        async def scan() -> None:
            failing = code("b", "d1", err("failed_to_set_on_device"), starts_in_h=10)
            await alerts.reconcile(make_scan([device("d1")], [failing], now=clock.now))

        await scan()
        ts = by_key(slack)["code:b"]["ts"]
        assert await store.snooze("code:b", clock.now + timedelta(days=2), "U1")
        clock.now = start - timedelta(hours=3)
        await scan()  # snoozed: not raised at T-24 h or T-4 h
        assert replies(slack, ts) == []
        clock.now = start - timedelta(minutes=40)
        await scan()  # T-1 h: the snooze ends, and one reply (not three) names on-call
        (reply,) = replies(slack, ts)
        assert reply["text"].startswith("<@U0ONCALL>") and "under 1 h" in reply["text"]
        assert (await store.alert("code:b")).state == "open"  # type: ignore[union-attr]
        assert "Snoozed" not in text_of(by_key(slack)["code:b"])
    finally:
        await store.close()


# ------------------------------------------------------------------------------ commands, Home


def accessories(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["accessory"]["value"] for b in blocks if b.get("accessory")]


async def test_open_and_arrivals_commands_and_the_home_tab_refresh_after_a_resolve(
    seam_fake: SeamFake,  # noqa: F811
    slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.slack.listeners.dashboard.HOME_REFRESH_SECONDS", 0.2)
    from devtools.slack_requests import event_body
    from tests.conftest import reply_text, serve_bot

    ids = seam_fake.ids
    jane = ids["codes"]["failed_to_set"]
    async for bot in serve_bot(tmp_path, seam_fake, slack, alert_channel=CHANNEL):
        assert bot.services.alerts is not None
        report = await bot.services.alerts.refresh_devices(list(ids["devices"].values()))
        assert report is not None and report.posted == 13

        # /seam-code open: every open alert, the soonest check-in first
        _, key, _ = await bot.command("open")
        answer = await bot.reply(key)
        assert validate_blocks(answer["blocks"]) == []
        assert "13 open problems" in reply_text(answer)
        assert accessories(answer["blocks"])[0] == jane  # Jane arrives in ~5 h
        # /seam-code arrivals 24: only arrivals within 24 h, each with its state
        _, key, _ = await bot.command("arrivals 24")
        text = reply_text(await bot.reply(key))
        for name in ("Jane Doe", "Sam Rivera", "Aiko Tanaka", "Tom Becker"):
            assert name in text
        for name in ("Marco Rossi", "Noah Kim", "Priya Patel", "Emma Wilson"):
            assert name not in text
        response, _, _ = await bot.command("arrivals soon")  # refused in the ack itself
        assert "1 to 216" in response.text

        # the App Home: the urgent code first, with a Details button
        home_event = {"type": "app_home_opened", "user": "U111", "channel": "D1", "tab": "home"}
        assert (await bot.post(event_body(home_event))).status_code == 200
        await slack.wait_for(lambda: "U111" in slack.home_views, timeout=10, what="Home")
        view = slack.home_views["U111"]
        assert validate_view(view) == []
        buttons = [b["accessory"] for b in view["blocks"] if b.get("accessory")]
        assert buttons[0]["value"] == jane and buttons[0]["action_id"] == "home_show_code"
        home_text = json.dumps(view, ensure_ascii=False)
        assert "13 open problems" in home_text and "Arrivals in the next 72 h" in home_text
        assert "Configuration" in home_text and "Last scan" in home_text
        publishes = len(slack.calls_to("views.publish"))

        # Jane's code is fixed: the refresh resolves it and the Home tab is published again
        await seam_fake.update_access_code(jane, errors=[], warnings=[], status="set")
        await bot.services.alerts.refresh_devices([ids["devices"]["front_door"]])
        await slack.wait_for(
            lambda n=publishes: len(slack.calls_to("views.publish")) > n,  # type: ignore[misc]
            timeout=10,
            what="refresh",
        )
        view = slack.home_views["U111"]
        problems = [
            b["accessory"]["value"]
            for b in view["blocks"]
            if b.get("accessory") and "open problem" not in json.dumps(b)
        ]
        assert "12 open problems" in json.dumps(view, ensure_ascii=False)
        assert jane not in problems[:12]

        # Details on the Home tab: a modal with the code's /seam-code answer
        sam = ids["codes"]["offline_guest"]
        response, _ = await bot.press("home_show_code", sam)
        assert response.status_code == 200
        await slack.wait_for_call("views.update", timeout=10)
        modal = next(v for v in slack.views.values() if "Sam Rivera" in json.dumps(v))
        assert validate_view(modal) == [] and "Device is offline" in json.dumps(modal)


@pytest.mark.parametrize("mention", ["<!subteam^S0ONCALL>", None])
async def test_a_new_alert_inside_t4_pages_at_once_and_a_new_one_at_t10_is_not_raised_again(
    slack: FakeSlack, tmp_path: Path, mention: str | None
) -> None:
    clock = Clock()
    store = await Store.open(tmp_path / "esc3.sqlite3")
    try:
        alerts = alert_service(store, slack, clock=clock, escalation_mention=mention)
        codes = [
            code("soon", "d1", err("failed_to_set_on_device"), starts_in_h=3),
            code("later", "d1", err("failed_to_set_on_device"), starts_in_h=10),
        ]
        await alerts.reconcile(make_scan([device("d1")], codes, now=clock.now))
        soon, later = by_key(slack)["code:soon"], by_key(slack)["code:later"]
        assert replies(slack, later["ts"]) == []  # its post was the T-24 h raise
        if mention:
            (page,) = replies(slack, soon["ts"])
            assert page["text"].startswith(mention) and "under 4 h" in page["text"]
        else:
            assert replies(slack, soon["ts"]) == []
        clock.advance(minutes=15)
        await alerts.reconcile(make_scan([device("d1")], codes, now=clock.now))
        assert len(replies(slack, soon["ts"])) == (1 if mention else 0)
        assert replies(slack, later["ts"]) == []
    finally:
        await store.close()
