"""Adversarial review, unit level: parsing, private_metadata and the Seam client's list reads.

Failing tests are confirmed problems (see the review report); passing ones pin defences.
No fakes, no servers: pure functions and the Seam client over `httpx.MockTransport`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.domain.catalogue import default_catalogue
from bot.seam import SeamApiError, SeamClient
from bot.services.observing import scan_workspace
from bot.slack.blocks.modals import message_modal
from bot.slack.payloads import (
    Press,
    RemedyContext,
    parse_command_text,
    read_press,
    view_selected_time,
)

# ----------------------------------------------------------------------------- command text


@pytest.mark.parametrize("text", ["<", "&lt;", "<<", "&lt; &lt;", "\u200b<\u200b", "`<`<"])
def test_parse_command_text_never_raises_on_a_lone_angle_bracket(text: str) -> None:
    """`_TOKEN_RE` matches nothing in "<", and `parts[0]` is indexed unguarded (IndexError)."""
    parsed = parse_command_text(text)
    assert parsed.kind in ("help", "invalid")


def test_a_button_value_that_is_a_lone_angle_bracket_is_unusable_not_an_exception() -> None:
    press = Press("U1", "remedy:update_pin", "<", "C1", "1.2", True, "", "")
    assert press.code_id() is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("<@U123|bob>", "help"),
        ("&lt;!channel&gt;", "invalid"),
        ("<!here>", "invalid"),
        ("a" * 65, "invalid"),
        ("../../etc/passwd", "invalid"),
        ("id;rm -rf", "invalid"),
        ("\x00abc", "id"),  # control characters are dropped
    ],
)
def test_hostile_command_text_is_classified(text: str, kind: str) -> None:
    assert parse_command_text(text).kind == kind


# ----------------------------------------------------------------------------- private_metadata


def test_deeply_nested_private_metadata_is_malformed_not_an_exception() -> None:
    """`RemedyContext.loads` promises None for malformed metadata but lets RecursionError out."""
    raw = '{"action":' + "[" * 5000 + "]" * 5000 + "}"
    assert RemedyContext.loads(raw) is None


def test_every_context_loads_accepts_can_be_rendered_into_a_modal() -> None:
    """loads() caps each field at 1000 characters but not the whole; a context it accepts can
    exceed Slack's 3000-character private_metadata, and every modal built from it raises."""
    too_big = RemedyContext(
        action="update_pin", code="c" * 900, target="t" * 900, channel="C" * 900, ts="1" * 900
    )
    assert RemedyContext.loads(too_big.dumps()) is None  # over Slack's limit: refused whole
    near = RemedyContext(action="update_pin", code="c" * 900, target="t" * 900, channel="C" * 900)
    loaded = RemedyContext.loads(near.dumps())
    assert loaded is not None  # everything loads() accepts renders into a modal
    view = message_modal(loaded, "Update PIN", "Nothing was changed.")
    assert len(view["private_metadata"]) <= 3000


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "null",
        "[]",
        "7",
        '{"code":""}',
        '{"action":"x","code":7}',
        '{"action":"x","code":"c","ephemeral":"false"}',
        '{"action":"x","code":"c","ts":{"a":1}}',
        '{"action":"x","code":"' + "c" * 1001 + '"}',
        {"action": "x", "code": "c"},  # not a str
    ],
)
def test_remedy_context_rejects_tampered_metadata(raw: Any) -> None:
    assert RemedyContext.loads(raw) is None


def test_remedy_context_never_carries_a_pin_and_ignores_unknown_fields() -> None:
    raw = json.dumps({"action": "update_pin", "code": "c", "pin": "5821", "value": "5821"})
    ctx = RemedyContext.loads(raw)
    assert ctx is not None and "5821" not in ctx.dumps()


# ----------------------------------------------------------------------------- presses and views


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"actions": "x"},
        {"actions": [None]},
        {"actions": [{"action_id": 5, "value": ["x"]}]},
        {"actions": [{"selected_option": "x"}], "container": [], "user": "U1"},
        {"container": {"channel_id": 5, "message_ts": None, "is_ephemeral": "no"}},
    ],
)
def test_read_press_never_raises(body: dict[str, Any]) -> None:
    press = read_press(body)
    assert isinstance(press.value, str) and isinstance(press.action_id, str)
    assert press.code_id() is None


@pytest.mark.parametrize("raw", [True, False, None, 1.5, [1], {"a": 1}, "abc", "1e9"])
def test_view_selected_time_rejects_non_integers(raw: Any) -> None:
    view = {"state": {"values": {"b": {"a": {"selected_date_time": raw}}}}}
    assert view_selected_time(view, "b", "a") is None


# ----------------------------------------------------------------------------- Seam lists


def _client(pagination: Any) -> SeamClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"devices": [], "access_codes": [], "pagination": pagination, "ok": True}
        )

    async def no_sleep(_: float) -> None:
        return None

    return SeamClient(
        "seam_test_key", "http://seam.test", transport=httpx.MockTransport(handler), sleep=no_sleep
    )


@pytest.mark.parametrize(
    "pagination",
    [
        "garbage",
        [1],
        {"has_next_page": None},
        {"has_next_page": "maybe"},
        {"has_next_page": True, "next_page_cursor": 5},
        {"has_next_page": True, "next_page_cursor": {"x": 1}},
    ],
)
async def test_a_malformed_pagination_object_is_a_seam_error(pagination: Any) -> None:
    """`Pagination.model_validate` raises pydantic's ValidationError, which is not a
    SeamApiError: callers that catch SeamApiError (scans, the PIN checks, confirmations) crash."""
    async with _client(pagination) as seam:
        with pytest.raises(SeamApiError):
            await seam.list_devices()


async def test_a_scan_survives_a_malformed_devices_list() -> None:
    """scan_workspace "never raises for Seam failures"; its /devices/list step catches only
    SeamApiError, so a malformed pagination there aborts the whole scan."""
    async with _client("garbage") as seam:
        observation = await scan_workspace(
            seam, catalogue=default_catalogue(), clock=lambda: datetime(2025, 1, 1, tzinfo=UTC)
        )
    assert observation.devices_listed is False and observation.errors
