"""The registry of remedies: one line per remedy, in the order their buttons appear.

Adding a remedy is one module in `bot/remedies/` defining an object that satisfies
`bot.remedies.base.Remedy`, plus one line in `REMEDIES` below. Buttons, modals, the permission
check, claims, audit and outcome reports come from the shared runner and the Slack layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from bot.remedies import backup, duplicate, free_slot, recreate, remove_backup, update_pin
from bot.remedies.base import Remedy

_KEY = re.compile(r"^[a-z][a-z_]*$")


class Registry(Mapping[str, Remedy]):
    """Remedies by key, in registration order. Read-only except through `register`.

    Raises:
        ValueError: `register` of a key already present, or a key that is not `[a-z_]+`.
    """

    def __init__(self, remedies: tuple[Remedy, ...]) -> None:
        self._by_key: dict[str, Remedy] = {}
        for remedy in remedies:
            self.register(remedy)

    def register(self, remedy: Remedy) -> None:
        """Add a remedy (its `key` must be new and look like `update_pin`)."""
        key = remedy.key
        if not _KEY.match(key):
            raise ValueError(f"remedy key {key!r} must be lower-case letters and underscores")
        if key in self._by_key:
            raise ValueError(f"remedy {key!r} is registered twice")
        self._by_key[key] = remedy

    def unregister(self, key: str) -> None:
        """Remove a remedy (tests that register a throwaway one)."""
        self._by_key.pop(key, None)

    def __getitem__(self, key: str) -> Remedy:
        return self._by_key[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)


REMEDIES = Registry(
    (
        update_pin.REMEDY,
        duplicate.CONVERT,
        duplicate.DELETE,
        recreate.REMEDY,
        backup.REMEDY,
        free_slot.REMEDY,
        remove_backup.REMEDY,
    )
)
