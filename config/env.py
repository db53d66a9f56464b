"""Reading configuration from the environment.

Every variable is parsed and validated here, once, at start-up. A missing or malformed value
raises `ConfigError` whose message is one line naming the variable and never echoing its value
(it may be a secret or carry a password)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ImproperlyConfigured):
    """A configuration variable is missing or malformed (the message names it)."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a KEY=VALUE file (the one `./spoke up` writes); comments and blanks are skipped."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


class Env:
    """Typed access to the environment with development defaults layered underneath."""

    def __init__(self, environ: dict[str, str] | None = None,
                 defaults: dict[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.defaults = defaults or {}

    def raw(self, name: str) -> str | None:
        if name in self.environ:
            return self.environ[name]
        return self.defaults.get(name)

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.raw(name)
        if value is None or value == "":
            if required or default is None:
                raise ConfigError(f"{name} is required but not set")
            return default
        return value

    def optional(self, name: str) -> str | None:
        value = self.raw(name)
        return value if value else None

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise ConfigError(f"{name} must be a boolean (true/false, 1/0)")

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            parsed = int(value, 10)
        except ValueError:
            raise ConfigError(f"{name} must be an integer") from None
        if minimum is not None and parsed < minimum:
            raise ConfigError(f"{name} must be at least {minimum}")
        return parsed

    def strings(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None:
            return default
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items:
            raise ConfigError(f"{name} must be a comma-separated list with at least one entry")
        return items

    def url(self, name: str, default: str, schemes: tuple[str, ...]) -> str:
        value = self.string(name, default)
        try:
            parts = urlsplit(value)
            port = parts.port  # raises ValueError on a malformed port
        except ValueError:
            raise ConfigError(f"{name} is not a valid URL") from None
        if parts.scheme not in schemes:
            raise ConfigError(f"{name} must be a URL with scheme {' or '.join(schemes)}")
        if not parts.hostname and not parts.path:
            raise ConfigError(f"{name} must name a host")
        del port
        return value

    def address(self, name: str, default: str | None = None) -> str | None:
        value = self.optional(name) or default
        if value is None:
            return None
        if not ADDRESS_RE.match(value):
            raise ConfigError(f"{name} must be a 0x-prefixed 20-byte hex Ethereum address")
        return value

    def path(self, name: str, default: Path | None) -> Path | None:
        value = self.optional(name)
        if value is None:
            return default
        return Path(value).expanduser()


def database_config(url: str, name: str = "DATABASE_URL") -> dict[str, object]:
    """Django DATABASES entry for a postgres:// URL (PostgreSQL only: amounts are 78-digit)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ConfigError(f"{name} must be a postgres:// URL (Spoke needs PostgreSQL)")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name} has a malformed port") from None
    database = parts.path.lstrip("/") or "postgres"
    from urllib.parse import parse_qs, unquote

    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = unquote(parts.hostname or "") or options.pop("host", "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(database),
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "CONN_MAX_AGE": 0,
        "OPTIONS": options,
    }
