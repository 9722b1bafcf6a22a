"""Seam's access-code `status` in plain words, with Seam's own term kept for small print.

Seam's lifecycle of a managed code is `unset` -> `setting` -> `set` -> `removing` -> deleted;
`unknown` means Seam cannot verify the code (for example while its account is disconnected).
Unmanaged codes are only `set` or `unset` (active on the lock or not). Sources: the Seam API
reference, "Access codes" (the `status` field and the access code lifecycle) and "Unmanaged
access codes". Seam may add statuses: any other value is shown as one the bot does not know,
never guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StatusWords", "status_words"]

#: Plain words for each documented status of a managed code.
_MANAGED = {
    "unset": "not on the lock yet",
    "setting": "being programmed",
    "set": "on the lock",
    "removing": "being removed",
    "unknown": "Seam cannot confirm it",
}
#: Unmanaged codes were put on the lock outside Seam: `unset` means not active, not "yet".
_UNMANAGED = {**_MANAGED, "unset": "not active on the lock"}


@dataclass(frozen=True)
class StatusWords:
    """A code's status for people: `plain` ("on the lock") and Seam's own `term` ("set").

    `term` is Seam's value verbatim (escape it before display); "none" when Seam sent no status.
    `known` is False for a value Seam has not documented.
    """

    plain: str
    term: str
    known: bool = True

    @property
    def sentence(self) -> str:
        """`plain` with a capital first letter ("On the lock"), for a field of its own."""
        return self.plain[:1].upper() + self.plain[1:]


def status_words(status: str | None, *, managed: bool = True) -> StatusWords:
    """Seam's `status` of an access code in plain words.

    Args:
        status: the code's `status` as Seam sent it (any string), or None when absent.
        managed: False for an unmanaged code (created outside Seam).

    Returns:
        `StatusWords`; an undocumented value gets "a status this bot does not know" with
        `known=False`, and a missing one "not reported by Seam" with the term "none".
    """
    if status is None or not status.strip():
        return StatusWords("not reported by Seam", "none", known=False)
    words = (_MANAGED if managed else _UNMANAGED).get(status.strip().lower())
    if words is None:
        return StatusWords("a status this bot does not know", status.strip(), known=False)
    return StatusWords(words, status.strip())
