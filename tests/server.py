"""A real Atrium server for tests: ``atrium serve`` as a subprocess on a free loopback port.

``serve(env)`` starts the console script with the given environment, waits until
``GET /healthz`` answers 200, yields a ``Server`` (base URL, process, log), and on the way out
stops it: SIGTERM to its process group (uvicorn's workers included), SIGKILL after a grace
period. The server writes its log to a file in the data dir; when it fails to start, or the
block using it raises, the log is printed so pytest shows it with the failure.

``prepare(env)`` runs ``atrium migrate`` and ``atrium demo`` the same way, through the CLI, so
the tests cover the commands an operator runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

ATRIUM = Path(sys.executable).with_name("atrium")
SECRET_KEY = "server-test-secret-key-" + "x" * 32
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A loopback port that was free a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def atrium_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment for an ``atrium`` command with its own data dir.

    Inherited ``ATRIUM_*`` variables are dropped so a developer's own settings never leak in.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")}
    env.update(
        {
            "ATRIUM_DATA_DIR": str(data_dir),
            "ATRIUM_SECRET_KEY": SECRET_KEY,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def run_cli(env: Mapping[str, str], *args: str, timeout: float = 120) -> str:
    """Run one ``atrium`` command; its output, or an AssertionError carrying it."""
    done = subprocess.run(
        [str(ATRIUM), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"atrium {' '.join(args)} exited {done.returncode}:\n{output}"
    return output


def prepare(env: Mapping[str, str]) -> None:
    """Migrate the database and load the demo company, through the CLI."""
    run_cli(env, "migrate")
    run_cli(env, "demo")


@dataclass(frozen=True)
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def serve(
    env: Mapping[str, str], *, workers: int = 1, timeout: float = START_TIMEOUT
) -> Iterator[Server]:
    """Run ``atrium serve`` until the block ends; see the module docstring."""
    port = free_port()
    data_dir = Path(env["ATRIUM_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"serve-{port}.log"
    command = [str(ATRIUM), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers != 1:
        command += ["--workers", str(workers)]
    with log_path.open("wb") as log_file:
        # A session of its own, so that stopping it reaches uvicorn's worker processes too.
        process = subprocess.Popen(
            command,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_healthy(server, timeout)
        yield server
    except BaseException:
        _stop(process)
        print(f"--- log of atrium serve on port {port} ---\n{server.log()}--- end of log ---")
        raise
    else:
        _stop(process)


def _wait_until_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"atrium serve exited with {server.process.returncode}")
            try:
                response = client.get("/healthz")
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return
                last = f"{response.status_code}: {response.text}"
            time.sleep(0.1)
    raise TimeoutError(f"atrium serve not healthy after {timeout:.0f} s ({last})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it does not end in time."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    # Workers of a supervisor that died first are still in the group: end them too.
    _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
