"""The demo's Seam webhooks: the bundled Seam fake never delivers webhooks, so the demo does.

`DemoWebhooks` watches the fake's call log (`/_shim/calls`) for changes that Seam would announce
(a PIN update, a delete, a convert, a backup code pulled, a test-side error placed on a code), and
for each posts the event Seam would send to the bot's `/seam/webhook`, signed as Svix signs
(`svix-id`, `svix-timestamp`, `svix-signature` with the `whsec_` secret). Each delivery is shown
in the stand-in's `#seam-webhooks` channel with the bot's answer, so the page shows them arriving.
Development tool only: the bot itself never imports it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from svix.webhooks import Webhook

from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake

logger = logging.getLogger("devtools.demo_webhooks")

#: Stand-in channel where deliveries are shown.
WEBHOOK_CHANNEL = "C0DEMOWEBHOOKS"
WEBHOOK_CHANNEL_NAME = "seam-webhooks"

#: Seam call (path) -> the events Seam would send once it succeeded.
_EVENTS_FOR_PATH = {
    "/access_codes/update": ("access_code.changed", "access_code.set_on_device"),
    "/access_codes/delete": ("access_code.deleted",),
    "/access_codes/unmanaged/convert_to_managed": ("access_code.unmanaged.converted_to_managed",),
    "/access_codes/unmanaged/delete": ("access_code.removed_from_device",),
    "/access_codes/pull_backup_access_code": ("access_code.backup_access_code_pulled",),
}


def new_secret() -> str:
    """A fresh Svix-style secret (`whsec_<base64>`) for one demo run."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class DemoWebhooks:
    """Relays the Seam fake's changes to the bot as signed webhooks (see the module doc).

    Args:
        seam: the demo's Seam fake.
        slack: the Slack fake behind the stand-in (deliveries are shown in `WEBHOOK_CHANNEL`).
        webhook_url: the bot's `/seam/webhook`.
        secret: the `whsec_` secret the bot verifies with.
        poll: seconds between looks at the fake's call log.
    """

    def __init__(
        self, seam: SeamFake, slack: FakeSlack, webhook_url: str, secret: str, poll: float = 1.0
    ) -> None:
        self.seam = seam
        self.slack = slack
        self.url = webhook_url
        self.secret = secret
        self.poll = poll
        self.sent = 0
        self._seen = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start relaying (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="demo-webhooks")

    async def stop(self) -> None:
        """Stop relaying."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            while True:
                try:
                    calls = await self.seam.calls()
                    fresh, self._seen = calls[self._seen :], len(calls)
                    for event in self._events(fresh):
                        await self._deliver(http, event)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("demo webhook relay failed; retrying")
                await asyncio.sleep(self.poll)

    def _events(self, calls: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for call in calls:
            if call.get("status") != 200 or call.get("injected"):
                continue
            kinds = _EVENTS_FOR_PATH.get(str(call.get("path")), ())
            body = call.get("body") if isinstance(call.get("body"), dict) else {}
            code_id = body.get("access_code_id") if isinstance(body, dict) else None
            for kind in kinds:
                if isinstance(code_id, str):
                    yield _event(kind, access_code_id=code_id)

    async def _deliver(self, http: httpx.AsyncClient, event: dict[str, Any]) -> None:
        raw = json.dumps(event)
        msg_id = f"msg_{event['event_id']}"
        now = datetime.now(UTC)
        headers = {
            "svix-id": msg_id,
            "svix-timestamp": str(int(now.timestamp())),
            "svix-signature": Webhook(self.secret).sign(msg_id, now, raw),
            "content-type": "application/json",
        }
        started = time.perf_counter()
        try:
            response = await http.post(self.url, content=raw, headers=headers)
            answer = f"{response.status_code} in {1000 * (time.perf_counter() - started):.0f} ms"
        except httpx.HTTPError as exc:
            answer = f"not delivered ({type(exc).__name__})"
        self.sent += 1
        self.slack.post_message(
            WEBHOOK_CHANNEL,
            text=f"Seam webhook {event['event_type']} for {event.get('access_code_id')}: {answer}",
            blocks=[
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": f":satellite_antenna: `{event['event_type']}` · access_code_id "
                            f"`{event.get('access_code_id')}` → the bot answered {answer}",
                        }
                    ],
                }
            ],
        )


def _event(kind: str, **ids: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "event_id": f"demo-{secrets.token_hex(8)}",
        "event_type": kind,
        "workspace_id": "demo",
        "created_at": now,
        "occurred_at": now,
        **ids,
    }
