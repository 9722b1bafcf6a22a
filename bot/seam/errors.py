"""Typed Seam API errors.

Seam answers errors as `{"error": {"type", "message", "validation_errors"?, "data"?}, "ok": false}`
with the request id in the `seam-request-id` header (Seam API reference, "Errors";
Seam's error reference). `error_for_response` maps a response to one class here:

    SeamApiError
     ├── SeamNotFoundError        404
     ├── SeamUnauthorizedError    401 / 403
     ├── SeamInvalidInputError    400 (`validation_errors` kept)
     ├── SeamConflictError        409 (e.g. duplicate PIN on create)
     ├── SeamRateLimitedError     429 (`retry_after` seconds, if Seam sent Retry-After)
     └── SeamUnavailableError     5xx, empty or non-JSON body, timeouts, connection errors
          └── SeamInvalidResponseError   2xx whose body lacks the expected key
"""

from __future__ import annotations

from typing import Any


class SeamApiError(Exception):
    """Base of every Seam failure.

    Attributes:
        error_type: Seam's `error.type` (e.g. "access_code_not_found"), or a local label such as
            "timeout" when no response came back.
        message: Seam's `error.message` (never contains a PIN we sent).
        status_code: HTTP status, or None when no response came back.
        request_id: the `seam-request-id` response header, for Seam support.
        path: the Seam route, e.g. "/access_codes/get".
    """

    def __init__(
        self,
        message: str,
        *,
        error_type: str = "unknown",
        status_code: int | None = None,
        request_id: str | None = None,
        path: str = "",
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.status_code = status_code
        self.request_id = request_id
        self.path = path
        self.data = data

    def __str__(self) -> str:
        where = f" on {self.path}" if self.path else ""
        status = f" (HTTP {self.status_code})" if self.status_code else ""
        rid = f" [seam-request-id {self.request_id}]" if self.request_id else ""
        return f"{self.error_type}{where}{status}: {self.message}{rid}"


class SeamNotFoundError(SeamApiError):
    """The object does not exist in this workspace (404); expired and deleted codes land here."""


class SeamUnauthorizedError(SeamApiError):
    """The API key is missing, wrong or lacks access (401/403)."""


class SeamInvalidInputError(SeamApiError):
    """Seam rejected the parameters (400 `invalid_input`); `validation_errors` is Seam's dict."""

    @property
    def validation_errors(self) -> dict[str, Any]:
        """Seam's zod-style `{"_errors": [...], "<param>": {"_errors": [...]}}`, or {}."""
        if isinstance(self.data, dict):
            value = self.data.get("validation_errors")
            if isinstance(value, dict):
                return value
        return {}


class SeamConflictError(SeamApiError):
    """The change conflicts with the lock's state (409), e.g. the PIN already exists."""


class SeamRateLimitedError(SeamApiError):
    """Seam is rate-limiting (429). `retry_after` is seconds from `Retry-After`, if sent.

    Seam's per-device limits: create/update 10/min, delete 20/min
    (Seam's page "Rate limits and guardrails").
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class SeamUnavailableError(SeamApiError):
    """Seam could not be reached or answered with a 5xx / unreadable body. Safe to try later."""


class SeamInvalidResponseError(SeamUnavailableError):
    """A 2xx answer without the expected top-level key or with an unreadable object."""


class SeamIncompleteListError(SeamInvalidResponseError):
    """A list that stopped before Seam said `has_next_page: false`: a repeated cursor (a server
    that loops), `has_next_page: true` without a cursor, or the page limit. What was read is
    not the whole list, so nothing may be concluded from what is missing from it."""


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (delta-seconds form only), clamped to 0..3600, else None."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), 3600.0)


def error_for_response(
    status_code: int,
    body: Any,
    *,
    request_id: str | None,
    path: str,
    retry_after: str | None = None,
) -> SeamApiError:
    """Build the typed error for a non-2xx Seam response.

    Args:
        status_code: the HTTP status.
        body: the decoded JSON body, or None when it was empty or not JSON.
        request_id: the `seam-request-id` header.
        path: the Seam route called.
        retry_after: the raw `Retry-After` header.
    """
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        err = {}
    error_type = str(err.get("type") or f"http_{status_code}")
    message = str(err.get("message") or _default_message(status_code))
    data = {"validation_errors": err.get("validation_errors"), "data": err.get("data")}
    kw: dict[str, Any] = {
        "error_type": error_type,
        "status_code": status_code,
        "request_id": request_id,
        "path": path,
        "data": data,
    }
    if status_code == 429:
        return SeamRateLimitedError(message, retry_after=parse_retry_after(retry_after), **kw)
    if status_code >= 500:
        return SeamUnavailableError(message, **kw)
    if status_code == 404:
        return SeamNotFoundError(message, **kw)
    if status_code in (401, 403):
        return SeamUnauthorizedError(message, **kw)
    if status_code == 400:
        return SeamInvalidInputError(message, **kw)
    if status_code == 409:
        return SeamConflictError(message, **kw)
    return SeamApiError(message, **kw)


def _default_message(status_code: int) -> str:
    if status_code == 429:
        return "Seam is rate-limiting requests"
    if status_code >= 500:
        return "Seam is unavailable"
    return "Seam returned an error without details"
