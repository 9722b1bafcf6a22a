"""Update PIN: set a new PIN on a managed code (`/access_codes/update` with `code`).

The modal suggests a PIN from `/access_codes/generate_code` and says which lengths the lock
accepts; the PIN is checked (digits, length, the lock's constraints, clashes with the lock's
other PINs) before Seam is called (Seam API reference, "Access codes": update; "Access code
constraints" on the device).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from typing import Any

from bot.domain.pins import check_digits, check_pin, supported_lengths
from bot.remedies.base import (
    BaseRemedy,
    Outcome,
    Proposal,
    ProposalForm,
    Request,
    SettlesWhen,
    follow_attempt,
    read_back,
    refusal,
)
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device


async def update_pin(seam: SeamClient, code: AccessCode, new_pin: str) -> Outcome:
    """Set a new PIN on a managed code, keeping a time-bound code's schedule."""
    what = "update the PIN"
    fields: dict[str, Any] = {"code": new_pin}
    if code.is_time_bound and code.starts_at and code.ends_at:
        # Send the schedule along so the code stays time-bound (some servers reset it to
        # ongoing when an update names no times).
        fields["starts_at"] = code.starts_at.astimezone(UTC).isoformat()
        fields["ends_at"] = code.ends_at.astimezone(UTC).isoformat()
    try:
        attempt = await seam.update_access_code(code.access_code_id, **fields)
    except SeamApiError as exc:
        return refusal(exc, what)
    return await follow_attempt(seam, attempt, "Seam reports the new PIN is set on the lock.", what)


class UpdatePin(BaseRemedy):
    """The Update PIN remedy (a "pin" form; one change per code at a time for 120 s)."""

    key: str = "update_pin"
    button_label: str = "Update PIN"
    title: str = "Update PIN"
    label: str = "Update PIN"
    form: ProposalForm = "pin"
    settles_when: SettlesWhen = "set"
    managed_only: bool = True
    exclusive_seconds: float = 120.0

    def refuses(self, code: AccessCode, target: AccessCode) -> str | None:
        """Only a managed code's PIN can be changed through Seam."""
        if not target.is_managed:
            return "that code is unmanaged, so Seam cannot change its PIN."
        return None

    def check_input(self, value: str) -> str | None:
        """Digits only, 4 to 12 long (`bot.domain.pins.check_digits`)."""
        return check_digits(value)

    def check(self, request: Request) -> str | None:
        """The lock's lengths and constraints, and no clash with its other PINs."""
        return check_pin(request.value, request.device, list(request.others), current=request.code)

    async def prepare(self, seam: SeamClient, code: AccessCode, device: Device | None) -> Proposal:
        """A PIN entry with Seam's suggestion, or why an unmanaged code cannot be changed."""
        if not code.is_managed:
            return Proposal(
                form="unavailable",
                code=code,
                device=device,
                text="This code is unmanaged (created outside Seam), so Seam cannot change its "
                "PIN. Convert it to managed first.",
            )
        try:
            suggestion: str | None = await seam.generate_code(code.device_id)
        except SeamApiError:
            suggestion = None
        return Proposal(
            form="pin",
            code=code,
            device=device,
            target=code,
            suggestion=suggestion,
            lengths=tuple(supported_lengths(device)),
        )

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        """Send the new PIN once and follow the action attempt."""
        return await update_pin(seam, request.target, request.value)

    def intent(self, request: Request) -> dict[str, Any]:
        """The new PIN (encrypted by the journal), to tell after a crash whether it went in."""
        return {"pin": request.value}

    async def recover(
        self, seam: SeamClient, target_id: str, steps: tuple[str, ...], intent: dict[str, Any]
    ) -> Outcome:
        """After a crash: did the new PIN go in? Read the code and compare."""
        try:
            code = await seam.get_access_code(target_id)
        except SeamApiError as exc:
            return refusal(exc, "read the code back", sent=True)
        if intent.get("pin") and code.code == intent["pin"]:
            return Outcome(
                "success",
                "The PIN change went through (confirmed by reading it back afterwards).",
                changed=True,
            )
        return Outcome(
            "error",
            "The PIN change did not happen (the bot was interrupted before Seam took it); nothing "
            "changed. Try again.",
            changed=False,
        )

    async def verify(self, seam: SeamClient, request: Request, outcome: Outcome) -> Outcome:
        """The new PIN is on the lock: Seam shows it, `set`, with no failure error."""
        if outcome.status == "error":  # Seam (or the lock) said no: that stands
            return outcome

        def check(code: AccessCode | None) -> Outcome | None:
            if code is None:
                return replace(outcome, status="error", summary="The code is gone from Seam.")
            failed = [i.code for i in code.errors if i.code.startswith("failed_to_set")]
            if failed and code.code == request.value:
                return replace(
                    outcome,
                    status="error",
                    summary=f"Seam accepted the new PIN, but the lock reports {failed[0]}.",
                )
            if code.code == request.value and code.status in ("set", None) and not failed:
                return replace(
                    outcome, status="success", summary="Verified: the new PIN is on the lock."
                )
            return None

        settled = await read_back(seam, request.target.access_code_id, check)
        if settled is not None:
            return settled
        return replace(
            outcome,
            status="pending",
            summary="Seam accepted the new PIN; the lock has not confirmed it yet "
            "(still working on it; watching).",
        )


REMEDY = UpdatePin()
