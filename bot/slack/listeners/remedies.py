"""Every remedy's button and modal, for every remedy in the registry, through one code path.

Button (`remedy:<key>`): acked at once; the permission check is listener middleware; a modal
opens straight away (a trigger_id lives 3 s and works once; Slack's page "Modals") showing
"Reading Seam…", the runner reads Seam (`RemedyRunner.prepare`), and the modal is filled in
with `views.update` from the remedy's `Proposal`: a PIN entry, a confirmation, a choice, or why
it cannot be done now.

Submissions: invalid input is answered inside the modal (`response_action: errors`; Slack's page
"Modals", displaying errors). Every change runs exactly once: a claim in the store keyed by the
remedy and its target (plus the view for PIN entries) is taken before the ack, so a double
submit, a second person, or a retry is told it is already running or done. The runner re-reads
the target, runs the remedy, audits it (never the PIN) and settles the claim; the outcome is
reported where the button was (`bot.slack.respond.report_outcome`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.pins import supported_lengths
from bot.domain.text import escape_mrkdwn, mask_pin
from bot.remedies.base import Remedy, Request
from bot.remedies.registry import REMEDIES
from bot.seam.errors import SeamApiError
from bot.services.container import Services
from bot.services.lookup import fetch_code_and_device
from bot.services.remedy_runner import RunResult, code_lock_key
from bot.slack import ids
from bot.slack.blocks.common import notice_message, with_show_pin
from bot.slack.blocks.modals import (
    code_summary,
    confirm_modal,
    loading_modal,
    message_modal,
    proposal_modal,
    update_pin_modal,
)
from bot.slack.blocks.replies import (
    internal_error_message,
    seam_failure_message,
    stale_button_message,
)
from bot.slack.client import one_shot_client
from bot.slack.middleware import (
    requires_permission,
    services_from,
)
from bot.slack.payloads import (
    MAX_ID_LENGTH,
    RemedyContext,
    parse_command_text,
    read_press,
    user_id_of,
    view_value,
)
from bot.slack.respond import report_outcome, send, tell_requester
from bot.store import StoreError

logger = logging.getLogger(__name__)

#: Seconds the submission checks may spend reading Seam before the modal is answered anyway
#: (Slack allows 3 s, and the claims may need `CLAIM_BUDGET` more).
PIN_CHECK_BUDGET = 1.8
#: Seconds the PIN checks may take in all once the modal has been answered "Checking…".
SLOW_CHECK_LIMIT = 25.0


# ============================================================================ the button


@requires_permission
async def open_remedy(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """A remedy button: a modal opened at once, then filled in from the remedy's proposal."""
    await ack()
    press = read_press(body)
    services = services_from(context)
    remedy = services.remedies.get(press.action_id.removeprefix(ids.REMEDY_ACTION_PREFIX))
    if remedy is None:
        logger.warning("unknown remedy action %r", press.action_id)
        await send(respond, internal_error_message(), replace_original=False)
        return
    code_id = press.code_id()
    if code_id is None or not press.trigger_id:
        logger.warning("remedy %s pressed with an unusable value or no trigger_id", remedy.key)
        await send(respond, stale_button_message(), replace_original=False)
        return
    ctx = press.context(remedy.key, code_id)
    try:
        opened = await one_shot_client(client).views_open(
            trigger_id=press.trigger_id, view=loading_modal(ctx, remedy.title)
        )
    except Exception:
        logger.exception("views.open for %s failed", remedy.key)
        await send(
            respond,
            notice_message(
                "Couldn't open the form",
                "Slack refused to open it in time; please click the button again.",
            ),
            replace_original=False,
        )
        return
    view_id = str(opened["view"]["id"])
    try:
        proposal = await services.remedies.prepare(remedy, code_id)
        target = proposal.target.access_code_id if proposal.target is not None else ""
        view = proposal_modal(press.context(remedy.key, code_id, target), remedy, proposal)
    except SeamApiError as exc:
        logger.warning("%s for %s: %s", remedy.key, code_id, exc)
        view = message_modal(ctx, remedy.title, seam_failure_message(exc, code_id).text)
    except Exception:
        logger.exception("%s for %s failed while preparing the modal", remedy.key, code_id)
        view = message_modal(ctx, remedy.title, internal_error_message().text)
    try:
        await client.views_update(view_id=view_id, view=view)
    except Exception:
        logger.exception("views.update failed")


# ============================================================================ submissions


async def _bad_metadata(ack: AsyncAck) -> None:
    logger.warning("view_submission with missing or malformed private_metadata")
    ctx = RemedyContext(action="unknown", code="unknown")
    await ack(
        response_action="update",
        view=message_modal(
            ctx,
            "Something went wrong",
            "This form lost track of its access code. Close it and click the "
            "button on the message again. Nothing was changed.",
        ),
    )


def _submitted(
    view: dict[str, Any], context: AsyncBoltContext
) -> tuple[RemedyContext, Remedy] | None:
    """The modal's context and its remedy, or None when the metadata is unusable."""
    ctx = RemedyContext.loads(view.get("private_metadata"))
    remedy = services_from(context).remedies.get(ctx.action) if ctx is not None else None
    if ctx is None or remedy is None:
        return None
    return ctx, remedy


#: Seconds the claims may take before the submission is acked anyway (Slack allows 3 s, and
#: the PIN checks may already have used 2): a busy database never fails the modal.
CLAIM_BUDGET = 0.8


async def _refusal(services: Services, key: str) -> str:
    """Why the exactly-once claim `key` is taken: who is running it, or already did it."""
    claim = await services.remedies.holder(key)
    who = f"<@{escape_mrkdwn(claim.user_id, 40)}>" if claim else "someone"
    state = "is already running it" if claim and claim.state == "running" else "already did it"
    outcome = f" ({escape_mrkdwn(claim.outcome, 200)})" if claim and claim.outcome else ""
    return f":information_source: {who} {state}{outcome}. Nothing more was sent to Seam."


async def _take_claims(
    services: Services, remedy: Remedy, key: str, lock: str, user_id: str
) -> str | None:
    """The exactly-once claim, then the code lock (one mutation per code at a time, across
    remedies, people and processes: both live in the store). None when both are taken;
    otherwise the text saying why not (and nothing is held)."""
    try:
        if not await services.remedies.claim(key, user_id):
            return await _refusal(services, key)
        if await services.remedies.claim(
            lock, user_id, stale_after=remedy.exclusive_seconds, note=remedy.label
        ):
            return None
    except StoreError as exc:
        logger.error("the claims of %s cannot be written: %s", remedy.key, exc)
        if key in services.remedies.held:
            await services.remedies.release(key)
        return (
            ":x: Nothing was sent to Seam: the bot cannot write to its database right now, so "
            "it cannot make sure this runs only once. Try again once the database is fixed "
            "(`/healthz` says when)."
        )
    await services.remedies.release(key)
    holder = await services.remedies.holder(lock)
    who = f"<@{escape_mrkdwn(holder.user_id, 40)}>" if holder else "Someone"
    what = f" (*{escape_mrkdwn(holder.outcome, 60)}*)" if holder and holder.outcome else ""
    return (
        f":information_source: {who} is changing this code right now{what}. Nothing was sent "
        "to Seam; re-check the code when they are done, then try again if needed."
    )


async def _gate(
    ack: AsyncAck,
    client: AsyncWebClient,
    services: Services,
    ctx: RemedyContext,
    remedy: Remedy,
    view_id: str,
    key: str,
    lock: str,
    user_id: str,
) -> bool:
    """Take the claims and ack within `CLAIM_BUDGET` seconds whatever the store does.

    Quick store: a refusal is answered inside the modal, a go-ahead closes it. Slow store: the
    modal is acked at once as "Working on it…", the claims finish after the ack, and a refusal
    is shown with `views.update`. True when the remedy may run.
    """
    task = asyncio.create_task(_take_claims(services, remedy, key, lock, user_id))
    done, _ = await asyncio.wait({task}, timeout=CLAIM_BUDGET)
    if task in done:
        refusal = task.result()
        if refusal is not None:
            await ack(response_action="update", view=message_modal(ctx, remedy.title, refusal))
            return False
        await ack(response_action="clear")  # every view: a review closes with its list
        return True
    logger.warning("the store is slow: acking %s before its claims are taken", remedy.key)
    await ack(
        response_action="update",
        view=message_modal(
            ctx,
            remedy.title,
            ":hourglass_flowing_sand: Working on it… the bot's database is slow right now; the "
            "result is posted where you clicked.",
        ),
    )
    refusal = await task
    if refusal is not None:
        try:
            await client.views_update(
                view_id=view_id, view=message_modal(ctx, remedy.title, refusal)
            )
        except Exception:
            logger.exception("views.update with the refusal failed")
        return False
    return True


def _where(ctx: RemedyContext) -> dict[str, Any]:
    """Where a remedy's result goes, kept in the journal so a recovery can report it."""
    return {
        "code": ctx.code,
        "response_url": ctx.response_url,
        "channel": ctx.channel,
        "ts": ctx.ts,
        "ephemeral": ctx.ephemeral,
    }


async def _report(
    services: Services,
    client: AsyncWebClient,
    ctx: RemedyContext,
    remedy: Remedy,
    user_id: str,
    result: RunResult,
) -> None:
    """Tell the requester any private note (a backup PIN), then report the outcome."""
    if result.outcome.private_note:
        title = result.outcome.private_title or remedy.label
        note = notice_message(title, result.outcome.private_note, emoji=":key:")
        backup_id = (result.outcome.detail or {}).get("backup_access_code_id")
        if backup_id:  # the PIN can be shown again (allowed users, audited) from here
            note = with_show_pin(note, str(backup_id), "Show backup PIN")
        await tell_requester(services, client, ctx, user_id, note)
    thread = await report_outcome(
        services,
        client,
        ctx,
        user_id,
        remedy.label,
        result.outcome,
        result.device_id,
        remedy_key=remedy.key,
        on_told=lambda: services.remedies.journal_done(result),
    )
    if await services.remedies.watch(remedy, result, user_id, thread):
        logger.info("watching %s on %s until Seam confirms it", remedy.key, result.target_id)


@requires_permission
async def on_pin_entry(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """A "pin" form (Update PIN): check the input, then run it once and report.

    Order: the input's own rules; then the lock's rules and its other PINs, answered inline
    when Seam answers within `PIN_CHECK_BUDGET` seconds, else acked "Checking…" first and
    answered with `views.update` (`_check_slowly`; failing closed when Seam never answers);
    then the claims: one per modal (a double submit is told it is done) and one per code while
    it runs (two people's modals cannot both change it at once). Slack is always answered
    within 3 s (`PIN_CHECK_BUDGET` + `CLAIM_BUDGET`).
    """
    submitted = _submitted(view, context)
    if submitted is None or submitted[1].form != "pin":
        await _bad_metadata(ack)
        return
    ctx, remedy = submitted
    services = services_from(context)
    user_id = user_id_of(body)
    value = view_value(view, ids.BLOCK_PIN, ids.ACTION_PIN).strip()
    basic = remedy.check_input(value)
    if basic:
        await ack(response_action="errors", errors={ids.BLOCK_PIN: basic})
        return
    checks = asyncio.create_task(services.remedies.load(remedy, ctx.code, ctx.code, value))
    done, _ = await asyncio.wait({checks}, timeout=PIN_CHECK_BUDGET)
    key = f"{remedy.key}:{ctx.code}:{view.get('id') or ''}"
    busy = code_lock_key(ctx.code)
    view_id = str(view.get("id") or "")
    if checks not in done:
        await _check_slowly(ack, client, services, ctx, remedy, checks, view_id, key, busy, user_id)
        return
    try:
        request = checks.result()
    except SeamApiError as exc:
        await ack(
            response_action="errors",
            errors={ids.BLOCK_PIN: seam_failure_message(exc, ctx.code).text[:150]},
        )
        return
    problem = remedy.refuses(request.code, request.target) or remedy.check(request)
    if problem:
        await ack(response_action="errors", errors={ids.BLOCK_PIN: problem})
        return
    if not await _gate(ack, client, services, ctx, remedy, view_id, key, busy, user_id):
        return
    await _run(services, client, ctx, remedy, request, user_id, key, busy)


async def _check_slowly(
    ack: AsyncAck,
    client: AsyncWebClient,
    services: Services,
    ctx: RemedyContext,
    remedy: Remedy,
    checks: asyncio.Task[Request],
    view_id: str,
    key: str,
    busy: str,
    user_id: str,
) -> None:
    """Seam is slow to answer the PIN checks: ack now ("Checking…"), finish the checks (up to
    `SLOW_CHECK_LIMIT` s), then answer with `views.update`: the form again with why the PIN
    was refused, a refusal, or "Setting it…" before the remedy runs. Fails closed: checks that
    cannot finish change nothing."""
    logger.warning("PIN checks for %s are slow; acking first", ctx.code)
    await ack(
        response_action="update",
        view=message_modal(
            ctx,
            remedy.title,
            ":hourglass_flowing_sand: Checking this PIN against the lock… Seam is slow right now.",
        ),
    )

    async def show(modal: dict[str, Any]) -> None:
        try:
            await client.views_update(view_id=view_id, view=modal)
        except Exception:
            logger.exception("views.update after the slow PIN checks failed")

    try:
        request = await asyncio.wait_for(checks, SLOW_CHECK_LIMIT)
    except (TimeoutError, SeamApiError) as exc:
        why = (
            seam_failure_message(exc, ctx.code).text
            if isinstance(exc, SeamApiError)
            else "Seam did not answer in time, so this PIN could not be checked against the lock."
        )
        logger.warning("slow PIN checks for %s failed: %s", ctx.code, exc or "timed out")
        await show(message_modal(ctx, remedy.title, f"{why}\nNothing was changed; try again."))
        return
    problem = remedy.refuses(request.code, request.target) or remedy.check(request)
    if problem:
        await show(
            update_pin_modal(
                ctx,
                request.code,
                request.device,
                lengths=list(supported_lengths(request.device)),
                title=remedy.title,
                error=problem,
            )
        )
        return
    refusal = await _take_claims(services, remedy, key, busy, user_id)
    if refusal is not None:
        await show(message_modal(ctx, remedy.title, refusal))
        return
    await show(
        message_modal(
            ctx,
            remedy.title,
            ":hourglass_flowing_sand: Checked. Setting the new PIN… the result is posted where "
            "you clicked.",
        )
    )
    await _run(services, client, ctx, remedy, request, user_id, key, busy)


async def _run(
    services: Services,
    client: AsyncWebClient,
    ctx: RemedyContext,
    remedy: Remedy,
    request: Request,
    user_id: str,
    key: str,
    busy: str,
) -> None:
    try:
        with services.remedies.track():
            logger.info(
                "user %s running %s on %s (input %s)",
                user_id,
                remedy.key,
                ctx.code,
                mask_pin(request.value) if request.value else "none",
            )
            result = await services.remedies.run(
                remedy, request, user_id=user_id, claim_key=key, context=_where(ctx)
            )
            await _report(services, client, ctx, remedy, user_id, result)
            await services.remedies.journal_done(result)
    except BaseException:
        await services.remedies.release(key)
        raise
    finally:
        await services.remedies.release(busy)


@requires_permission
async def on_choose(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """After a code is picked in a "choose" form, push a review of what will happen onto the
    list: its Back button returns to the list, its submit runs the remedy (`on_confirm`)."""
    submitted = _submitted(view, context)
    if submitted is None or submitted[1].form != "choose":
        await _bad_metadata(ack)
        return
    ctx, remedy = submitted
    picked = view_value(view, ids.BLOCK_PICK, ids.ACTION_PICK)
    if not picked:
        await ack(response_action="errors", errors={ids.BLOCK_PICK: "Pick a code to delete."})
        return
    parsed = parse_command_text(picked)
    if parsed.kind != "id" or len(picked) > MAX_ID_LENGTH:
        logger.warning("free-slot pick with an unusable value")
        await _bad_metadata(ack)
        return
    services = services_from(context)
    confirm_ctx = RemedyContext(
        action=remedy.key,
        code=ctx.code,
        target=picked,
        channel=ctx.channel,
        ts=ctx.ts,
        ephemeral=ctx.ephemeral,
        response_url=ctx.response_url,
    )
    try:
        target, device = await asyncio.wait_for(
            fetch_code_and_device(services.seam, picked), PIN_CHECK_BUDGET
        )
        subject = code_summary(target, device)
        question, submit = remedy.review(target)
    except (TimeoutError, SeamApiError):
        subject = f"Code `{escape_mrkdwn(picked, 80)}`"
        question, submit = remedy.review(None)
    await ack(  # pushed onto the list: closing it goes back there (Slack's page "Modals")
        response_action="push",
        view=confirm_modal(confirm_ctx, remedy.title, question, subject, submit, close="Back"),
    )


@requires_permission
async def on_confirm(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """A confirmed remedy ("confirm" forms, and "choose" forms after their review)."""
    submitted = _submitted(view, context)
    if submitted is None or submitted[1].form == "pin" or not submitted[0].target:
        await _bad_metadata(ack)
        return
    ctx, remedy = submitted
    services = services_from(context)
    user_id = user_id_of(body)
    key = f"{remedy.key}:{ctx.target}"
    busy = code_lock_key(ctx.target)
    view_id = str(view.get("id") or "")
    if not await _gate(ack, client, services, ctx, remedy, view_id, key, busy, user_id):
        return
    try:
        with services.remedies.track():
            result = await services.remedies.confirm_and_run(
                remedy,
                user_id=user_id,
                code_id=ctx.code,
                target_id=ctx.target,
                claim_key=key,
                context=_where(ctx),
            )
            await _report(services, client, ctx, remedy, user_id, result)
            await services.remedies.journal_done(result)
    except BaseException:
        await services.remedies.release(key)
        raise
    finally:
        await services.remedies.release(busy)


async def _is_registered_remedy(body: dict[str, Any]) -> bool:
    """Whether a press is a registered remedy's button (read-only actions are not)."""
    key = read_press(body).action_id.removeprefix(ids.REMEDY_ACTION_PREFIX)
    return key in REMEDIES


def register(app: AsyncApp) -> None:
    """Bind one button per registered remedy and the three submission forms."""
    app.action(
        re.compile(f"^{re.escape(ids.REMEDY_ACTION_PREFIX)}[a-z_]+$"),
        matchers=[_is_registered_remedy],
    )(open_remedy)
    app.view(ids.CALLBACK_UPDATE_PIN)(on_pin_entry)
    app.view(ids.CALLBACK_FREE_SLOT)(on_choose)
    app.view(ids.CALLBACK_CONFIRM)(on_confirm)
