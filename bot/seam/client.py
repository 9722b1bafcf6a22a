"""Async Seam client over one long-lived `httpx.AsyncClient`.

Seam's API is RPC-style: every route this bot uses accepts `POST` with a JSON body
(the Seam API reference). Reads are retried with backoff on 429, 5xx and transport errors,
honouring `Retry-After`, within a bounded total time; mutations are sent once and never re-sent
blindly. List calls follow `pagination.next_page_cursor` to the end; a list that stops for any
reason other than `has_next_page: false` raises `SeamIncompleteListError`.

Every failed call and every action attempt that ends in `error` is kept in `failures`
(`bot.seam.failures.FailureLog`: ids only, per access code and device) for Seam support.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bot.seam.errors import (
    SeamApiError,
    SeamIncompleteListError,
    SeamInvalidResponseError,
    SeamNotFoundError,
    SeamRateLimitedError,
    SeamUnavailableError,
    error_for_response,
)
from bot.seam.failures import FailedCall, FailureLog, subjects_of
from bot.seam.models import AccessCode, ActionAttempt, Device, Pagination

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

#: Maximum pages followed for one list call (a guard against a server that never ends).
MAX_PAGES = 1000
#: Action attempts remembered (id -> the mutation that started it) to file their failures.
MAX_TRACKED_ATTEMPTS = 500


class SeamClient:
    """The bot's Seam API client. Use as `async with SeamClient(...) as seam:`.

    Args:
        api_key: Seam API key (sent as `Authorization: Bearer`; never logged).
        endpoint: base URL, e.g. "https://connect.getseam.com".
        timeout: per-request timeout in seconds (connect, read, write, pool), and the default
            of `deadline`.
        deadline: seconds one request may take in all, from its first byte sent to the last
            byte of the answer read (connect and every read together). httpx's `timeout` bounds
            each phase and each gap between bytes, so a server trickling its answer a byte at a
            time could otherwise hold a slot for minutes. A request cut off raises
            `SeamUnavailableError` (`error_type` "timeout"), like any timeout. Default: `timeout`.
        read_retry_budget: total seconds a read may spend retrying before it raises.
        max_read_attempts: attempts for one read, the first included.
        transport: optional httpx transport (tests).
        sleep: the sleep coroutine used between retries (tests may record it).
        max_in_flight: Seam requests sent at once; more wait their turn here, before the
            timeout starts (a slow Seam must not pile hundreds of requests into the
            connection pool, where they would time out and starve Slack acks).
        failures: where failed calls are recorded (a fresh bounded `FailureLog` by default).

    Raises (from every method): subclasses of `bot.seam.errors.SeamApiError`.
    """

    def __init__(
        self,
        api_key: str,
        endpoint: str = "https://connect.getseam.com",
        *,
        timeout: float = 10.0,
        read_retry_budget: float = 15.0,
        max_read_attempts: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_in_flight: int = 32,
        failures: FailureLog | None = None,
        deadline: float | None = None,
    ) -> None:
        self.failures = failures or FailureLog()
        """Recent failed calls and action attempts per access code and device (ids only)."""
        self._attempts: OrderedDict[str, tuple[str, str | None, tuple[str, ...]]] = OrderedDict()
        self._deadline = deadline if deadline is not None else timeout
        self._slots = asyncio.Semaphore(max(1, max_in_flight))
        self._http = httpx.AsyncClient(
            base_url=endpoint.rstrip("/"),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "seam-code-doctor/0.1",
            },
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=max(1, max_in_flight),
                max_keepalive_connections=max(1, max_in_flight),
            ),
            transport=transport,
            trust_env=False,
        )
        self._read_retry_budget = read_retry_budget
        self._max_read_attempts = max(1, max_read_attempts)
        self._sleep = sleep
        self.calls = 0
        """Number of HTTP requests sent (retries included); benchmarks read it."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SeamClient:
        """The bot's client from `SEAM_API_KEY`, `SEAM_ENDPOINT` and `SEAM_TIMEOUT_SECONDS`."""
        return cls(
            settings.seam_api_key.get_secret_value(),
            str(settings.seam_endpoint),
            timeout=settings.seam_timeout_seconds,
        )

    async def __aenter__(self) -> SeamClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
        await self._http.aclose()

    # ----------------------------------------------------------------- transport

    async def _send(
        self, path: str, body: dict[str, Any], *, mutation: bool = False
    ) -> dict[str, Any]:
        """POST once; return the decoded JSON object or raise a typed error.

        A failure is recorded in `failures` first, except a read's 404: "no such code" is an
        answer (a lookup tries managed, then unmanaged), not a failed call.
        """
        async with self._slots:
            try:
                return await self._send_now(path, body)
            except SeamApiError as exc:
                if mutation or not isinstance(exc, SeamNotFoundError):
                    self._record(
                        subjects_of(body), path, exc.error_type, exc.status_code, exc.request_id
                    )
                raise

    def _record(
        self,
        subjects: tuple[str, ...],
        path: str,
        error_type: str,
        status_code: int | None,
        request_id: str | None,
        action_attempt_id: str | None = None,
    ) -> None:
        call = FailedCall(
            at=self.failures.now(),
            path=path,
            error_type=error_type,
            status_code=status_code,
            request_id=request_id,
            action_attempt_id=action_attempt_id,
        )
        self.failures.record(subjects, call)

    async def _send_now(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._deadline):
                response = await self._http.post(path, json=body)
        except TimeoutError:
            raise SeamUnavailableError(
                f"no complete answer within {self._deadline:g} s (deadline)",
                error_type="timeout",
                path=path,
            ) from None
        except httpx.TimeoutException as exc:
            raise SeamUnavailableError(
                f"no answer within the timeout ({type(exc).__name__})",
                error_type="timeout",
                path=path,
            ) from None
        except httpx.HTTPError as exc:
            raise SeamUnavailableError(
                f"could not reach Seam ({type(exc).__name__})",
                error_type="connection_error",
                path=path,
            ) from None
        request_id = response.headers.get("seam-request-id")
        logger.debug(
            "seam %s -> %s in %.0f ms (request id %s)",
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
            request_id,
        )
        try:
            payload: Any = response.json() if response.content else None
        except ValueError:
            payload = None
        if not response.is_success:
            raise error_for_response(
                response.status_code,
                payload,
                request_id=request_id,
                path=path,
                retry_after=response.headers.get("retry-after"),
            )
        if not isinstance(payload, dict):
            raise SeamInvalidResponseError(
                "Seam answered with an empty or non-JSON body",
                error_type="invalid_response",
                status_code=response.status_code,
                request_id=request_id,
                path=path,
            )
        payload.setdefault("_request_id", request_id)
        return payload

    async def _read(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A read: retried on 429/5xx/transport errors with jittered exponential backoff."""
        deadline = time.monotonic() + self._read_retry_budget
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send(path, body)
            except (SeamRateLimitedError, SeamUnavailableError) as exc:
                if isinstance(exc, SeamInvalidResponseError):
                    raise
                wait = _backoff(attempt)
                if isinstance(exc, SeamRateLimitedError) and exc.retry_after is not None:
                    wait = exc.retry_after
                remaining = deadline - time.monotonic()
                if attempt >= self._max_read_attempts or wait > remaining:
                    raise
                logger.info(
                    "seam %s failed (%s); retry %d in %.2f s",
                    path,
                    exc.error_type,
                    attempt,
                    wait,
                )
                await self._sleep(wait)

    async def _mutate(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A mutation: sent exactly once. A failure is raised, never re-sent.

        The action attempt it starts is remembered with the code and device it names, so a
        failure of that attempt is recorded under them (`wait_for_action_attempt`).
        """
        payload = await self._send(path, body, mutation=True)
        attempt = payload.get("action_attempt")
        attempt_id = attempt.get("action_attempt_id") if isinstance(attempt, dict) else None
        if isinstance(attempt_id, str) and attempt_id:
            self._attempts[attempt_id] = (path, payload.get("_request_id"), subjects_of(body))
            while len(self._attempts) > MAX_TRACKED_ATTEMPTS:
                self._attempts.popitem(last=False)
        return payload

    # --------------------------------------------------------------------- reads

    async def get_access_code(self, access_code_id: str) -> AccessCode:
        """`/access_codes/get`: one managed access code. Raises SeamNotFoundError if absent."""
        payload = await self._read("/access_codes/get", {"access_code_id": access_code_id})
        return _model(AccessCode, payload, "access_code", "/access_codes/get")

    async def get_unmanaged_access_code(self, access_code_id: str) -> AccessCode:
        """`/access_codes/unmanaged/get`: one unmanaged code (`is_managed` False)."""
        path = "/access_codes/unmanaged/get"
        payload = await self._read(path, {"access_code_id": access_code_id})
        code = _model(AccessCode, payload, "access_code", path)
        code.is_managed = False
        return code

    async def find_access_code(self, access_code_id: str) -> AccessCode:
        """Managed first, then unmanaged. Raises SeamNotFoundError when neither has it."""
        try:
            return await self.get_access_code(access_code_id)
        except SeamNotFoundError:
            return await self.get_unmanaged_access_code(access_code_id)

    async def get_device(self, device_id: str) -> Device:
        """`/devices/get`: one device."""
        payload = await self._read("/devices/get", {"device_id": device_id})
        return _model(Device, payload, "device", "/devices/get")

    async def list_devices(self, **filters: Any) -> list[Device]:
        """`/devices/list`, every page. `filters` are Seam's optional list parameters."""
        return await self._list("/devices/list", "devices", Device, dict(filters))

    async def list_access_codes(self, device_id: str) -> list[AccessCode]:
        """`/access_codes/list` for one device, every page.

        Only codes whose own `device_id` matches are returned (some servers ignore the filter).
        """
        codes = await self._list(
            "/access_codes/list", "access_codes", AccessCode, {"device_id": device_id}
        )
        return [c for c in codes if c.device_id == device_id and c.is_managed]

    async def list_unmanaged_access_codes(self, device_id: str) -> list[AccessCode]:
        """`/access_codes/unmanaged/list` for one device, every page (`is_managed` False)."""
        codes = await self._list(
            "/access_codes/unmanaged/list", "access_codes", AccessCode, {"device_id": device_id}
        )
        for code in codes:
            code.is_managed = False
        return [c for c in codes if c.device_id == device_id]

    async def get_action_attempt(self, action_attempt_id: str) -> ActionAttempt:
        """`/action_attempts/get`."""
        path = "/action_attempts/get"
        payload = await self._read(path, {"action_attempt_id": action_attempt_id})
        return _model(ActionAttempt, payload, "action_attempt", path)

    async def list_device_codes(self, device_id: str) -> list[AccessCode]:
        """Managed and unmanaged codes on one device (two paginated lists)."""
        managed = await self.list_access_codes(device_id)
        unmanaged = await self.list_unmanaged_access_codes(device_id)
        return [*managed, *unmanaged]

    async def generate_code(self, device_id: str) -> str | None:
        """`/access_codes/generate_code`: a PIN Seam suggests for the device, or None."""
        payload = await self._read("/access_codes/generate_code", {"device_id": device_id})
        generated = payload.get("generated_code")
        code = generated.get("code") if isinstance(generated, dict) else None
        return str(code) if code else None

    # ----------------------------------------------------------------- mutations

    async def update_access_code(self, access_code_id: str, **fields: Any) -> ActionAttempt | None:
        """`/access_codes/update` (e.g. `code=` for a new PIN). Returns Seam's action attempt."""
        payload = await self._mutate(
            "/access_codes/update", {"access_code_id": access_code_id, **fields}
        )
        return _maybe_attempt(payload)

    async def delete_access_code(self, access_code_id: str) -> ActionAttempt | None:
        """`/access_codes/delete`. Returns Seam's action attempt."""
        payload = await self._mutate("/access_codes/delete", {"access_code_id": access_code_id})
        return _maybe_attempt(payload)

    async def create_access_code(
        self, device_id: str, **fields: Any
    ) -> tuple[AccessCode, ActionAttempt | None]:
        """`/access_codes/create` on `device_id`. Returns the new code and any action attempt."""
        path = "/access_codes/create"
        payload = await self._mutate(path, {"device_id": device_id, **fields})
        return _model(AccessCode, payload, "access_code", path), _maybe_attempt(payload)

    async def pull_backup_access_code(self, access_code_id: str) -> AccessCode:
        """`/access_codes/pull_backup_access_code`: the backup code now standing in.

        Only for time-bound codes created with the backup pool
        (Seam's guide "Backup access codes").
        """
        path = "/access_codes/pull_backup_access_code"
        payload = await self._mutate(path, {"access_code_id": access_code_id})
        key = (
            "backup_access_code"
            if isinstance(payload.get("backup_access_code"), dict)
            else ("access_code")
        )
        return _model(AccessCode, payload, key, path)

    async def convert_unmanaged_to_managed(self, access_code_id: str) -> None:
        """`/access_codes/unmanaged/convert_to_managed` (Seam answers `ok` only)."""
        await self._mutate(
            "/access_codes/unmanaged/convert_to_managed", {"access_code_id": access_code_id}
        )

    async def delete_unmanaged_access_code(self, access_code_id: str) -> ActionAttempt | None:
        """`/access_codes/unmanaged/delete`. Returns Seam's action attempt."""
        payload = await self._mutate(
            "/access_codes/unmanaged/delete", {"access_code_id": access_code_id}
        )
        return _maybe_attempt(payload)

    async def wait_for_action_attempt(
        self, attempt: ActionAttempt, *, max_wait: float = 20.0, poll: float = 0.5
    ) -> ActionAttempt:
        """Poll `/action_attempts/get` until `success`/`error` or `max_wait` seconds pass.

        Returns the last attempt seen; its `status` is still "pending" after a timeout. An
        attempt that ends in `error` is recorded in `failures` under the code and device its
        mutation named, with that mutation's `seam-request-id`.
        """
        deadline = time.monotonic() + max_wait
        current = attempt
        while not current.is_done and time.monotonic() < deadline:
            await self._sleep(min(poll, max(0.0, deadline - time.monotonic())))
            current = await self.get_action_attempt(attempt.action_attempt_id)
        started = self._attempts.pop(attempt.action_attempt_id, None)
        if current.status == "error" and started is not None:
            path, request_id, subjects = started
            error_type = current.error.type if current.error else "error"
            self._record(subjects, path, error_type, None, request_id, current.action_attempt_id)
        elif started is not None and not current.is_done:
            self._attempts[attempt.action_attempt_id] = started  # may be followed again
        return current

    # ------------------------------------------------------------------ webhooks

    async def create_webhook(self, url: str, event_types: list[str]) -> dict[str, Any]:
        """`/webhooks/create` (Seam API reference, "Webhooks"): `{webhook_id, url, event_types,
        secret}`; the secret signs every delivery (Svix). Sent once.

        Raises:
            SeamInvalidResponseError: no `webhook` object in the answer.
        """
        payload = await self._mutate("/webhooks/create", {"url": url, "event_types": event_types})
        webhook = payload.get("webhook")
        if not isinstance(webhook, dict):
            raise SeamInvalidResponseError(
                "expected a webhook object",
                error_type="invalid_response",
                request_id=payload.get("_request_id"),
                path="/webhooks/create",
            )
        return webhook

    async def list_webhooks(self) -> list[dict[str, Any]]:
        """`/webhooks/list`: every webhook of the workspace (secrets are not shown by callers)."""
        payload = await self._read("/webhooks/list", {})
        raw = payload.get("webhooks")
        return [w for w in raw if isinstance(w, dict)] if isinstance(raw, list) else []

    async def _list(self, path: str, key: str, model: type[M], body: dict[str, Any]) -> list[M]:
        items: list[M] = []
        seen_cursors: set[str] = set()
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page_body = dict(body)
            if cursor:
                page_body["page_cursor"] = cursor
            payload = await self._read(path, page_body)
            raw = payload.get(key)
            if not isinstance(raw, list):
                raise SeamInvalidResponseError(
                    f"expected a list under {key!r}",
                    error_type="invalid_response",
                    request_id=payload.get("_request_id"),
                    path=path,
                )
            for entry in raw:
                try:
                    items.append(model.model_validate(entry))
                except ValidationError:
                    # Skipping it would make a scan believe the object is gone (a false
                    # "resolved"); the whole list is unreadable instead.
                    raise SeamInvalidResponseError(
                        f"an entry under {key!r} could not be read",
                        error_type="invalid_response",
                        request_id=payload.get("_request_id"),
                        path=path,
                    ) from None
            try:
                pagination = Pagination.model_validate(payload.get("pagination") or {})
            except ValidationError:
                raise self._incomplete(path, payload, "its pagination could not be read") from None
            cursor = pagination.next_page_cursor
            if not pagination.has_next_page:
                return items
            if not cursor:
                raise self._incomplete(path, payload, "has_next_page is true but no cursor")
            if cursor in seen_cursors:
                raise self._incomplete(path, payload, "a page cursor repeated (the list loops)")
            seen_cursors.add(cursor)
        raise self._incomplete(path, {}, f"still more pages after {MAX_PAGES}")

    @staticmethod
    def _incomplete(path: str, payload: dict[str, Any], why: str) -> SeamIncompleteListError:
        logger.warning("seam %s: list incomplete: %s; treating it as unread", path, why)
        return SeamIncompleteListError(
            f"the list could not be read to its end: {why}",
            error_type="incomplete_list",
            request_id=payload.get("_request_id"),
            path=path,
        )


def _backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1-based): 0.25, 0.5, 1, 2… ±20 % jitter."""
    base: float = min(0.25 * 2 ** (attempt - 1), 8.0)
    return base * random.uniform(0.8, 1.2)


def _maybe_attempt(payload: dict[str, Any]) -> ActionAttempt | None:
    raw = payload.get("action_attempt")
    if not isinstance(raw, dict):
        return None
    try:
        return ActionAttempt.model_validate(raw)
    except ValidationError:
        logger.warning("unreadable action_attempt in a Seam response")
        return None


def _model(model: type[M], payload: dict[str, Any], key: str, path: str) -> M:
    raw = payload.get(key)
    try:
        if not isinstance(raw, dict):
            raise ValueError(key)
        return model.model_validate(raw)
    except (ValidationError, ValueError):
        raise SeamInvalidResponseError(
            f"the response has no readable {key!r} object",
            error_type="invalid_response",
            request_id=payload.get("_request_id"),
            path=path,
        ) from None


__all__ = ["SeamApiError", "SeamClient"]
