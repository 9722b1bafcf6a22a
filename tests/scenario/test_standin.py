"""The Slack stand-in (devtools/standin) without a browser: its JSON API, signing and state.

The bot is served for real (tests/conftest.py) against the Seam fake and FakeSlack; the stand-in
sits in front of FakeSlack exactly as in the demo, and these tests drive it over HTTP the way the
page does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from devtools.fake_slack import FakeSlack
from devtools.standin import DEMO_USER_ID, StandIn, Suggestion
from devtools.standin.server import BANNER, _state_values
from tests.conftest import SIGNING_SECRET, Bot

CHANNEL = "C0DEMOALERTS"


@pytest.fixture
async def standin(bot: Bot) -> AsyncIterator[StandIn]:
    """The stand-in in front of the test FakeSlack, signing with the bot's secret."""
    async with StandIn(
        bot.slack,
        events_url=f"{bot.url}/slack/events",
        signing_secret=SIGNING_SECRET,
        channels={CHANNEL: "seam-alerts"},
        suggestions=[Suggestion("Duplicate PIN", bot.seam.ids["codes"]["duplicate"], "Back door")],
        intro="Alerts appear here.",
    ) as served:
        yield served


@pytest.fixture
async def page(standin: StandIn) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the stand-in, as the page's JavaScript uses it."""
    async with httpx.AsyncClient(base_url=standin.url, trust_env=False, timeout=30) as client:
        yield client


async def until(
    page: httpx.AsyncClient,
    predicate: Callable[[dict[str, Any]], Any],
    *,
    within: float = 10.0,
    what: str = "condition",
) -> Any:
    """Long-poll `/api/state` until `predicate(state)` is truthy (≤ `within` s); returns it."""
    deadline = time.monotonic() + within
    state = (await page.get("/api/state", params={"wait": 0})).json()
    while True:
        result = predicate(state)
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                f"timed out waiting for {what}; state:\n{json.dumps(state)[:3000]}"
            )
        response = await page.get(
            "/api/state", params={"since": state["revision"], "wait": min(remaining, 2.0)}
        )
        state = response.json()


def items(state: dict[str, Any], channel: str = CHANNEL) -> list[dict[str, Any]]:
    """The timeline of one channel."""
    return next(c["items"] for c in state["channels"] if c["id"] == channel)


def ephemerals(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The ephemeral messages in the alert channel, oldest first."""
    return [i for i in items(state) if i["kind"] == "ephemeral"]


def text_of(item: dict[str, Any]) -> str:
    """All the text of a message: fallback text and blocks."""
    return str(item.get("text") or "") + json.dumps(item.get("blocks") or [], ensure_ascii=False)


def locate(blocks: list[dict[str, Any]], action_id: str) -> tuple[int, int]:
    """(block_index, element_index) of the element with `action_id` in an actions block."""
    for b, block in enumerate(blocks):
        for e, element in enumerate(block.get("elements") or []):
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return b, e
    raise AssertionError(f"no element {action_id!r} in {json.dumps(blocks)[:800]}")


async def run_command(page: httpx.AsyncClient, text: str) -> dict[str, Any]:
    """Type a command into the composer; returns the stand-in's answer."""
    response = await page.post("/api/command", json={"text": text, "channel": CHANNEL})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def diagnose(page: httpx.AsyncClient, code_id: str) -> dict[str, Any]:
    """Run `/seam-code <code_id>` and wait for the bot's ephemeral answer about it."""
    assert (await run_command(page, f"/seam-code {code_id}"))["ok"]
    answer: dict[str, Any] = await until(
        page,
        lambda s: next((e for e in ephemerals(s) if code_id in text_of(e) and e["blocks"]), None),
        what=f"the answer about {code_id}",
    )
    return answer


# ============================================================================ page and static


async def test_page_and_assets_are_served(page: httpx.AsyncClient) -> None:
    index = await page.get("/")
    assert index.status_code == 200
    assert "text/html" in index.headers["content-type"]
    assert "Demo: fake Seam + local Slack stand-in" in index.text
    for name, kind in (("app.js", "javascript"), ("app.css", "text/css")):
        asset = await page.get(f"/static/{name}")
        assert asset.status_code == 200 and kind in asset.headers["content-type"]
    assert (await page.get("/static/server.py")).status_code == 404
    assert (await page.get("/static/..%2Fserver.py")).status_code == 404


async def test_state_describes_the_page_and_never_holds_the_secret(
    page: httpx.AsyncClient, bot: Bot
) -> None:
    state = (await page.get("/api/state", params={"wait": 0})).json()
    assert state["banner"] == BANNER
    assert state["user"]["id"] == DEMO_USER_ID
    assert [c["id"] for c in state["channels"]] == [CHANNEL]
    assert state["names"]["channels"][CHANNEL] == "seam-alerts"
    assert state["modal"] is None and state["home"] is None
    [suggestion] = state["suggestions"]
    assert suggestion["command"] == f"/seam-code {bot.seam.ids['codes']['duplicate']}"
    assert SIGNING_SECRET not in json.dumps(state)


# ============================================================================ slash commands


async def test_command_typed_in_the_page_reaches_the_bot_and_the_reply_appears(
    page: httpx.AsyncClient, bot: Bot
) -> None:
    code_id = bot.seam.ids["codes"]["duplicate"]
    answer = await diagnose(page, code_id)
    assert "duplicate_code_on_device" in text_of(answer)
    assert answer["context"] == f"/seam-code {code_id}"
    # The bot accepted the signed slash command and answered through the FakeSlack
    # response_url the stand-in minted for it (ephemeral).
    [(_, [posted])] = [(k, v) for k, v in bot.slack.responses.items() if k.startswith("cmd")]
    assert posted["response_type"] == "ephemeral"
    # PINs stay masked: the duplicate's PIN 2580 is nowhere on the page.
    state = (await page.get("/api/state", params={"wait": 0})).json()
    assert "2580" not in json.dumps(state)
    assert "••80" in json.dumps(state, ensure_ascii=False)


async def test_an_ack_with_a_body_is_shown_as_an_ephemeral_message(
    page: httpx.AsyncClient,
) -> None:
    assert (await run_command(page, "/seam-code help"))["status"] == 200
    state = (await page.get("/api/state", params={"wait": 0})).json()
    [usage] = ephemerals(state)
    assert "Usage" in text_of(usage) and usage["context"] == "/seam-code help"


async def test_unknown_commands_and_plain_text_are_answered_locally(
    page: httpx.AsyncClient, bot: Bot
) -> None:
    before = len(bot.slack.calls)
    assert (await run_command(page, "/giphy cats"))["ok"] is False
    assert (await run_command(page, "hello there"))["ok"] is False
    state = (await page.get("/api/state", params={"wait": 0})).json()
    texts = [text_of(e) for e in ephemerals(state)]
    assert "/giphy" in texts[0] and "not a valid command" in texts[0]
    assert "only sends slash commands" in texts[1]
    assert not bot.slack.responses and len(bot.slack.calls) == before


async def test_requests_are_signed_with_the_bot_secret(bot: Bot) -> None:
    """A stand-in with the wrong secret is refused (401) and says so on the page."""
    async with StandIn(
        bot.slack, events_url=f"{bot.url}/slack/events", signing_secret="not-the-secret"
    ) as wrong:
        answer = await wrong.send_command("/seam-code help")
        assert answer == {"ok": False, "status": 401}
        notices = wrong.state()["notices"]
        assert notices and "HTTP 401" in notices[-1]["text"]


# ============================================================================ buttons and modals


async def test_button_modal_submit_replaces_the_ephemeral_with_the_outcome(
    page: httpx.AsyncClient, bot: Bot
) -> None:
    code_id = bot.seam.ids["codes"]["duplicate"]
    answer = await diagnose(page, code_id)
    block, element = locate(answer["blocks"], "remedy:delete_unmanaged")
    click = await page.post(
        "/api/action",
        json={
            "surface": "ephemeral",
            "ephemeral_id": answer["id"],
            "block_index": block,
            "element_index": element,
        },
    )
    assert click.json() == {"ok": True, "status": 200}
    # The bot opened a modal with the page's fresh trigger_id and filled it in from Seam.
    modal = await until(
        page,
        lambda s: s["modal"] if s["modal"] and s["modal"]["view"].get("submit") else None,
        what="the confirmation modal",
    )
    assert modal["view"]["submit"]["text"] == "Delete"
    assert "Owner's code" in json.dumps(modal["view"]["blocks"])
    [press] = [c for c in bot.slack.calls_to("views.open")]
    assert press.response["ok"] is True
    submit = await page.post("/api/submit", json={"view_id": modal["view_id"], "values": {}})
    assert submit.json()["ok"] is True
    # Empty ack → the modal closes; the outcome replaces the ephemeral the button was on.
    done = await until(
        page,
        lambda s: next(
            (e for e in ephemerals(s) if e["id"] == answer["id"] and e["replaced"]), None
        ),
        what="the ephemeral to be replaced",
    )
    state = (await page.get("/api/state", params={"wait": 0})).json()
    assert state["modal"] is None
    assert "ran *Delete unmanaged duplicate*" in text_of(done)
    assert f"<@{DEMO_USER_ID}>" in text_of(done)
    assert len(ephemerals(state)) == 1
    owner = bot.seam.ids["unmanaged"]["owner_code"]
    [deleted] = await bot.seam.calls("/access_codes/unmanaged/delete")
    assert deleted["body"]["access_code_id"] == owner


async def test_modal_errors_are_shown_and_cleared(page: httpx.AsyncClient, bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["constraints_violated"]
    answer = await diagnose(page, code_id)
    block, element = locate(answer["blocks"], "remedy:update_pin")
    await page.post(
        "/api/action",
        json={
            "surface": "ephemeral",
            "ephemeral_id": answer["id"],
            "block_index": block,
            "element_index": element,
        },
    )
    modal = await until(
        page,
        lambda s: s["modal"] if s["modal"] and s["modal"]["view"].get("submit") else None,
        what="the Update PIN modal",
    )
    view_id = modal["view_id"]
    bad = {"new_pin": {"pin_value": {"type": "plain_text_input", "value": "12ab"}}}
    result = (await page.post("/api/submit", json={"view_id": view_id, "values": bad})).json()
    assert result["response_action"] == "errors"
    state = (await page.get("/api/state", params={"wait": 0})).json()
    assert state["modal"]["view_id"] == view_id
    assert state["modal"]["errors"]["new_pin"]
    assert "12ab" not in json.dumps(state)  # the typed PIN is never echoed back to the page
    closed = await page.post("/api/close", json={"view_id": view_id, "all": True})
    assert closed.json()["ok"] is True
    state = (await page.get("/api/state", params={"wait": 0})).json()
    assert state["modal"] is None


async def test_radio_choice_pushes_a_review_whose_back_returns_to_the_list(
    page: httpx.AsyncClient, bot: Bot
) -> None:
    """Free a slot: a radio_buttons input; submitting it pushes the review (`push`); Back on
    the review returns to the list; submitting the review deletes once and closes it all."""
    code_id = bot.seam.ids["codes"]["august_slots_full"]
    # Jane's code (same lock, arriving in 5 h) is on the lock here: it holds a slot, so it is a
    # candidate (a code Seam never put on the lock is not: deleting it would free nothing).
    await bot.seam.update_access_code(bot.seam.ids["codes"]["failed_to_set"], status="set")
    answer = await diagnose(page, code_id)
    block, element = locate(answer["blocks"], "remedy:free_slot")
    await page.post(
        "/api/action",
        json={
            "surface": "ephemeral",
            "ephemeral_id": answer["id"],
            "block_index": block,
            "element_index": element,
        },
    )
    modal = await until(
        page,
        lambda s: s["modal"] if s["modal"] and s["modal"]["view"].get("submit") else None,
        what="the Free a slot modal",
    )
    pick = next(b for b in modal["view"]["blocks"] if b.get("type") == "input")
    safe = next(o for o in pick["element"]["options"] if "warning" not in o["text"]["text"])

    def values(option: dict[str, Any]) -> dict[str, Any]:
        element = pick["element"]
        return {
            pick["block_id"]: {
                element["action_id"]: {"type": "radio_buttons", "selected": option["value"]}
            }
        }

    result = await page.post(
        "/api/submit", json={"view_id": modal["view_id"], "values": values(safe)}
    )
    assert result.json()["response_action"] == "push"
    state = (await page.get("/api/state", params={"wait": 0})).json()
    review = state["modal"]
    assert review["view_id"] != modal["view_id"] and review["depth"] == 2
    assert review["view"]["submit"]["text"] == "Delete"
    assert review["view"]["close"]["text"] == "Back"
    back = await page.post("/api/close", json={"view_id": review["view_id"], "all": False})
    assert back.json()["ok"] is True
    state = (await page.get("/api/state", params={"wait": 0})).json()
    assert state["modal"]["view_id"] == modal["view_id"] and state["modal"]["depth"] == 1
    assert await bot.seam.calls("/access_codes/delete") == []  # Back deleted nothing
    # a guest arriving soon is marked and listed last; its review warns before deleting
    last = pick["element"]["options"][-1]
    assert last["text"]["text"].startswith(":warning: Guest: Jane Doe")
    await page.post("/api/submit", json={"view_id": modal["view_id"], "values": values(last)})
    state = (await page.get("/api/state", params={"wait": 0})).json()
    warning = json.dumps(state["modal"]["view"]["blocks"])
    assert (
        ":rotating_light: *Warning:* *Guest: Jane Doe* arrives in 5 h: deleting this code "
        "locks them out."
    ) in warning
    assert state["modal"]["view"]["submit"]["text"] == "Delete anyway"
    result = await page.post(
        "/api/submit", json={"view_id": state["modal"]["view_id"], "values": {}}
    )
    assert result.json()["response_action"] == "clear"
    state = (await page.get("/api/state", params={"wait": 0})).json()
    assert state["modal"] is None  # the review and the list are both closed


async def test_clicks_on_channel_messages_carry_the_message_and_its_response_url(
    page: httpx.AsyncClient, bot: Bot
) -> None:
    """A reply to the click is a new ephemeral; `replace_original` edits the channel message."""
    code_id = bot.seam.ids["codes"]["healthy_guest"]
    button = {
        "type": "button",
        "action_id": "remedy:recheck",
        "value": code_id,
        "text": {"type": "plain_text", "text": "Re-check now"},
    }
    posted = bot.slack.post_message(
        CHANNEL,
        text="An alert",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "An alert"}},
            {"type": "actions", "elements": [button]},
        ],
    )
    click = await page.post(
        "/api/action",
        json={
            "surface": "message",
            "channel": CHANNEL,
            "ts": posted["ts"],
            "block_index": 1,
            "element_index": 0,
        },
    )
    assert click.json()["ok"] is True
    fresh = await until(
        page,
        lambda s: next((e for e in ephemerals(s) if code_id in text_of(e)), None),
        what="the re-check answer",
    )
    assert "No errors or warnings" in text_of(fresh)
    [key] = [k for k in bot.slack.responses if k.startswith("act")]
    # The same response_url replacing the original edits the channel message it came from.
    async with httpx.AsyncClient(trust_env=False) as http:
        await http.post(
            bot.slack.response_url(key), json={"replace_original": True, "text": "Replaced"}
        )
    edited = await until(
        page,
        lambda s: next((m for m in items(s) if m["ts"] == posted["ts"] and m["edited"]), None),
        what="the channel message to be replaced",
    )
    assert edited["text"] == "Replaced" and edited["blocks"] is None
    async with httpx.AsyncClient(trust_env=False) as http:
        await http.post(bot.slack.response_url(key), json={"delete_original": True})
    await until(
        page,
        lambda s: all(m["ts"] != posted["ts"] for m in items(s)),
        what="the channel message to be deleted",
    )


async def test_thread_replies_are_nested_under_their_parent(
    page: httpx.AsyncClient, bot: Bot
) -> None:
    parent = bot.slack.post_message(CHANNEL, text="parent")
    bot.slack.post_message(CHANNEL, text="reply", thread_ts=parent["ts"])
    state = (await page.get("/api/state", params={"wait": 0})).json()
    [top] = items(state)
    assert top["text"] == "parent"
    assert [r["text"] for r in top["replies"]] == ["reply"]


async def test_long_poll_answers_as_soon_as_something_changes(
    page: httpx.AsyncClient, bot: Bot
) -> None:
    state = (await page.get("/api/state", params={"wait": 0})).json()

    async def later() -> None:
        await asyncio.sleep(0.3)
        bot.slack.post_message(CHANNEL, text="news")

    task = asyncio.create_task(later())
    started = time.monotonic()
    changed = (await page.get("/api/state", params={"since": state["revision"], "wait": 10})).json()
    await task
    assert time.monotonic() - started < 5
    assert changed["revision"] > state["revision"]
    assert [m["text"] for m in items(changed)] == ["news"]


async def test_app_home_opens_through_a_signed_event(page: httpx.AsyncClient) -> None:
    assert (await page.post("/api/home", json={})).json()["ok"] is True
    home = await until(page, lambda s: s["home"], what="the Home tab")
    assert "seam-code" in json.dumps(home["blocks"])


async def test_dismissing_an_ephemeral_removes_it(page: httpx.AsyncClient) -> None:
    await run_command(page, "/seam-code help")
    state = (await page.get("/api/state", params={"wait": 0})).json()
    [usage] = ephemerals(state)
    assert (await page.post("/api/dismiss", json={"ephemeral_id": usage["id"]})).json()["ok"]
    state = (await page.get("/api/state", params={"wait": 0})).json()
    assert ephemerals(state) == []


async def test_bad_page_requests_get_400(page: httpx.AsyncClient) -> None:
    assert (await page.post("/api/command", json={"text": "  "})).status_code == 400
    assert (await page.post("/api/command", content=b"nope")).status_code == 400
    gone = await page.post("/api/action", json={"surface": "ephemeral", "ephemeral_id": "E999"})
    assert gone.status_code == 400 and "dismissed" in gone.json()["error"]
    assert (await page.get("/api/state", params={"since": "x"})).status_code == 400


# ============================================================================ pure helpers


def test_state_values_use_slack_shapes_and_the_views_own_options() -> None:
    option = {"text": {"type": "plain_text", "text": "Old code"}, "value": "code-1"}
    view = {
        "blocks": [
            {
                "type": "input",
                "block_id": "pin",
                "label": {"type": "plain_text", "text": "PIN"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "pick",
                "label": {"type": "plain_text", "text": "Pick"},
                "element": {"type": "radio_buttons", "action_id": "picked", "options": [option]},
            },
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input"},
            },
        ]
    }
    values = {
        "pin": {"value": {"type": "plain_text_input", "value": "2468"}},
        "pick": {"picked": {"type": "radio_buttons", "selected": "code-1"}},
    }
    assert _state_values(view, values) == {
        "pin": {"value": {"type": "plain_text_input", "value": "2468"}},
        "pick": {"picked": {"type": "radio_buttons", "selected_option": option}},
        "b2": {"a2_0": {"type": "plain_text_input", "value": None}},
    }
    forged = {"pick": {"picked": {"type": "radio_buttons", "selected": "not-an-option"}}}
    assert _state_values(view, forged)["pick"]["picked"]["selected_option"] is None


# ============================================================================ FakeSlack hooks


async def test_fake_slack_listeners_and_stand_in_helpers() -> None:
    async with FakeSlack() as slack:
        seen: list[int] = []
        slack.listeners.append(lambda: seen.append(slack.revision))
        message = slack.post_message("C1", text="hello")
        assert slack.messages("C1")[0]["text"] == "hello"
        replaced = slack.replace_message("C1", message["ts"], text="bye")
        assert replaced["text"] == "bye" and replaced["edited"]
        with pytest.raises(KeyError):
            slack.replace_message("C1", "1.0", text="x")
        with pytest.raises(ValueError, match="no_text"):
            slack.post_message("C1")
        slack.delete_message("C1", message["ts"])
        assert slack.messages("C1") == []
        modal = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "One"},
            "blocks": [],
        }
        async with httpx.AsyncClient(trust_env=False) as http:
            opened = await http.post(
                f"{slack.api_url}views.open",
                json={"trigger_id": slack.issue_trigger_id(), "view": modal},
                headers={"Authorization": "Bearer xoxb-test"},
            )
        view = opened.json()["view"]
        updated = slack.update_view(
            view["id"], {**modal, "title": {"type": "plain_text", "text": "Two"}}
        )
        assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
        with pytest.raises(ValueError, match="invalid"):
            slack.update_view(view["id"], {"type": "modal", "blocks": []})
        pushed = slack.push_view(view["id"], modal)
        assert pushed["previous_view_id"] == view["id"]
        slack.push_view(pushed["id"], modal)
        with pytest.raises(ValueError, match="push_limit_reached"):
            slack.push_view(pushed["id"], modal)
        assert seen == sorted(seen) and len(seen) >= 6
        assert slack.revision == seen[-1]
