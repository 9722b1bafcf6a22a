"""A small in-memory record of recent failed Seam calls, per access code and per device.

Seam support asks for the `seam-request-id` response header of a failed request (Seam API
reference, "Errors") and, for a change that failed on the lock, its `action_attempt_id`
(Seam API reference, "Action attempts"). The client records each failure under the
`access_code_id` and `device_id` the request named, so "Contact Seam support" can list them.

Only ids, the route, the HTTP status, Seam's error type and the time are kept: never a request
body, a PIN or Seam's message (which may quote a PIN). Bounded: `per_subject` calls per code or
device, `max_subjects` codes and devices (the least recently failed is forgotten first). It
lives as long as the process; a restart forgets it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["FailedCall", "FailureLog", "subjects_of"]


@dataclass(frozen=True)
class FailedCall:
    """One failed Seam call.

    Attributes:
        at: when it failed (aware UTC).
        path: the Seam route, e.g. "/access_codes/update".
        error_type: Seam's `error.type` (or `action_attempt.error.type`), or a local label
            such as "timeout" when no answer came back.
        status_code: the HTTP status, or None (no answer, or an action attempt that failed).
        request_id: the `seam-request-id` header, or None when no answer came back.
        action_attempt_id: the action attempt that ended in `error`, if that is the failure.
    """

    at: datetime
    path: str
    error_type: str
    status_code: int | None = None
    request_id: str | None = None
    action_attempt_id: str | None = None


def subjects_of(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The record keys a request body names: `access_code:<id>` and `device:<id>`."""
    keys = []
    for field, prefix in (("access_code_id", "access_code"), ("device_id", "device")):
        value = body.get(field)
        if isinstance(value, str) and value:
            keys.append(f"{prefix}:{value}")
    return tuple(keys)


class FailureLog:
    """Recent `FailedCall`s by access code and device (bounded, newest kept).

    Args:
        per_subject: calls kept per code or device.
        max_subjects: codes and devices kept; the one that failed least recently goes first.
        clock: the current time (aware UTC); tests may pass their own.
    """

    def __init__(
        self,
        *,
        per_subject: int = 5,
        max_subjects: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._per_subject = max(1, per_subject)
        self._max_subjects = max(1, max_subjects)
        self._clock = clock
        self._calls: OrderedDict[str, deque[FailedCall]] = OrderedDict()

    def now(self) -> datetime:
        """The log's clock (aware UTC)."""
        return self._clock()

    def record(self, subjects: Iterable[str], call: FailedCall) -> None:
        """Keep `call` under each of `subjects` (`subjects_of` keys); no subject, no record."""
        for subject in subjects:
            calls = self._calls.pop(subject, None) or deque(maxlen=self._per_subject)
            calls.append(call)
            self._calls[subject] = calls
            while len(self._calls) > self._max_subjects:
                self._calls.popitem(last=False)

    def recent(
        self, *, access_code_id: str | None = None, device_id: str | None = None, limit: int = 5
    ) -> list[FailedCall]:
        """The failures recorded for a code and/or its device, newest first, each once."""
        keys = subjects_of({"access_code_id": access_code_id, "device_id": device_id})
        found = {id(c): c for key in keys for c in self._calls.get(key, ())}
        return sorted(found.values(), key=lambda c: c.at, reverse=True)[: max(0, limit)]
