"""Configuration: one pydantic-settings object read from the environment and an optional `.env`.

Every variable is listed in `.env.example`. A missing or malformed required setting stops start-up
with one line naming it (`SettingsError`), which `python -m bot` prints before exiting non-zero.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: `REMEDY_ALLOWED_USERS=*`: everyone may run remedies (the demo sets it).
EVERYONE = "*"
#: A Slack user id (`U…` or `W…`), as in `REMEDY_ALLOWED_USERS` and mentions.
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
#: A Slack user group id (`S…`), as `REMEDY_ALLOWED_USERS` and `ESCALATION_MENTION` take
#: (Slack's page "usergroups.users.list").
SLACK_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
#: An app-level token (`xapp-1-A0123…-1234…-<hex>`), Slack's page "Using Socket Mode".
SLACK_APP_TOKEN_SHAPE = re.compile(r"^xapp-\d+-[A-Z0-9]+-\d+-[A-Za-z0-9]+$")
_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class SettingsError(Exception):
    """A setting is missing or malformed. `str(error)` is one human-readable line naming it."""


class Settings(BaseSettings):
    """All runtime settings. Field names map to upper-case environment variables.

    Required to serve: `SLACK_BOT_TOKEN` (must start with `xoxb-`, Bolt's single-workspace bot
    token), `SLACK_SIGNING_SECRET`, `SEAM_API_KEY`. `SLACK_APP_TOKEN` (`xapp-…`) switches Slack
    traffic to Socket Mode. Times are in seconds.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr
    seam_api_key: SecretStr
    slack_app_token: SecretStr | None = None

    slack_api_url: AnyHttpUrl = AnyHttpUrl("https://slack.com/api/")
    seam_endpoint: AnyHttpUrl = AnyHttpUrl("https://connect.getseam.com")

    alert_channel: str | None = None
    alert_routes: Path | None = None
    scan_interval_seconds: float = Field(default=900.0, ge=0)
    scanner: bool = True
    alert_remind_hours: float = Field(default=24.0, gt=0)
    alert_storm_threshold: int = Field(default=20, ge=1)
    database_path: Path = Path("./seam-bot.sqlite3")
    database_url: SecretStr | None = None
    remedy_allowed_users: Annotated[frozenset[str], NoDecode] = frozenset()

    seam_webhook_secret: SecretStr | None = None
    journal_key: SecretStr | None = None
    remedy_recovery_seconds: float = Field(default=60.0, ge=2, le=3600)

    at_risk_hours: float = Field(default=24.0, gt=0, le=216)
    digest_time: str = "08:00"
    timezone: str = "UTC"
    escalation_mention: Annotated[tuple[str, ...], NoDecode] = ()

    port: int = Field(default=3000, ge=1, le=65535)
    log_level: str = "INFO"
    seam_timeout_seconds: float = Field(default=10.0, gt=0)
    #: Background work (Seam reads after an ack) one Slack user may have queued or running,
    #: and all users together; beyond either, the request is answered "busy" (issue 16).
    requests_per_user: int = Field(default=3, ge=1, le=1000)
    requests_in_flight: int = Field(default=64, ge=1, le=10000)

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (unset: SQLite at DATABASE_PATH)")
        return value

    def database_target(self) -> str | Path:
        """Where the store lives: the `DATABASE_URL` (PostgreSQL) when set, else the SQLite
        file at `DATABASE_PATH`."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.database_path

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with 'xoxb-'")
        return SecretStr(token)

    @field_validator("slack_app_token", mode="before")
    @classmethod
    def _app_token_shape(cls, value: Any) -> Any:
        """Socket Mode's app-level token (`xapp-…`, scope `connections:write`); blank = HTTP."""
        token = _optional_secret(value)
        if token is None:
            return None
        if not SLACK_APP_TOKEN_SHAPE.match(token):
            hint = " (that is the bot token)" if token.startswith("xoxb-") else ""
            raise ValueError(
                "must be an app-level token starting with 'xapp-' (Basic Information -> "
                f"App-Level Tokens, scope connections:write){hint}"
            )
        return SecretStr(token)

    @field_validator("slack_signing_secret", "seam_api_key")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value().strip()
        if not secret:
            raise ValueError("must not be empty")
        return SecretStr(secret)

    @field_validator("seam_webhook_secret", mode="before")
    @classmethod
    def _webhook_secret_shape(cls, value: Any) -> Any:
        """Svix signing secrets are `whsec_<base64>` (Seam's page "Webhooks"); blank = off."""
        text = _optional_secret(value)
        if text is None:
            return None
        body = text.removeprefix("whsec_")
        try:
            decoded = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if not text.startswith("whsec_") or not decoded:
            raise ValueError("must be the endpoint's Svix secret, whsec_ followed by base64")
        return SecretStr(text)

    @field_validator("alert_channel", "alert_routes", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _routes_need_a_default(self) -> Settings:
        """`ALERT_ROUTES` sends unmatched alerts to `ALERT_CHANNEL`, so it needs one."""
        if self.alert_routes is not None and not self.alert_channel:
            raise ValueError(
                "ALERT_ROUTES needs ALERT_CHANNEL (the channel of alerts no rule matches)"
            )
        return self

    @field_validator("remedy_allowed_users", mode="before")
    @classmethod
    def _split_users(cls, value: Any) -> Any:
        if value is None:
            return frozenset()
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        users = frozenset(value)
        if EVERYONE in users:
            return frozenset({EVERYONE})
        bad = sorted(
            u for u in users if not (SLACK_USER_ID.match(u) or SLACK_USERGROUP_ID.match(u))
        )
        if bad:
            raise ValueError(
                f"not Slack user or user group IDs (like U0123ABCD, S0123ABCD): {', '.join(bad)}"
            )
        return users

    @field_validator("digest_time", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        text = str(value).strip() if value is not None else ""
        if text.lower() in ("off", "none"):
            return "off"
        match = _CLOCK_TIME.match(text)
        if not match:
            raise ValueError("must be a 24-hour time HH:MM, like 08:00, or off")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @field_validator("timezone", mode="before")
    @classmethod
    def _iana_zone(cls, value: Any) -> Any:
        text = str(value).strip() if value is not None else ""
        if not text:
            return "UTC"
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name, like Europe/Paris or UTC") from None
        return text

    @field_validator("escalation_mention", mode="before")
    @classmethod
    def _mentions(cls, value: Any) -> Any:
        if value is None:
            return ()
        parts = value.split(",") if isinstance(value, str) else list(value)
        found = tuple(dict.fromkeys(str(p).strip() for p in parts if str(p).strip()))
        bad = [p for p in found if not (SLACK_USER_ID.match(p) or SLACK_USERGROUP_ID.match(p))]
        if bad:
            raise ValueError(f"not a Slack user group ID (S…) or user IDs (U…): {', '.join(bad)}")
        return found

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    def journal_secret(self) -> str:
        """The key the remedy journal encrypts with: `JOURNAL_KEY`, else the signing secret
        (a key is derived from it)."""
        key = self.journal_key or self.slack_signing_secret
        return key.get_secret_value()

    @property
    def remedy_allowed_groups(self) -> frozenset[str]:
        """The user group ids (`S…`) in `REMEDY_ALLOWED_USERS`, whose members may also act;
        resolved by the Slack layer (`bot.slack.permissions`), never by `may_run_remedies`."""
        return frozenset(u for u in self.remedy_allowed_users if SLACK_USERGROUP_ID.match(u))

    def escalation_mentions(self) -> str | None:
        """`ESCALATION_MENTION` as Slack mrkdwn: `<!subteam^S…>` for a user group, `<@U…>` for
        users (Slack's page "Formatting text for app surfaces", mentions); None when unset."""
        parts = [
            f"<!subteam^{m}>" if SLACK_USERGROUP_ID.match(m) else f"<@{m}>"
            for m in self.escalation_mention
        ]
        return " ".join(parts) or None

    def zone(self) -> ZoneInfo:
        """`TIMEZONE` as a `ZoneInfo` (validated at load)."""
        return ZoneInfo(self.timezone)

    def digest_clock(self) -> tuple[int, int] | None:
        """`DIGEST_TIME` as `(hour, minute)` in `TIMEZONE`; None when it is `off`."""
        if self.digest_time == "off":
            return None
        hour, _, minute = self.digest_time.partition(":")
        return int(hour), int(minute)

    def may_run_remedies(self, user_id: str) -> bool:
        """Whether a Slack user may run remedies, reveal PINs, snooze or acknowledge, by the
        plain user ids of `REMEDY_ALLOWED_USERS` (user groups need a Slack lookup:
        `bot.slack.permissions.Permissions`).

        Fails closed: an empty `REMEDY_ALLOWED_USERS` means nobody; `*` means everyone.
        """
        if EVERYONE in self.remedy_allowed_users:
            return True
        return (
            bool(user_id)
            and bool(SLACK_USER_ID.match(user_id))
            and (user_id in self.remedy_allowed_users)
        )


def _optional_secret(value: Any) -> str | None:
    """An optional secret's text, stripped; None when unset or blank."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return str(raw).strip()


def load_settings(**overrides: Any) -> Settings:
    """Build `Settings` from the environment (and `.env`), with keyword overrides for tests.

    Raises:
        SettingsError: one line naming the first missing or malformed variable(s); the secret
            values themselves are never included.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    problems: list[str] = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not err["loc"]:  # a check across settings names them itself
            problems.append(msg)
            continue
        name = str(err["loc"][0]).upper()
        if err["type"] == "missing":
            problems.append(f"{name} is required but not set")
        else:
            problems.append(f"{name} is malformed: {msg}")
    return "configuration error: " + "; ".join(problems)


def configure_logging(level: str) -> None:
    """Log to stderr: the bot's own loggers at `level`, libraries at INFO or above.

    Library DEBUG logs (slack_sdk, slack_bolt, httpx) print request and response bodies, which
    can hold door PINs; they are never enabled, whatever `LOG_LEVEL` says.
    """
    numeric = logging.getLevelName(level)
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    logging.basicConfig(
        level=max(numeric, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in ("bot", "handlers", "devtools"):
        logging.getLogger(name).setLevel(numeric)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("slack_sdk", "slack_bolt", "aiohttp", "svix"):
        if logging.getLogger(name).getEffectiveLevel() < logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)
