"""The ``atrium`` console script, run for real in a subprocess against a SQLite data dir."""

from __future__ import annotations

import importlib.util
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select as sql_select

from domain.db import Database
from domain.people.models import Role, User, UserRole
from domain.people.queries import authenticate, user_by_email

ATRIUM = Path(sys.executable).parent / "atrium"
PASSWORD = "a long enough password"
TIMEOUT = 60


@dataclass(frozen=True)
class Install:
    """A data dir with its environment, as an administrator would have it."""

    root: Path
    env: dict[str, str]

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.root / 'data' / 'atrium.sqlite3'}"

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ATRIUM), *args],
            env={**self.env, **env},
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )


def make_install(root: Path) -> Install:
    # Only the variables a fresh install has: nothing from the developer's own ATRIUM_* setup.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")}
    env["ATRIUM_DATA_DIR"] = str(root / "data")
    return Install(root, env)


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Install:
    """One migrated install for the module (migrating costs a second)."""
    installed = make_install(tmp_path_factory.mktemp("cli"))
    result = installed.run("migrate")
    assert result.returncode == 0, result.stderr
    return installed


async def find_user(install: Install, email: str, password: str) -> tuple[User | None, set[Role]]:
    db = Database(install.database_url)
    try:
        async with db.session() as session:
            user = await authenticate(session, email, password)
            roles: set[Role] = set()
            if user is not None:
                roles = set(
                    await session.scalars(
                        sql_select(UserRole.role).where(UserRole.user_id == user.id)
                    )
                )
            return user, roles
    finally:
        await db.dispose()


def test_migrate_creates_the_database_and_is_idempotent(tmp_path: Path) -> None:
    fresh = make_install(tmp_path)
    first = fresh.run("migrate")
    assert first.returncode == 0, first.stderr
    assert "head" in first.stdout
    assert (tmp_path / "data" / "atrium.sqlite3").is_file()
    assert (tmp_path / "data" / "secret_key").is_file()
    again = fresh.run("migrate")
    assert again.returncode == 0, again.stderr
    assert "head" in again.stdout


async def test_createuser_with_flags_makes_a_user_who_can_sign_in(install: Install) -> None:
    result = install.run(
        "createuser",
        "--email",
        "Ada@Example.com",
        "--name",
        "Ada Lovelace",
        "--password",
        PASSWORD,
        "--role",
        "admin",
    )
    assert result.returncode == 0, result.stderr
    assert "ada@example.com" in result.stdout

    user, roles = await find_user(install, "ada@example.com", PASSWORD)
    assert user is not None
    assert user.name == "Ada Lovelace"
    assert roles == {Role.ADMIN}
    assert (await find_user(install, "ada@example.com", "a wrong password"))[0] is None


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--email", "not-an-email", "--name", "X", "--password", PASSWORD], "email"),
        (["--email", "short@example.com", "--name", "X", "--password", "short"], "password"),
        (["--email", "blank@example.com", "--name", "   ", "--password", PASSWORD], "name"),
    ],
)
def test_createuser_refuses_bad_values_naming_the_field(
    install: Install, args: list[str], field: str
) -> None:
    result = install.run("createuser", *args)
    assert result.returncode != 0
    assert f"{field}:" in result.stderr
    assert "Traceback" not in result.stderr


def test_createuser_refuses_a_duplicate_email(install: Install) -> None:
    args = ["--name", "Grace Hopper", "--password", PASSWORD]
    assert install.run("createuser", "--email", "grace@example.com", *args).returncode == 0
    again = install.run("createuser", "--email", "GRACE@example.com", *args)
    assert again.returncode != 0
    assert "email:" in again.stderr
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_createuser_refuses_an_unknown_role(install: Install) -> None:
    result = install.run(
        "createuser", "--email", "r@example.com", "--name", "R", "--password", PASSWORD,
        "--role", "superuser",
    )  # fmt: skip
    assert result.returncode == 2
    assert "--role" in result.stderr


@pytest.mark.parametrize(
    "args", [[], ["--email", "x@example.com", "--name", "No Password"]], ids=["none", "partial"]
)
def test_createuser_without_flags_or_terminal_explains_usage(
    install: Install, args: list[str]
) -> None:
    result = install.run("createuser", *args)
    assert result.returncode == 2
    for flag in ("--email", "--name", "--password"):
        assert flag in result.stderr


@pytest.mark.parametrize("command", ["migrate", "createuser", "demo", "serve"])
def test_a_bad_setting_stops_every_command_naming_the_variable(
    install: Install, command: str
) -> None:
    result = install.run(command, ATRIUM_PORT="abc")
    assert result.returncode == 2
    assert "ATRIUM_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_command_prints_usage(install: Install) -> None:
    result = install.run()
    assert result.returncode == 2
    assert "usage: atrium" in result.stderr


# --- interactive createuser, on a real pseudo-terminal ---------------------------------------

# Becomes the session leader's controlling terminal (what a login shell has), so that getpass
# can open /dev/tty, then runs the console script.
WITH_TERMINAL = (
    "import fcntl, os, sys, termios; "
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


class Terminal:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-c", WITH_TERMINAL, str(ATRIUM), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self.output = ""

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the other side has closed
            return False
        if not chunk:
            return False
        self.output += chunk.decode(errors="replace")
        return True

    def expect(self, prompt: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while prompt not in self.output:
            if not self._read(deadline):
                raise AssertionError(f"no prompt {prompt!r}; the terminal shows {self.output!r}")
        self.output = self.output.split(prompt, 1)[1]

    def answer(self, prompt: str, text: str) -> None:
        self.expect(prompt)
        os.write(self.master, text.encode() + b"\r")

    def finish(self) -> tuple[int, str]:
        deadline = time.monotonic() + TIMEOUT
        while self._read(deadline):
            pass
        os.close(self.master)
        return self.process.wait(TIMEOUT), self.output


@pytest.fixture
def terminal(install: Install) -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        if term.process.poll() is None:
            term.process.kill()
            term.process.wait()


async def test_createuser_asks_interactively_without_echoing_the_password(
    install: Install, terminal: list[Terminal]
) -> None:
    term = Terminal(["createuser", "--role", "hr"], install.env, install.root)
    terminal.append(term)
    term.answer("Email: ", "tty@example.com")
    term.answer("Name: ", "Terry Terminal")
    term.answer("Password: ", PASSWORD)
    term.answer("Password (again): ", PASSWORD)
    status, output = term.finish()
    assert status == 0, output
    assert "created user" in output
    assert PASSWORD not in output

    user, roles = await find_user(install, "tty@example.com", PASSWORD)
    assert user is not None
    assert user.name == "Terry Terminal"
    assert roles == {Role.HR}


async def test_createuser_interactive_passwords_must_match(
    install: Install, terminal: list[Terminal]
) -> None:
    term = Terminal(["createuser", "--email", "typo@example.com"], install.env, install.root)
    terminal.append(term)
    term.answer("Name: ", "Typo")  # the email came as a flag: not asked again
    term.answer("Password: ", PASSWORD)
    term.answer("Password (again): ", PASSWORD + "x")
    status, output = term.finish()
    assert status != 0
    assert "not the same" in output

    db = Database(install.database_url)
    try:
        async with db.session() as session:
            assert await user_by_email(session, "typo@example.com") is None
    finally:
        await db.dispose()


# --- the demo company ------------------------------------------------------------------------

HAS_DEMO = importlib.util.find_spec("domain.demo") is not None


@pytest.mark.skipif(not HAS_DEMO, reason="domain.demo is not built yet")
async def test_demo_loads_once_and_reset_loads_it_again(tmp_path: Path) -> None:
    from domain.demo import DEMO_PASSWORD

    fresh = make_install(tmp_path)
    assert fresh.run("migrate").returncode == 0

    first = fresh.run("demo")
    assert first.returncode == 0, first.stderr
    assert "loaded" in first.stdout
    admin, roles = await find_user(fresh, "admin@example.com", DEMO_PASSWORD)
    assert admin is not None
    assert Role.ADMIN in roles

    again = fresh.run("demo")
    assert again.returncode == 0, again.stderr
    assert "already present" in again.stdout

    extra = fresh.run(
        "createuser", "--email", "extra@example.com", "--name", "Extra", "--password", PASSWORD
    )
    assert extra.returncode == 0, extra.stderr
    reset = fresh.run("demo", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert "loaded" in reset.stdout
    assert (await find_user(fresh, "extra@example.com", PASSWORD))[0] is None
    assert (await find_user(fresh, "admin@example.com", DEMO_PASSWORD))[0] is not None


@pytest.mark.parametrize(
    "args",
    [["createuser", "--email", "early@example.com", "--name", "Early", "--password", PASSWORD]]
    + ([["demo"]] if HAS_DEMO else []),
    ids=lambda args: args[0],
)
def test_commands_on_an_unmigrated_database_say_what_to_do(tmp_path: Path, args: list[str]) -> None:
    result = make_install(tmp_path).run(*args)
    assert result.returncode == 1
    assert "atrium migrate" in result.stderr
    assert "Traceback" not in result.stderr


UNREACHABLE = "postgresql://atrium:hunter2hunter2@127.0.0.1:1/atrium"


@pytest.mark.parametrize(
    "args",
    [
        ["migrate"],
        ["createuser", "--email", "x@example.com", "--name", "X", "--password", PASSWORD],
    ],
    ids=lambda args: args[0],
)
def test_an_unreachable_database_is_one_clear_line(install: Install, args: list[str]) -> None:
    result = install.run(*args, ATRIUM_DATABASE_URL=UNREACHABLE)
    assert result.returncode == 1
    assert "cannot use the database at postgresql+asyncpg://atrium:***@127.0.0.1:1" in result.stderr
    assert "hunter2" not in result.stderr  # the password is never printed
    assert "Traceback" not in result.stderr
