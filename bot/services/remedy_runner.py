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
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from bot.remedies.base import Outcome, OutcomeStatus, Proposal, Remedy, Request, refusal
from bot.remedies.registry import REMEDIES
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError, SeamNotFoundError
from bot.services.journal import SecretBox
from bot.services.lookup import fetch_code_and_device
from bot.settings import Settings
from bot.store import JournalEntry, RemedyClaim, RemedyWatch, StateStore, StoreError

logger = logging.getLogger(__name__)

__all__ = ["NotOnThisLock", "Recovered", "RemedyRunner", "RunResult", "code_lock_key"]


#: How a recovery names the outcome a remedy had recorded before it stopped.
_STATUS_WORDS: dict[str, str] = {
    "success": "it worked",
    "pending": "Seam accepted it and the lock had not confirmed yet",
    "unknown": "the result could not be confirmed",
    "error": "it did not go through",
}


def code_lock_key(access_code_id: str) -> str:
    """The store key that lets one change at a time reach a code, whatever the remedy."""
    return f"code_lock:{access_code_id}"


def _loads(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class NotOnThisLock(SeamNotFoundError):
    """The target of a remedy is on another lock than the code the message is about."""


@dataclass(frozen=True)
class RunResult:
    """What running a remedy did: its `outcome`, the code it acted on and that code's lock."""

    outcome: Outcome
    target_id: str
    device_id: str | None
    journal_id: int | None = None
    recorded: bool = True


#: Added to what the clicker is told when the store failed after Seam was asked.
UNRECORDED_NOTE = (
    " The bot could not write this down (its database cannot be written right now); it keeps "
    "trying, and confirms here once it is recorded."
)


@dataclass(frozen=True)
class Recovered:
    """A remedy the bot had not finished when it stopped, and what Seam shows now.

    `context`: where its result goes (`response_url`, `channel`, `ts`, `ephemeral`, `code`);
    `label`: the remedy's label; `restarted`: False when this process ran it and only the
    recording failed (its database could not be written). Report it, then
    `RemedyRunner.journal_done`.
    """

    journal_id: int
    remedy: str
    label: str
    user_id: str
    outcome: Outcome
    target_id: str
    device_id: str | None
    context: dict[str, Any]
    restarted: bool = True
    recorded: bool = True


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
        self.box = SecretBox(settings.journal_secret())
        #: This process, as named in the journal entries it writes.
        self.instance = uuid.uuid4().hex
        #: Running claims and journal entries this process holds: `heartbeat` keeps them
        #: alive; whatever no process keeps alive is recovered by `sweep`.
        self.held: set[str] = set()
        self.active: set[int] = set()

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

        Raises:
            StoreError: the store cannot write (nothing is held then).
        """
        taken = await self.store.claim_remedy(
            claim_key, user_id=user_id, stale_after=stale_after, note=note
        )
        if taken:
            self.held.add(claim_key)
        return taken

    async def holder(self, claim_key: str) -> RemedyClaim | None:
        """Who holds `claim_key` now (to tell a second person), or None."""
        return await self.store.remedy_claim(claim_key)

    async def release(self, claim_key: str) -> None:
        """Drop a claim (the remedy did not run, or failed with nothing changed).

        Never raises: when the store cannot write, the claim is no longer kept alive and
        `sweep` drops it once the store can (`REMEDY_RECOVERY_SECONDS`).
        """
        self.held.discard(claim_key)
        try:
            await self.store.release_remedy(claim_key)
        except StoreError:
            logger.exception("releasing the claim %s failed; the sweep drops it", claim_key)

    async def heartbeat(self) -> None:
        """Sign of life for the claims and journal entries this process holds (so no other
        process, and no sweep, recovers a remedy that is still running). Never raises."""
        if not self.held and not self.active:
            return
        try:
            await self.store.remedy_heartbeat(set(self.active), set(self.held))
        except StoreError:
            logger.exception("the remedy heartbeat could not be written")

    async def sweep(self) -> list[Recovered]:
        """Recover what no process keeps alive any more: unfinished journal entries idle for
        `REMEDY_RECOVERY_SECONDS` (`recover`), then running claims as idle that no journal
        entry explains (their process died before sending anything to Seam). Report the
        results, then call `journal_done`. Never raises for Seam or store failures."""
        idle = self.settings.remedy_recovery_seconds
        try:
            recovered = await self.recover(idle_for=idle)
            unfinished = await self.store.journal_unfinished()
            keep = {code_lock_key(e.target_id) for e in unfinished} | {
                str(_loads(e.context).get("claim") or "") for e in unfinished
            }
            dropped = await self.store.release_idle_claims(idle_for=idle, keep=keep | self.held)
        except StoreError:
            logger.exception("the remedy recovery sweep could not use the store; retrying later")
            return []
        if dropped:
            logger.warning("dropped %d claim(s) left by a stopped process", dropped)
        return recovered

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
        context: dict[str, Any] | None = None,
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
        return await self.run(
            remedy, request, user_id=user_id, claim_key=claim_key, context=context
        )

    async def run(
        self,
        remedy: Remedy,
        request: Request,
        *,
        user_id: str,
        claim_key: str,
        context: dict[str, Any] | None = None,
    ) -> RunResult:
        """Run a loaded, checked remedy once, read the result back; audit and settle its claim.

        Write-ahead: the intent (who, which remedy, which code and lock, and what is needed to
        finish or undo it, encrypted) is committed to the journal before the first mutation,
        and each step is marked as it completes; `recover` finishes what a crash interrupted.
        `context` says where the result goes (kept in the journal for a recovery to report).
        """
        try:
            journal_id = await self.store.journal_begin(
                remedy=remedy.key,
                user_id=user_id,
                access_code_id=request.code.access_code_id,
                target_id=request.target.access_code_id,
                device_id=request.target.device_id,
                secret=self.box.seal(remedy.intent(request)),
                context=json.dumps(
                    {
                        **(context or {}),
                        "claim": claim_key,
                        "label": remedy.label,
                        "instance": self.instance,
                    }
                ),
            )
        except StoreError as exc:
            logger.error("not running %s: its journal entry cannot be written: %s", remedy.key, exc)
            await self.release(claim_key)
            outcome = Outcome(
                "error",
                "Nothing was sent to Seam: the bot cannot write to its database right now, "
                "and it never changes a lock without writing down first what it is about to do. "
                "Try again once the database is fixed.",
                changed=False,
            )
            return RunResult(
                outcome=outcome,
                target_id=request.target.access_code_id,
                device_id=request.target.device_id,
            )
        self.active.add(journal_id)
        unrecorded: list[str] = []

        async def step(name: str) -> None:
            try:
                await self.store.journal_step(journal_id, name)
            except StoreError:  # never stop half-way (a deleted code must be re-created)
                logger.exception("journal step %s of %s could not be written", name, journal_id)
                unrecorded.append(name)

        request = replace(request, on_step=step)
        try:
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
            result = await self._settle(remedy, request, user_id, claim_key, outcome)
            if result.recorded and not unrecorded:
                await self.store.journal_step(journal_id, f"audited:{result.outcome.status}")
                return replace(result, journal_id=journal_id)
        except StoreError:
            logger.exception("the result of %s could not be written", remedy.key)
            result = RunResult(
                outcome=outcome,
                target_id=request.target.access_code_id,
                device_id=request.target.device_id,
            )
        except BaseException:
            self.active.discard(journal_id)  # recovered by the sweep
            raise
        # Seam was asked, but the store could not keep up: tell the clicker now; the entry
        # stays unfinished and no longer kept alive, so the sweep records it once it can.
        self.active.discard(journal_id)
        self.held.discard(claim_key)
        if not result.outcome.summary.endswith(UNRECORDED_NOTE):
            result = replace(
                result,
                outcome=replace(result.outcome, summary=result.outcome.summary + UNRECORDED_NOTE),
            )
        return replace(result, journal_id=journal_id, recorded=False)

    async def journal_done(self, result: RunResult | Recovered) -> None:
        """The result has been reported: the journal entry is done and its secret erased.

        An unrecorded result (the store failed) stays in the journal for `sweep`. Never raises.
        """
        if not result.journal_id:
            return
        self.active.discard(result.journal_id)
        if not result.recorded:
            return
        try:
            await self.store.journal_finish(result.journal_id)
        except StoreError:
            logger.exception("closing journal %s failed; the sweep closes it", result.journal_id)

    async def recover(self, *, idle_for: float = 0.0) -> list[Recovered]:
        """Every remedy the journal shows unfinished and idle for `idle_for` seconds (its
        process was killed, or the store failed while it ran): ask Seam what happened, finish
        it where the journal allows (re-create a deleted code), audit it once (unless it was
        audited before the stop) and settle its claims. Each entry is taken over by exactly one
        process (`journal_take`); entries this process is still running are left alone.
        Report each result, then call `journal_done`. Never raises for Seam failures.

        Raises:
            StoreError: the store cannot be read or written (nothing is taken then).
        """
        recovered = []
        for entry in await self.store.journal_unfinished(idle_for=idle_for):
            if entry.journal_id in self.active:
                continue
            if not await self.store.journal_take(entry.journal_id, idle_for=idle_for):
                continue  # another process took it, or it showed a sign of life
            self.active.add(entry.journal_id)
            try:
                settled = await self._recover_one(entry)
            except BaseException:
                self.active.discard(entry.journal_id)  # tried again on the next sweep
                raise
            if settled is None:  # too early to tell: a next sweep reads Seam again
                self.active.discard(entry.journal_id)
                continue
            recovered.append(settled)
        return recovered

    def in_flight_window(self) -> float:
        """Seconds after a remedy began during which a Seam request it sent may still land
        (a server can finish a request whose client is gone): twice `REMEDY_RECOVERY_SECONDS`.
        Until then a recovery only concludes what Seam already shows; "it did not happen" and
        "cannot tell" wait for a later sweep."""
        return 2 * self.settings.remedy_recovery_seconds

    async def _recover_one(self, entry: JournalEntry) -> Recovered | None:
        """Settle one journal entry taken over by `recover` (see there); None when it is too
        early to tell (`in_flight_window`)."""
        context = _loads(entry.context)
        remedy = self.remedies.get(entry.remedy)
        label = str(context.get("label") or entry.remedy)
        restarted = context.get("instance") != self.instance
        why = "after a restart" if restarted else "recorded late (the database failed)"
        audited = [s.removeprefix("audited:") for s in entry.steps if s.startswith("audited")]
        if audited:
            status: OutcomeStatus = (
                cast(OutcomeStatus, audited[-1]) if audited[-1] in _STATUS_WORDS else "unknown"
            )
            outcome = Outcome(
                status,
                f"It had finished before the interruption: {_STATUS_WORDS[status]} (see the "
                "audit trail).",
                changed=status != "error",
            )
        elif remedy is None:
            outcome = Outcome(
                "unknown",
                "The bot was interrupted while this ran; re-check the code.",
                changed=True,
            )
        else:
            try:
                outcome = await remedy.recover(
                    self.seam, entry.target_id, entry.steps, self.box.open(entry.secret)
                )
            except Exception:
                logger.exception("recovering %s %s failed", entry.remedy, entry.journal_id)
                outcome = Outcome(
                    "unknown",
                    "The bot was interrupted while this ran and could not tell what happened; "
                    "re-check the code before trying again.",
                    changed=True,
                )
            young = datetime.now(UTC) - entry.created_at < timedelta(
                seconds=self.in_flight_window()
            )
            if young and (outcome.status == "unknown" or not outcome.changed):
                logger.info(
                    "recovery of %s %s waits: a request it sent may still land",
                    entry.remedy,
                    entry.journal_id,
                )
                return None
            ids = " ".join(f"{k}={v}" for k, v in (outcome.detail or {}).items())
            await self.store.record_audit(
                user_id=entry.user_id,
                action=entry.remedy,
                outcome=outcome.status,
                access_code_id=entry.target_id,
                device_id=entry.device_id,
                detail=f"{why}: {outcome.summary} {ids}".strip(),
            )
            # never audited twice, even if the stop comes before the report
            await self.store.journal_step(entry.journal_id, f"audited:{outcome.status}")
        for key in (context.get("claim"), code_lock_key(entry.target_id)):
            if isinstance(key, str) and key:
                if outcome.ok and key == context.get("claim"):
                    await self.store.finish_remedy(key, outcome.status)
                else:
                    await self.store.release_remedy(key)
        logger.info(
            "recovered %s on %s %s: %s",
            entry.remedy,
            entry.target_id,
            why,
            outcome.status,
        )
        return Recovered(
            journal_id=entry.journal_id,
            remedy=entry.remedy,
            label=label,
            user_id=entry.user_id,
            outcome=outcome,
            target_id=entry.target_id,
            device_id=entry.device_id,
            context=context,
            restarted=restarted,
        )

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
        result = RunResult(outcome=outcome, target_id=target_id, device_id=device_id)
        try:
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
                self.held.discard(claim_key)
            else:
                await self.release(claim_key)
        except StoreError:
            logger.exception("the audit row of %s on %s was not written", remedy.key, target_id)
            return replace(result, recorded=False)
        return result
