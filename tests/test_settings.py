"""Configuration from ``ATRIUM_*`` variables: defaults that work on one machine, and a
``ConfigError`` naming the variable for every bad value."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from portal.settings import ConfigError, Settings

KEY = "k" * 32


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"ATRIUM_DATA_DIR": str(tmp_path / "data"), **values}


def test_defaults_work_with_nothing_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    data = (tmp_path / "data").resolve()
    assert settings.data_dir == data
    assert data.is_dir()
    assert settings.database_url == f"sqlite+aiosqlite:///{data / 'atrium.sqlite3'}"
    assert settings.broadcast_url == "memory://"
    assert settings.search_url == f"embedded://{data / 'search'}"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.debug is False
    assert settings.uses_sqlite


def test_data_dir_is_resolved_to_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"ATRIUM_DATA_DIR": "some/where/../here"})
    assert settings.data_dir == tmp_path.resolve() / "some" / "here"
    assert settings.data_dir.is_absolute()


def test_values_given_are_used(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(
            tmp_path,
            ATRIUM_DATABASE_URL="postgresql://atrium@db.internal:5432/atrium",
            ATRIUM_BROADCAST_URL="redis://cache.internal:6379/1",
            ATRIUM_SEARCH_URL="embedded:///var/lib/atrium/search",
            ATRIUM_SECRET_KEY=KEY,
            ATRIUM_HOST="10.1.2.3",
            ATRIUM_PORT="8080",
            ATRIUM_DEBUG="yes",
        )
    )
    assert settings.database_url == "postgresql+asyncpg://atrium@db.internal:5432/atrium"
    assert not settings.uses_sqlite
    assert settings.broadcast_url == "redis://cache.internal:6379/1"
    assert settings.search_url == "embedded:///var/lib/atrium/search"
    assert settings.secret_key == KEY
    assert (settings.host, settings.port, settings.debug) == ("10.1.2.3", 8080, True)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:////srv/atrium.sqlite3", "sqlite+aiosqlite:////srv/atrium.sqlite3"),
    ],
)
def test_database_urls_are_mapped_to_the_async_drivers(
    tmp_path: Path, given: str, expected: str
) -> None:
    settings = Settings.from_env(env(tmp_path, ATRIUM_DATABASE_URL=given))
    assert settings.database_url == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ATRIUM_DATABASE_URL", "mysql://root@localhost/atrium"),
        ("ATRIUM_DATABASE_URL", "postgresql+psycopg2://u@h/db"),
        ("ATRIUM_DATABASE_URL", "sqlite+aiosqlite://"),
        ("ATRIUM_DATABASE_URL", "not a url"),
        ("ATRIUM_BROADCAST_URL", "kafka://broker:9092"),
        ("ATRIUM_BROADCAST_URL", "redis://"),
        ("ATRIUM_BROADCAST_URL", "redis://:6379/0"),
        ("ATRIUM_SEARCH_URL", "ftp://files.example.com/index"),
        ("ATRIUM_SEARCH_URL", "embedded://"),
        ("ATRIUM_PORT", "abc"),
        ("ATRIUM_PORT", "0"),
        ("ATRIUM_PORT", "70000"),
        ("ATRIUM_PORT", "-1"),
        ("ATRIUM_PORT", "80.5"),
        ("ATRIUM_LOGIN_IP_LIMIT", "0"),
        ("ATRIUM_SECRET_KEY", "short"),
        ("ATRIUM_SECRET_KEY", "x" * 31),
        ("ATRIUM_DEBUG", "maybe"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env(tmp_path, **{name: value}))
    assert name in str(caught.value)


@pytest.mark.parametrize("value", ["1", "true", "YES", "on", " True "])
def test_debug_true_spellings(tmp_path: Path, value: str) -> None:
    assert Settings.from_env(env(tmp_path, ATRIUM_DEBUG=value)).debug is True


@pytest.mark.parametrize("value", ["0", "false", "No", "off", ""])
def test_debug_false_spellings(tmp_path: Path, value: str) -> None:
    assert Settings.from_env(env(tmp_path, ATRIUM_DEBUG=value)).debug is False


def test_port_bounds_are_accepted(tmp_path: Path) -> None:
    assert Settings.from_env(env(tmp_path, ATRIUM_PORT="1")).port == 1
    assert Settings.from_env(env(tmp_path, ATRIUM_PORT="65535")).port == 65535


def test_a_data_dir_that_is_a_file_names_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    for data_dir in (blocker, blocker / "data"):
        with pytest.raises(ConfigError, match="ATRIUM_DATA_DIR"):
            Settings.from_env({"ATRIUM_DATA_DIR": str(data_dir)})


def test_an_unwritable_data_dir_names_the_variable(tmp_path: Path) -> None:
    # /proc exists and refuses new files even to root, so this holds whoever runs the tests.
    with pytest.raises(ConfigError, match="ATRIUM_DATA_DIR"):
        Settings.from_env({"ATRIUM_DATA_DIR": "/proc"})
    # Given a secret key, nothing needs writing at start, but the database and the search index
    # would fail later on: say so now.
    with pytest.raises(ConfigError, match="ATRIUM_DATA_DIR"):
        Settings.from_env({"ATRIUM_DATA_DIR": "/proc", "ATRIUM_SECRET_KEY": KEY})


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_a_read_only_data_dir_names_the_variable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o500)
    try:
        with pytest.raises(ConfigError, match="ATRIUM_DATA_DIR"):
            Settings.from_env({"ATRIUM_DATA_DIR": str(data)})
    finally:
        data.chmod(0o700)


def test_the_secret_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    first = Settings.from_env(env(tmp_path))
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert key_file.read_text().strip() == first.secret_key

    second = Settings.from_env(env(tmp_path))
    assert second.secret_key == first.secret_key

    other = Settings.from_env({"ATRIUM_DATA_DIR": str(tmp_path / "elsewhere")})
    assert other.secret_key != first.secret_key


def test_a_given_secret_key_wins_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, ATRIUM_SECRET_KEY=KEY))
    assert settings.secret_key == KEY
    assert not (tmp_path / "data" / "secret_key").exists()


def test_a_damaged_secret_key_file_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret_key").write_text("too short\n")
    with pytest.raises(ConfigError, match="ATRIUM_SECRET_KEY"):
        Settings.from_env(env(tmp_path))


def start_workers_at_once(data_dir: Path, workers: int) -> tuple[list[str], list[Exception]]:
    keys: list[str] = []
    failures: list[Exception] = []
    start = threading.Barrier(workers)

    def worker() -> None:
        start.wait()
        try:
            keys.append(Settings.from_env({"ATRIUM_DATA_DIR": str(data_dir)}).secret_key)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return keys, failures


def test_workers_starting_together_agree_on_one_secret_key(tmp_path: Path) -> None:
    """``atrium serve --workers 4`` reads the settings in every worker at once on a first run:
    they must all end up with the same key, and none may crash on a half-written file."""
    for attempt in range(20):  # the race is narrow: give it many chances
        data_dir = tmp_path / f"data{attempt}"
        keys, failures = start_workers_at_once(data_dir, 8)
        assert not failures
        assert len(set(keys)) == 1
        assert (data_dir / "secret_key").read_text().strip() == keys[0]
        assert [p.name for p in data_dir.iterdir()] == ["secret_key"]  # no temporary files left
