"""Socket Mode on loopback: `SLACK_APP_TOKEN` set, the served bot opens a WebSocket to the Slack
fake (`apps.connections.open` with the app token), receives a slash command, a button and a
modal submission as envelopes, acks each over the socket within Slack's 3 seconds and answers
(response_url posts, Web API calls). Bad envelopes are logged and do not break the connection.
`/healthz` and `/seam/webhook` still serve on the HTTP port; `/slack/events` does not.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, WSServerHandshakeError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from devtools.slack_requests import (
    block_actions_body,
    envelope_payload,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from tests.conftest import SIGNING_SECRET, Bot, reply_text, serve_bot
from tests.scenario.test_remedies import pin_values, wait_audit

APP_TOKEN = "xapp-1-A0SOCKET1-1234567890123-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"socket-mode-webhook-secret!!").decode()


@pytest.fixture
async def socket_bot(tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack) -> AsyncIterator[Bot]:
    async for served in serve_bot(
        tmp_path,
        seam_fake,
        slack,
        slack_app_token=APP_TOKEN,
        seam_webhook_secret=WEBHOOK_SECRET,
    ):
        await slack.wait_for_socket(timeout=10)
        yield served


async def command(bot: Bot, text: str, key: str, *, user_id: str = "U111") -> str:
    body = slash_command_body(
        text,
        user_id=user_id,
        response_url=bot.slack.response_url(key),
        trigger_id=bot.slack.issue_trigger_id(),
    )
    return await bot.slack.deliver("slash_commands", envelope_payload(body))


async def press(bot: Bot, action_id: str, value: str, key: str) -> str:
    body = block_actions_body(
        action_id,
        value,
        response_url=bot.slack.response_url(key),
        trigger_id=bot.slack.issue_trigger_id(),
        is_ephemeral=True,
    )
    return await bot.slack.deliver("interactive", envelope_payload(body))


async def submit_pin(slack: FakeSlack, view: dict[str, Any], pin: str) -> str:
    """Submit the Update PIN modal `view` with `pin` as an envelope; returns its id."""
    body = view_submission_body(
        view["callback_id"],
        pin_values(pin),
        private_metadata=view["private_metadata"],
        trigger_id=slack.issue_trigger_id(),
        view_id=view["id"],
    )
    return await slack.deliver("interactive", envelope_payload(body))


async def timed_ack(slack: FakeSlack, envelope_id: str) -> tuple[dict[str, object], float]:
    started = time.perf_counter()
    ack = await slack.wait_for_ack(envelope_id, timeout=3.0)
    return ack, time.perf_counter() - started


async def test_connects_with_the_app_token_and_keeps_health_and_webhooks_on_http(
    socket_bot: Bot, slack: FakeSlack
) -> None:
    [opened] = slack.calls_to("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"
    assert slack.socket_connections == 1
    health = await socket_bot.http.get(f"{socket_bot.url}/healthz")
    assert health.status_code == 200
    assert health.json()["ok"] is True and health.json()["slack"] == "socket mode: connected"
    # Seam webhooks still arrive on the HTTP port (an unsigned one is refused, not 404).
    webhook = await socket_bot.http.post(f"{socket_bot.url}/seam/webhook", content=b"{}")
    assert webhook.status_code == 401
    # Slack's HTTP endpoint is not served: nothing can reach the listeners that way.
    body = slash_command_body(
        "help", response_url=slack.response_url("http"), trigger_id=slack.issue_trigger_id()
    )
    http = await socket_bot.http.post(
        f"{socket_bot.url}/slack/events", content=body, headers=signed_headers(SIGNING_SECRET, body)
    )
    assert http.status_code == 404 and "http" not in slack.responses


async def test_a_slash_command_is_acked_over_the_socket_and_answered(
    socket_bot: Bot, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    code_id = seam_fake.ids["codes"]["duplicate"]
    envelope_id = await command(socket_bot, code_id, "cmd")
    ack, seconds = await timed_ack(slack, envelope_id)
    assert ack["envelope_id"] == envelope_id and seconds < 3.0
    [answer] = await slack.wait_for_response("cmd", timeout=10)
    assert "duplicate_code_on_device" in reply_text(answer)
    assert [m["envelope_id"] for m in slack.socket_received] == [envelope_id]  # acked once


async def test_a_button_and_its_modal_are_acked_over_the_socket_and_run_the_remedy(
    socket_bot: Bot, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    code_id = seam_fake.ids["codes"]["failed_to_set"]
    envelope_id = await press(socket_bot, "remedy:update_pin", code_id, "press")
    ack, seconds = await timed_ack(slack, envelope_id)
    assert ack == {"envelope_id": envelope_id} and seconds < 3.0
    await slack.wait_for_call("views.update", timeout=10)  # the modal, filled in after Seam
    [opened] = slack.calls_to("views.open")
    view = slack.views[opened.response["view"]["id"]]
    assert "New PIN" in str(view["blocks"])

    # A PIN the lock refuses comes back in the ack's payload (response_action: errors).
    refused = await submit_pin(slack, view, "12")
    ack, _ = await timed_ack(slack, refused)
    payload = ack["payload"]
    assert isinstance(payload, dict) and payload["response_action"] == "errors"

    submitted = await submit_pin(slack, view, "5821")
    ack, seconds = await timed_ack(slack, submitted)
    assert ack["envelope_id"] == submitted and seconds < 3.0
    [entry] = await wait_audit(socket_bot)
    assert (entry.action, entry.outcome) == ("update_pin", "success")
    assert len(await seam_fake.calls("/access_codes/update")) == 1
    answered = await socket_bot.reply("press")
    assert "Update PIN" in reply_text(answered) and "5821" not in reply_text(answered)


async def test_bad_envelopes_are_logged_and_do_not_break_the_connection(
    socket_bot: Bot, seam_fake: SeamFake, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await slack.send_socket("this is not json")
    await slack.send_socket({"type": "slash_commands", "payload": {"command": "/seam-code"}})
    await slack.send_socket("{not json either")
    unhandled = await slack.deliver("interactive", {"type": "no_such_interaction"})
    not_an_object = await slack.deliver("slash_commands", {})
    await slack.send_socket(
        {"envelope_id": "e-list", "type": "interactive", "payload": ["not", "an", "object"]}
    )

    # Envelopes Bolt cannot handle are still acked (no redelivery), with a warning each.
    await slack.wait_for_ack(unhandled)
    await slack.wait_for_ack(not_an_object)
    await slack.wait_for_ack("e-list")
    # ...and the connection still serves real work.
    envelope_id = await command(socket_bot, seam_fake.ids["codes"]["duplicate"], "after")
    await slack.wait_for_ack(envelope_id)
    await slack.wait_for_response("after", timeout=10)
    assert slack.socket_connections == 1 and slack.socket_open

    text = caplog.text
    assert "dropped a message that is not JSON" in text
    assert "dropped a message that is not an envelope" in text
    assert f"envelope {unhandled} (interactive) not handled" in text
    assert "envelope e-list: the payload is not an object" in text
    assert APP_TOKEN not in text and APP_TOKEN.split("-")[-1] not in text


async def test_stopping_closes_the_socket(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    served = serve_bot(tmp_path, seam_fake, slack, slack_app_token=APP_TOKEN)
    await anext(served)
    await slack.wait_for_socket(timeout=10)
    with pytest.raises(StopAsyncIteration):
        await anext(served)
    await slack.wait_for(lambda: not slack.socket_open, 5, what="the socket closed")


async def test_the_fake_wants_the_app_token_and_one_use_urls(slack: FakeSlack) -> None:
    bot_client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        await bot_client.apps_connections_open(app_token="xoxb-test")
    app_client = AsyncWebClient(token=APP_TOKEN, base_url=slack.api_url)
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        await app_client.chat_postMessage(channel="C1", text="hi")
    url = (await app_client.apps_connections_open(app_token=APP_TOKEN))["url"]
    async with ClientSession() as http:
        async with http.ws_connect(url) as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["type"] == "hello" and slack.socket_open
            eid = await slack.deliver("events_api", {"type": "event_callback"})
            envelope = await ws.receive_json(timeout=5)
            assert envelope["envelope_id"] == eid and envelope["retry_attempt"] == 0
            await ws.send_json({"envelope_id": eid})
            assert await slack.wait_for_ack(eid) == {"envelope_id": eid}
        with pytest.raises(WSServerHandshakeError):
            await http.ws_connect(url)  # a URL is good for one connection
