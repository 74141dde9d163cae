"""The portal as an attacker or a messenger meets it: uvicorn in a process of its own, over HTTP.

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


class PortalServer:
    """`uvicorn portal.asgi:application` on a free port of 127.0.0.1, on the test database.

    uvicorn's own proxy-header handling is off, as README tells production to run it:
    the portal alone decides which X-Forwarded-For to believe (TRUSTED_PROXIES).
    """

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "portal.asgi:application",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-proxy-headers",
                *args,
            ],
            cwd=ROOT,
            env=env,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"uvicorn exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"uvicorn on port {self.port} did not start")

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
