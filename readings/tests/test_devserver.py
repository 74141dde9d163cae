"""`make run`'s one process (manage.py devserver): migrates and seeds a new database, then serves;
started again with nothing to do, it only serves. Run as `make run` runs it, autoreloader and all."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from portal.tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
# Python, started as from a terminal, where Ctrl+C is heard: a run started in the background by a
# script without job control inherits SIGINT ignored, and the server would never hear Ctrl+C.
# A signal with a handler is back to its default after exec; an ignored one would stay ignored.
FROM_A_TERMINAL = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
]


def make_run(env: dict[str, str], log: Path) -> str:
    """`manage.py devserver` until it answers, then stopped as Ctrl+C stops it; what it printed."""
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            # Five demo accounts, not fifty: the seeding is seed_demo's, tested in test_seed_demo.
            [*FROM_A_TERMINAL, "manage.py", "devserver", f"127.0.0.1:{port}", "--accounts", "5"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the reloader's child too, to stop them together
        )
        try:
            assert answers(f"http://127.0.0.1:{port}/healthz", server, log) == 200, log.read_text()
        finally:
            os.killpg(server.pid, signal.SIGINT)
            stopped(server, log)
    return log.read_text()


def stopped(server: subprocess.Popen, log: Path) -> None:
    """Waits for Ctrl+C to stop the reloader and its child. When it does not, both are aborted:
    faulthandler (PYTHONFAULTHANDLER) writes where each thread of each of them stood into the log,
    which the failure shows. Seen when the suite itself was started in the background by a script
    without job control, SIGINT ignored all the way down (FROM_A_TERMINAL now undoes that)."""
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGABRT)
        server.wait(timeout=10)
        raise AssertionError(f"devserver did not stop within 30 s of Ctrl+C:\n{log.read_text()}") from None


def answers(url: str, server: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + 180  # a new database is migrated and seeded first
    while time.monotonic() < deadline:
        assert server.poll() is None, "devserver exited"
        # Asked only once runserver says it serves: until it holds the port, another test's
        # server (a fake Bot API on a port of the kernel's choosing) may be listening on it.
        if "Quit the server with" not in log.read_text():
            time.sleep(0.2)
            continue
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            time.sleep(0.2)
    raise AssertionError("devserver did not answer")


def test_a_new_database_is_migrated_and_seeded_once_and_then_only_served(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_", "DATABASE_", "REDIS_"))},
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",
    }
    first = make_run(env, tmp_path / "first.log")
    assert "Applying readings.0001_initial... OK" in first
    # Seeded once: the reloader's child, which serves, neither migrates nor seeds again.
    assert first.count("Demo data: 5 accounts") == 1
    assert "Migrations: all applied." not in first
    assert "Starting development server" in first

    again = make_run(env, tmp_path / "again.log")
    assert "Migrations: all applied." in again
    assert "Applying" not in again and "Demo data:" not in again
    assert "Starting development server" in again
