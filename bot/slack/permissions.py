"""Who may act: `REMEDY_ALLOWED_USERS` with Slack user groups (`S…`) resolved through Slack.

`Permissions.check(user_id)` answers for every button and submission that changes a lock,
reveals a PIN, snoozes or acknowledges (`bot.slack.middleware.requires_permission`):

* `*` and plain user ids are decided by the settings (`Settings.may_run_remedies`), with no
  Slack call;
* otherwise the members of each listed user group are read with `usergroups.users.list`
  (Slack's page "usergroups.users.list"; scope `usergroups:read`) and kept for `ttl` seconds
  (default 300), so a burst of clicks costs one lookup per group;
* a lookup that fails (an error such as `missing_scope` or `no_such_subteam`, a 429, a
  timeout after `timeout` seconds) refuses: fail closed, with a message saying the check could
  not be made. A failed lookup is not cached: the next click asks Slack again.

The lookup uses a client that never waits out a 429 (`one_shot_client`), and is bounded by
`timeout` (default 2 s) so a submission is still acked within Slack's 3 seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.slack.client import one_shot_client

logger = logging.getLogger(__name__)

__all__ = ["GROUP_CACHE_SECONDS", "LOOKUP_TIMEOUT_SECONDS", "Permission", "Permissions"]

#: Seconds a user group's members are trusted before they are read again.
GROUP_CACHE_SECONDS = 300.0
#: Seconds one `usergroups.users.list` may take before the check fails closed.
LOOKUP_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Permission:
    """The answer for one user.

    Attributes:
        verdict: "allowed"; "refused" (not listed, not in any listed group); "unavailable"
            (a user group could not be read: refused, fail closed).
        reason: for "unavailable", what went wrong ("missing_scope", "timed out"...), for logs
            and the reply.
    """

    verdict: Literal["allowed", "refused", "unavailable"]
    reason: str = ""

    @property
    def allowed(self) -> bool:
        """True only for "allowed"."""
        return self.verdict == "allowed"


class Permissions:
    """`REMEDY_ALLOWED_USERS` checks with user groups, one per process (built by the app).

    Args:
        settings: `REMEDY_ALLOWED_USERS` (plain ids, `*`, `S…` groups).
        client: the bot's Web API client (its token and base URL are used).
        ttl: seconds a group's members are cached (monotonic clock).
        timeout: seconds one lookup may take.
        monotonic: the clock (tests).
    """

    def __init__(
        self,
        settings: Settings,
        client: AsyncWebClient,
        *,
        ttl: float = GROUP_CACHE_SECONDS,
        timeout: float = LOOKUP_TIMEOUT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.client = one_shot_client(client)
        self.ttl = ttl
        self.timeout = timeout
        self._monotonic = monotonic
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def check(self, user_id: str) -> Permission:
        """Whether `user_id` may run remedies, reveal PINs, snooze or acknowledge.

        Never raises: a Slack failure is `Permission("unavailable", reason)`.
        """
        if self.settings.may_run_remedies(user_id):
            return Permission("allowed")
        groups = sorted(self.settings.remedy_allowed_groups)
        if not user_id or not groups:
            return Permission("refused")
        # All groups at once, so several groups still fit in one `timeout`.
        answers = await asyncio.gather(
            *(self._members_of(group) for group in groups), return_exceptions=True
        )
        failures: list[str] = []
        for group, answer in zip(groups, answers, strict=True):
            if isinstance(answer, _LookupFailed):
                failures.append(f"{group}: {answer.reason}")
            elif isinstance(answer, BaseException):
                raise answer
            elif user_id in answer:
                return Permission("allowed")
        if failures:
            logger.warning(
                "could not check user group membership for %s (%s): refused",
                user_id,
                "; ".join(failures),
            )
            return Permission("unavailable", "; ".join(failures))
        return Permission("refused")

    async def _members_of(self, group: str) -> frozenset[str]:
        """The group's members, from the cache while fresh, else from Slack.

        Raises:
            _LookupFailed: Slack could not say.
        """
        async with self._locks.setdefault(group, asyncio.Lock()):
            cached = self._members.get(group)
            now = self._monotonic()
            if cached is not None and now - cached[0] < self.ttl:
                return cached[1]
            try:
                response = await asyncio.wait_for(
                    self.client.usergroups_users_list(usergroup=group), self.timeout
                )
            except SlackApiError as exc:
                raise _LookupFailed(str(exc.response.get("error") or "error")) from None
            except TimeoutError:
                raise _LookupFailed(f"timed out after {self.timeout:g} s") from None
            except Exception as exc:  # transport errors
                raise _LookupFailed(type(exc).__name__) from None
            users = response.get("users")
            if not isinstance(users, list):
                raise _LookupFailed("no users in the answer")
            members = frozenset(u for u in users if isinstance(u, str))
            self._members[group] = (self._monotonic(), members)
            return members


class _LookupFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
