"""Remedy catalogue: what a Seam error or warning code means, how bad it is and how to fix it.

The slash command, the alerts and the buttons all read this one module. The data lives in
``bot/domain/catalogue.toml`` (one ``[[entry]]`` per ``(code, kind)``); this module validates it and
answers lookups.

Sources of the rules:

* remedies: Seam's troubleshooting guide, "Troubleshooting access code issues";
* code lists and meanings: the Seam API reference for access code errors and warnings
  (access codes, unmanaged access codes) and device errors and warnings (devices); checked
  against the OpenAPI document of the pinned npm package ``@seamapi/types`` by the catalogue
  spec test.

Seam renames and removes codes often, so codes are an open set: :meth:`Catalogue.lookup` never
fails and returns a generic entry quoting Seam's own ``message`` for a code it does not know.

Typical use::

    entry = default_catalogue().lookup(error["error_code"], "error", message=error["message"])
    entry.title, entry.remedy, entry.actions, entry.scope, entry.severity
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "BOT_CODE_PREFIX",
    "CATALOGUE_PATH",
    "Catalogue",
    "CatalogueEntry",
    "Kind",
    "RemedyAction",
    "Scope",
    "default_catalogue",
    "load_catalogue",
]

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")

AppliesTo = Literal["access_code", "device"]

TITLE_MAX = 60
EXPLANATION_MAX = 400
REMEDY_MAX = 500
MESSAGE_MAX = 300  # Seam's message is clipped to this many characters in a generic entry
GENERIC_CODE_MAX = 200  # an unknown code longer than this is clipped on the generic entry
#: Codes of the bot's own predictive checks ("at risk", before Seam reports an error) start with
#: this and have `status = "bot"`: they are never Seam codes (Seam's codes never use it).
BOT_CODE_PREFIX = "at_risk_"

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Slack mrkdwn control characters. Catalogue text never contains them, so it is safe to post
# as-is and also survives a renderer that escapes it again.
_UNSAFE_RE = re.compile(r"[<>&]")
# Lookalikes used for Seam's own words in a generic entry (same length, never escaped).
_NEUTRAL = str.maketrans({"&": "＆", "<": "‹", ">": "›"})
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class Scope(StrEnum):
    """Where a problem lives.

    ``DEVICE`` and ``ACCOUNT`` problems are the parent cause of ``CODE`` symptoms on the same
    lock (Seam copies device and connected-account errors onto every code of the lock, flagged
    ``is_device_error`` / ``is_connected_account_error``); the alerting groups and suppresses
    children with this.
    """

    CODE = "code"
    DEVICE = "device"
    ACCOUNT = "account"


class Kind(StrEnum):
    """Which Seam list a code comes from: ``errors`` (``error_code``) or ``warnings``."""

    ERROR = "error"
    WARNING = "warning"


class RemedyAction(StrEnum):
    """Identifiers of the fixes a button can offer; the handlers map each to a Seam call."""

    UPDATE_PIN = "update_pin"
    CONVERT_UNMANAGED = "convert_unmanaged"  # convert the unmanaged duplicate to managed
    DELETE_UNMANAGED = "delete_unmanaged"  # delete the unmanaged duplicate
    DELETE_AND_RECREATE = "delete_and_recreate"
    PULL_BACKUP = "pull_backup"
    FREE_SLOT = "free_slot"
    REMOVE_BACKUP = "remove_backup"  # remove a pulled backup code once the original works
    RECHECK = "recheck"
    CHECK_DEVICE = "check_device"  # check the device / account connection
    CONTACT_SUPPORT = "contact_support"


class CatalogueEntry(BaseModel):
    """One catalogued ``(code, kind)``: plain-language text, severity, scope and button actions.

    Shape (frozen, hashable)::

        code: str                 Seam's error_code / warning_code
        kind: Kind                error | warning
        title: str                plain text, 1..60 chars
        explanation: str          plain language, mrkdwn-safe, 1..400 chars
        remedy: str               our own words, faithful to Seam's guide, mrkdwn-safe, 1..500
        scope: Scope              code | device | account (same for every kind of one code)
        blocking: bool            True: the code will not (or may not) work as booked
        actions: tuple[RemedyAction, ...]   non-empty, no repeats, most recommended first
        related: tuple[str, ...]  other catalogued codes; legacy -> current equivalent first
        explains: tuple[str, ...] device/account errors: the code-level problems they cause
                                  (folded into the lock's alert while this is active)
        status: "current" | "legacy" | "bot"  per seam-codes.json (current = newest Seam API);
                                  "bot": the bot's own predictive check (code `at_risk_…`)
        applies_to: frozenset of "access_code" / "device" (where Seam puts the code)
        is_generic: bool          True only for the fallback built for an unknown code

    Text is mrkdwn-safe: it never contains ``<``, ``>`` or ``&``, so it can be posted as-is
    (escaping it again is harmless).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    kind: Kind
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    explanation: str = Field(min_length=1, max_length=EXPLANATION_MAX)
    remedy: str = Field(min_length=1, max_length=REMEDY_MAX)
    scope: Scope
    blocking: bool
    actions: tuple[RemedyAction, ...] = Field(min_length=1)
    related: tuple[str, ...] = ()
    explains: tuple[str, ...] = ()
    status: Literal["current", "legacy", "bot"]
    applies_to: frozenset[AppliesTo] = Field(min_length=1)
    is_generic: bool = False

    @field_validator("title", "explanation", "remedy", mode="before")
    @classmethod
    def _fold_whitespace(cls, value: Any) -> Any:
        # TOML prose is wrapped over several lines; fold it into one paragraph.
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("title", "explanation", "remedy")
    @classmethod
    def _mrkdwn_safe(cls, value: str) -> str:
        if _UNSAFE_RE.search(value):
            raise ValueError("must not contain '<', '>' or '&' (Slack mrkdwn control chars)")
        return value

    @field_validator("actions")
    @classmethod
    def _no_repeated_actions(cls, value: tuple[RemedyAction, ...]) -> tuple[RemedyAction, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"actions repeat an item: {[a.value for a in value]}")
        return value

    @property
    def severity(self) -> str:
        """Human label such as ``"error (blocking)"`` or ``"warning (informational)"``."""
        return f"{self.kind.value} ({'blocking' if self.blocking else 'informational'})"

    @property
    def is_parent_cause(self) -> bool:
        """True for device- and account-level problems, the parents of code-level symptoms."""
        return self.scope is not Scope.CODE

    @property
    def is_bot_check(self) -> bool:
        """True for the bot's own predictive checks (`at_risk_…`, status "bot"), not Seam's."""
        return self.status == "bot"

    @model_validator(mode="after")
    def _bot_codes_are_marked(self) -> CatalogueEntry:
        if self.is_generic:
            return self  # an unknown code Seam sent is quoted as it is
        if (self.status == "bot") != self.code.startswith(BOT_CODE_PREFIX):
            raise ValueError(
                f"status 'bot' and the code prefix {BOT_CODE_PREFIX!r} go together (the bot's "
                "own checks only)"
            )
        return self

    @model_validator(mode="after")
    def _explains_only_on_parents(self) -> CatalogueEntry:
        if self.explains and (self.scope is Scope.CODE or self.kind is not Kind.ERROR):
            raise ValueError("explains: only device- or account-level errors explain problems")
        if len(set(self.explains)) != len(self.explains):
            raise ValueError("explains repeats a code")
        return self


def _coerce_kind(kind: Kind | str) -> Kind | None:
    if isinstance(kind, Kind):
        return kind
    if not isinstance(kind, str):
        return None
    norm = kind.strip().lower()
    if norm in ("error", "errors"):
        return Kind.ERROR
    if norm in ("warning", "warnings"):
        return Kind.WARNING
    return None


def _coerce_scope(scope: Scope | str | None) -> Scope | None:
    if scope is None or isinstance(scope, Scope):
        return scope
    try:
        return Scope(str(scope).strip().lower())
    except ValueError:
        return None


def _clean(text: str) -> str:
    """Make arbitrary input safe to hold: no lone surrogates, no control chars, one line."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return " ".join(_CONTROL_RE.sub(" ", text).split())


def _quote(text: str, limit: int) -> str:
    """``text`` with ``&<>`` swapped for lookalikes, cut to ``limit`` chars with an ellipsis."""
    text = text.translate(_NEUTRAL)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Catalogue:
    """A validated, immutable set of entries keyed by ``(code, kind)``.

    Invariants (checked here, so a hand-built catalogue is held to the same rules as the file):
    no duplicate ``(code, kind)``; one scope per code across kinds; every ``related`` code is
    catalogued and is not the code itself; every ``explains`` code is a catalogued code-level
    problem; no entry is generic. Violations raise ``ValueError``.
    """

    def __init__(self, entries: Iterable[CatalogueEntry]) -> None:
        self._entries: dict[tuple[str, Kind], CatalogueEntry] = {}
        scopes: dict[str, CatalogueEntry] = {}
        for entry in entries:
            key = (entry.code, entry.kind)
            if entry.is_generic:
                raise ValueError(f"entry {key} is marked is_generic; only lookup() builds those")
            if not _CODE_RE.match(entry.code):
                raise ValueError(f"entry code {entry.code!r} is not a lower_snake_case Seam code")
            if key in self._entries:
                raise ValueError(f"duplicate entry for ({entry.code!r}, {entry.kind.value!r})")
            first = scopes.setdefault(entry.code, entry)
            if first.scope is not entry.scope:
                raise ValueError(
                    f"scope contradiction for code {entry.code!r}: {first.kind.value} entry says "
                    f"{first.scope.value!r}, {entry.kind.value} entry says {entry.scope.value!r}"
                )
            self._entries[key] = entry
        for entry in self._entries.values():
            for other in entry.related:
                if other == entry.code or other not in scopes:
                    raise ValueError(
                        f"entry ({entry.code!r}, {entry.kind.value!r}) has related code "
                        f"{other!r}, which is itself or not catalogued"
                    )
            for symptom in entry.explains:
                if symptom not in scopes or scopes[symptom].scope is not Scope.CODE:
                    raise ValueError(
                        f"entry ({entry.code!r}, {entry.kind.value!r}) explains {symptom!r}, "
                        "which is not a catalogued code-level problem"
                    )
        self._scopes = {code: entry.scope for code, entry in scopes.items()}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, code: str, kind: Kind | str) -> CatalogueEntry | None:
        """The entry for ``(code, kind)``, or None if not catalogued (or ``kind`` is not
        ``"error"``/``"warning"``; the plurals are accepted too)."""
        kind_ = _coerce_kind(kind)
        if kind_ is None or not isinstance(code, str):
            return None
        return self._entries.get((code.strip(), kind_))

    def lookup(
        self,
        code: str,
        kind: Kind | str,
        *,
        message: str | None = None,
        scope: Scope | str | None = None,
    ) -> CatalogueEntry:
        """The entry for ``(code, kind)``; for an unknown pair, a generic entry. Never raises.

        The generic entry has ``is_generic=True`` and ``status="current"``. Its explanation
        quotes Seam's ``message`` (whitespace folded, clipped to ~300 characters, ``& < >``
        swapped for the lookalikes ``＆ ‹ ›`` so it stays mrkdwn-safe even if escaped again) or
        says Seam gave no details. Its scope is ``scope`` if given, else the scope the catalogue
        knows for the same code under the other kind, else ``CODE``. It is blocking for errors
        and informational for warnings, with actions ``(RECHECK, CONTACT_SUPPORT)``. An
        unrecognized ``kind`` is treated as an error, the cautious reading. A known entry is
        returned unchanged: show Seam's ``message`` beside it (it matters for provider_issue).
        """
        found = self.get(code, kind)
        if found is not None:
            return found
        kind_ = _coerce_kind(kind) or Kind.ERROR
        raw_code = _clean(code if isinstance(code, str) else str(code))
        scope_ = _coerce_scope(scope) or self._scopes.get(raw_code) or Scope.CODE
        return _generic_entry(raw_code, kind_, scope_, message)

    def entries(self) -> list[CatalogueEntry]:
        """Every entry, in file order."""
        return list(self._entries.values())

    def codes(self, kind: Kind | str | None = None) -> set[str]:
        """Catalogued codes, optionally only those of one kind (an unknown kind gives none)."""
        if kind is None:
            return {code for code, _ in self._entries}
        kind_ = _coerce_kind(kind)
        return {code for code, k in self._entries if k is kind_}


def _generic_entry(code: str, kind: Kind, scope: Scope, message: str | None) -> CatalogueEntry:
    code = code[:GENERIC_CODE_MAX]
    label = "error" if kind is Kind.ERROR else "warning"
    shown = re.sub(r"[^\w.\-]", "", code)
    prefix = f"Unrecognized Seam {label}"
    title_room = TITLE_MAX - len(prefix) - 2
    title = f"{prefix}: {_quote(shown, title_room)}"
    if not shown:
        title = prefix
    code_part = _quote(code, 40)
    head = (
        f"Seam reported the {label} code “{code_part}”, which this bot does not know yet."
        if code
        else f"Seam reported a {label} without a code."
    )
    text = _clean(message) if isinstance(message, str) else ""
    if text:
        message_room = min(MESSAGE_MAX, EXPLANATION_MAX - len(head) - len(" Seam says: “”"))
        explanation = f"{head} Seam says: “{_quote(text, message_room)}”"
    else:
        explanation = f"{head} Seam gave no details."
    if kind is Kind.ERROR:
        remedy = (
            "Re-check in a few minutes. If the problem is still there, or the guest arrives "
            "soon, contact Seam support with the prefilled summary and make sure the guest has "
            "a working way in."
        )
    else:
        remedy = (
            "Usually nothing to do right away. Re-check later, and contact Seam support if it "
            "stays or codes on this lock start failing."
        )
    return CatalogueEntry(
        code=code,
        kind=kind,
        title=title,
        explanation=explanation,
        remedy=remedy,
        scope=scope,
        blocking=kind is Kind.ERROR,
        actions=(RemedyAction.RECHECK, RemedyAction.CONTACT_SUPPORT),
        status="current",
        applies_to=frozenset({"access_code"} if scope is Scope.CODE else {"access_code", "device"}),
        is_generic=True,
    )


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue TOML file (default: the packaged ``catalogue.toml``).

    The file holds ``[[entry]]`` tables with the :class:`CatalogueEntry` fields. Raises
    ``ValueError`` naming the file and entry for bad TOML, unknown fields or actions, bad
    lengths or characters, duplicate ``(code, kind)``, scope contradictions or dangling
    ``related`` codes.
    """
    path = CATALOGUE_PATH if path is None else Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from exc
    extra = set(data) - {"entry"}
    if extra:
        raise ValueError(f"{path}: unexpected top-level keys {sorted(extra)}; only [[entry]]")
    raw_entries = data.get("entry")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise ValueError(f"{path}: no [[entry]] tables found")
    known = {a.value for a in RemedyAction}
    entries: list[CatalogueEntry] = []
    for number, raw in enumerate(raw_entries, start=1):
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: entry #{number} is not a table")
        where = f"{path}: entry #{number} ({raw.get('code')!r}, {raw.get('kind')!r})"
        actions = raw.get("actions")
        unknown = [a for a in actions if a not in known] if isinstance(actions, list) else []
        if unknown:
            raise ValueError(f"{where}: unknown action(s) {unknown}; known: {sorted(known)}")
        try:
            entries.append(CatalogueEntry.model_validate(raw))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ValueError(f"{where}: {problems}") from exc
    try:
        return Catalogue(entries)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


@functools.cache
def default_catalogue() -> Catalogue:
    """The packaged catalogue, loaded and validated once per process."""
    return load_catalogue()
