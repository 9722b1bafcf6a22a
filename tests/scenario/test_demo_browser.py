"""The demo in a real browser: Debian's chromium driven by Playwright for Python.

Opens the Slack stand-in page, runs `/seam-code` on the failing duplicate code, clicks
"Delete duplicate", confirms in the modal and sees the message change; checks the alert channel
shows the seeded alerts; checks a button's `confirm` dialog. Screenshots go to each test's
temporary folder.

Needs `/usr/bin/chromium` (`apt-get install -y chromium`) and the `playwright` package (dev
dependency); `playwright install` is never needed. Without them the tests are skipped locally but
FAIL in CI (`CI` set), so CI cannot silently lose them.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from devtools.run import DEMO_CHANNEL, Demo, DemoOptions

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
HAS_SCANNER = importlib.util.find_spec("bot.services.scanning") is not None
#: Bot round trips (Seam fake, modal fill-in) take well under this (ms).
SLOW = 15_000


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install -e '.[dev]')"
    return None


MISSING = _missing()
if MISSING and not IN_CI:
    pytestmark = [pytest.mark.skip(reason=f"browser test needs: {MISSING}")]
else:
    pytestmark = [pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    """The whole demo (Seam fake, FakeSlack, stand-in, bot with its scanner) on free ports."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.lower().endswith("_proxy") or name.startswith(("SLACK_", "SEAM_")):
                env.delenv(name, raising=False)
        options = DemoOptions(
            ui_port=0, bot_port=0, scan_interval=30, data_dir=tmp_path_factory.mktemp("demo")
        )
        async with Demo(options) as running:
            yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    """Debian's chromium through Playwright (no downloaded browser)."""
    if MISSING:
        pytest.fail(f"CI must run the browser test, but {MISSING}")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, demo: Demo, tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh tab on the stand-in page; a screenshot is kept if the test fails."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    await tab.goto(demo.ui_url)
    try:
        yield tab
    finally:
        await tab.screenshot(path=str(tmp_path / "last-state.png"), full_page=False)
        await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


async def test_seam_code_then_remedy_then_the_message_changes(
    page: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    code_id = demo.seam.ids["codes"]["duplicate"]
    await expect(page.get_by_text("Demo: fake Seam + local Slack stand-in")).to_be_visible()
    composer = page.get_by_placeholder("type /seam-code")
    await composer.fill(f"/seam-code {code_id}")
    await composer.press("Enter")

    answer = page.locator(".msg.ephemeral").filter(has_text=code_id)
    await expect(answer).to_contain_text("Only visible to you", timeout=SLOW)
    await expect(answer).to_contain_text("The same PIN is already on the lock")
    await expect(answer).not_to_contain_text("2580")  # the PIN stays masked
    await answer.scroll_into_view_if_needed()
    await page.screenshot(path=str(tmp_path / "1-seam-code.png"))

    await answer.get_by_role("button", name="Delete duplicate").click()
    modal = page.get_by_role("dialog", name="Delete duplicate")
    await expect(modal).to_be_visible(timeout=SLOW)
    confirm = modal.get_by_role("button", name="Delete", exact=True)
    await expect(confirm).to_be_visible(timeout=SLOW)  # filled in from Seam by views.update
    await expect(modal).to_contain_text("Owner's code")
    await page.screenshot(path=str(tmp_path / "2-confirm-modal.png"))
    await confirm.click()

    await expect(modal).to_be_hidden(timeout=SLOW)
    await expect(answer).to_contain_text("ran Delete unmanaged duplicate", timeout=SLOW)
    await expect(answer).to_contain_text("(updated)")
    await expect(answer.locator(".mention")).to_have_text("@you")
    await answer.scroll_into_view_if_needed()  # alerts may keep arriving below it
    shot = tmp_path / "3-after-remedy.png"
    await page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    [deleted] = await demo.seam.calls("/access_codes/unmanaged/delete")
    assert deleted["body"]["access_code_id"] == demo.seam.ids["unmanaged"]["owner_code"]


async def test_alert_channel_shows_the_seeded_alerts(page: Any, demo: Demo, tmp_path: Path) -> None:
    from playwright.async_api import expect

    if not HAS_SCANNER:
        pytest.skip("bot.scanner does not exist yet: no proactive alerts to look for")
    alerts = page.locator('.msg[data-kind="message"]')
    # The first scan runs at start-up and posts about one alert a second: well within one
    # scan interval (30 s), several are on the page.
    await expect(alerts.nth(2)).to_be_visible(timeout=25_000)
    await expect(page.locator("#messages")).to_contain_text("Access code failing")
    await expect(page.locator("#messages")).not_to_contain_text("<!date^")  # dates rendered
    await expect(alerts.first.locator(".btn").first).to_be_visible()
    await page.screenshot(path=str(tmp_path / "alerts.png"))
    assert len(demo.slack.messages(DEMO_CHANNEL)) >= 3


async def test_a_button_confirm_dialog_is_shown_before_the_click_is_sent(
    page: Any, demo: Demo
) -> None:
    from playwright.async_api import expect

    code_id = demo.seam.ids["codes"]["healthy_guest"]
    posted = demo.slack.post_message(
        DEMO_CHANNEL,
        text="Confirm test",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Confirm test* message"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "remedy:check_device",
                        "value": code_id,
                        "text": {"type": "plain_text", "text": "Check (confirm)"},
                        "confirm": {
                            "title": {"type": "plain_text", "text": "Really check?"},
                            "text": {"type": "mrkdwn", "text": "This reads *Seam* again."},
                            "confirm": {"type": "plain_text", "text": "Yes, check"},
                            "deny": {"type": "plain_text", "text": "No"},
                        },
                    }
                ],
            },
        ],
    )
    message = page.locator(f'.msg[data-ts="{posted["ts"]}"]')
    button = message.get_by_role("button", name="Check (confirm)")
    await button.click()
    dialog = page.get_by_role("alertdialog", name="Really check?")
    await expect(dialog).to_contain_text("This reads Seam again.")
    await dialog.get_by_role("button", name="No").click()
    await expect(dialog).to_be_hidden()

    answers = page.locator(".msg.ephemeral").filter(has_text="Device check")
    await expect(answers).to_have_count(0)  # "No" sent nothing

    await button.click()
    await page.get_by_role("alertdialog").get_by_role("button", name="Yes, check").click()
    await expect(answers).to_have_count(1, timeout=SLOW)
    await expect(answers).to_contain_text("Unit 2B Back Door is online")
