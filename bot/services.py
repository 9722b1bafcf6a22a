"""The long-lived objects handlers need, bundled once and injected into every Bolt context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt.context.async_context import AsyncBoltContext

from bot.catalogue import Catalogue
from bot.seam.client import SeamClient
from bot.settings import Settings
from bot.store import Store

if TYPE_CHECKING:
    from bot.alerts import AlertManager

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


def services_from(context: AsyncBoltContext) -> Services:
    """The `Services` injected by `bot.app`'s middleware. Raises KeyError if absent."""
    services = context[CONTEXT_KEY]
    if not isinstance(services, Services):
        raise KeyError(CONTEXT_KEY)
    return services
