"""Delete and recreate: replace a code changed outside Seam with a fresh one, same settings.

Seam recommends this for `access_code.modified_external_to_seam` (Seam's troubleshooting guide,
"Troubleshooting access code issues"). The PIN stops working for a moment in between.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC
from typing import Any

from bot.remedies.base import (
    BaseRemedy,
    Outcome,
    Proposal,
    Request,
    follow_attempt,
    read_back,
    refusal,
)
from bot.remedies.free_slot import delete_code
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError, SeamNotFoundError
from bot.seam.models import AccessCode, Device


async def delete_and_recreate(
    seam: SeamClient,
    code: AccessCode,
    others: Sequence[AccessCode] | None = None,
    step: Callable[[str], Awaitable[None]] | None = None,
) -> Outcome:
    """Delete a code changed outside Seam and create it again with the same name, PIN, schedule.

    Seam recommends this for codes modified outside Seam
    (Seam's troubleshooting guide, "Troubleshooting access code issues").
    It refuses before deleting anything when another code on the lock (`others`) has the same
    PIN, since the re-create would then fail and leave the guest without a code. When Seam does
    not confirm the delete, the code is read again and re-created only if it is really gone.
    """
    clash = [
        o for o in others or [] if o.access_code_id != code.access_code_id and o.code == code.code
    ]
    if code.code and clash:
        return Outcome(
            "error",
            "Not deleted: another code on this lock uses the same PIN, so Seam would refuse to "
            "create it again. Deal with the duplicate first (convert or delete it).",
            changed=False,
        )
    deleted = await delete_code(seam, code)
    if deleted.status == "error":
        return deleted
    if step is not None and deleted.status == "success":
        await step("deleted")
    if deleted.status in ("unknown", "pending"):
        try:
            await seam.get_access_code(code.access_code_id)
            return deleted  # still there: do not create a second copy
        except SeamNotFoundError:
            pass  # gone after all: carry on and re-create it
        except SeamApiError:
            return deleted
    fields = creation_fields(code)
    try:
        new_code, attempt = await seam.create_access_code(code.device_id, **fields)
    except SeamApiError as exc:
        failed = refusal(exc, "create the code again")
        return Outcome(
            "error",
            "The old code was deleted, but " + failed.summary + " Create it again in Seam "
            "Console or with a new PIN.",
            changed=True,
            request_id=failed.request_id,
        )
    if step is not None:
        await step(f"created:{new_code.access_code_id}")
    result = await follow_attempt(
        seam,
        attempt,
        "The code was deleted and created again with the same settings; its new "
        f"access_code_id is {new_code.access_code_id}.",
        "create",
    )
    return Outcome(
        result.status,
        result.summary,
        changed=True,
        action_attempt_id=result.action_attempt_id,
        detail={"new_access_code_id": new_code.access_code_id},
    )


def creation_fields(code: AccessCode) -> dict[str, Any]:
    """What `/access_codes/create` needs to make `code` again: name, PIN, schedule."""
    fields: dict[str, Any] = {}
    if code.name:
        fields["name"] = code.name
    if code.code:
        fields["code"] = code.code
    if code.is_time_bound and code.starts_at and code.ends_at:
        fields["starts_at"] = code.starts_at.astimezone(UTC).isoformat()
        fields["ends_at"] = code.ends_at.astimezone(UTC).isoformat()
    return fields


class DeleteAndRecreate(BaseRemedy):
    """Delete a managed code and create it again with the same name, PIN and schedule."""

    key: str = "delete_and_recreate"
    button_label: str = "Delete & recreate"
    title: str = "Delete and recreate"
    label: str = "Delete and recreate"
    managed_only: bool = True

    def refuses(self, code: AccessCode, target: AccessCode) -> str | None:
        """Only managed codes can be created again through Seam."""
        if not target.is_managed:
            return "unmanaged codes cannot be recreated through Seam."
        return None

    async def prepare(self, seam: SeamClient, code: AccessCode, device: Device | None) -> Proposal:
        """No further reads: the proposal is the code itself."""
        del seam  # nothing else to read
        return Proposal(
            form="confirm",
            code=code,
            device=device,
            target=code,
            text="This deletes the code and creates it again with the same name, PIN and "
            "schedule, so Seam is back in charge of it. The PIN stops working for a moment in "
            "between.",
            submit="Delete & recreate",
        )

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        """Delete, then create with the same settings (refused first on a PIN clash)."""
        return await delete_and_recreate(seam, request.target, request.others, request.step)

    def intent(self, request: Request) -> dict[str, Any]:
        """Everything to create the code again if the bot stops between delete and create."""
        return {"device_id": request.target.device_id, **creation_fields(request.target)}

    async def recover(
        self, seam: SeamClient, target_id: str, steps: tuple[str, ...], intent: dict[str, Any]
    ) -> Outcome:
        """After a crash: re-created already, never deleted, or deleted and not re-created
        (then create it now, from the journal)."""
        created = [s.removeprefix("created:") for s in steps if s.startswith("created:")]
        if created:
            return Outcome(
                "success",
                f"The code was deleted and created again; its new access_code_id is "
                f"{created[-1]} (confirmed by reading it back afterwards).",
                changed=True,
                detail={"new_access_code_id": created[-1]},
            )
        try:
            await seam.get_access_code(target_id)
            return Outcome(
                "error",
                "It did not happen: the bot was interrupted before deleting the code, which is "
                "unchanged. Try again.",
                changed=False,
            )
        except SeamNotFoundError:
            pass
        except SeamApiError as exc:
            return refusal(exc, "read the code back", sent=True)
        device_id = str(intent.get("device_id") or "")
        fields = {k: v for k, v in intent.items() if k != "device_id"}
        if not device_id:
            return Outcome(
                "error",
                "The code was deleted and the bot was interrupted before creating it again; the "
                "journal does not say where. Create it again in Seam Console.",
                changed=True,
            )
        try:
            # The create may have gone out just before the stop: never make a second copy.
            existing = [
                c
                for c in await seam.list_access_codes(device_id)
                if c.code == fields.get("code") and c.name == fields.get("name")
            ]
        except SeamApiError as exc:
            return refusal(exc, "read the lock's codes", sent=True)
        if existing:
            return Outcome(
                "success",
                "The code was deleted and created again before the bot was interrupted; its new "
                f"access_code_id is {existing[0].access_code_id}.",
                changed=True,
                detail={"new_access_code_id": existing[0].access_code_id},
            )
        try:
            new_code, _ = await seam.create_access_code(device_id, **fields)
        except SeamApiError as exc:
            failed = refusal(exc, "create the code again")
            return Outcome(
                "error",
                "The code was deleted before the bot was interrupted, and "
                + failed.summary
                + " Create it again in Seam Console.",
                changed=True,
            )
        return Outcome(
            "success",
            "The code was deleted before the bot was interrupted; it has been created again "
            "with the same name, PIN and schedule. Its new access_code_id is "
            f"{new_code.access_code_id}.",
            changed=True,
            detail={"new_access_code_id": new_code.access_code_id},
        )

    async def verify(self, seam: SeamClient, request: Request, outcome: Outcome) -> Outcome:
        """Re-created means Seam has the new code."""
        new_id = (outcome.detail or {}).get("new_access_code_id")
        if not new_id or outcome.status == "error":
            return outcome

        def check(code: AccessCode | None) -> Outcome | None:
            if code is not None:
                return replace(outcome, status="success")
            return replace(
                outcome,
                status="error",
                summary=f"Seam does not list the re-created code {new_id}. Create it again in "
                "Seam Console.",
            )

        settled = await read_back(seam, str(new_id), check)
        return settled or outcome


REMEDY = DeleteAndRecreate()
