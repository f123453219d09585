"""Engine settings: defaults < optional TOML file < environment variables.

The TOML file is named by ``--config`` or ``IVR_CONFIG``. Every key can be set from the
environment as ``IVR_<SECTION>_<KEY>`` (e.g. ``IVR_ARI_URL``) or ``IVR_<KEY>`` for top-level
keys; ``DATABASE_URL`` sets ``database_url``. Values are validated once, at start, and a bad
value stops the engine with a message naming the key and where it came from.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr_engine.errors import ConfigError
from ivr_engine.sms.config import SmsSettings, validate_sms


def default_data_dir() -> Path:
    """The per-user data directory (XDG), where the embedded Postgres lives."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ivr-engine"


@dataclass(frozen=True)
class AriSettings:
    """Where the engine finds Asterisk's REST Interface. An empty url means: start the simulator."""

    url: str = ""
    user: str = "ivr"
    password: str = "ivr-secret"
    app: str = "ivr-engine"
    trunk: str = "carrier"
    # Requests Asterisk answers at once go over the events WebSocket (Asterisk 22.4+; an
    # older one is detected at connect and HTTP is used).
    rest_over_websocket: bool = True


@dataclass(frozen=True)
class AmiSettings:
    """Asterisk Manager Interface connection."""

    host: str = ""
    port: int = 5038
    user: str = "ivr"
    secret: str = "ivr-secret"
    # Ask Asterisk for only the events the engine handles (eventmask + Filter after login).
    event_filter: bool = True


@dataclass(frozen=True)
class AgiSettings:
    """FastAGI listener."""

    host: str = "127.0.0.1"
    port: int = 4573


@dataclass(frozen=True)
class PromptSettings:
    """Prompt building: where sounds go and which TTS voice is used."""

    sounds_dir: str = "sounds"
    engine: str = "espeak"  # espeak | gtts
    voice: str = "ko"
    gtts_enabled: bool = False


@dataclass(frozen=True)
class Settings:
    """All settings of one engine process."""

    database_url: str = ""
    data_dir: str = field(default_factory=lambda: str(default_data_dir()))
    timezone: str = "Asia/Seoul"
    node: str = field(default_factory=socket.gethostname)
    log_level: str = "INFO"
    event_loop: str = "uvloop"  # or asyncio
    config_file: str = "deploy/sample-config.yaml"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    metrics_per_number: bool = False  # a series per virtual number (bounded by the cap)
    metrics_number_cap: int = 100  # numbers beyond it are counted as "other"
    metrics_tenant_cap: int = 500
    ari: AriSettings = field(default_factory=AriSettings)
    ami: AmiSettings = field(default_factory=AmiSettings)
    agi: AgiSettings = field(default_factory=AgiSettings)
    prompts: PromptSettings = field(default_factory=PromptSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)

    @property
    def tz(self) -> ZoneInfo:
        """The default time zone as a ZoneInfo."""
        return ZoneInfo(self.timezone)


_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


def _coerce(value: Any, target: type, where: str) -> Any:
    """Convert a TOML or environment value to the field's type, or raise ConfigError."""
    if target is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if target is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if target is str:
        if isinstance(value, dict | list):
            raise ConfigError(f"{where}: expected a string, got {type(value).__name__}")
        return str(value)
    raise ConfigError(f"{where}: unsupported type {target!r}")  # pragma: no cover


def _build(
    cls: type, values: Mapping[str, Any], env: Mapping[str, str], prefix: str, source: str
) -> Any:
    """Build one settings dataclass from file values, then environment overrides."""
    kwargs: dict[str, Any] = {}
    known = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in values:
        if key not in known:
            raise ConfigError(f"{source}: unknown setting {prefix.lower()}{key!r}")
    for name in known:
        ftype = hints[name]
        if dataclasses.is_dataclass(ftype):
            sub = values.get(name, {})
            if not isinstance(sub, Mapping):
                raise ConfigError(f"{source}: [{name}] must be a table")
            assert isinstance(ftype, type)  # a dataclass field's type, not an instance
            kwargs[name] = _build(ftype, sub, env, f"{prefix}{name.upper()}_", source)
            continue
        if name in values:
            kwargs[name] = _coerce(values[name], ftype, f"{source}: {prefix.lower()}{name}")
        env_key = f"IVR_{prefix}{name.upper()}"
        if env_key in env:
            kwargs[name] = _coerce(env[env_key], ftype, f"environment {env_key}")
    return cls(**kwargs)


def validate(settings: Settings) -> Settings:
    """Check values that mean more than their type; raise ConfigError on the first bad one."""
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone: unknown time zone {settings.timezone!r}") from None
    if settings.event_loop not in ("uvloop", "asyncio"):
        raise ConfigError("event_loop: expected uvloop or asyncio")
    if settings.log_level.upper() not in _LOG_LEVELS:
        raise ConfigError(f"log_level: expected one of {sorted(_LOG_LEVELS)}")
    for name, port in (
        ("http_port", settings.http_port),
        ("ami.port", settings.ami.port),
        ("agi.port", settings.agi.port),
    ):
        if not 0 <= port <= 65535:
            raise ConfigError(f"{name}: {port} is not a TCP port")
    if settings.metrics_number_cap < 0 or settings.metrics_tenant_cap < 0:
        raise ConfigError("metrics_number_cap and metrics_tenant_cap must be 0 or more")
    if settings.database_url and not settings.database_url.startswith(
        ("postgres://", "postgresql://")
    ):
        raise ConfigError("database_url: must start with postgresql://")
    if settings.ari.url and not settings.ari.url.startswith(("http://", "https://")):
        raise ConfigError("ari.url: must be an http(s) URL such as http://127.0.0.1:8088/ari")
    if settings.prompts.engine not in {"espeak", "gtts"}:
        raise ConfigError("prompts.engine: expected espeak or gtts")
    validate_sms(settings.sms)
    return settings


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read settings: defaults, then the TOML file (if any), then the environment."""
    env = os.environ if env is None else env
    path = path or env.get("IVR_CONFIG") or None
    values: dict[str, Any] = {}
    source = "defaults"
    if path:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                values = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{path}: settings file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    settings = _build(Settings, values, env, "", source)
    if "DATABASE_URL" in env:
        settings = dataclasses.replace(settings, database_url=env["DATABASE_URL"])
    return validate(settings)
