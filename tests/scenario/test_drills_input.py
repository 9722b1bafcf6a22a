"""Fault drills: generated bad input and forged or replayed requests through the real endpoint.

Hypothesis generates slash-command texts and malformed interaction payloads; every one must be
answered with a clear message or a 4xx, never a 500 or a traceback. Forged, stale and replayed
requests must all get 401 and cause nothing.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.slack_requests import signed_headers, slash_command_body
from tests.conftest import SIGNING_SECRET, Bot

DRILL = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

nasty = st.sampled_from(
    [
        "\u200b",
        "\u00a0",
        "<!channel>",
        "<@U123>",
        "`",
        "```",
        "\x00",
        "%00",
        "../",
        "' OR 1=1 --",
        "<script>",
        "\ud7ff",
        "🔑",
        "ｈｅｌｐ",
        "\n",
        "|",
        "<https://x|y>",
    ]
)
command_texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(nasty, st.text(max_size=12)), max_size=8).map("".join),
    st.from_regex(r"[A-Za-z0-9_\-]{1,80}", fullmatch=True),
)


@DRILL
@given(text=command_texts)
async def test_any_command_text_gets_a_clear_answer(bot: Bot, text: str) -> None:
    response, key, elapsed = await bot.command(text)
    assert response.status_code == 200, response.text
    assert "Traceback" not in response.text
    assert elapsed < 2.0
    if response.text.strip():  # usage or a friendly rejection in the ack itself
        assert any(w in response.text for w in ("Usage", "didn't work", "Give one"))
        return
    reply = await bot.reply(key)  # otherwise the answer follows through response_url
    blob = json.dumps(reply)
    assert "Traceback" not in blob and reply.get("text")


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=12,
    )


VALID_ACTION = {
    "type": "block_actions",
    "user": {"id": "U111"},
    "team": {"id": "T111"},
    "container": {
        "type": "message",
        "channel_id": "C111",
        "message_ts": "1.2",
        "is_ephemeral": True,
    },
    "trigger_id": "1.2.3",
    "actions": [{"action_id": "remedy:recheck", "value": "x", "type": "button", "action_ts": "1"}],
}
VALID_VIEW = {
    "type": "view_submission",
    "user": {"id": "U111"},
    "team": {"id": "T111"},
    "view": {"id": "V1", "callback_id": "remedy_confirm", "private_metadata": "{}", "state": {}},
}


@st.composite
def broken_payloads(draw: st.DrawFn) -> Any:
    base = json.loads(json.dumps(draw(st.sampled_from([VALID_ACTION, VALID_VIEW]))))
    how = draw(st.sampled_from(["drop", "replace", "garbage", "nested"]))
    keys = sorted(base)
    if how == "drop":
        for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
            base.pop(key, None)
    elif how == "replace":
        base[draw(st.sampled_from(keys))] = draw(_json_values())
    elif how == "nested":
        target = base.get("actions", [{}])[0] if "actions" in base else base["view"]
        target[draw(st.sampled_from(sorted(target)))] = draw(_json_values())
        if "actions" in base:
            target["action_id"] = draw(
                st.sampled_from(
                    ["remedy:recheck", "remedy:update_pin", "remedy:delete_unmanaged", "show_pin"]
                )
            )
    else:
        return draw(_json_values())
    return base


@DRILL
@given(payload=broken_payloads(), raw=st.booleans())
async def test_malformed_interactions_never_500(bot: Bot, payload: Any, raw: bool) -> None:
    if raw:
        body = urlencode({"payload": json.dumps(payload)}).encode()
    else:
        body = json.dumps(payload).encode() if isinstance(payload, dict) else b"payload=%7B"
    response = await bot.post(body)
    assert response.status_code < 500, (response.status_code, response.text)
    assert "Traceback" not in response.text


async def test_replayed_body_with_new_timestamp_is_rejected(bot: Bot) -> None:
    body = slash_command_body(
        bot.seam.ids["codes"]["healthy_guest"],
        response_url=bot.slack.response_url("replay"),
        trigger_id="t",
    )
    old = signed_headers(SIGNING_SECRET, body, int(time.time()) - 400)
    replay = {**old, "X-Slack-Request-Timestamp": str(int(time.time()))}
    response = await bot.http.post(f"{bot.url}/slack/events", content=body, headers=replay)
    assert response.status_code == 401
    stale = await bot.http.post(f"{bot.url}/slack/events", content=body, headers=old)
    assert stale.status_code == 401
    assert await bot.seam.calls() == [] and "replay" not in bot.slack.responses


async def test_rejected_request_body_is_not_logged(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="slack_bolt.RequestVerification")
    body = slash_command_body(
        "secret-looking-text-123", response_url=bot.slack.response_url("x"), trigger_id="t"
    )
    response = await bot.post(body, secret="wrong")
    assert response.status_code == 401
    assert "secret-looking-text-123" not in caplog.text
    assert "invalid or stale signature" in caplog.text
