"""A new remedy is one module and one registry line: everything else comes from the runner.

The remedy below is defined here, in the test, and registered with one line
(`REMEDIES.register`). With no other edit it is offered on `/seam-code` answers, its button opens
a confirmation modal, the confirmation makes exactly one Seam change, and the change is audited,
claimed exactly once, reported where the button was and refused for users outside
`REMEDY_ALLOWED_USERS`: the real bot, the official Seam fake, the Slack fake, real SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from typing import Any

import pytest

from bot.remedies.base import BaseRemedy, Outcome, Proposal, Request, follow_attempt, refusal
from bot.remedies.registry import REMEDIES
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from tests.conftest import reply_text, serve_bot
from tests.scenario.test_remedies import open_modal, wait_audit


class TagForReview(BaseRemedy):
    """A throwaway remedy: rename a managed code so the team knows it needs a look."""

    key = "tag_for_review"
    button_label = "Tag for review"
    title = "Tag for review"
    label = "Tag for review"

    def offered_for(self, code: AccessCode, advised: Collection[str]) -> bool:
        return code.is_managed and not (code.name or "").startswith("[review]")

    async def prepare(self, seam: SeamClient, code: AccessCode, device: Device | None) -> Proposal:
        return Proposal(
            form="confirm",
            code=code,
            device=device,
            target=code,
            text="Prefix this code's name with *[review]*?",
            submit="Tag it",
        )

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        try:
            attempt = await seam.update_access_code(
                request.target.access_code_id, name=f"[review] {request.target.name or ''}"
            )
        except SeamApiError as exc:
            return refusal(exc, "tag the code")
        return await follow_attempt(seam, attempt, "The code is tagged for review.", "tag")


@pytest.fixture
def tag_remedy() -> Iterator[TagForReview]:
    remedy = TagForReview()
    REMEDIES.register(remedy)  # the one registry line
    try:
        yield remedy
    finally:
        REMEDIES.unregister(remedy.key)


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


async def test_a_remedy_defined_in_a_test_is_offered_confirmed_and_audited(
    tmp_path: Any, seam_fake: SeamFake, slack: FakeSlack, tag_remedy: TagForReview
) -> None:
    async for bot in serve_bot(tmp_path, seam_fake, slack, remedy_allowed_users="U111"):
        code_id = seam_fake.ids["codes"]["healthy_guest"]
        _, key, _ = await bot.command(code_id)
        answer = await bot.reply(key)
        offered = {b["action_id"]: b["text"]["text"] for b in _buttons(answer)}
        assert offered.get("remedy:tag_for_review") == "Tag for review"

        # Not allowed: refused by the shared permission check, nothing sent to Seam.
        refused, refused_key = await bot.press("remedy:tag_for_review", code_id, user_id="U999")
        assert refused.status_code == 200
        assert "REMEDY_ALLOWED_USERS" in reply_text(await bot.reply(refused_key))
        assert slack.calls_to("views.open") == []

        view, press_key = await open_modal(bot, "tag_for_review", code_id)
        assert view["title"]["text"] == "Tag for review"
        assert view["submit"]["text"] == "Tag it"
        assert "[review]" in json.dumps(view["blocks"])

        await seam_fake.reset()
        response = await bot.submit(view, {})
        assert response.status_code == 200
        entries = await wait_audit(bot)
        assert [(e.action, e.outcome, e.user_id, e.access_code_id) for e in entries] == [
            ("tag_for_review", "success", "U111", code_id)
        ]
        updates = await seam_fake.calls("/access_codes/update")
        assert len(updates) == 1 and updates[0]["body"]["name"].startswith("[review] ")
        report = reply_text(await bot.reply(press_key))
        assert "Tag for review" in report and "tagged for review" in report

        # Submitted again (double click, retry, a second person): claimed once, nothing sent.
        again = await bot.submit(view, {})
        assert "already" in again.text
        assert len(await seam_fake.calls("/access_codes/update")) == 1

        # The remedy's own rule: a tagged code is no longer offered the button.
        _, key2, _ = await bot.command(code_id)
        offered_after = {b["action_id"] for b in _buttons(await bot.reply(key2))}
        assert "remedy:tag_for_review" not in offered_after


async def test_an_unregistered_remedy_button_is_not_run(
    tmp_path: Any, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    async for bot in serve_bot(tmp_path, seam_fake, slack):
        response, _ = await bot.press(
            "remedy:tag_for_review", seam_fake.ids["codes"]["healthy_guest"]
        )
        assert response.status_code == 404  # no listener matches an unknown remedy
        assert slack.calls_to("views.open") == []
