"""Cross-cutting checks, written once: services in the context, the response_url guard, the
permission check, and Seam errors turned into replies.

* `global_middleware(services)`: every request. Refuses (400) a `response_url` that is not
  Slack's (so even a request signed with a leaked secret cannot make the bot post PINs to an
  arbitrary server), puts `Services` into the Bolt context (`services_from`), and answers a
  redelivered Events API event (same `event_id`) with 200 and nothing else.
* `requires_permission`: a listener decorator for every button and submission that changes a
  lock, reveals a PIN, snoozes or acknowledges. A user outside `REMEDY_ALLOWED_USERS` (its
  user ids, or the members of its user groups: `bot.slack.permissions`) is acked and told
  politely (in the modal, for a submission); the listener never runs. When a user group cannot
  be read the answer is no, saying so (fail closed).
* `replies_on_errors`: a listener decorator; a `SeamApiError` becomes the specific friendly
  message (`bot.slack.blocks.replies`), any other error a logged "something went wrong".
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse

from bot.seam.errors import SeamApiError
from bot.services.container import Services
from bot.slack.blocks.modals import message_modal
from bot.slack.blocks.replies import internal_error_message, seam_failure_message
from bot.slack.payloads import RemedyContext, parse_command_text, read_press, user_id_of
from bot.slack.permissions import Permission, Permissions
from bot.slack.respond import (
    permission_unavailable_message,
    permission_unavailable_text,
    refusal_message,
    response_url_allowed,
    send,
)

logger = logging.getLogger(__name__)

#: The key under which `Services` sits in each Bolt context.
CONTEXT_KEY = "services"
#: The key under which the process's `Permissions` sits in each Bolt context.
PERMISSIONS_KEY = "permissions"

Next = Callable[[], Awaitable[Any]]
F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def services_from(context: AsyncBoltContext) -> Services:
    """The `Services` injected by `global_middleware`.

    Raises:
        KeyError: none was injected (the app was built without it).
    """
    services = context[CONTEXT_KEY]
    if not isinstance(services, Services):
        raise KeyError(CONTEXT_KEY)
    return services


def global_middleware(
    services: Services, permissions: Permissions | None = None
) -> Callable[[AsyncBoltContext, dict[str, Any], Next], Awaitable[Any]]:
    """The app-wide middleware: response_url guard (400), then `Services` (and the user group
    aware `permissions`, when given) into the context."""
    api_url = str(services.settings.slack_api_url)

    async def middleware(context: AsyncBoltContext, body: dict[str, Any], next: Next) -> Any:
        url = body.get("response_url") if isinstance(body, dict) else None
        if url and not response_url_allowed(str(url), api_url):
            logger.warning("rejected a request whose response_url is not Slack's (400)")
            return BoltResponse(status=400, body={"error": "bad response_url"})
        context[CONTEXT_KEY] = services
        if permissions is not None:
            context[PERMISSIONS_KEY] = permissions
        is_event = isinstance(body, dict) and body.get("type") == "event_callback"
        if is_event and not await _first_delivery(services, body):
            logger.info("Slack sent event %s again: nothing done twice", body.get("event_id"))
            return BoltResponse(status=200, body="")
        return await next()

    return middleware


async def _first_delivery(services: Services, body: dict[str, Any]) -> bool:
    """Whether this Events API delivery is new (Slack retries with `X-Slack-Retry-Num` and the
    same `event_id`; Slack's page "The Events API", retries). A store failure lets it through."""
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return True
    event = body.get("event")
    kind = str(event.get("type")) if isinstance(event, dict) else "unknown"
    try:
        return await services.store.record_event(
            f"slack:{event_id[:200]}", kind, at=datetime.now(UTC)
        )
    except Exception:
        logger.exception("could not record Slack event %s", event_id)
        return True


def requires_permission(listener: F) -> F:
    """Decorate a listener so it runs only for users in `REMEDY_ALLOWED_USERS` (user ids, or
    members of its user groups when the context has `Permissions`).

    Everyone else is acked and told politely, and the listener never runs: a button gets an
    ephemeral refusal; a modal submission (`view` in the payload) is answered inside the modal.
    A user group Slack could not read refuses too, with a message saying the check failed.
    A decorator rather than listener middleware: Bolt answers 404 to a request whose listener
    middleware does not call `next()`, even after an ack.
    """

    @functools.wraps(listener)
    async def wrapper(**kwargs: Any) -> None:
        body: dict[str, Any] = kwargs["body"]
        services = services_from(kwargs["context"])
        user_id = user_id_of(body)
        permission = await _permission(kwargs["context"], services, user_id)
        if permission.allowed:
            await listener(**kwargs)
            return
        ack: AsyncAck = kwargs["ack"]
        if body.get("type") == "view_submission":
            await _refuse_in_modal(ack, body, services, user_id, permission)
            return
        await ack()
        logger.info("refused %s for %s", read_press(body).action_id, user_id)
        respond: AsyncRespond = kwargs["respond"]
        message = (
            permission_unavailable_message(permission.reason)
            if permission.verdict == "unavailable"
            else refusal_message()
        )
        await send(respond, message, replace_original=False)

    return wrapper  # type: ignore[return-value]


async def _permission(context: AsyncBoltContext, services: Services, user_id: str) -> Permission:
    """The context's `Permissions` (user groups) when the app put one there, else the plain
    `REMEDY_ALLOWED_USERS` check."""
    permissions = context.get(PERMISSIONS_KEY)
    if isinstance(permissions, Permissions):
        return await permissions.check(user_id)
    return Permission("allowed" if services.remedies.may_run(user_id) else "refused")


async def _refuse_in_modal(
    ack: AsyncAck,
    body: dict[str, Any],
    services: Services,
    user_id: str,
    permission: Permission,
) -> None:
    view = body.get("view")
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    ctx = RemedyContext.loads(raw) or RemedyContext(action="unknown", code="unknown")
    remedy = services.remedies.get(ctx.action)
    logger.info("refused %s for %s at submission", ctx.action, user_id)
    await ack(
        response_action="update",
        view=message_modal(
            ctx,
            remedy.title if remedy else "Not allowed",
            f":no_entry: {permission_unavailable_text(permission.reason)}"
            if permission.verdict == "unavailable"
            else ":no_entry: Only people listed in `REMEDY_ALLOWED_USERS` can run remedies. "
            "Nothing was changed.",
        ),
    )


def replies_on_errors(*, replace_original: bool | None = False) -> Callable[[F], F]:
    """Decorate a listener (which acks first) so failures get a clear answer and a log line.

    A `SeamApiError` is answered with `seam_failure_message` naming the code the button or
    command referred to; anything else with `internal_error_message` (logged with
    `logger.exception`). `replace_original` is passed to `respond` (None: not passed).
    Bolt reads the listener's parameters through `functools.wraps`.
    """

    def decorate(listener: F) -> F:
        @functools.wraps(listener)
        async def wrapper(**kwargs: Any) -> None:
            respond: AsyncRespond = kwargs["respond"]
            extra = {} if replace_original is None else {"replace_original": replace_original}
            try:
                await listener(**kwargs)
            except SeamApiError as exc:
                code_id = _subject(kwargs.get("body") or kwargs.get("command"))
                logger.warning("%s for %s: %s", listener.__name__, code_id, exc)
                await send(respond, seam_failure_message(exc, code_id), **extra)
            except Exception:
                logger.exception("%s failed", listener.__name__)
                await send(respond, internal_error_message(), **extra)

        return wrapper  # type: ignore[return-value]

    return decorate


def _subject(body: Any) -> str:
    """The access_code_id a payload refers to (a button's value or the command's text)."""
    if not isinstance(body, dict):
        return "?"
    if "command" in body:
        parsed = parse_command_text(body.get("text") if isinstance(body.get("text"), str) else "")
        return parsed.value if parsed.kind == "id" else "?"
    return read_press(body).code_id() or "?"
