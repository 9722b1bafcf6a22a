"""The demo in a real browser: Debian's chromium driven by Playwright for Python.

Opens the Slack stand-in page, runs `/seam-code` on the failing duplicate code, clicks
"Delete duplicate", confirms in the modal and sees the message change; checks the alert channel
shows the seeded alerts; checks a button's `confirm` dialog; checks that a long unbroken input
wraps inside the message list, that a 390 px wide window (a phone) never scrolls sideways, and
that an answer arriving while alerts stream in is kept in view. Screenshots go to each test's
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


#: Horizontal overflow of the page and of the message list, measured in the browser: how far
#: the widest content sticks out past what can be seen (0 = nothing to scroll sideways).
OVERFLOW_JS = """() => {
  const doc = document.documentElement, box = document.querySelector('#messages');
  const edge = box.getBoundingClientRect().right;
  const sticking = [...box.querySelectorAll('.msg, .msg *')]
    .map((el) => el.getBoundingClientRect().right - edge);
  return {
    page: Math.max(doc.scrollWidth, document.body.scrollWidth) - window.innerWidth,
    list: box.scrollWidth - box.clientWidth,
    content: Math.max(0, ...sticking),
  };
}"""


async def overflow(page: Any) -> dict[str, float]:
    return dict(await page.evaluate(OVERFLOW_JS))


async def test_a_long_unbroken_input_stays_inside_the_message_list(
    page: Any, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    long_id = "A1b2C3d4" * 25  # 200 characters, no space to break at
    composer = page.get_by_placeholder("type /seam-code")
    await composer.fill(f"/seam-code {long_id}")
    await composer.press("Enter")
    answer = page.locator(".msg.ephemeral").filter(has_text="too long")
    await expect(answer).to_be_visible(timeout=SLOW)
    await expect(answer).to_contain_text(long_id[:40])  # the typed text is shown, wrapped
    await answer.scroll_into_view_if_needed()
    await page.screenshot(path=str(tmp_path / "long-input.png"))
    assert await overflow(page) == {"page": 0, "list": 0, "content": 0}


async def test_a_390_px_window_has_no_horizontal_scroll(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 390, "height": 844})
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await tab.goto(demo.ui_url)
        composer = tab.get_by_placeholder("type /seam-code")
        await expect(composer).to_be_visible()
        box = await composer.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        # the sidebar is a menu here: ☰ opens it, picking a channel closes it
        sidebar = tab.get_by_role("navigation", name="Workspace")
        await expect(sidebar).to_be_hidden()
        await tab.get_by_role("button", name="Channels and codes to try").click()
        await expect(sidebar.get_by_text("Try a code")).to_be_visible()
        assert (await overflow(tab))["page"] == 0
        await sidebar.get_by_role("button", name="seam-alerts").click()
        await expect(sidebar).to_be_hidden()
        # the widest things the page shows: a code's answer (fields, buttons, ids) and alerts
        await composer.fill(f"/seam-code {demo.seam.ids['codes']['failed_to_set']}")
        await composer.press("Enter")
        answer = tab.locator(".msg.ephemeral").filter(has_text="Guest: Jane Doe")
        await expect(answer).to_contain_text("Not on the lock yet", timeout=SLOW)
        await expect(tab.locator('.msg[data-kind="message"]').first).to_be_visible(timeout=25_000)
        await answer.scroll_into_view_if_needed()
        shot = tmp_path / "narrow-390.png"
        await tab.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert await overflow(tab) == {"page": 0, "list": 0, "content": 0}
        # a modal fits too
        await answer.get_by_role("button", name="Update PIN").click()
        modal = tab.get_by_role("dialog", name="Update PIN")
        await expect(modal.get_by_role("button", name="Set PIN")).to_be_visible(timeout=SLOW)
        frame = await modal.bounding_box()
        assert frame is not None and frame["x"] >= 0 and frame["x"] + frame["width"] <= 390
        await tab.screenshot(path=str(tmp_path / "narrow-390-modal.png"))
        assert (await overflow(tab))["page"] == 0
        await modal.get_by_role("button", name="Cancel").click()  # the page's modal is shared
        await expect(modal).to_be_hidden(timeout=SLOW)
    finally:
        await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


async def test_an_answer_arriving_while_alerts_stream_in_is_scrolled_into_view(
    page: Any, demo: Demo, tmp_path: Path
) -> None:
    import asyncio

    from playwright.async_api import expect

    def alert(n: int) -> None:
        lines = "\n".join(f"Line {i} of a tall alert." for i in range(8))
        demo.slack.post_message(
            DEMO_CHANNEL,
            text=f"Streaming alert {n}",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*Streaming {n}*\n{lines}"}}
            ],
        )

    for n in range(6):  # a busy channel: the reader is at its bottom
        alert(n)
    code_id = demo.seam.ids["codes"]["healthy_cleaner"]
    composer = page.get_by_placeholder("type /seam-code")
    await composer.fill(f"/seam-code {code_id}")
    await composer.press("Enter")
    answer = page.locator(".msg.ephemeral").filter(has_text=code_id)
    for n in range(6, 30):  # alerts keep arriving while and after the answer comes
        alert(n)
        await asyncio.sleep(0.15)
    await expect(answer).to_contain_text("Only visible to you", timeout=SLOW)
    await expect(page.locator(".msg").filter(has_text="Streaming 29")).to_have_count(1)
    await page.wait_for_timeout(300)
    await page.screenshot(path=str(tmp_path / "answer-while-streaming.png"))
    await expect(answer.locator(".msg-head")).to_be_in_viewport()
    # once the reader scrolls, the page follows the channel again
    await page.locator("#messages").hover()
    await page.mouse.wheel(0, 200_000)  # to the bottom
    alert(30)
    await expect(page.locator(".msg").filter(has_text="Streaming 30")).to_be_in_viewport(
        timeout=SLOW
    )
