"""Tolerant pydantic models of the Seam objects this bot reads.

They declare only what the bot uses, keep every extra field (`extra="allow"`), and accept unknown
`error_code`/`warning_code` values, so a new Seam code or field never breaks a read.
Shapes follow Seam's API reference (Seam API reference: access codes, devices,
/api/action_attempts) and `@seamapi/types` 1.977.0.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class SeamIssue(_Tolerant):
    """One entry of an object's `errors` or `warnings` list.

    `code` holds `error_code` (errors) or `warning_code` (warnings); `kind` says which.
    `is_device_error` / `is_connected_account_error` are Seam's flags for device and account
    errors copied onto an access code. Unknown codes are kept as they are.
    """

    kind: Literal["error", "warning"]
    code: str
    message: str = ""
    is_device_error: bool = False
    is_connected_account_error: bool = False
    is_bridge_error: bool = False
    created_at: datetime | None = None

    @classmethod
    def parse_list(cls, raw: Any, kind: Literal["error", "warning"]) -> list[SeamIssue]:
        """Parse a raw `errors`/`warnings` array; malformed entries become generic issues.

        Args:
            raw: the JSON value Seam sent (normally a list of objects).
            kind: "error" reads `error_code`, "warning" reads `warning_code`.
        """
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise ValueError(f"{kind}s must be a list")
        key = "error_code" if kind == "error" else "warning_code"
        issues: list[SeamIssue] = []
        for item in raw:
            if not isinstance(item, dict):
                issues.append(cls(kind=kind, code="unknown", message=str(item)[:300]))
                continue
            code = str(item.get(key) or "unknown")
            message = str(item.get("message") or "")
            extras = {k: v for k, v in item.items() if k not in (key, "kind", "code", "message")}
            try:
                issues.append(
                    cls.model_validate({**extras, "kind": kind, "code": code, "message": message})
                )
            except ValidationError:
                issues.append(cls(kind=kind, code=code, message=message))
        return issues


class _WithIssues(_Tolerant):
    errors: list[SeamIssue] = Field(default_factory=list)
    warnings: list[SeamIssue] = Field(default_factory=list)

    @field_validator("errors", "warnings", mode="before")
    @classmethod
    def _issues(cls, value: Any, info: ValidationInfo) -> list[SeamIssue]:
        if value and isinstance(value, list) and all(isinstance(v, SeamIssue) for v in value):
            return value
        return SeamIssue.parse_list(value, "error" if info.field_name == "errors" else "warning")

    @property
    def issues(self) -> list[SeamIssue]:
        """Errors first, then warnings."""
        return [*self.errors, *self.warnings]


class AccessCode(_WithIssues):
    """A managed or unmanaged access code (`is_managed` tells which).

    Times are timezone-aware UTC datetimes or None. `code` is the PIN: never log or post it,
    use `bot.domain.text.mask_pin`.
    """

    access_code_id: str
    device_id: str
    workspace_id: str | None = None
    name: str | None = None
    code: str | None = None
    type: str = "ongoing"
    status: str | None = None
    is_managed: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    created_at: datetime | None = None
    is_backup_access_code_available: bool = False
    is_backup: bool | None = None
    pulled_backup_access_code_id: str | None = None
    is_external_modification_allowed: bool | None = None
    common_code_key: str | None = None
    pending_mutations: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> str:
        return str(value) if value else "ongoing"

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> str | None:
        return None if value is None else str(value)

    @field_validator("code", "name", mode="before")
    @classmethod
    def _stringish(cls, value: Any) -> str | None:
        return None if value is None else str(value)

    @field_validator("pending_mutations", mode="before")
    @classmethod
    def _mutations(cls, value: Any) -> list[dict[str, Any]]:
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    @field_validator("is_backup_access_code_available", "is_managed", mode="before")
    @classmethod
    def _bool(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return value if isinstance(value, bool) else bool(value) if value is not None else False

    @property
    def is_time_bound(self) -> bool:
        """True for Seam's `time_bound` type (a code with a `starts_at`/`ends_at` window)."""
        return self.type == "time_bound"


class Device(_WithIssues):
    """A Seam device (a lock). `properties` is kept whole; helpers read the parts the bot uses."""

    device_id: str
    device_type: str | None = None
    workspace_id: str | None = None
    connected_account_id: str | None = None
    display_name: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("properties", mode="before")
    @classmethod
    def _props(cls, value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        """The best human name: display_name, then properties.name, then the id."""
        for candidate in (self.display_name, self.properties.get("name")):
            if isinstance(candidate, str) and candidate.strip():
                return candidate.strip()
        return self.device_id

    @property
    def online(self) -> bool | None:
        """`properties.online`, or None when Seam did not say."""
        value = self.properties.get("online")
        return value if isinstance(value, bool) else None

    @property
    def battery_level(self) -> float | None:
        """`properties.battery_level` (0..1, Seam's last reading), or None when not reported."""
        value = self.properties.get("battery_level")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if 0 <= value <= 1 else None

    @property
    def battery_status(self) -> str | None:
        """`properties.battery.status` ("critical", "low", "good", "full"), or None."""
        battery = self.properties.get("battery")
        value = battery.get("status") if isinstance(battery, dict) else None
        return value if isinstance(value, str) and value else None

    @property
    def manufacturer(self) -> str | None:
        """`properties.manufacturer` (e.g. "august"), or None."""
        value = self.properties.get("manufacturer")
        return value if isinstance(value, str) else None


class ActionAttemptError(_Tolerant):
    """`action_attempt.error`: Seam's `{type, message}` for a failed attempt."""

    type: str = "unknown"
    message: str = ""


class ActionAttempt(_Tolerant):
    """An action attempt: `status` is `pending`, `success` or `error`."""

    action_attempt_id: str
    action_type: str | None = None
    status: str = "pending"
    result: Any = None
    error: ActionAttemptError | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _error(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else None

    @property
    def is_done(self) -> bool:
        """True once Seam has finished (success or error)."""
        return self.status in {"success", "error"}


class Pagination(_Tolerant):
    """Seam's `pagination` object; `next_page_cursor` feeds the next call's `page_cursor`."""

    has_next_page: bool = False
    next_page_cursor: str | None = None
