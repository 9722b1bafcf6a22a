"""Secrets at rest for the remedy journal: what is needed to finish or undo a remedy (a new PIN,
a deleted code's name, PIN and schedule) is encrypted before it is written, and erased once the
remedy is finished.

Encryption is Fernet (AES-128-CBC with HMAC-SHA256, `cryptography`), with `JOURNAL_KEY` when set
(a Fernet key), else a key derived from `SLACK_SIGNING_SECRET` with HKDF-SHA256, so nothing new
has to be configured and the key never sits next to the database.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SecretBox"]

_INFO = b"seam-code-doctor remedy journal v1"


class SecretBox:
    """Seals and opens small JSON objects. `key` is a Fernet key, or any secret to derive one
    from (HKDF-SHA256)."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError:
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
                key.encode()
            )
            self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, data: dict[str, Any]) -> str | None:
        """The encrypted text of `data` (None for an empty dict: nothing secret to keep)."""
        if not data:
            return None
        return self._fernet.encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()

    def open(self, token: str | None) -> dict[str, Any]:
        """The data sealed in `token` ({} when None, or unreadable with this key)."""
        if not token:
            return {}
        try:
            value = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            return {}
        return value if isinstance(value, dict) else {}
