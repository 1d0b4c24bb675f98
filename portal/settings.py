"""Configuration: the one module that reads the environment.

Every setting is an ``ATRIUM_*`` variable with a default that works on one machine with nothing
installed. ``Settings.from_env()`` is called once at start; a bad value raises ``ConfigError``
naming the variable, and the secret key is generated into the data dir on first run.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    broadcast_url: str
    search_url: str
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8000
    login_ip_limit: int = 50
    debug: bool = False
    # Live delivery: how long the event log is kept (a reconnect older than that reloads) and
    # how often each process polls it for what pub/sub wake-ups missed.
    event_retention_days: int = 7
    live_poll_ms: int = 2000
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("ATRIUM_DATA_DIR") or "./data").expanduser().resolve()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"ATRIUM_DATA_DIR: cannot create {data_dir}: {exc}") from exc
        _check_writable(data_dir)

        return cls(
            data_dir=data_dir,
            database_url=_database_url(
                env.get("ATRIUM_DATABASE_URL")
                or f"sqlite+aiosqlite:///{data_dir / 'atrium.sqlite3'}"
            ),
            broadcast_url=_broadcast_url(env.get("ATRIUM_BROADCAST_URL") or "memory://"),
            search_url=_search_url(
                env.get("ATRIUM_SEARCH_URL") or f"embedded://{data_dir / 'search'}"
            ),
            secret_key=_secret_key(env.get("ATRIUM_SECRET_KEY"), data_dir),
            host=env.get("ATRIUM_HOST") or "127.0.0.1",
            port=_int(env, "ATRIUM_PORT", 8000, 1, 65535),
            login_ip_limit=_int(env, "ATRIUM_LOGIN_IP_LIMIT", 50, 1, 1_000_000),
            debug=_bool(env, "ATRIUM_DEBUG", False),
            event_retention_days=_int(env, "ATRIUM_EVENT_RETENTION_DAYS", 7, 1, 3650),
            live_poll_ms=_int(env, "ATRIUM_LIVE_POLL_MS", 2000, 50, 60_000),
        )

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _database_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme in ("postgresql", "postgres"):
        return "postgresql+asyncpg" + url[len(scheme) :]
    if scheme == "sqlite":
        return "sqlite+aiosqlite" + url[len(scheme) :]
    if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigError(
            f"ATRIUM_DATABASE_URL: unsupported scheme {scheme!r}; "
            "use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
        )
    if scheme == "sqlite+aiosqlite" and not url.startswith("sqlite+aiosqlite:///"):
        raise ConfigError("ATRIUM_DATABASE_URL: a SQLite URL looks like sqlite+aiosqlite:///path")
    return url


def _broadcast_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return url
    if parts.scheme in ("redis", "rediss"):
        if not parts.hostname:
            raise ConfigError("ATRIUM_BROADCAST_URL: a Redis URL needs a host, redis://host:6379")
        return url
    raise ConfigError(
        f"ATRIUM_BROADCAST_URL: unsupported scheme {parts.scheme!r}; use memory:// or redis://"
    )


def _search_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "embedded":
        if not (parts.netloc + parts.path):
            raise ConfigError("ATRIUM_SEARCH_URL: embedded:// needs a directory path")
        return url
    if parts.scheme in ("meilisearch", "meilisearchs", "http", "https"):
        if not parts.hostname:
            raise ConfigError(
                "ATRIUM_SEARCH_URL: a Meilisearch URL needs a host, "
                "meilisearch://:key@host:7700/index"
            )
        return url
    raise ConfigError(
        f"ATRIUM_SEARCH_URL: unsupported scheme {parts.scheme!r}; use embedded:///path or "
        "meilisearch://:key@host:7700/index (meilisearchs:// or https:// for TLS)"
    )


def _check_writable(data_dir: Path) -> None:
    """The database, the search index and the secret key live here: fail at start, naming the
    variable, rather than on the first write."""
    try:
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        raise ConfigError(f"ATRIUM_DATA_DIR: cannot write in {data_dir}: {exc}") from exc


def _secret_key(value: str | None, data_dir: Path) -> str:
    if value:
        if len(value) < 32:
            raise ConfigError("ATRIUM_SECRET_KEY: use at least 32 characters")
        return value
    path = data_dir / "secret_key"
    if not path.exists():
        _write_new_key(path)
    try:
        key = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"ATRIUM_SECRET_KEY: cannot read {path}: {exc}") from exc
    if len(key) < 32:
        raise ConfigError(f"ATRIUM_SECRET_KEY: the generated key in {path} is damaged")
    return key


def _write_new_key(path: Path) -> None:
    """Write a fresh key, complete, under its final name, unless another process got there first.

    Every ``serve --workers N`` worker reads the settings at the same moment on a first run: the
    key is written to a private temporary file and hard-linked into place, which fails if the name
    exists, so all of them end up reading the one key that won, and never a half-written file.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")
