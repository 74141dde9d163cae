"""The FastAGI server as Asterisk meets it: the fake Asterisk dials in over TCP; whatever a call
does (hangs up anywhere, sends garbage, says nothing, asks for a script that is not there, hits
a bug) ends that call alone, with its thread and database connection gone, and the next call is
served. Fifty calls at once each get their own answers."""

import logging
import socket
import threading
import time

import pytest
from django.db import connection

from accounts.tests.factories import PersonalAccountFactory
from botbridge.tests import agi_scripts
from botbridge.tests.fake_asterisk import FakeAsterisk, agi_server, settle

SCRIPTS = {
    "echo": "botbridge.tests.agi_scripts.echo",
    "account": "botbridge.tests.agi_scripts.account",
    "every": "botbridge.tests.agi_scripts.every_command",
    "broken": "botbridge.tests.agi_scripts.broken",
    "unknown-command": "botbridge.tests.agi_scripts.unknown_command",
    "returns": "botbridge.tests.agi_scripts.returns",
    "missing": "botbridge.tests.no_such_module.call",
}


@pytest.fixture
def server():
    with agi_server(scripts=SCRIPTS, idle_timeout=2, variables_within=0.5, stop_grace=0) as served:
        yield served


@pytest.fixture
def asterisk(server) -> FakeAsterisk:
    return FakeAsterisk(*server.address)


def call_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "agi-call"]


def still_served(asterisk: FakeAsterisk) -> None:
    """The server answers the next call as if nothing had happened."""
    transcript = asterisk.call(script="echo", keys=["42#"])
    assert transcript.set_variables == {"TYPED": "42"}
    assert transcript.ended == "server hung up"


def closed_without_a_word(peer: socket.socket) -> bool:
    """Whether the server closed the connection (a reset when our bytes were left unread)."""
    peer.settimeout(3)
    try:
        return peer.recv(100) == b""
    except ConnectionResetError:
        return True


def connections_of_calls_closed() -> bool:
    """Whether every call's database connection was closed (PostgreSQL: given back to the pool).
    SQLite's test database lives in memory, and Django never closes its connection."""
    return connection.vendor == "sqlite" or all(c.connection is None for c in agi_scripts.database_connections.values())


def test_a_call_runs_the_script_its_url_names(asterisk):
    transcript = asterisk.call(script="echo", keys=["123#"])
    assert transcript.commands == ["GET DATA", "STREAM FILE", "SET VARIABLE", "HANGUP"]
    assert transcript.asked == ["test/ask-number"]
    assert transcript.played == ["test/thank-you"]
    assert transcript.set_variables == {"TYPED": "123"}
    assert transcript.refused == [] and transcript.problems == []
    assert transcript.ended == "server hung up"


@pytest.mark.parametrize(("keys", "typed"), [(["123"], "123"), ([None], "silence"), (["#"], ""), (["*#"], "*")])
def test_what_the_caller_typed_reaches_the_script(asterisk, keys, typed):
    assert asterisk.call(script="echo", keys=keys).set_variables == {"TYPED": typed}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sighup", [True, False], ids=["AGISIGHUP", "no-AGISIGHUP"])
def test_a_caller_hanging_up_at_any_command_ends_the_call_and_leaves_nothing(server, sighup):
    """every_command sends STREAM FILE, GET DATA, SET VARIABLE, HANGUP; the caller hangs up
    during each in turn, or the link drops before each."""
    asterisk = FakeAsterisk(*server.address, sighup=sighup)
    agi_scripts.database_connections.clear()
    for after in range(4):
        for way in ("hang_up_after", "close_after"):
            transcript = asterisk.call(script="every", keys=["1#"], **{way: after})
            settle(server)
            seen = after + 1 if way == "hang_up_after" else after  # closed before the next command
            if way == "hang_up_after" and after == 2 and not sighup:
                seen = 4  # SET VARIABLE runs on a dead channel: only HANGUP's 511 tells
            assert transcript.commands == ["STREAM FILE", "GET DATA", "SET VARIABLE", "HANGUP"][:seen]
            assert transcript.ended in ("server closed", "caller closed"), transcript
            assert transcript.refused == [] and transcript.problems == []
            assert call_threads() == []
    assert len(agi_scripts.database_connections) == 8
    assert connections_of_calls_closed()
    still_served(asterisk)


def test_commands_after_a_hang_up_are_answered_511_and_the_server_closes(asterisk, server):
    transcript = asterisk.call(script="echo", keys=["5#"], hang_up_after=1)  # during STREAM FILE
    settle(server)
    assert [e.answer.split("\n")[0] for e in transcript.exchanges] == ["200 result=5", "200 result=-1 endpos=0"]
    assert transcript.caller_hung_up and transcript.ended == "server closed"


@pytest.mark.parametrize(
    ("peer_sends", "logged"),
    [
        (b"\n", "no variables"),
        (b"GET /readings HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "not an agi_ variable"),
        (bytes(range(256)) * 4, "not an agi_ variable"),
        (b"agi_network: yes\nagi_request: " + b"9" * 100_000, "longer than"),
        (b"", "did not arrive whole"),  # connects, says nothing: the variables time-out
        (b"agi_network: yes\n", "did not arrive whole"),
    ],
    ids=["blank", "http", "binary", "huge-line", "silent", "half-block"],
)
def test_a_peer_that_is_not_asterisk_is_refused_and_logged(asterisk, server, caplog, peer_sends, logged):
    caplog.set_level(logging.INFO, logger="botbridge.channels.phone")
    with socket.create_connection(server.address, timeout=5) as peer:
        peer.sendall(peer_sends)
        assert closed_without_a_word(peer)
    settle(server)
    assert any(r.levelno == logging.WARNING and logged in r.getMessage() for r in caplog.records), caplog.text
    still_served(asterisk)


def test_an_asterisk_that_stops_answering_is_dropped_after_the_idle_time_out(asterisk, server, caplog):
    caplog.set_level(logging.INFO, logger="botbridge.channels.phone")
    with socket.create_connection(server.address, timeout=5) as peer:
        peer.sendall(asterisk.request(script="returns"))
        peer.settimeout(10)
        started = time.monotonic()
        assert peer.recv(100).startswith(b"STREAM FILE test/welcome")
        assert peer.recv(100) == b""  # never answered: closed after the idle time-out (2 s)
        assert 2 <= time.monotonic() - started < 4
    settle(server)
    assert "time-out" in caplog.text
    still_served(asterisk)


def test_a_script_that_is_not_served_gets_a_clean_hang_up_and_a_log_line(asterisk, caplog):
    transcript = asterisk.call(script="lottery")
    assert transcript.commands == ["HANGUP"] and transcript.ended == "server hung up"
    assert "no such script" in caplog.text and "'lottery'" in caplog.text


def test_a_script_that_cannot_be_imported_hangs_up_too(asterisk, caplog):
    transcript = asterisk.call(script="missing")
    assert transcript.commands == ["HANGUP"]
    assert "cannot import botbridge.tests.no_such_module.call" in caplog.text
    still_served(asterisk)


def test_a_bug_in_a_script_ends_its_call_not_the_server(asterisk, server, caplog):
    transcript = asterisk.call(script="broken")
    assert transcript.commands == ["STREAM FILE"] and transcript.ended == "server closed"
    assert "a bug in the script" in caplog.text
    settle(server)
    still_served(asterisk)


def test_a_command_asterisk_refuses_ends_the_call_and_is_logged_as_an_error(asterisk, caplog):
    transcript = asterisk.call(script="unknown-command")
    assert [e.answer for e in transcript.refused] == ["510 Invalid or unknown command\n"]
    assert transcript.ended == "server closed"
    assert any(r.levelno == logging.ERROR and "SAY NOTHING" in r.getMessage() for r in caplog.records)


def test_a_script_that_returns_hands_the_call_back_to_the_dialplan(asterisk):
    transcript = asterisk.call(script="returns")
    assert transcript.commands == ["STREAM FILE"] and transcript.ended == "server closed"


def test_a_call_beyond_the_limit_is_refused_at_once_with_a_variable_for_the_dialplan(caplog):
    with agi_server(scripts=SCRIPTS, max_calls=1, idle_timeout=5, stop_grace=0) as server:
        asterisk = FakeAsterisk(*server.address)
        with socket.create_connection(server.address, timeout=5) as first:  # holds the only place
            first.sendall(asterisk.request(script="echo"))
            first.settimeout(5)
            assert first.recv(100).startswith(b"GET DATA")
            refused = asterisk.call(script="echo", keys=["1#"])
        settle(server)
        assert [e.line for e in refused.exchanges] == ['SET VARIABLE IVR_STATUS "busy"']
        assert refused.ended == "server closed"
        assert "refusing a call" in caplog.text
        still_served(asterisk)


def test_stopping_drops_the_calls_in_progress_and_leaves_no_thread():
    with agi_server(scripts=SCRIPTS, idle_timeout=30, stop_grace=0.2) as server:
        asterisk = FakeAsterisk(*server.address)
        peer = socket.create_connection(server.address, timeout=5)
        peer.sendall(asterisk.request(script="echo"))
        peer.settimeout(5)
        assert peer.recv(100).startswith(b"GET DATA")
        started = time.monotonic()
    assert time.monotonic() - started < 3  # not the 30 s idle time-out
    assert peer.recv(100) == b""
    peer.close()
    assert call_threads() == []


@pytest.mark.django_db(transaction=True)
def test_fifty_calls_at_once_each_get_their_own_answers(server):
    """Each caller types an account number, half of them existing; every call's variable says
    whether its own number was found. The fake takes 50 ms per answer, as a caller listening and
    typing would, so the calls overlap (on PostgreSQL through a pool of 10 connections)."""
    known = {f"{100000000 + n}" for n in range(0, 50, 2)}
    for number in known:
        PersonalAccountFactory(number=number)
    agi_scripts.database_connections.clear()
    asterisk = FakeAsterisk(*server.address, answer_delay=0.05, timeout=30)
    numbers = [f"{100000000 + n}" for n in range(50)]
    transcripts: dict[str, object] = {}
    start = threading.Barrier(50)

    def caller(number: str) -> None:
        start.wait()
        transcripts[number] = asterisk.call(script="account", caller=f"067{number[-7:]}", keys=[number + "#"])

    threads = [threading.Thread(target=caller, args=(number,)) for number in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    settle(server)
    assert server.peak_calls >= 50
    for number in numbers:
        transcript = transcripts[number]
        expected = "known" if number in known else "unknown"
        assert transcript.set_variables == {"ACCOUNT": expected}, (number, transcript)
        assert transcript.played == [f"test/account-{expected}"]
        assert transcript.ended == "server hung up" and transcript.refused == []
    assert len(agi_scripts.database_connections) == 50
    assert connections_of_calls_closed()
    assert call_threads() == []
