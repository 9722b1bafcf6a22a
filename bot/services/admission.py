"""Admission of the work an acked Slack request starts: bounded per user and overall.

Every `/seam-code` and read-only button is acked at once and then reads Seam in the
background. Unbounded, one user's burst (1,500 commands in 2 s) queues 1,500 lookups behind the
Seam client's 32 slots and everyone else waits behind them (issue 16: 45 s for another user's
answer). `WorkGate` counts the work each user has queued or running; a request beyond
`per_user` for its user, or beyond `total` for everyone, is refused at once, and the caller
tells the user "busy, try again in a moment" instead of queueing it. Nothing is dropped
silently, and the memory this work holds is bounded by `total`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["WorkGate"]


class WorkGate:
    """Counts background work by user; admits at most `per_user` per user and `total` overall.

    Not thread-safe: use it from one event loop (entering and leaving never await).

    Args:
        per_user: work one user may have queued or running at once (>= 1).
        total: work all users together may have queued or running at once (>= 1).
    """

    def __init__(self, *, per_user: int, total: int) -> None:
        self.per_user = max(1, per_user)
        self.total = max(1, total)
        self._by_user: dict[str, int] = {}
        self._running = 0
        self.refused = 0
        """Requests refused so far (benchmarks and logs read it)."""

    @property
    def running(self) -> int:
        """Work admitted and not finished yet."""
        return self._running

    def admit(self, user_id: str) -> bool:
        """Admit one piece of work for `user_id` (count it) or refuse it (count nothing).

        Every admitted piece must be ended with `done(user_id)`; `entered` does both.
        """
        held = self._by_user.get(user_id, 0)
        if held >= self.per_user or self._running >= self.total:
            self.refused += 1
            return False
        self._by_user[user_id] = held + 1
        self._running += 1
        return True

    def done(self, user_id: str) -> None:
        """End one admitted piece of work of `user_id`."""
        held = self._by_user.get(user_id, 0)
        if held <= 1:
            self._by_user.pop(user_id, None)
        else:
            self._by_user[user_id] = held - 1
        self._running = max(0, self._running - 1)

    @contextmanager
    def entered(self, user_id: str) -> Iterator[bool]:
        """`with gate.entered(user) as admitted:` admits (yields True) or refuses (False);
        admitted work is ended when the block exits, however it exits."""
        admitted = self.admit(user_id)
        try:
            yield admitted
        finally:
            if admitted:
                self.done(user_id)
