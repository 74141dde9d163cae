"""`manage.py runagi` as production runs it: a process of its own that says where it listens,
serves calls, and on SIGTERM (or Ctrl-C) stops taking calls, lets those in progress finish for
IVR_STOP_GRACE_SECONDS, drops the rest and exits 0."""

import os
import select
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from botbridge.tests.fake_asterisk import FakeAsterisk
from portal.tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
ECHO = "echo=botbridge.tests.agi_scripts.echo"
PROCESS = "process=botbridge.tests.agi_scripts.process"


class Runagi:
    """`manage.py runagi ARGS` in a process of its own; `address` is where it says it listens."""

    def __init__(self, *args: str, grace: int = 1) -> None:
        env = {**os.environ, "DJANGO_DEBUG": "1", "IVR_STOP_GRACE_SECONDS": str(grace), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runagi", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        self.first_line = self.process.stdout.readline() if ready else ""

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.first_line.split("agi://", 1)[1].split("/", 1)[0].rpartition(":")
        return host, int(port)

    def stop(self, signum: int = signal.SIGTERM, *, within: float = 10) -> tuple[int, str, str]:
        self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=within)
        return self.process.returncode, self.first_line + out, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def runagi():
    started: list[Runagi] = []

    def start(*args: str, **options) -> Runagi:
        started.append(Runagi(*args, **options))
        return started[-1]

    yield start
    for process in started:
        process.kill()


def hold_a_call(address: tuple[str, int], fake: FakeAsterisk) -> socket.socket:
    """A call whose Asterisk has read the first command and not answered it yet."""
    peer = socket.create_connection(address, timeout=10)
    peer.sendall(fake.request(script="echo"))
    assert peer.recv(100).startswith(b"GET DATA test/ask-number")
    return peer


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_runagi_on_any_free_port_serves_calls_and_stops_on_a_signal(runagi, signum):
    server = runagi("--port", "0", "--script", ECHO)
    assert server.first_line.startswith("FastAGI listening on agi://127.0.0.1:"), server.first_line
    transcript = FakeAsterisk(*server.address).call(script="echo", keys=["77#"])
    assert transcript.set_variables == {"TYPED": "77"}
    started = time.monotonic()
    code, out, err = server.stop(signum)
    assert code == 0, err
    assert out.rstrip().endswith("FastAGI stopped")
    assert time.monotonic() - started < 3
    assert "Traceback" not in err


def test_runagi_listens_on_the_port_it_is_given_and_says_so(runagi):
    port = free_port()
    server = runagi("--host", "127.0.0.1", "--port", str(port))
    assert f"agi://127.0.0.1:{port}/ (scripts: readings;" in server.first_line
    code, _, err = server.stop()
    assert code == 0, err


@pytest.mark.parametrize("processes", ["1", "3"], ids=["one process", "three processes"])
def test_sigterm_lets_a_call_in_progress_finish_within_the_grace_and_drops_the_one_that_does_not(runagi, processes):
    server = runagi("--port", "0", "--processes", processes, "--script", ECHO, grace=2)
    fake = FakeAsterisk(*server.address)
    finishing, stuck = hold_a_call(server.address, fake), hold_a_call(server.address, fake)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(OSError):  # no new call is taken
        FakeAsterisk(*server.address, timeout=2).call(script="echo")
    finishing.sendall(b"200 result=5\n")  # the caller goes on: the call runs to its end
    assert finishing.recv(100).startswith(b"STREAM FILE")
    finishing.sendall(b"200 result=0 endpos=100\n")
    assert finishing.recv(100) == b'SET VARIABLE TYPED "5"\n'
    finishing.sendall(b"200 result=1\n")
    assert finishing.recv(100) == b"HANGUP\n"
    finishing.sendall(b"200 result=1\n")
    stuck.settimeout(5)
    assert stuck.recv(100) == b""  # dropped once the grace is over: back to the dialplan
    _, err = server.process.communicate(timeout=10)
    assert server.process.returncode == 0, err
    assert "dropping 1 calls in progress" in err
    for peer in (finishing, stuck):
        peer.close()


def test_runagi_with_processes_serves_calls_at_once_in_several_and_stops_on_sigterm(runagi):
    server = runagi("--port", "0", "--processes", "3", "--script", PROCESS)
    assert "3 processes" in server.first_line
    fake = FakeAsterisk(*server.address, answer_delay=0.05)
    with ThreadPoolExecutor(max_workers=30) as callers:
        transcripts = list(callers.map(lambda _: fake.call(script="process"), range(60)))
    assert all(t.ended == "server hung up" and not t.refused for t in transcripts)
    assert len({t.set_variables["PROCESS"] for t in transcripts}) > 1  # not all taken by one process
    assert str(server.process.pid) not in {t.set_variables["PROCESS"] for t in transcripts}
    code, out, err = server.stop()
    assert code == 0, err
    assert out.rstrip().endswith("FastAGI stopped")
    assert "Traceback" not in err


def test_a_server_process_that_dies_is_started_again(runagi):
    server = runagi("--port", "0", "--processes", "2", "--script", PROCESS)
    fake = FakeAsterisk(*server.address)
    pid = fake.call(script="process").set_variables["PROCESS"]
    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    served = set()
    while len(served - {pid}) < 2 and time.monotonic() < deadline:  # the survivor and the new one
        served.add(fake.call(script="process").set_variables["PROCESS"])
    assert pid not in served and len(served) == 2
    code, _, err = server.stop()
    assert code == 0, err


def test_runagi_says_why_it_cannot_listen(runagi):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        server = runagi("--port", str(port))
        _, err = server.process.communicate(timeout=30)
    assert server.process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_runagi_loads_neither_aiogram_nor_the_bots():
    probe = (
        "import sys, django; django.setup();"
        "from django.core.management import load_command_class;"
        "load_command_class('botbridge', 'runagi');"
        "import botbridge.channels.phone.server;"
        "print(sorted(m for m in sys.modules if m.startswith(('aiogram', 'botbridge.channels.telegram',"
        " 'botbridge.channels.viber', 'botbridge.channels.messenger', 'httpx'))))"
    )
    env = {**os.environ, "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
