"""The fake Asterisk itself: driven here by hand over a raw socket, it must send what res_agi
sends and answer each command as res_agi answers it."""

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from botbridge.tests.fake_asterisk import FakeAsterisk, Transcript, parse_args


class Service:
    """The FastAGI service's end, played by the test: one accepted connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb")

    def variables(self) -> list[str]:
        lines = []
        while (line := self.reader.readline().decode()) != "\n":
            lines.append(line.rstrip("\n"))
        return lines

    def send(self, command: str, *, lines: int = 1) -> list[str]:
        """Send a command; the answer's `lines` lines."""
        self.sock.sendall(command.encode() + b"\n")
        return [self.reader.readline().decode().rstrip("\n") for _ in range(lines)]

    def close(self) -> None:
        """The service closes the connection, as a script that has finished does."""
        self.reader.close()
        self.sock.close()

    def at_end(self) -> bool:
        return self.reader.readline() == b""


@contextlib.contextmanager
def dialled(fake_options: dict | None = None, **call) -> Iterator[tuple[Service, dict]]:
    """The fake dials in to a socket of this test; yields the service's end and, once the block
    ends and the call is over, {"transcript": …}."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        fake = FakeAsterisk(*listener.getsockname()[:2], timeout=5, **(fake_options or {}))
        outcome: dict[str, Transcript] = {}
        thread = threading.Thread(target=lambda: outcome.update(transcript=fake.call(**call)))
        thread.start()
        listener.settimeout(5)
        sock, _ = listener.accept()
        sock.settimeout(5)
        service = Service(sock)
        service.variables()
        try:
            yield service, outcome
        finally:
            service.close()
        thread.join(5)
        assert not thread.is_alive()


def test_it_sends_the_variables_block_asterisk_sends():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        host, port = listener.getsockname()[:2]
        fake = FakeAsterisk(host, port, timeout=5)
        thread = threading.Thread(target=fake.call, kwargs={"caller": "", "script": "readings"})
        thread.start()
        sock, _ = listener.accept()
        service = Service(sock)
        lines = service.variables()
        service.close()
    thread.join(5)
    names = [line.partition(":")[0] for line in lines]
    assert names[:3] == ["agi_network", "agi_network_script", "agi_request"]
    assert {"agi_channel", "agi_uniqueid", "agi_callerid", "agi_dnid", "agi_enhanced", "agi_threadid"} <= set(names)
    assert lines[0] == "agi_network: yes"
    assert f"agi_request: agi://{host}:{port}/readings" in lines
    assert "agi_callerid: unknown" in lines  # a hidden number
    assert "agi_accountcode: " in lines  # empty values keep their space


@pytest.mark.parametrize(
    ("keys", "command", "answer"),
    [
        ("123456789#", "GET DATA p 5000 12", "200 result=123456789"),
        ("1234", "GET DATA p 5000 12", "200 result=1234 (timeout)"),
        (None, "GET DATA p 5000 12", "200 result= (timeout)"),
        ("", "GET DATA p 5000 12", "200 result= (timeout)"),
        ("#", "GET DATA p 5000 12", "200 result="),
        ("*", "GET DATA p 5000 1", "200 result=*"),
        ("12345#", "GET DATA p 5000 3", "200 result=123"),
        ("12", "GET DATA p", "200 result=12 (timeout)"),  # Asterisk's defaults: 0 = 6 s, 1024 digits
    ],
)
def test_get_data_plays_the_callers_keys_as_asterisk_answers_them(keys, command, answer):
    with dialled(keys=[keys]) as (service, _):
        assert service.send(command) == [answer]


def test_each_get_data_takes_the_next_keys_and_then_silence():
    with dialled(keys=["1#", "2#"]) as (service, outcome):
        assert service.send("GET DATA a 100 5") == ["200 result=1"]
        assert service.send("GET DATA b 100 5") == ["200 result=2"]
        assert service.send("GET DATA c 100 5") == ["200 result= (timeout)"]
    assert outcome["transcript"].asked == ["a", "b", "c"]


def test_the_other_commands_are_answered_and_recorded():
    with dialled() as (service, outcome):
        assert service.send('STREAM FILE pokaznyk/hello ""') == ["200 result=0 endpos=16000"]
        assert service.send('SET VARIABLE IVR_OPERATOR "yes please"') == ["200 result=1"]
        assert service.send("ANSWER") == ["200 result=0"]
        assert service.send("HANGUP", lines=2) == ["200 result=1", "HANGUP"]
        assert service.at_end()
    transcript = outcome["transcript"]
    assert transcript.commands == ["STREAM FILE", "SET VARIABLE", "ANSWER", "HANGUP"]
    assert transcript.played == ["pokaznyk/hello"]
    assert transcript.set_variables == {"IVR_OPERATOR": "yes please"}
    assert transcript.hung_up_by_server and transcript.ended == "server hung up"
    assert transcript.refused == []


def test_what_asterisk_refuses_is_refused_and_recorded():
    with dialled() as (service, outcome):
        assert service.send("SAY NOTHING") == ["510 Invalid or unknown command"]
        assert service.send("STREAM FILE p", lines=3) == [
            "520-Invalid command syntax.  Proper usage follows:",
            "Usage: STREAM FILE <filename> <escape digits> [sample offset]",
            "520 End of proper usage.",
        ]
        assert service.send("SET VARIABLE A B C", lines=3)[2] == "520 End of proper usage."
    assert [e.line for e in outcome["transcript"].refused] == ["SAY NOTHING", "STREAM FILE p", "SET VARIABLE A B C"]


@pytest.mark.parametrize(("sighup", "hangup_line"), [(True, ["HANGUP"]), (False, [])])
def test_a_caller_hanging_up_during_get_data_and_after(sighup, hangup_line):
    dead = "511 Command Not Permitted on a dead channel or intercept routine"
    with dialled({"sighup": sighup}, keys=["1#"], hang_up_after=1) as (service, outcome):
        assert service.send("GET DATA a 100 5") == ["200 result=1"]
        assert service.send("GET DATA b 100 5", lines=1 + len(hangup_line)) == ["200 result=-1", *hangup_line]
        assert service.send('STREAM FILE c ""') == [dead]
        assert service.send("HANGUP") == [dead]
    assert outcome["transcript"].caller_hung_up
    assert outcome["transcript"].ended == "server closed"  # Asterisk waits for the service to close


def test_on_a_dead_channel_only_what_res_agi_runs_dead_is_run():
    dead = "511 Command Not Permitted on a dead channel or intercept routine"
    with dialled(keys=[], hang_up_after=0) as (service, outcome):
        assert service.send('SET VARIABLE A "1"', lines=2) == ["HANGUP", "200 result=1"]
        assert service.send("NOOP") == ["200 result=0"]
        assert service.send("GET DATA p 100 1") == [dead]
        assert service.send("ANSWER") == [dead]
        assert service.send("SAY NOTHING") == ["510 Invalid or unknown command"]
    assert outcome["transcript"].set_variables == {"A": "1"}


def test_a_socket_closed_mid_call():
    with dialled(keys=["1#"], close_after=1) as (service, outcome):
        assert service.send("GET DATA a 100 5") == ["200 result=1"]
        with contextlib.suppress(OSError):
            service.sock.sendall(b'STREAM FILE b ""\n')
        assert service.at_end()
    assert outcome["transcript"].ended == "caller closed"


def test_prompts_must_exist_in_the_sounds_directory_when_given(tmp_path):
    (tmp_path / "uk" / "pokaznyk").mkdir(parents=True)
    (tmp_path / "uk" / "pokaznyk" / "ask-account.wav").write_bytes(b"RIFF" + bytes(40) + bytes(16000))
    (tmp_path / "digits").mkdir()
    (tmp_path / "digits" / "1.gsm").write_bytes(bytes(10))
    with dialled({"sounds": tmp_path}, keys=["1#"]) as (service, outcome):
        assert service.send("GET DATA pokaznyk/ask-account 100 5") == ["200 result=1"]
        assert service.send('STREAM FILE digits/1 ""')[0].startswith("200 result=0 ")
        assert service.send('STREAM FILE pokaznyk/ask-accuont ""') == ["200 result=-1 endpos=0"]
        assert service.send("GET DATA pokaznyk/nowhere 100 5") == ["200 result=-1"]
    assert outcome["transcript"].missing_prompts == ["pokaznyk/ask-accuont", "pokaznyk/nowhere"]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('STREAM FILE pokaznyk/hello ""', ["STREAM", "FILE", "pokaznyk/hello", ""]),
        ('SET VARIABLE A "two  words"', ["SET", "VARIABLE", "A", "two  words"]),
        (r'SET VARIABLE A "say \"1\" \\ done"', ["SET", "VARIABLE", "A", 'say "1" \\ done']),
        ('SET VARIABLE A a"b c"d', ["SET", "VARIABLE", "A", "ab cd"]),
        ("GET\tDATA  p   100", ["GET", "DATA", "p", "100"]),
    ],
)
def test_commands_are_split_as_asterisks_parse_args_splits_them(line, words):
    assert parse_args(line) == words
