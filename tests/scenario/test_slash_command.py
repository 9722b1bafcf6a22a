"""`/seam-code` end to end: signed requests through the real HTTP endpoint, the real Seam fake,
the loopback Slack fake, and a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from bot.domain.catalogue import default_catalogue
from devtools.fake_slack import FakeSlack, validate_blocks
from devtools.seam_fake import SeamFake
from devtools.slack_requests import slash_command_body
from tests.conftest import SIGNING_SECRET, Bot, reply_text


async def test_failing_code_answer_shows_errors_remedies_and_masked_pin(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    raw = await bot.seam.get_access_code(code_id)
    assert raw is not None and raw["code"]
    response, key, _ = await bot.command(code_id)
    assert response.status_code == 200
    message = await bot.reply(key)
    text = reply_text(message)
    assert message["response_type"] == "ephemeral"
    entry = default_catalogue().lookup("failed_to_set_on_device", "error")
    assert entry.title in text
    assert entry.remedy[:40] in text
    assert "failed_to_set_on_device" in text
    assert raw["code"] not in text  # the full PIN never appears
    assert "••" + raw["code"][-2:] in text
    assert "<!date^" in text  # schedule uses Slack date formatting
    assert "Unit" in text or "Door" in text or "Gate" in text  # the device name
    assert validate_blocks(message["blocks"], "message") == []
    action_ids = [
        el["action_id"] for b in message["blocks"] if b["type"] == "actions" for el in b["elements"]
    ]
    assert "remedy:pull_backup" in action_ids and "remedy:recheck" in action_ids


async def test_device_level_error_is_marked(bot: Bot) -> None:
    response, key, _ = await bot.command(bot.seam.ids["codes"]["offline_guest"])
    assert response.status_code == 200
    text = reply_text(await bot.reply(key))
    assert "device_offline" in text and "device-level" in text
    assert "offline" in text


async def test_every_seeded_problem_renders_its_catalogue_entry(bot: Bot) -> None:
    catalogue = default_catalogue()
    for name, problem in bot.seam.ids["issues"].items():
        code_id = bot.seam.ids["codes"].get(name) or bot.seam.ids["unmanaged"].get(name)
        _, key, _ = await bot.command(code_id)
        text = reply_text(await bot.reply(key))
        if problem in ("healthy", "unmanaged"):
            continue
        kind = "warning" if problem.startswith("delay_") else "error"
        entry = catalogue.lookup(problem, kind)
        assert entry.title in text, (name, problem)
        if entry.is_generic:
            assert "totally_new_error_code" in text


async def test_unmanaged_code_is_found_and_labelled(bot: Bot) -> None:
    _, key, _ = await bot.command(bot.seam.ids["unmanaged"]["owner_code"])
    text = reply_text(await bot.reply(key))
    assert "Unmanaged" in text


async def test_healthy_code(bot: Bot) -> None:
    _, key, _ = await bot.command(bot.seam.ids["codes"]["healthy_guest"])
    assert "No errors or warnings" in reply_text(await bot.reply(key))


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
async def test_help_is_answered_in_the_ack(bot: Bot, text: str) -> None:
    response, _, _ = await bot.command(text)
    assert response.status_code == 200
    assert "Usage" in response.text and "/seam-code" in response.text
    assert await bot.seam.calls() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x" * 200, "too long"),
        ("<!channel>", "look like"),
        ("two ids", "one access code ID"),
        ("'; DROP TABLE", "one access code ID"),
    ],
)
async def test_malformed_ids_get_friendly_ack(bot: Bot, text: str, expected: str) -> None:
    response, _, _ = await bot.command(text)
    assert response.status_code == 200
    assert expected in response.text
    assert "Traceback" not in response.text
    assert await bot.seam.calls() == []


async def test_wrapped_id_is_normalised(bot: Bot) -> None:
    code_id = bot.seam.ids["codes"]["healthy_guest"]
    _, key, _ = await bot.command(f"\u00a0\u200b<https://console.seam.co/x/{code_id}|{code_id}> ")
    assert "No errors or warnings" in reply_text(await bot.reply(key))


async def test_unknown_id_is_explained(bot: Bot) -> None:
    _, key, _ = await bot.command("00000000-0000-4000-8000-000000000000")
    text = reply_text(await bot.reply(key))
    assert "No such access code" in text


async def test_seam_down_gets_specific_message(bot: Bot) -> None:
    await bot.seam.fail(503, paths=["/access_codes/get"])
    response, key, _ = await bot.command(bot.seam.ids["codes"]["failed_to_set"])
    assert response.status_code == 200
    text = reply_text(await bot.reply(key, wait=30))
    assert "not answering" in text
    calls = await bot.seam.calls("/access_codes/get")
    assert 2 <= len(calls) <= 4  # retried with backoff, bounded


async def test_seam_rate_limit_gets_specific_message(bot: Bot) -> None:
    await bot.seam.fail(429, paths=["/access_codes/get"], retry_after=60, body="json")
    _, key, _ = await bot.command(bot.seam.ids["codes"]["failed_to_set"])
    text = reply_text(await bot.reply(key))
    assert "rate-limiting" in text and "60 s" in text


async def test_ack_is_fast_while_seam_takes_five_seconds(bot: Bot) -> None:
    await bot.seam.delay(5)
    started = time.perf_counter()
    response, key, elapsed = await bot.command(bot.seam.ids["codes"]["failed_to_set"])
    assert response.status_code == 200
    assert elapsed < 1.0, f"ack took {elapsed:.2f} s"
    assert key not in bot.slack.responses  # the answer had not come yet at ack time
    message = await bot.reply(key, wait=30)
    assert time.perf_counter() - started >= 5
    assert "failed_to_set_on_device" in reply_text(message)


async def test_pin_never_logged(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code_id = bot.seam.ids["codes"]["failed_to_set"]
    raw = await bot.seam.get_access_code(code_id)
    assert raw is not None
    _, key, _ = await bot.command(code_id)
    await bot.reply(key)
    assert raw["code"] not in caplog.text
    assert bot.settings.seam_api_key.get_secret_value() not in caplog.text


@pytest.mark.parametrize("case", ["unsigned", "wrong_secret", "stale", "future", "tampered"])
async def test_bad_signatures_get_401_and_cause_nothing(bot: Bot, case: str) -> None:
    body = slash_command_body(
        bot.seam.ids["codes"]["failed_to_set"],
        response_url=bot.slack.response_url("forged"),
        trigger_id="t",
    )
    if case == "unsigned":
        response = await bot.http.post(
            f"{bot.url}/slack/events",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    elif case == "wrong_secret":
        response = await bot.post(body, secret="not-the-secret")
    elif case == "stale":
        response = await bot.post(body, timestamp=int(time.time()) - 301)
    elif case == "future":
        response = await bot.post(body, timestamp=int(time.time()) + 301)
    else:
        from devtools.slack_requests import signed_headers

        headers = signed_headers(SIGNING_SECRET, body)
        response = await bot.http.post(
            f"{bot.url}/slack/events", content=body + b"&x=1", headers=headers
        )
    assert response.status_code == 401
    await asyncio.sleep(0.3)
    assert bot.slack.responses.get("forged", []) == []
    assert await bot.seam.calls() == []
    assert bot.slack.calls == []


async def test_healthz(bot: Bot) -> None:
    response = await bot.http.get(f"{bot.url}/healthz")
    assert response.status_code == 200 and response.json()["ok"] is True


async def test_oauth_env_does_not_switch_mode(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import serve_bot

    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "shh")
    async for served in serve_bot(tmp_path, seam_fake, slack):
        _, key, _ = await served.command(seam_fake.ids["codes"]["healthy_guest"])
        assert "No errors or warnings" in reply_text(await served.reply(key))
        auth = slack.calls_to("auth.test")
        assert auth and auth[0].headers.get("authorization", "").endswith("xoxb-test-token")
