"""The remedy protocol: what every fix offers, reads, changes and reports, independent of Slack.

A remedy is one module in this package that defines one object satisfying `Remedy`, and one line
in `bot.remedies.registry`. The shared runner (`bot.services.remedy_runner`) and the Slack layer
give every remedy its button, its modal, the permission check, the exactly-once claim, the audit
row and the outcome report; a remedy only says

* `offered_for(code, advised)`: whether its button belongs on a message about `code`;
* `refuses(code, target)`: why it cannot apply to `target` (checked again at submission, since a
  form may be old or forged);
* `prepare(seam, code, device)`: the Seam *reads* that build the `Proposal` shown in the modal;
* `run(seam, request)`: the change, sent once, followed to an `Outcome`.

Mutations are never re-sent; action attempts are followed to `success`/`error` or a time limit.
Seam endpoints: the Seam API reference pages "Access codes" (update, delete, create,
pull_backup_access_code) and "Unmanaged access codes" (convert_to_managed, delete).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from bot.domain.text import redact_pins
from bot.seam.client import SeamClient
from bot.seam.errors import (
    SeamApiError,
    SeamConflictError,
    SeamInvalidInputError,
    SeamNotFoundError,
    SeamRateLimitedError,
    SeamUnavailableError,
)
from bot.seam.models import AccessCode, ActionAttempt, Device

logger = logging.getLogger(__name__)

#: Seconds to follow an action attempt before reporting it as still pending.
ACTION_ATTEMPT_WAIT = 20.0

#: What a remedy achieved (see `Outcome`).
OutcomeStatus = Literal["success", "error", "pending", "unknown"]
#: What Seam shows once a remedy's change is on the lock: its code set, gone, or managed
#: ("": nothing to watch for).
SettlesWhen = Literal["set", "gone", "managed", ""]
#: The modal a remedy's proposal is shown in: a yes/no confirmation, a PIN entry, a choice of
#: one code (then a confirmation), or a message saying why it cannot be done now.
ProposalForm = Literal["confirm", "pin", "choose", "unavailable"]


@dataclass(frozen=True)
class Outcome:
    """What a remedy achieved.

    `status` is "success", "error" (Seam refused or the attempt failed), "pending" (the
    action attempt had not finished within the wait), or "unknown" (the request went out but no
    readable answer came back, so it may or may not have been applied). `changed` says whether
    anything may have changed on Seam's side. `summary` is plain text safe to post (never a
    PIN). `detail` holds ids worth auditing (e.g. `new_access_code_id`). `private_note` is
    mrkdwn shown only to the person who ran the remedy (a pulled backup PIN), under
    `private_title`; it is never logged, audited or posted in a channel.
    """

    status: OutcomeStatus
    summary: str
    changed: bool
    action_attempt_id: str | None = None
    request_id: str | None = None
    detail: dict[str, Any] | None = None
    private_note: str | None = field(default=None, repr=False)
    private_title: str | None = None

    @property
    def ok(self) -> bool:
        """True when the remedy is confirmed done."""
        return self.status == "success"


def refusal(exc: SeamApiError, what: str, *, sent: bool = True) -> Outcome:
    """Turn a Seam failure into a specific `Outcome`.

    A definite refusal (4xx) changed nothing, so the remedy may be tried again. When the request
    was `sent` but no readable answer came back (timeout, connection lost, 5xx, unreadable 2xx),
    Seam may have applied it: the outcome is "unknown" and says to re-check first.
    """
    if isinstance(exc, SeamUnavailableError) and sent:
        return Outcome(
            "unknown",
            f"Seam did not confirm whether it could {what} ({exc.error_type}); it may have been "
            "applied. Re-check the code before trying again.",
            changed=True,
            request_id=exc.request_id,
        )
    message = redact_pins(exc.message)
    if isinstance(exc, SeamNotFoundError):
        text = f"Seam could not {what}: the code no longer exists (deleted or expired)."
    elif isinstance(exc, SeamConflictError):
        text = f"Seam could not {what}: {message} (another code may already use that PIN)."
    elif isinstance(exc, SeamInvalidInputError):
        text = f"Seam could not {what}: it rejected the request ({message})."
    elif isinstance(exc, SeamRateLimitedError):
        text = (
            f"Seam could not {what} right now: too many changes on this lock "
            "(Seam allows about 10 per minute). Try again in a minute."
        )
    elif isinstance(exc, SeamUnavailableError):
        text = f"Seam could not {what}: Seam is unavailable or timed out. Nothing was changed."
    else:
        text = f"Seam could not {what}: {exc.error_type}: {message}"
    return Outcome("error", text, changed=False, request_id=exc.request_id)


async def follow_attempt(
    seam: SeamClient, attempt: ActionAttempt | None, done: str, what: str
) -> Outcome:
    """Follow an action attempt for up to `ACTION_ATTEMPT_WAIT` seconds.

    `done` is the success summary; `what` names the change for failure texts. No attempt
    (Seam answered synchronously) is success. An attempt that cannot be read is "pending".
    """
    if attempt is None:
        return Outcome("success", done, changed=True)
    try:
        final = await seam.wait_for_action_attempt(attempt, max_wait=ACTION_ATTEMPT_WAIT)
    except SeamApiError as exc:
        logger.warning("following action attempt %s failed: %s", attempt.action_attempt_id, exc)
        return Outcome(
            "pending",
            f"Seam accepted the request to {what}, but its result could not be read yet.",
            changed=True,
            action_attempt_id=attempt.action_attempt_id,
        )
    if final.status == "success":
        return Outcome("success", done, changed=True, action_attempt_id=final.action_attempt_id)
    if final.status == "error":
        reason = redact_pins(final.error.message) if final.error else "no reason given"
        kind = final.error.type if final.error else "error"
        return Outcome(
            "error",
            f"The lock did not accept the change ({kind}: {reason}).",
            changed=True,
            action_attempt_id=final.action_attempt_id,
        )
    return Outcome(
        "pending",
        f"Seam is still working on it (no result after {ACTION_ATTEMPT_WAIT:.0f} s); "
        "re-check in a few minutes.",
        changed=True,
        action_attempt_id=final.action_attempt_id,
    )


@dataclass(frozen=True)
class Proposal:
    """What a remedy would do, as read from Seam; the Slack layer renders it as a modal.

    Attributes:
        form: which modal (`ProposalForm`).
        text: mrkdwn (names escaped by the remedy): the question ("confirm"), the prompt
            ("choose"), or why it cannot be done ("unavailable"); unused for "pin".
        code: the code the message is about.
        device: its lock, if Seam returned it.
        target: the code the change applies to ("confirm"; the code itself or another one,
            e.g. an unmanaged duplicate).
        submit: the confirm button's text (24 characters at most).
        candidates: "choose": the codes to pick from, best first.
        suggestion / lengths: "pin": a PIN Seam suggests and the lengths the lock accepts.
    """

    form: ProposalForm
    code: AccessCode
    device: Device | None = None
    text: str = ""
    target: AccessCode | None = None
    submit: str = ""
    candidates: tuple[AccessCode, ...] = ()
    suggestion: str | None = field(default=None, repr=False)
    lengths: tuple[int, ...] = ()


@dataclass(frozen=True)
class Request:
    """A confirmed remedy, re-read from Seam at submission (never trusted from the form).

    Attributes:
        code: the code the message is about.
        target: the code to change (refused by `Remedy.refuses` if it does not fit).
        device: the target's lock, if Seam returned it.
        others: every code on the target's lock (managed and unmanaged), for clash checks.
        value: the submitted input ("pin" forms: the new PIN), else "".
        on_step: the journal's step marker (set by the runner); remedies with several
            mutations call `step` between them.
    """

    code: AccessCode
    target: AccessCode
    device: Device | None
    others: tuple[AccessCode, ...] = ()
    value: str = field(default="", repr=False)
    on_step: Callable[[str], Awaitable[None]] | None = field(default=None, compare=False)

    async def step(self, name: str) -> None:
        """Mark a step done in the remedy journal (before the next mutation)."""
        if self.on_step is not None:
            await self.on_step(name)


class Remedy(Protocol):
    """One fix a button can offer. Register an instance in `bot.remedies.registry`.

    Attributes:
        key: stable id (`[a-z_]+`): the button's action_id is `remedy:<key>`, the audit row's
            action is `key`, and the catalogue names it in an entry's `actions`.
        button_label: the button text (at most 75 characters).
        title: the modal title (at most 24 characters).
        label: how outcomes name it ("@who ran *Delete and recreate*: ...").
        form: the first modal: "confirm", "pin" or "choose" (a remedy may still answer
            `prepare` with an "unavailable" proposal).
        exclusive_seconds: how long one person's change holds the code against a second
            concurrent one (seconds; a crashed holder's lock expires after this).
        settles_when: what Seam shows once the change is on the lock, so a change Seam
            accepted but has not confirmed is watched and settled by the matching event.
    """

    key: str
    button_label: str
    title: str
    label: str
    form: ProposalForm
    exclusive_seconds: float
    settles_when: SettlesWhen

    def offered_for(self, code: AccessCode, advised: Collection[str]) -> bool:
        """Whether the button belongs on a message about `code`, whose problems' catalogue
        entries advise the remedy keys in `advised`."""
        ...

    def refuses(self, code: AccessCode, target: AccessCode) -> str | None:
        """Why the remedy cannot apply to `target` (plain text), or None."""
        ...

    def check_input(self, value: str) -> str | None:
        """Why submitted input is unusable before Seam is read (a "pin" form), or None."""
        ...

    def check(self, request: Request) -> str | None:
        """Why submitted input is unusable against the lock as read now, or None."""
        ...

    def review(self, target: AccessCode | None) -> tuple[str, str]:
        """The question (mrkdwn) and submit text confirming a target picked in a "choose"
        form; `target` is None when it could not be read in time."""
        ...

    async def prepare(self, seam: SeamClient, code: AccessCode, device: Device | None) -> Proposal:
        """Read Seam (never change it) and say what the remedy would do.

        Raises:
            SeamApiError: a read failed (the modal says so).
        """
        ...

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        """Make the change once and follow it. Never raises for Seam failures: they become an
        `Outcome` ("error" when nothing changed, "unknown" when the answer was lost)."""
        ...

    async def verify(self, seam: SeamClient, request: Request, outcome: Outcome) -> Outcome:
        """Read the code back after Seam accepted (or the answer was lost): "success" only when
        the lock shows the expected state; "pending" while it does not yet; "error" with what
        Seam shows when it failed. Never raises."""
        ...

    def intent(self, request: Request) -> dict[str, Any]:
        """What the journal must keep (encrypted) to finish or undo this remedy after a crash."""
        ...

    async def recover(
        self, seam: SeamClient, target_id: str, steps: tuple[str, ...], intent: dict[str, Any]
    ) -> Outcome:
        """The bot stopped during this remedy: find out from Seam what happened and finish it
        (re-create a deleted code) or say it did not happen. Never raises for Seam failures."""
        ...


#: Seconds a verification keeps reading the code back before reporting "still working on it".
VERIFY_WINDOW = 5.0
#: Seconds between two read-backs.
VERIFY_POLL = 1.0


async def read_back(
    seam: SeamClient,
    access_code_id: str,
    check: Callable[[AccessCode | None], Outcome | None],
    *,
    window: float = VERIFY_WINDOW,
    poll: float = VERIFY_POLL,
) -> Outcome | None:
    """Read the code until `check(code)` (None when the code is gone) gives an outcome, or the
    window closes (then None). A read that fails is retried; it never counts as confirmation."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    while True:
        try:
            code: AccessCode | None = await seam.find_access_code(access_code_id)
        except SeamNotFoundError:
            code = None
        except SeamApiError as exc:
            logger.info("reading %s back failed: %s", access_code_id, exc)
            code = _UNREAD
        if code is not _UNREAD:
            decided = check(code)
            if decided is not None:
                return decided
        if loop.time() + poll > deadline:
            return None
        await asyncio.sleep(poll)


_UNREAD = AccessCode.model_construct(access_code_id="", device_id="")


class BaseRemedy:
    """Defaults for `Remedy`: offered when the catalogue advises it, accepts every target and
    every input, and reviews a picked target with a plain confirmation. Subclass and override.

    `managed_only` (class attribute): offered only on messages about managed codes.
    """

    key: str = ""
    button_label: str = ""
    title: str = ""
    label: str = ""
    form: ProposalForm = "confirm"
    managed_only: bool = False
    exclusive_seconds: float = 600.0
    settles_when: SettlesWhen = ""

    def offered_for(self, code: AccessCode, advised: Collection[str]) -> bool:
        """Offered when advised (and, with `managed_only`, only for managed codes)."""
        return self.key in advised and (code.is_managed or not self.managed_only)

    def refuses(self, code: AccessCode, target: AccessCode) -> str | None:
        """No refusal by default."""
        return None

    def check_input(self, value: str) -> str | None:
        """Any input is fine by default."""
        return None

    def check(self, request: Request) -> str | None:
        """Any input is fine by default."""
        return None

    def review(self, target: AccessCode | None) -> tuple[str, str]:
        """A plain confirmation of the picked target."""
        return f"{self.label}?", "Confirm"

    async def verify(self, seam: SeamClient, request: Request, outcome: Outcome) -> Outcome:
        """No read-back by default (the outcome stands)."""
        return outcome

    def intent(self, request: Request) -> dict[str, Any]:
        """Nothing secret to keep by default."""
        return {}

    async def recover(
        self, seam: SeamClient, target_id: str, steps: tuple[str, ...], intent: dict[str, Any]
    ) -> Outcome:
        """By default, read the target once and compare with `settles_when`: gone after a
        delete, managed after a convert (Seam's convert answers only once it is done, so an
        unmanaged code means it did not happen). Otherwise the bot cannot tell and says so."""
        unsure = Outcome(
            "unknown",
            "The bot was interrupted while this ran; Seam may or may not have applied it. "
            "Re-check the code before trying again.",
            changed=True,
        )
        if self.settles_when not in ("gone", "managed"):
            return unsure
        try:
            code: AccessCode | None = await seam.find_access_code(target_id)
        except SeamNotFoundError:
            code = None
        except SeamApiError as exc:
            return refusal(exc, "read the code back", sent=True)
        if self.settles_when == "gone":
            if code is None:
                return Outcome(
                    "success",
                    "Verified: the code is gone from Seam (read back after the interruption).",
                    changed=True,
                )
            return replace(
                unsure,
                summary="The bot was interrupted while this ran and Seam still lists the code: "
                "the lock may still be removing it. Re-check before trying again.",
            )
        if code is not None and code.is_managed:
            return Outcome(
                "success",
                "Verified: Seam now manages the former duplicate (read back after the "
                "interruption).",
                changed=True,
            )
        if code is None:
            return replace(unsure, summary="The code is gone from Seam; re-check the lock.")
        return Outcome(
            "error",
            "It did not happen: the code is still unmanaged (the bot was interrupted before "
            "Seam converted it); nothing changed. Try again.",
            changed=False,
        )
