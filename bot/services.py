"""The long-lived objects handlers need, bundled once and injected into every Bolt context."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_bolt.context.async_context import AsyncBoltContext

from bot.catalogue import Catalogue
from bot.seam.client import SeamClient
from bot.settings import Settings
from bot.store import Store

if TYPE_CHECKING:
    from bot.alerts import AlertManager

_logger = logging.getLogger(__name__)

#: The key under which `Services` sits in each Bolt context.
CONTEXT_KEY = "services"


@dataclass
class Services:
    """Settings, the one Seam client, the catalogue and the store, shared by all handlers.

    `alerts` is the AlertManager for `ALERT_CHANNEL` (None when alerts are off); handlers use it
    to refresh an alert message in place after a button press.
    """

    settings: Settings
    seam: SeamClient
    catalogue: Catalogue
    store: Store
    alerts: AlertManager | None = None
    inflight: set[asyncio.Task[object]] = field(default_factory=set)

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Mark the current task as changing a lock, so shutdown waits for it (`drain`)."""
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        try:
            yield
        finally:
            if task is not None:
                self.inflight.discard(task)

    async def drain(self, grace: float = 10.0) -> None:
        """Wait up to `grace` seconds for remedies in flight to finish (at shutdown)."""
        pending = {t for t in self.inflight if not t.done()}
        if pending:
            _logger.info("waiting up to %.0f s for %d remedy(ies) to finish", grace, len(pending))
            await asyncio.wait(pending, timeout=grace)


def services_from(context: AsyncBoltContext) -> Services:
    """The `Services` injected by `bot.app`'s middleware. Raises KeyError if absent."""
    services = context[CONTEXT_KEY]
    if not isinstance(services, Services):
        raise KeyError(CONTEXT_KEY)
    return services
