"""The loopback fakes other tests use as ground truth: prove they behave like Seam and Slack.

* `devtools/fake_seam.mjs` + `devtools/seam_fake.py`: the seeded Seam fake, its shim routes,
  failure/delay injection, the call log and the process lifecycle.
* `devtools/fake_slack.py`: Block Kit limits, auth, rate limits, triggers, messages, views and
  the response_url sink.
* `devtools/slack_requests.py`: signed request bodies Bolt accepts.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import pytest_asyncio
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

import devtools.seam_fake as seam_fake_module
from devtools.fake_slack import FakeSlack, validate_blocks, validate_view
from devtools.seam_fake import REPO_ROOT, SeamFake
from devtools.slack_requests import (
    block_actions_body,
    event_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from tests.support.fixtures import fake_slack, seam_fake, seam_fake_process  # noqa: F401

SAMPLES = Path("/work/shared/slack-payloads")
SECRET = "test-signing-secret"


def _errors_of(code: dict[str, Any]) -> list[str]:
    return [e["error_code"] for e in code["errors"]] + [w["warning_code"] for w in code["warnings"]]


# =============================================================================================
# Seam fake (one node process for the module; every test starts from the restored scenario)
# =============================================================================================


@pytest_asyncio.fixture(loop_scope="module")
async def seam_http(seam_fake: SeamFake) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    """An authenticated client for the scenario workspace."""
    async with httpx.AsyncClient(
        base_url=seam_fake.url,
        headers={"Authorization": f"Bearer {seam_fake.api_key}"},
        trust_env=False,
        timeout=10,
    ) as client:
        yield client


@pytest.mark.asyncio(loop_scope="module")
async def test_ready_line_describes_the_scenario(seam_fake: SeamFake) -> None:  # noqa: F811
    ids = seam_fake.ids
    assert seam_fake.url == f"http://127.0.0.1:{seam_fake.port}"
    assert seam_fake.api_key.startswith("seam_")
    assert ids["workspace_id"] == seam_fake.workspace_id
    assert set(ids["devices"]) == {
        "front_door",
        "back_door",
        "side_gate",
        "garage",
        "lobby",
        "unit_3a_front_door",
    }
    assert set(ids["unmanaged"]) == {"owner_code", "landlord_code"}
    assert set(ids["issues"]) == set(ids["codes"]) | set(ids["unmanaged"])
    assert list(ids["issues"].values()).count("healthy") >= 2


@pytest.mark.asyncio(loop_scope="module")
async def test_failing_code_via_get_and_post(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    code_id = seam_fake.ids["codes"]["failed_to_set"]
    by_get = await seam_http.get("/access_codes/get", params={"access_code_id": code_id})
    by_post = await seam_http.post("/access_codes/get", json={"access_code_id": code_id})
    for resp in (by_get, by_post):
        assert resp.status_code == 200
        assert resp.headers["seam-request-id"]
        code = resp.json()["access_code"]
        [error] = code["errors"]
        assert error["error_code"] == "failed_to_set_on_device"
        assert error["is_access_code_error"] is True
        assert error["created_at"]
        assert code["type"] == "time_bound"
        assert code["is_backup_access_code_available"] is True
        assert code["device_id"] == seam_fake.ids["devices"]["front_door"]
        assert code["name"] == "Guest: Jane Doe"
    starts_in = time.mktime(time.strptime(code["starts_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert 4 * 3600 < starts_in - time.mktime(time.gmtime()) < 6 * 3600


@pytest.mark.asyncio(loop_scope="module")
async def test_every_seeded_code_carries_its_issue(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    ids = seam_fake.ids
    for key, code_id in {**ids["codes"], **ids["unmanaged"]}.items():
        resp = await seam_http.post("/access_codes/get", json={"access_code_id": code_id})
        assert resp.status_code == 200, key
        code = resp.json()["access_code"]
        # no date in a name: it would be UTC's reading, not the reader's, beside the schedule
        assert not re.search(
            r"\d|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", code["name"]
        ), (
            key,
            code["name"],
        )
        issue = ids["issues"][key]
        if issue == "healthy":
            assert code["errors"] == [] and code["warnings"] == [], key
            assert code["is_managed"] is True
        elif issue == "unmanaged":
            assert code["is_managed"] is False, key
        else:
            assert issue in _errors_of(code), (key, code["errors"], code["warnings"])

    dup = (
        await seam_http.post(
            "/access_codes/get", json={"access_code_id": ids["codes"]["duplicate"]}
        )
    ).json()
    owner = (
        await seam_http.post(
            "/access_codes/get", json={"access_code_id": ids["unmanaged"]["owner_code"]}
        )
    ).json()
    assert (
        dup["access_code"]["errors"][0]["unmanaged_access_code_id"]
        == ids["unmanaged"]["owner_code"]
    )
    assert dup["access_code"]["code"] == owner["access_code"]["code"]
    assert dup["access_code"]["device_id"] == owner["access_code"]["device_id"]

    ext = (
        await seam_http.post(
            "/access_codes/get", json={"access_code_id": ids["codes"]["external_modification"]}
        )
    ).json()["access_code"]["errors"][0]
    assert ext["change_type"] == "modified"
    assert ext["modified_fields"] == [{"field": "code", "from": "7391", "to": "7390"}]

    for key in ("offline_guest", "offline_housekeeping"):
        resp = await seam_http.post("/access_codes/get", json={"access_code_id": ids["codes"][key]})
        [err] = resp.json()["access_code"]["errors"]
        assert err == {
            "error_code": "device_offline",
            "message": "Device is offline",
            "is_device_error": True,
            "created_at": err["created_at"],
        }


@pytest.mark.asyncio(loop_scope="module")
async def test_devices_are_realistic(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    resp = await seam_http.post("/devices/list", json={})
    devices = {d["device_id"]: d for d in resp.json()["devices"]}
    assert set(devices) == set(seam_fake.ids["devices"].values())
    for d in devices.values():
        props = d["properties"]
        assert props["supported_code_lengths"] and props["max_active_codes_supported"] > 0
        assert isinstance(props["code_constraints"], list)
    offline = devices[seam_fake.ids["devices"]["unit_3a_front_door"]]
    assert offline["properties"]["online"] is False
    assert [e["error_code"] for e in offline["errors"]] == ["device_offline"]
    garage = devices[seam_fake.ids["devices"]["garage"]]
    assert [w["warning_code"] for w in garage["warnings"]] == ["third_party_integration_detected"]
    brands = {d["properties"]["manufacturer"] for d in devices.values()}
    assert brands == {"august", "schlage", "kwikset", "smartthings"}


@pytest.mark.asyncio(loop_scope="module")
async def test_list_bug_is_kept(seam_fake: SeamFake, seam_http: httpx.AsyncClient) -> None:  # noqa: F811
    """The fake's /access_codes/list ignores device_id; the bot must filter for itself."""
    device = seam_fake.ids["devices"]["side_gate"]
    resp = await seam_http.post("/access_codes/list", json={"device_id": device})
    codes = resp.json()["access_codes"]
    assert {c["device_id"] for c in codes} != {device}
    assert any(c["is_managed"] is False for c in codes)
    assert seam_fake.ids["foreign"]["access_code_id"] in {c["access_code_id"] for c in codes}


@pytest.mark.asyncio(loop_scope="module")
async def test_unmanaged_get(seam_fake: SeamFake, seam_http: httpx.AsyncClient) -> None:  # noqa: F811
    ids = seam_fake.ids
    owner = ids["unmanaged"]["owner_code"]
    resp = await seam_http.post("/access_codes/unmanaged/get", json={"access_code_id": owner})
    assert resp.status_code == 200
    assert resp.headers["seam-request-id"]
    body = resp.json()
    assert body["ok"] is True
    assert body["access_code"]["is_managed"] is False
    assert body["access_code"]["name"] == "Owner's code"
    assert "is_backup_access_code_available" not in body["access_code"]

    by_pin = await seam_http.get(
        "/access_codes/unmanaged/get",
        params={"device_id": ids["devices"]["back_door"], "code": "2580"},
    )
    assert by_pin.json()["access_code"]["access_code_id"] == owner

    managed = await seam_http.post(
        "/access_codes/unmanaged/get", json={"access_code_id": ids["codes"]["duplicate"]}
    )
    assert managed.status_code == 404
    assert managed.json()["error"]["type"] == "access_code_not_found"
    assert managed.json()["ok"] is False

    missing = await seam_http.post("/access_codes/unmanaged/get", json={})
    assert missing.status_code == 400
    assert missing.json()["error"]["type"] == "invalid_input"

    async with httpx.AsyncClient(base_url=seam_fake.url, trust_env=False) as anon:
        no_auth = await anon.post("/access_codes/unmanaged/get", json={"access_code_id": owner})
        bad = await anon.post(
            "/access_codes/unmanaged/get",
            json={"access_code_id": owner},
            headers={"Authorization": "Bearer seam_nope_123"},
        )
        foreign = await anon.post(
            "/access_codes/unmanaged/get",
            json={"access_code_id": owner},
            headers={"Authorization": f"Bearer {ids['foreign']['api_key']}"},
        )
    assert no_auth.status_code == 401
    assert no_auth.json()["error"] == {"type": "unauthorized", "message": "No Authorization header"}
    assert bad.status_code == 401
    assert bad.json()["error"]["message"] == "API Key not found"
    assert foreign.status_code == 404  # other workspace


@pytest.mark.asyncio(loop_scope="module")
async def test_convert_to_managed(seam_fake: SeamFake, seam_http: httpx.AsyncClient) -> None:  # noqa: F811
    ids = seam_fake.ids
    owner = ids["unmanaged"]["owner_code"]
    device = ids["devices"]["back_door"]
    before = await seam_http.post("/access_codes/unmanaged/list", json={"device_id": device})
    assert owner in {c["access_code_id"] for c in before.json()["access_codes"]}

    resp = await seam_http.post(
        "/access_codes/unmanaged/convert_to_managed", json={"access_code_id": owner}
    )
    assert resp.status_code == 200
    assert resp.json() == {"ok": True}

    after = await seam_http.post("/access_codes/unmanaged/list", json={"device_id": device})
    assert owner not in {c["access_code_id"] for c in after.json()["access_codes"]}
    code = await seam_fake.get_access_code(owner)
    assert code is not None
    assert code["is_managed"] is True and code["status"] == "set"

    again = await seam_http.post(
        "/access_codes/unmanaged/convert_to_managed", json={"access_code_id": owner}
    )
    assert again.status_code == 404

    await seam_fake.restore()
    restored = await seam_fake.get_access_code(owner)
    assert restored is not None and restored["is_managed"] is False


@pytest.mark.asyncio(loop_scope="module")
async def test_unmanaged_delete_and_action_attempt(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    landlord = seam_fake.ids["unmanaged"]["landlord_code"]
    resp = await seam_http.post("/access_codes/unmanaged/delete", json={"access_code_id": landlord})
    assert resp.status_code == 200
    body = resp.json()
    attempt = body["action_attempt"]
    assert body["ok"] is True
    assert attempt["action_type"] == "DELETE_ACCESS_CODE"
    assert attempt["status"] == "pending"
    assert attempt["result"] is None and attempt["error"] is None

    polled = await seam_http.post(
        "/action_attempts/get", json={"action_attempt_id": attempt["action_attempt_id"]}
    )
    assert polled.json()["action_attempt"]["status"] == "success"
    gone = await seam_http.post("/access_codes/unmanaged/get", json={"access_code_id": landlord})
    assert gone.status_code == 404
    assert await seam_fake.get_access_code(landlord) is None

    # SDK style: DELETE with the id in the query string.
    owner = seam_fake.ids["unmanaged"]["owner_code"]
    by_delete = await seam_http.delete(
        "/access_codes/unmanaged/delete", params={"access_code_id": owner, "_strict": "true"}
    )
    assert by_delete.status_code == 200
    assert await seam_fake.get_access_code(owner) is None


@pytest.mark.asyncio(loop_scope="module")
async def test_fail_429_with_retry_after_then_recovers(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    code_id = seam_fake.ids["codes"]["no_space"]
    await seam_fake.fail(429, paths=["/access_codes/get"], count=1, retry_after=2, body="json")
    first = await seam_http.post("/access_codes/get", json={"access_code_id": code_id})
    assert first.status_code == 429
    assert first.headers["retry-after"] == "2"
    assert first.json()["ok"] is False
    assert first.json()["error"]["type"] == "rate_limit_exceeded"
    second = await seam_http.post("/access_codes/get", json={"access_code_id": code_id})
    assert second.status_code == 200

    calls = await seam_fake.calls("/access_codes/get")
    assert [(c["status"], c["injected"]) for c in calls] == [(429, True), (200, False)]
    assert calls[0]["body"] == {"access_code_id": code_id}


@pytest.mark.asyncio(loop_scope="module")
async def test_fail_503_empty_body_until_reset(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    await seam_fake.fail(503, paths=["/devices/*"])
    for _ in range(3):
        resp = await seam_http.post("/devices/list", json={})
        assert resp.status_code == 503
        assert resp.content == b""
        assert "content-type" not in resp.headers
    other = await seam_http.post(
        "/access_codes/get", json={"access_code_id": seam_fake.ids["codes"]["no_space"]}
    )
    assert other.status_code == 200
    await seam_fake.reset()
    assert (await seam_http.post("/devices/list", json={})).status_code == 200
    assert [c["path"] for c in await seam_fake.calls()] == ["/devices/list"]


@pytest.mark.asyncio(loop_scope="module")
async def test_fail_text_body_and_method_filter(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    await seam_fake.fail(
        502, paths=["/access_codes/get"], body="<html>bad gateway</html>", methods=["GET"]
    )
    code_id = seam_fake.ids["codes"]["no_space"]
    got = await seam_http.get("/access_codes/get", params={"access_code_id": code_id})
    assert got.status_code == 502
    assert got.text == "<html>bad gateway</html>"
    posted = await seam_http.post("/access_codes/get", json={"access_code_id": code_id})
    assert posted.status_code == 200


@pytest.mark.asyncio(loop_scope="module")
async def test_delay_slows_only_matching_paths(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    code_id = seam_fake.ids["codes"]["no_space"]
    await seam_fake.delay(0.6, paths=["/access_codes/get"])
    t0 = time.monotonic()
    slow = await seam_http.post("/access_codes/get", json={"access_code_id": code_id})
    slow_s = time.monotonic() - t0
    t0 = time.monotonic()
    fast = await seam_http.post("/devices/list", json={})
    fast_s = time.monotonic() - t0
    assert slow.status_code == fast.status_code == 200
    assert slow_s >= 0.6
    assert fast_s < 0.5

    # phase "after": the fake applied the mutation even though the client gave up.
    await seam_fake.delay(2, paths=["/access_codes/update"])
    with pytest.raises(httpx.ReadTimeout):
        await seam_http.post(
            "/access_codes/update",
            json={"access_code_id": code_id, "name": "Renamed"},
            timeout=0.3,
        )
    code = await seam_fake.get_access_code(code_id)
    assert code is not None and code["name"] == "Renamed"

    await seam_fake.delay(0)
    t0 = time.monotonic()
    await seam_http.post("/access_codes/get", json={"access_code_id": code_id})
    assert time.monotonic() - t0 < 0.5


@pytest.mark.asyncio(loop_scope="module")
async def test_calls_log_records_a_mutation_once(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    code_id = seam_fake.ids["codes"]["constraints_violated"]
    resp = await seam_http.post(
        "/access_codes/update", json={"access_code_id": code_id, "code": "5831"}
    )
    assert resp.status_code == 200
    attempt = resp.json()["action_attempt"]
    assert attempt["action_type"] == "UPDATE_ACCESS_CODE"
    [call] = await seam_fake.calls("/access_codes/update")
    assert call["method"] == "POST"
    assert call["body"] == {"access_code_id": code_id, "code": "5831"}
    assert call["status"] == 200
    assert isinstance(call["at"], float)
    assert await seam_fake.calls("/access_codes/update", method="GET") == []

    await seam_fake.force_action_attempt_error(
        attempt["action_attempt_id"], "failed_to_set_on_device", "Lock rejected the code"
    )
    polled = await seam_http.post(
        "/action_attempts/get", json={"action_attempt_id": attempt["action_attempt_id"]}
    )
    assert polled.json()["action_attempt"]["status"] == "error"
    assert polled.json()["action_attempt"]["error"] == {
        "type": "failed_to_set_on_device",
        "message": "Lock rejected the code",
    }
    # control routes are not logged
    assert {c["path"] for c in await seam_fake.calls()} == {
        "/access_codes/update",
        "/action_attempts/get",
    }


@pytest.mark.asyncio(loop_scope="module")
async def test_patch_helpers(seam_fake: SeamFake, seam_http: httpx.AsyncClient) -> None:  # noqa: F811
    ids = seam_fake.ids
    fixed = await seam_fake.update_access_code(
        ids["codes"]["failed_to_set"], errors=[], status="set"
    )
    assert fixed["errors"] == [] and fixed["status"] == "set"
    got = await seam_fake.get_access_code(ids["codes"]["failed_to_set"])
    assert got is not None and got["errors"] == []

    device = await seam_fake.update_device(
        ids["devices"]["front_door"], properties={"online": False}
    )
    assert device["properties"]["online"] is False
    assert device["properties"]["supported_code_lengths"] == [4, 5, 6, 7, 8]  # merged

    added = await seam_fake.add_access_code(
        device_id=ids["devices"]["side_gate"], name="Plumber", code="2468"
    )
    assert added["is_managed"] is True and added["workspace_id"] == seam_fake.workspace_id
    listed = await seam_http.post(
        "/access_codes/get", json={"access_code_id": added["access_code_id"]}
    )
    assert listed.json()["access_code"]["name"] == "Plumber"

    await seam_fake.restore()
    assert await seam_fake.get_access_code(added["access_code_id"]) is None
    again = await seam_fake.get_access_code(ids["codes"]["failed_to_set"])
    assert again is not None and _errors_of(again) == ["failed_to_set_on_device"]


@pytest.mark.asyncio(loop_scope="module")
async def test_simulated_outage_and_reset(
    seam_fake: SeamFake,  # noqa: F811
    seam_http: httpx.AsyncClient,
) -> None:
    owner = seam_fake.ids["unmanaged"]["owner_code"]
    await seam_fake.simulate_outage(["/access_codes/get", "/access_codes/unmanaged/get"])
    down = await seam_http.post("/access_codes/get", json={"access_code_id": owner})
    shim_down = await seam_http.post("/access_codes/unmanaged/get", json={"access_code_id": owner})
    assert down.status_code == shim_down.status_code == 503
    assert down.content == shim_down.content == b""
    await seam_fake.reset()
    up = await seam_http.post("/access_codes/get", json={"access_code_id": owner})
    assert up.status_code == 200


@pytest.mark.asyncio(loop_scope="module")
async def test_process_exits_when_stdin_closes() -> None:
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(REPO_ROOT / "devtools" / "fake_seam.mjs"),
        "--port",
        "0",
        "--exit-on-stdin-close",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 20)
    ready = json.loads(line)
    assert ready["ready"] is True and ready["port"] > 0
    assert set(ready) == {"ready", "port", "api_key", "workspace_id", "ids"}
    proc.stdin.close()
    assert await asyncio.wait_for(proc.wait(), 5) == 0


@pytest.mark.asyncio(loop_scope="module")
async def test_stop_terminates_cleanly() -> None:
    fake = await SeamFake.start()
    proc = fake._process
    assert proc is not None
    async with httpx.AsyncClient(trust_env=False) as client:
        resp = await client.get(f"{fake.url}/_shim/scenario")
    assert resp.json()["ids"] == fake.ids
    await fake.stop()
    assert proc.returncode == 0


async def test_missing_node_modules_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(seam_fake_module, "_FAKE_PACKAGE", tmp_path / "nope" / "package.json")
    with pytest.raises(RuntimeError, match="npm ci"):
        await SeamFake.start().launch()


# =============================================================================================
# Block Kit validator (pure)
# =============================================================================================


def _section(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def _button(**extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Go"},
        "action_id": "go",
        **extra,
    }


def _confirm(**overrides: Any) -> dict[str, Any]:
    confirm = {
        "title": {"type": "plain_text", "text": "Sure?"},
        "text": {"type": "mrkdwn", "text": "Really?"},
        "confirm": {"type": "plain_text", "text": "Yes"},
        "deny": {"type": "plain_text", "text": "No"},
    }
    confirm.update(overrides)
    return confirm


def _pt(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _opt(text: str = "a", value: str = "a") -> dict[str, Any]:
    return {"text": _pt(text), "value": value}


VALID_MESSAGE: list[dict[str, Any]] = [
    {"type": "header", "text": _pt("Access code failed")},
    _section("*Unit 2B*", block_id="summary", fields=[{"type": "mrkdwn", "text": "x"}] * 10),
    {"type": "divider"},
    {
        "type": "actions",
        "block_id": "remedies",
        "elements": [
            _button(action_id="a", value="v" * 2000, style="primary", confirm=_confirm()),
            {
                "type": "static_select",
                "action_id": "b",
                "placeholder": _pt("Pick"),
                "options": [_opt(str(i), str(i)) for i in range(100)],
            },
            {
                "type": "overflow",
                "action_id": "c",
                "options": [_opt(str(i), str(i)) for i in range(5)],
            },
        ],
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}] * 10},
]

LIMIT_CASES: list[tuple[str, list[dict[str, Any]], str]] = [
    ("51 blocks in a message", [{"type": "divider"}] * 51, "at most 50 blocks"),
    ("section text 3001", [_section("x" * 3001)], "blocks[0].text.text: must be at most 3000"),
    ("empty section text", [_section("")], "more than 0 characters"),
    ("section needs text", [{"type": "section"}], "needs text or fields"),
    (
        "11 fields",
        [_section(fields=[{"type": "mrkdwn", "text": "f"}] * 11)],
        "fields: must have 1..10",
    ),
    ("field 2001", [_section(fields=[{"type": "mrkdwn", "text": "f" * 2001}])], "fields[0].text"),
    ("header 151", [{"type": "header", "text": _pt("h" * 151)}], "at most 150"),
    ("header mrkdwn", [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "plain_text"),
    (
        "26 actions",
        [{"type": "actions", "elements": [_button(action_id=f"b{i}") for i in range(26)]}],
        "1..25",
    ),
    ("empty actions", [{"type": "actions", "elements": []}], "1..25"),
    (
        "11 context",
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
        "1..10",
    ),
    ("button text 76", [_section(accessory=_button(text=_pt("b" * 76)))], "at most 75"),
    (
        "button text mrkdwn",
        [_section(accessory=_button(text={"type": "mrkdwn", "text": "b"}))],
        "plain_text",
    ),
    (
        "button value 2001",
        [_section(accessory=_button(value="v" * 2001))],
        "value: must be at most 2000",
    ),
    ("button url 3001", [_section(accessory=_button(url="u" * 3001))], "url: must be at most 3000"),
    ("button style", [_section(accessory=_button(style="green"))], "primary or danger"),
    (
        "action_id 256",
        [_section(accessory=_button(action_id="a" * 256))],
        "action_id: must be at most 255",
    ),
    ("block_id 256", [_section(block_id="b" * 256)], "block_id: must be at most 255"),
    ("duplicate block_id", [_section(block_id="x"), _section(block_id="x")], "duplicate 'x'"),
    (
        "duplicate action_id",
        [{"type": "actions", "elements": [_button(action_id="a"), _button(action_id="a")]}],
        "duplicate 'a'",
    ),
    (
        "confirm title 101",
        [_section(accessory=_button(confirm=_confirm(title=_pt("t" * 101))))],
        "title.text",
    ),
    (
        "confirm text 301",
        [_section(accessory=_button(confirm=_confirm(text={"type": "mrkdwn", "text": "t" * 301})))],
        "confirm.text.text: must be at most 300",
    ),
    (
        "confirm yes 31",
        [_section(accessory=_button(confirm=_confirm(confirm=_pt("y" * 31))))],
        "at most 30",
    ),
    (
        "confirm deny 31",
        [_section(accessory=_button(confirm=_confirm(deny=_pt("n" * 31))))],
        "at most 30",
    ),
    (
        "confirm missing deny",
        [_section(accessory=_button(confirm={k: v for k, v in _confirm().items() if k != "deny"}))],
        "deny: is required",
    ),
    (
        "option text 76",
        [
            _section(
                accessory={"type": "static_select", "action_id": "s", "options": [_opt("o" * 76)]}
            )
        ],
        "at most 75",
    ),
    (
        "option value 151",
        [
            _section(
                accessory={
                    "type": "static_select",
                    "action_id": "s",
                    "options": [_opt("o", "v" * 151)],
                }
            )
        ],
        "value: must be at most 150",
    ),
    (
        "101 select options",
        [
            _section(
                accessory={"type": "static_select", "action_id": "s", "options": [_opt()] * 101}
            )
        ],
        "1..100",
    ),
    (
        "overflow 6",
        [_section(accessory={"type": "overflow", "action_id": "o", "options": [_opt()] * 6})],
        "1..5",
    ),
    (
        "overflow 0",
        [_section(accessory={"type": "overflow", "action_id": "o", "options": []})],
        "1..5",
    ),
    (
        "bad text type",
        [{"type": "section", "text": {"type": "markdown", "text": "x"}}],
        "plain_text or mrkdwn",
    ),
    (
        "text not string",
        [{"type": "section", "text": {"type": "mrkdwn", "text": 5}}],
        "must be a string",
    ),
    (
        "emoji on mrkdwn",
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}],
        "emoji",
    ),
    (
        "verbatim on plain",
        [{"type": "header", "text": {"type": "plain_text", "text": "x", "verbatim": True}}],
        "verbatim",
    ),
    ("unknown block", [{"type": "sectoin"}], "unknown block type"),
    (
        "unknown element",
        [{"type": "actions", "elements": [{"type": "buton"}]}],
        "unknown element type",
    ),
]


def test_validate_blocks_accepts_a_full_valid_message() -> None:
    assert validate_blocks(VALID_MESSAGE, "message") == []
    assert validate_blocks([{"type": "divider"}] * 50, "message") == []
    assert validate_blocks([{"type": "divider"}] * 100, "modal") == []
    assert validate_blocks([], "home") == []


@pytest.mark.parametrize(
    ("blocks", "expected"), [c[1:] for c in LIMIT_CASES], ids=[c[0] for c in LIMIT_CASES]
)
def test_validate_blocks_catches_each_limit(blocks: list[dict[str, Any]], expected: str) -> None:
    errors = validate_blocks(blocks, "message")
    assert errors, "expected a validation error"
    assert any(expected in e for e in errors), errors


def test_validate_blocks_view_surface_limit() -> None:
    assert any("at most 100" in e for e in validate_blocks([{"type": "divider"}] * 101, "modal"))
    with pytest.raises(ValueError, match="surface"):
        validate_blocks([], "email")  # type: ignore[arg-type]


VIEW_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("title 25", {"type": "modal", "title": _pt("t" * 25), "blocks": []}, "view.title.text"),
    ("no title", {"type": "modal", "blocks": []}, "view.title: is required"),
    (
        "submit 25",
        {"type": "modal", "title": _pt("t"), "submit": _pt("s" * 25), "blocks": []},
        "view.submit",
    ),
    (
        "close 25",
        {"type": "modal", "title": _pt("t"), "close": _pt("c" * 25), "blocks": []},
        "view.close",
    ),
    (
        "private_metadata 3001",
        {"type": "modal", "title": _pt("t"), "private_metadata": "p" * 3001, "blocks": []},
        "private_metadata",
    ),
    (
        "callback_id 256",
        {"type": "modal", "title": _pt("t"), "callback_id": "c" * 256, "blocks": []},
        "callback_id",
    ),
    (
        "input needs submit",
        {
            "type": "modal",
            "title": _pt("t"),
            "blocks": [
                {"type": "input", "label": _pt("PIN"), "element": {"type": "plain_text_input"}}
            ],
        },
        "submit: is required",
    ),
    (
        "101 blocks",
        {"type": "modal", "title": _pt("t"), "blocks": [{"type": "divider"}] * 101},
        "at most 100",
    ),
    ("bad type", {"type": "dialog", "blocks": []}, "modal or home"),
]


@pytest.mark.parametrize(
    ("view", "expected"), [c[1:] for c in VIEW_CASES], ids=[c[0] for c in VIEW_CASES]
)
def test_validate_view_catches_each_limit(view: dict[str, Any], expected: str) -> None:
    errors = validate_view(view)
    assert any(expected in e for e in errors), errors


def test_validate_view_accepts_a_valid_modal_and_home() -> None:
    modal = {
        "type": "modal",
        "callback_id": "set_pin",
        "private_metadata": "p" * 3000,
        "title": _pt("t" * 24),
        "submit": _pt("Save"),
        "close": _pt("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "pin",
                "label": _pt("PIN"),
                "element": {"type": "plain_text_input", "action_id": "v"},
            }
        ],
    }
    assert validate_view(modal) == []
    assert validate_view({"type": "home", "blocks": VALID_MESSAGE}) == []


# =============================================================================================
# FakeSlack server
# =============================================================================================


def _client(slack: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.api_url, proxy="", **kwargs)


async def test_auth_and_unknown_method(fake_slack: FakeSlack) -> None:  # noqa: F811
    client = _client(fake_slack)
    auth = await client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T111", "UBOT", "BBOT")
    headers = fake_slack.calls[0].headers
    assert headers["Authorization"] == headers.get("authorization") == "Bearer xoxb-test"
    assert "AUTHORIZATION" in headers
    async with httpx.AsyncClient(base_url=fake_slack.api_url, trust_env=False) as raw:
        none = await raw.post("chat.postMessage", json={"channel": "C1", "text": "x"})
        user = await raw.post(
            "chat.postMessage",
            json={"channel": "C1", "text": "x"},
            headers={"Authorization": "Bearer xoxp-1"},
        )
        unknown = await raw.post("nope.never", headers={"Authorization": "Bearer xoxb-1"})
    assert none.status_code == 200 and none.json() == {"ok": False, "error": "not_authed"}
    assert user.json()["error"] == "invalid_auth"
    assert unknown.json()["error"] == "unknown_method"
    assert [c.method for c in fake_slack.calls] == [
        "auth.test",
        "chat.postMessage",
        "chat.postMessage",
        "nope.never",
    ]


async def test_post_update_delete_and_threads(fake_slack: FakeSlack) -> None:  # noqa: F811
    client = _client(fake_slack)
    first = await client.chat_postMessage(
        channel="C111", text="Code failed", blocks=[_section("v1")], team_id="T111"
    )
    second = await client.chat_postMessage(channel="C111", text="Reply", thread_ts=first["ts"])
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "Code failed"

    updated = await client.chat_update(
        channel="C111", ts=first["ts"], text="Fixed", blocks=[_section("v2")]
    )
    assert updated["ts"] == first["ts"]
    [parent, reply] = fake_slack.messages("C111")
    assert parent["text"] == "Fixed" and parent["blocks"] == [_section("v2")]
    assert "edited" in parent
    assert reply["thread_ts"] == first["ts"]
    assert fake_slack.messages("C111", include_replies=False) == [parent]
    assert fake_slack.message_store[("C111", first["ts"])]["text"] == "Fixed"

    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="C111", ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as too_long:
        await client.chat_update(channel="C111", ts=first["ts"], text="x" * 4001)
    assert too_long.value.response["error"] == "msg_too_long"

    # form-encoded, like the SDK sends chat.delete
    await client.api_call("chat.delete", data={"channel": "C111", "ts": second["ts"]})
    assert len(fake_slack.messages("C111")) == 1
    eph = await client.chat_postEphemeral(channel="C111", user="U111", text="only you")
    assert fake_slack.ephemerals[0]["message_ts"] == eph["message_ts"]


async def test_invalid_blocks_are_rejected_like_slack(fake_slack: FakeSlack) -> None:  # noqa: F811
    client = _client(fake_slack)
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "divider"}] * 51)
    assert exc.value.response["error"] == "invalid_blocks"
    assert any("at most 50" in e for e in exc.value.response["errors"])
    with pytest.raises(SlackApiError) as no_text:
        await client.api_call("chat.postMessage", json={"channel": "C1"})
    assert no_text.value.response["error"] == "no_text"
    assert fake_slack.messages("C1") == []


async def test_rate_limit_injection(fake_slack: FakeSlack) -> None:  # noqa: F811
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=2)
    client = _client(fake_slack)
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "2"
    assert exc.value.response["error"] == "ratelimited"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]

    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0)
    retrying = _client(
        fake_slack,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
        ],
    )
    assert (await retrying.chat_postMessage(channel="C1", text="y"))["ok"]
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 200, 429, 200]

    fake_slack.fail_next("chat.postMessage", status=200, error="not_in_channel")
    with pytest.raises(SlackApiError) as nic:
        await client.chat_postMessage(channel="C1", text="z")
    assert nic.value.response.status_code == 200
    assert nic.value.response["error"] == "not_in_channel"

    fake_slack.fail_next("*", status=503, retry_after=None, count=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as e503:
            await client.auth_test()
        assert e503.value.response.status_code == 503
    assert (await client.auth_test())["ok"]


async def test_trigger_ids_expire_and_are_single_use() -> None:
    modal = {"type": "modal", "title": _pt("Fix code"), "blocks": [_section("Loading…")]}
    async with FakeSlack(trigger_ttl=0.2) as slack:
        client = _client(slack)
        trigger = slack.issue_trigger_id()
        opened = await client.views_open(trigger_id=trigger, view=modal)
        assert opened["view"]["id"].startswith("V") and opened["view"]["hash"]
        for bad, error in (
            (trigger, "exchanged_trigger_id"),
            ("123.456.nope", "invalid_trigger_id"),
        ):
            with pytest.raises(SlackApiError) as exc:
                await client.views_open(trigger_id=bad, view=modal)
            assert exc.value.response["error"] == error
        late = slack.issue_trigger_id()
        await asyncio.sleep(0.3)
        with pytest.raises(SlackApiError) as expired:
            await client.views_open(trigger_id=late, view=modal)
        assert expired.value.response["error"] == "expired_trigger_id"


async def test_views_update_push_publish(fake_slack: FakeSlack) -> None:  # noqa: F811
    client = _client(fake_slack)
    modal = {"type": "modal", "title": _pt("Fix code"), "blocks": [_section("Loading…")]}
    opened = (await client.views_open(trigger_id=fake_slack.issue_trigger_id(), view=modal))["view"]
    new = {**modal, "blocks": [_section("Ready")]}
    updated = (await client.views_update(view_id=opened["id"], hash=opened["hash"], view=new))[
        "view"
    ]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert fake_slack.views[opened["id"]]["blocks"] == [_section("Ready")]
    with pytest.raises(SlackApiError) as conflict:
        await client.views_update(view_id=opened["id"], hash=opened["hash"], view=new)
    assert conflict.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as large:
        await client.views_update(
            view_id=opened["id"], view={**modal, "private_metadata": "p" * 260_000}
        )
    assert large.value.response["error"] == "view_too_large"

    for _ in range(2):
        await client.views_push(trigger_id=fake_slack.issue_trigger_id(), view=modal)
    with pytest.raises(SlackApiError) as limit:
        await client.views_push(trigger_id=fake_slack.issue_trigger_id(), view=modal)
    assert limit.value.response["error"] == "push_limit_reached"

    home = {"type": "home", "blocks": [_section("Home")]}
    published = (await client.views_publish(user_id="U111", view=home))["view"]
    assert fake_slack.home_views["U111"]["id"] == published["id"]
    user = await client.users_info(user="U111")
    assert user["user"]["id"] == "U111"
    assert fake_slack.calls_to("users.info")[-1].body["user"] == "U111"
    channel = await client.conversations_info(channel="C111")
    assert channel["channel"]["id"] == "C111"


async def test_response_url_sink_and_wait_for(fake_slack: FakeSlack) -> None:  # noqa: F811
    url = fake_slack.response_url("cmd1")

    async def post_later() -> None:
        await asyncio.sleep(0.05)
        async with httpx.AsyncClient(trust_env=False) as http:
            resp = await http.post(url, json={"text": "hi", "replace_original": True})
            assert resp.text == "ok"

    task = asyncio.create_task(post_later())
    posts = await fake_slack.wait_for_response("cmd1", timeout=2)
    await task
    assert posts == [{"text": "hi", "replace_original": True}]
    with pytest.raises(AssertionError, match=r"(?s)2 post\(s\).*response_url\[cmd1\]"):
        await fake_slack.wait_for_response("cmd1", count=2, timeout=0.1)


# =============================================================================================
# Signed Slack requests
# =============================================================================================


def test_signed_headers_verify() -> None:
    body = slash_command_body("ABC-123", response_url="http://x/hooks/a", trigger_id="1.2.3")
    headers = signed_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(
        body=body,
        timestamp=headers["X-Slack-Request-Timestamp"],
        signature=headers["X-Slack-Signature"],
    )
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert not verifier.is_valid(
        body=body + b"x",
        timestamp=headers["X-Slack-Request-Timestamp"],
        signature=headers["X-Slack-Signature"],
    )
    old = signed_headers(SECRET, body, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid(
        body=body, timestamp=old["X-Slack-Request-Timestamp"], signature=old["X-Slack-Signature"]
    )
    assert signed_headers(SECRET, b'{"a":1}')["Content-Type"] == "application/json"


def test_slash_command_body_matches_the_sample_byte_for_byte() -> None:
    sample = (SAMPLES / "slash_command_seam_code.form.txt").read_bytes().strip()
    body = slash_command_body(
        "ABC-123",
        response_url="https://hooks.slack.com/commands/T111/111/xxx",
        trigger_id="111.222.xxx",
    )
    assert body == sample


def test_interaction_and_event_bodies_follow_the_samples() -> None:
    sample = json.loads((SAMPLES / "block_actions.json").read_text())
    body = block_actions_body(
        "remedy:retry",
        "code-1",
        user_id="U111",
        channel_id="C111",
        message_ts="1678252213.679169",
        response_url="http://h/hooks/a",
        trigger_id="t1",
        block_id="remedies",
        message_blocks=[_section("x")],
    )
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert set(sample) <= set(payload)
    assert payload["actions"][0]["action_id"] == "remedy:retry"
    assert payload["actions"][0]["value"] == "code-1"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1678252213.679169",
        "channel_id": "C111",
        "is_ephemeral": False,
    }
    assert payload["message"]["blocks"] == [_section("x")]

    vs_sample = json.loads((SAMPLES / "view_submission.json").read_text())
    vs = json.loads(
        parse_qs(
            view_submission_body(
                "set_pin", {"pin": {"value": "5831"}}, private_metadata="m", trigger_id="t2"
            ).decode()
        )["payload"][0]
    )
    assert set(vs_sample) <= set(vs) and set(vs_sample["view"]) <= set(vs["view"])
    assert vs["view"]["state"]["values"] == {
        "pin": {"value": {"type": "plain_text_input", "value": "5831"}}
    }
    assert vs["view"]["callback_id"] == "set_pin" and vs["view"]["private_metadata"] == "m"

    ev_sample = json.loads((SAMPLES / "app_home_opened.json").read_text())
    ev = json.loads(
        event_body({"type": "app_home_opened", "user": "U111", "channel": "D1", "tab": "home"})
    )
    assert set(ev_sample) - {"enterprise_id"} <= set(ev)
    assert ev["event_id"].startswith("Ev") and ev["type"] == "event_callback"


async def test_bolt_accepts_the_signed_requests(
    fake_slack: FakeSlack,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """End to end through Bolt: every body is verified, routed, and its replies hit the fake."""
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    app = AsyncApp(client=_client(fake_slack), signing_secret=SECRET, process_before_response=True)
    seen: dict[str, Any] = {}

    @app.command("/seam-code")
    async def command(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        seen["command"] = body["text"]
        await respond(text="on it")

    @app.action("remedy:retry")
    async def action(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        seen["action"] = body["actions"][0]["value"]
        await respond(text="retried", replace_original=True)

    @app.view("set_pin")
    async def view(ack: AsyncAck, view: dict[str, Any]) -> None:
        seen["view"] = view["state"]["values"]["pin"]["value"]["value"]
        await ack(response_action="errors", errors={"pin": "PIN too short"})

    @app.event("app_home_opened")
    async def home(client: AsyncWebClient, event: dict[str, Any]) -> None:
        await client.views_publish(
            user_id=event["user"], view={"type": "home", "blocks": [_section("Home")]}
        )

    async def dispatch(body: bytes, secret: str = SECRET) -> Any:
        headers: dict[str, str | Sequence[str]] = {**signed_headers(secret, body)}
        return await app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))

    cmd = await dispatch(
        slash_command_body(
            "ABC-123",
            response_url=fake_slack.response_url("c"),
            trigger_id=fake_slack.issue_trigger_id(),
        )
    )
    act = await dispatch(
        block_actions_body(
            "remedy:retry",
            "code-1",
            message_ts="1700000000.000100",
            response_url=fake_slack.response_url("a"),
            trigger_id=fake_slack.issue_trigger_id(),
        )
    )
    sub = await dispatch(view_submission_body("set_pin", {"pin": {"value": "12"}}, trigger_id="t"))
    ev = await dispatch(
        event_body({"type": "app_home_opened", "user": "U111", "channel": "D1", "tab": "home"})
    )
    assert (cmd.status, act.status, sub.status, ev.status) == (200, 200, 200, 200)
    assert json.loads(sub.body) == {"response_action": "errors", "errors": {"pin": "PIN too short"}}
    assert seen == {"command": "ABC-123", "action": "code-1", "view": "12"}
    assert (await fake_slack.wait_for_response("c"))[0]["text"] == "on it"
    assert (await fake_slack.wait_for_response("a"))[0]["replace_original"] is True
    assert "U111" in fake_slack.home_views

    forged = slash_command_body("x", response_url=fake_slack.response_url("f"), trigger_id="t")
    bad = await dispatch(forged, "wrong-secret")
    assert bad.status == 401
