"""The remedy runner: the one path every remedy takes, whatever it changes.

permission -> claim (exactly once) -> re-read the target from Seam -> `Remedy.refuses` ->
`Remedy.run` -> audit -> settle the claim. The Slack layer parses the click or submission,
calls these steps and renders what they return; it never talks to a remedy's Seam calls itself.
The alert refresh after a remedy is `AlertService.refresh_devices` (the one alert refresh).

Claims live in the store (`ClaimStore`): a second submit of the same form, a second person or a
retry is told that the remedy is already running or done. Only a confirmed success keeps the
claim ("done"); any other outcome releases it, so the remedy can be tried again once someone
has re-checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.remedies.base import Outcome, Proposal, Remedy, Request, refusal
from bot.remedies.registry import REMEDIES
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError, SeamNotFoundError
from bot.services.lookup import fetch_code_and_device
from bot.settings import Settings
from bot.store import RemedyClaim, RemedyWatch, StateStore

logger = logging.getLogger(__name__)

__all__ = ["NotOnThisLock", "RemedyRunner", "RunResult"]


class NotOnThisLock(SeamNotFoundError):
    """The target of a remedy is on another lock than the code the message is about."""


@dataclass(frozen=True)
class RunResult:
    """What running a remedy did: its `outcome`, the code it acted on and that code's lock."""

    outcome: Outcome
    target_id: str
    device_id: str | None


class RemedyRunner:
    """Runs remedies from the registry against Seam, with claims and an audit row.

    Args:
        settings: for `REMEDY_ALLOWED_USERS` (`may_run`).
        seam: the Seam client.
        store: claims and the audit log.
        remedies: the registry (tests may pass their own mapping).
    """

    def __init__(
        self,
        settings: Settings,
        seam: SeamClient,
        store: StateStore,
        remedies: Mapping[str, Remedy] = REMEDIES,
    ) -> None:
        self.settings = settings
        self.seam = seam
        self.store = store
        self.remedies = remedies
        self.inflight: set[asyncio.Task[object]] = set()

    # ------------------------------------------------------------------ lookups

    def get(self, key: str) -> Remedy | None:
        """The registered remedy with this key, or None."""
        return self.remedies.get(key)

    def may_run(self, user_id: str) -> bool:
        """Whether this Slack user may run remedies or reveal PINs (`REMEDY_ALLOWED_USERS`)."""
        return self.settings.may_run_remedies(user_id)

    async def prepare(self, remedy: Remedy, code_id: str) -> Proposal:
        """Read the code, its lock, and whatever the remedy needs; change nothing.

        Raises:
            SeamApiError: a read failed (SeamNotFoundError also for a code outside the
                workspace).
        """
        code, device = await fetch_code_and_device(self.seam, code_id)
        return await remedy.prepare(self.seam, code, device)

    async def load(self, remedy: Remedy, code_id: str, target_id: str, value: str = "") -> Request:
        """Re-read everything a confirmed remedy acts on (a form may be old or forged).

        Raises:
            NotOnThisLock: the target is on another lock than the message's code.
            SeamApiError: a read failed.
        """
        target, device = await fetch_code_and_device(self.seam, target_id)
        code = target
        if target_id != code_id:
            code = await self.seam.find_access_code(code_id)
            if code.device_id != target.device_id:
                logger.warning(
                    "refused %s: %s is on another lock than %s", remedy.key, target_id, code_id
                )
                raise NotOnThisLock("not on this lock", error_type="access_code_not_found")
        others = await self.seam.list_device_codes(target.device_id)
        return Request(code=code, target=target, device=device, others=tuple(others), value=value)

    # ------------------------------------------------------------------ claims

    async def claim(
        self, claim_key: str, user_id: str, *, stale_after: float = 600.0, note: str = ""
    ) -> bool:
        """Take `claim_key` for `user_id`: True when taken, False when running or done.

        A `running` claim older than `stale_after` seconds (its process died) is taken over.
        `note` says what is running (shown to a second person while it runs).
        """
        return await self.store.claim_remedy(
            claim_key, user_id=user_id, stale_after=stale_after, note=note
        )

    async def holder(self, claim_key: str) -> RemedyClaim | None:
        """Who holds `claim_key` now (to tell a second person), or None."""
        return await self.store.remedy_claim(claim_key)

    async def release(self, claim_key: str) -> None:
        """Drop a claim (the remedy did not run, or failed with nothing changed)."""
        await self.store.release_remedy(claim_key)

    # ------------------------------------------------------------------ running

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Mark the current task as changing a lock, so shutdown waits for it (`drain`)."""
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        try:
            yield
        finally:
            if task is not None:
                self.inflight.discard(task)

    async def drain(self, grace: float = 10.0) -> None:
        """Wait up to `grace` seconds for remedies in flight to finish (at shutdown)."""
        pending = {t for t in self.inflight if not t.done()}
        if pending:
            logger.info("waiting up to %.0f s for %d remedy(ies) to finish", grace, len(pending))
            await asyncio.wait(pending, timeout=grace)

    async def confirm_and_run(
        self,
        remedy: Remedy,
        *,
        user_id: str,
        code_id: str,
        target_id: str,
        claim_key: str,
    ) -> RunResult:
        """Re-read the target, check it still fits, run the remedy once, audit, settle.

        Seam read failures and refusals become an "error" outcome (audited, claim released);
        nothing is sent to Seam in that case.
        """
        try:
            request = await self.load(remedy, code_id, target_id)
        except SeamApiError as exc:
            outcome = refusal(exc, remedy.label.lower(), sent=False)
            return await self.finish(remedy, user_id, claim_key, target_id, None, outcome)
        mismatch = remedy.refuses(request.code, request.target)
        if mismatch:
            logger.warning(
                "refused %s on %s: %s", remedy.key, request.target.access_code_id, mismatch
            )
            outcome = Outcome("error", f"Not done: {mismatch}", changed=False)
            return await self._settle(remedy, request, user_id, claim_key, outcome)
        return await self.run(remedy, request, user_id=user_id, claim_key=claim_key)

    async def run(
        self, remedy: Remedy, request: Request, *, user_id: str, claim_key: str
    ) -> RunResult:
        """Run a loaded, checked remedy once, read the result back; audit and settle its claim."""
        outcome = await remedy.run(self.seam, request)
        if outcome.status != "error" or outcome.changed:
            try:
                outcome = await remedy.verify(self.seam, request, outcome)
            except Exception:
                logger.exception("verifying %s failed; reporting it as unconfirmed", remedy.key)
                outcome = replace(
                    outcome,
                    status="unknown",
                    summary=f"{outcome.summary} The result could not be read back yet; "
                    "re-check before trying again.",
                )
        return await self._settle(remedy, request, user_id, claim_key, outcome)

    async def _settle(
        self, remedy: Remedy, request: Request, user_id: str, claim_key: str, outcome: Outcome
    ) -> RunResult:
        return await self.finish(
            remedy,
            user_id,
            claim_key,
            request.target.access_code_id,
            request.target.device_id,
            outcome,
        )

    async def watch(
        self,
        remedy: Remedy,
        result: RunResult,
        user_id: str,
        thread: tuple[str, str] | None,
    ) -> bool:
        """Watch a change Seam accepted but has not confirmed ("pending"/"unknown"), so the
        matching Seam event settles it and says so in `thread` (channel, ts). True if watched."""
        if result.outcome.status not in ("pending", "unknown") or not remedy.settles_when:
            return False
        await self.store.watch_remedy(
            RemedyWatch(
                access_code_id=result.target_id,
                remedy=remedy.key,
                label=remedy.label,
                user_id=user_id,
                expect=remedy.settles_when,
                channel=thread[0] if thread else None,
                ts=thread[1] if thread else None,
                created_at=datetime.now(UTC),
            )
        )
        return True

    async def finish(
        self,
        remedy: Remedy,
        user_id: str,
        claim_key: str,
        target_id: str,
        device_id: str | None,
        outcome: Outcome,
    ) -> RunResult:
        """Write the audit row (never a PIN) and settle the claim: kept on success, else
        released."""
        ids = " ".join(f"{k}={v}" for k, v in (outcome.detail or {}).items())
        await self.store.record_audit(
            user_id=user_id,
            action=remedy.key,
            outcome=outcome.status,
            access_code_id=target_id,
            device_id=device_id,
            action_attempt_id=outcome.action_attempt_id,
            detail=f"{outcome.summary} {ids}".strip(),
        )
        if outcome.ok:
            await self.store.finish_remedy(claim_key, outcome.status)
        else:
            await self.store.release_remedy(claim_key)
        return RunResult(outcome=outcome, target_id=target_id, device_id=device_id)
