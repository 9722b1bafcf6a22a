"""The long-lived objects handlers need, bundled once and injected into every Bolt context."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.context.async_context import AsyncBoltContext

from bot.catalogue import Catalogue
from bot.seam.client import SeamClient
from bot.settings import Settings
from bot.store import Store

#: The key under which `Services` sits in each Bolt context.
CONTEXT_KEY = "services"


@dataclass
class Services:
    """Settings, the one Seam client, the catalogue and the store, shared by all handlers."""

    settings: Settings
    seam: SeamClient
    catalogue: Catalogue
    store: Store


def services_from(context: AsyncBoltContext) -> Services:
    """The `Services` injected by `bot.app`'s middleware. Raises KeyError if absent."""
    services = context[CONTEXT_KEY]
    if not isinstance(services, Services):
        raise KeyError(CONTEXT_KEY)
    return services
