"""The portal as an attacker or a messenger meets it: in a process of its own, over HTTP, under
uvicorn (ASGI) or gunicorn (WSGI); the security tests run under both (the `stack` fixture).

A process of its own needs a database both it and the test can see, so these tests run
on PostgreSQL (CI); on the embedded SQLite setup they skip with the reason printed.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


STACKS = ("uvicorn", "gunicorn")


def stack_command(stack: str, port: int) -> list[str]:
    """The portal served under `stack` on 127.0.0.1:`port`, one process, as README tells production to run it.

    uvicorn's own proxy-header handling is off: the portal alone decides which X-Forwarded-For to
    believe (TRUSTED_PROXIES). gunicorn never takes the client's address from X-Forwarded-For.
    """
    if stack == "uvicorn":
        return [
            *(sys.executable, "-m", "uvicorn", "portal.asgi:application", "--port", str(port)),
            *("--log-level", "warning", "--no-proxy-headers"),
        ]
    return [
        *(sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}"),
        *("--worker-class", "gthread", "--threads", "4", "--log-level", "warning"),
    ]


class PortalServer:
    """The portal under `stack` (uvicorn: portal.asgi, gunicorn: portal.wsgi) on a free port of
    127.0.0.1, on the test database."""

    def __init__(self, env: dict[str, str], *args: str, stack: str = "uvicorn") -> None:
        self.stack = stack
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([*stack_command(stack, self.port), *args], cwd=ROOT, env=env)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.stack} exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{self.stack} on port {self.port} did not start")

    def pids(self) -> list[int]:
        """The server's process and its workers (gunicorn serves from a child of the process it starts)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [self.process.pid, *map(int, children)]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> "PortalServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def database_url(connection) -> str:
    db = connection.settings_dict
    return f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def server_env(on_postgres) -> dict[str, str]:
    """The environment of a portal process on the test's PostgreSQL database, Telegram off."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_", "TRUSTED_"))},
        "DATABASE_URL": database_url(on_postgres),
        "DJANGO_DEBUG": "1",
    }


@pytest.fixture(params=STACKS)
def stack(request) -> str:
    """Each serving stack in turn: what guards the portal must guard it under both."""
    return request.param
