"""Build Slack's inbound HTTP requests (slash commands, interactions, events) and sign them.

The bodies follow the samples in `/work/shared/slack-payloads/`: slash commands are form-encoded
fields, interactions are `payload=<urlencoded JSON>`, events are raw JSON. Sign the exact bytes
you send::

    body = slash_command_body("ABC-123", response_url=..., trigger_id=...)
    headers = signed_headers(SIGNING_SECRET, body)
    resp = await http.post("/slack/events", content=body, headers=headers)
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from slack_sdk.signature import SignatureVerifier

__all__ = [
    "block_actions_body",
    "envelope_payload",
    "event_body",
    "signed_headers",
    "slash_command_body",
    "view_submission_body",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signed_headers(
    signing_secret: str,
    body: bytes,
    timestamp: int | None = None,
    *,
    content_type: str | None = None,
) -> dict[str, str]:
    """Headers Slack sends with `body`: timestamp, `v0=` HMAC signature and Content-Type.

    Args:
        signing_secret: the app's signing secret.
        body: the exact request bytes.
        timestamp: Unix seconds (default: now). Bolt rejects |now - timestamp| > 300 s.
        content_type: default: JSON if the body starts with "{", else form-encoded.

    Returns:
        `{"X-Slack-Request-Timestamp": "...", "X-Slack-Signature": "v0=...",
        "Content-Type": "..."}`.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    if content_type is None:
        content_type = JSON if body.lstrip().startswith(b"{") else FORM
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def slash_command_body(
    text: str,
    *,
    command: str = "/seam-code",
    user_id: str = "U111",
    channel_id: str = "C111",
    response_url: str,
    trigger_id: str,
    team_id: str = "T111",
    user_name: str = "primary-owner",
    channel_name: str = "test-channel",
    team_domain: str = "test-domain",
    api_app_id: str = "A111",
) -> bytes:
    """A slash command body, form-encoded in Slack's field order (`slash_command_seam_code`)."""
    fields = [
        ("token", "verification_token"),
        ("command", command),
        ("text", text),
        ("user_id", user_id),
        ("user_name", user_name),
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("team_id", team_id),
        ("team_domain", team_domain),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ]
    return urlencode(fields).encode("utf-8")


def envelope_payload(body: bytes) -> dict[str, Any]:
    """The Socket Mode `payload` Slack sends for the same request as an HTTP `body` built here:
    a slash command's fields as an object, an interaction's `payload` JSON, an event's JSON."""
    text = body.decode("utf-8")
    if text.lstrip().startswith("{"):
        event: dict[str, Any] = json.loads(text)
        return event
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if set(fields) == {"payload"}:
        interaction: dict[str, Any] = json.loads(fields["payload"])
        return interaction
    return fields


def _payload_body(payload: Mapping[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("utf-8")


def block_actions_body(
    action_id: str,
    value: str,
    *,
    user_id: str = "U111",
    channel_id: str = "C111",
    message_ts: str = "1700000000.000100",
    response_url: str,
    trigger_id: str,
    block_id: str = "actions",
    message_blocks: list[dict[str, Any]] | None = None,
    container_type: Literal["message", "view"] = "message",
    is_ephemeral: bool = False,
    team_id: str = "T111",
    action_type: str = "button",
    button_text: str = "Button",
    message_text: str = "",
    view: Mapping[str, Any] | None = None,
    action_ts: str | None = None,
) -> bytes:
    """A `block_actions` interaction (`payload=<urlencoded JSON>`), modelled on block_actions.json.

    Args:
        action_id / value / block_id: the clicked element. For `action_type` "static_select"
            or "overflow", `value` becomes `selected_option.value`.
        message_ts / channel_id / is_ephemeral: the message container (container_type
            "message"). `message_blocks`: the message's blocks (omitted for ephemeral messages,
            as Slack does).
        container_type "view": the click came from a modal or Home tab; pass `view` (the view
            object, must have "id"); channel/message are then absent.
        action_ts: default now (Unix seconds with microseconds, as a string).
    """
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": action_ts or f"{time.time():.6f}",
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": button_text, "emoji": True}
        action["value"] = value
    elif action_type in ("static_select", "overflow", "radio_buttons"):
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": value, "emoji": True},
            "value": value,
        }
    else:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": "primary-owner",
            "name": "primary-owner",
            "team_id": team_id,
        },
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": "test-domain"},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if container_type == "view":
        if view is None or "id" not in view:
            raise ValueError('container_type="view" needs view={"id": ..., ...}')
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["view"] = dict(view)
        del payload["response_url"]
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": "test-channel"}
        if not is_ephemeral:
            payload["message"] = {
                "bot_id": "BBOT",
                "type": "message",
                "text": message_text,
                "user": "UBOT",
                "ts": message_ts,
                "app_id": "A111",
                "blocks": message_blocks or [],
                "team": team_id,
            }
    return _payload_body(payload)


def view_submission_body(
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    *,
    private_metadata: str = "",
    user_id: str = "U111",
    trigger_id: str,
    view_id: str = "V123",
    team_id: str = "T111",
    blocks: list[dict[str, Any]] | None = None,
    title: str = "Seam code",
    view_hash: str = "1700000000.abcdef12",
) -> bytes:
    """A `view_submission` (`payload=<urlencoded JSON>`), modelled on view_submission.json.

    `values` is `view.state.values`: `{block_id: {action_id: state}}` where a state is the
    element state dict (`{"type": "plain_text_input", "value": "1234"}`) or, as a shortcut, a
    plain string (becomes a plain_text_input state). `response_urls` is empty, as Slack sends.
    """
    state: dict[str, dict[str, Any]] = {}
    for block_id, actions in values.items():
        state[block_id] = {}
        for action_id, v in actions.items():
            state[block_id][action_id] = (
                {"type": "plain_text_input", "value": v} if isinstance(v, str) else dict(v)
            )
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "test-domain"},
        "user": {
            "id": user_id,
            "username": "primary-owner",
            "name": "primary-owner",
            "team_id": team_id,
        },
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": view_hash,
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": "A111",
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "BBOT",
        },
        "response_urls": [],
    }
    return _payload_body(payload)


def event_body(
    event: Mapping[str, Any],
    *,
    team_id: str = "T111",
    event_id: str | None = None,
    event_time: int | None = None,
    api_app_id: str = "A111",
) -> bytes:
    """An Events API `event_callback` envelope (raw JSON), modelled on app_home_opened.json.

    `event_id` defaults to a fresh unique "Ev..." id; `event_time` to now (Unix seconds).
    """
    envelope = {
        "token": "verification_token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": "UBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }
    return json.dumps(envelope).encode("utf-8")
