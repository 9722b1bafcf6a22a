"""Checking a new door PIN before Seam is asked to set it.

Rules, in order (Seam's access codes guide, "Access code constraints", and the device's
`properties.code_constraints`):

1. digits only;
2. a length the device supports: `properties.supported_code_lengths` when present, otherwise
   Seam's API rule of 4 to 12 digits;
3. each `properties.code_constraints[].constraint_type` the device reports;
4. not the PIN of another managed or unmanaged code on the same device;
5. not easy to guess: one digit repeated (1111), a straight run (1234, 9876), or a repeated
   pair (1212): the first PINs anyone tries at a door.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.seam.models import AccessCode, Device

#: Seam's API-wide PIN length rule when a device reports nothing narrower.
DEFAULT_LENGTHS = range(4, 13)


def supported_lengths(device: Device | None) -> list[int]:
    """The PIN lengths `device` accepts (sorted), falling back to 4–12."""
    raw = device.properties.get("supported_code_lengths") if device else None
    if isinstance(raw, list):
        lengths = sorted({n for n in raw if isinstance(n, int) and 1 <= n <= 20})
        if lengths:
            return lengths
    return list(DEFAULT_LENGTHS)


def _constraints(device: Device | None) -> set[str]:
    raw: Any = device.properties.get("code_constraints") if device else None
    if not isinstance(raw, list):
        return set()
    return {str(c.get("constraint_type")) for c in raw if isinstance(c, dict)}


def _has_run(pin: str, length: int, step: int) -> bool:
    digits = [int(c) for c in pin]
    return any(
        all(digits[i + k + 1] - digits[i + k] == step for k in range(length - 1))
        for i in range(len(digits) - length + 1)
    )


def _length_text(lengths: list[int]) -> str:
    if lengths == list(range(lengths[0], lengths[-1] + 1)) and len(lengths) > 2:
        return f"{lengths[0]} to {lengths[-1]} digits"
    return " or ".join(str(n) for n in lengths) + " digits"


def check_digits(pin: str) -> str | None:
    """The checks that need no Seam data: not empty, digits only, at most 12 (Seam's maximum)."""
    pin = pin.strip()
    if not pin:
        return "Enter a PIN."
    if not pin.isascii() or not pin.isdigit():
        return "Use digits only (0–9)."
    if len(pin) > max(DEFAULT_LENGTHS):
        return f"Seam accepts at most {max(DEFAULT_LENGTHS)} digits."
    return None


def check_pin(
    pin: str,
    device: Device | None,
    others: Iterable[AccessCode] = (),
    *,
    current: AccessCode | None = None,
) -> str | None:
    """Why `pin` cannot be used on `device`, as one sentence for the modal, or None if it can.

    Args:
        pin: the PIN typed by the user (surrounding spaces are ignored).
        device: the device, for its supported lengths and code constraints (None: Seam's rules).
        others: the device's managed and unmanaged codes (PINs are compared, never shown).
        current: the code being changed (excluded from the duplicate check).
    """
    pin = pin.strip()
    if not pin:
        return "Enter a PIN."
    if not pin.isascii() or not pin.isdigit():
        return "Use digits only (0–9)."
    lengths = supported_lengths(device)
    if len(pin) not in lengths:
        return f"This lock takes PINs of {_length_text(lengths)}."
    rules = _constraints(device)
    if "cannot_specify_pin_code" in rules:
        return "This lock picks its own PINs; leave it to Seam or use a backup code."
    if "no_zeros" in rules and "0" in pin:
        return "This lock does not allow the digit 0."
    if "cannot_start_with_12" in rules and pin.startswith("12"):
        return "This lock does not allow PINs starting with 12."
    if "no_triple_consecutive_ints" in rules and (_has_run(pin, 3, 1) or _has_run(pin, 3, -1)):
        return "This lock does not allow three consecutive digits in a row (like 123)."
    if "no_ascending_or_descending_sequence" in rules and (
        _has_run(pin, len(pin), 1) or _has_run(pin, len(pin), -1)
    ):
        return "This lock does not allow an ascending or descending sequence."
    if "at_least_three_unique_digits" in rules and len(set(pin)) < 3:
        return "Use at least three different digits."
    if "no_all_same_digits" in rules and len(set(pin)) == 1:
        return "Do not repeat one digit only."
    if "cannot_contain_089" in rules and any(d in pin for d in "089"):
        return "This lock does not allow the digits 0, 8 or 9."
    if "cannot_contain_0789" in rules and any(d in pin for d in "0789"):
        return "This lock does not allow the digits 0, 7, 8 or 9."
    easy = easy_pin(pin)
    if easy:
        return easy
    if current is not None and current.code == pin:
        return "That is already this code's PIN."
    current_id = current.access_code_id if current else None
    for other in others:
        if other.access_code_id == current_id or not other.code:
            continue
        if other.code == pin:
            return "Another code on this lock already uses that PIN; choose a different one."
        if "unique_first_four_digits" in rules and other.code[:4] == pin[:4]:
            return "Another code on this lock starts with the same four digits."
    return None


def easy_pin(pin: str) -> str | None:
    """Why `pin` is easy to guess (one sentence for the modal), or None.

    One digit repeated (1111), a straight run up or down (1234, 9876), or a pair repeated
    (1212): the first PINs anyone tries at a door.
    """
    if not pin.isdigit() or len(pin) < 4:
        return None
    if len(set(pin)) == 1:
        return f"{pin} repeats one digit, the first thing anyone tries. Choose another PIN."
    if _has_run(pin, len(pin), 1) or _has_run(pin, len(pin), -1):
        return f"{pin} is a straight run of digits, easy to guess. Choose another PIN."
    if len(pin) % 2 == 0 and pin == pin[:2] * (len(pin) // 2):
        return f"{pin} repeats a pair of digits, easy to guess. Choose another PIN."
    return None


#: How each Seam code constraint reads in the Update PIN modal.
_RULE_TEXT = {
    "no_zeros": "no 0",
    "cannot_start_with_12": "must not start with 12",
    "no_triple_consecutive_ints": "no three consecutive digits (like 123)",
    "no_ascending_or_descending_sequence": "not an ascending or descending sequence",
    "at_least_three_unique_digits": "at least three different digits",
    "no_all_same_digits": "not one digit repeated",
    "cannot_contain_089": "no 0, 8 or 9",
    "cannot_contain_0789": "no 0, 7, 8 or 9",
    "unique_first_four_digits": "first four digits unlike any other code on the lock",
    "cannot_specify_pin_code": "the lock picks its own PINs",
}


def describe_rules(device: Device | None) -> list[str]:
    """The lock's own PIN rules in plain words, lengths first (for the Update PIN modal)."""
    rules = [f"{_length_text(supported_lengths(device))}"]
    rules += [_RULE_TEXT[c] for c in sorted(_constraints(device)) if c in _RULE_TEXT]
    rules.append("not a PIN another code on this lock uses")
    return rules
