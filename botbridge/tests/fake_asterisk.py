"""A fake Asterisk for tests: it dials in to `runagi` over TCP and plays a caller's keys.

It does what Asterisk's res_agi does with `AGI(agi://127.0.0.1:PORT/readings)`: connects, sends
the call's `agi_*` variables (the values a PJSIP call from a mobile number has) and a blank
line, then reads one command a line, splits it as Asterisk's `parse_args` does (spaces, double
quotes, backslash escapes) and answers as res_agi.c does:

- GET DATA file [timeout] [max digits]: plays the caller's next scripted keys (one string per
  question). "123#" → `200 result=123`; "123" (no #: the time-out ends it) → `200 result=123
  (timeout)`; "" or None (silence) → `200 result= (timeout)`; "#" alone → `200 result=`; more
  digits than max → the first max (`200 result=12`). Once the script is used up the caller
  stays silent.
- STREAM FILE file escape_digits [offset] → `200 result=0 endpos=<samples>`.
- SET VARIABLE name value → `200 result=1` (recorded); HANGUP [channel] → `200 result=1`, then
  the channel is gone: `HANGUP` is sent, and the fake closes the connection.
- ANSWER, NOOP → `200 result=0`; VERBOSE message [level] → `200 result=1`.
- Another command → `510 Invalid or unknown command`; a known one with the wrong number of
  arguments → the multi-line `520-Invalid command syntax.  Proper usage follows:` … `520 End
  of proper usage.` Both are recorded in `Transcript.refused`: our server must never earn them.

The caller hangs up when told (`hang_up_after=N`: N commands are answered, the caller hangs up
during the next): GET DATA / STREAM FILE in progress answer `200 result=-1`; with AGISIGHUP (on,
as in Asterisk by default) a `HANGUP` line is sent at that moment. From then on the channel is
dead: as in res_agi.c, SET VARIABLE, NOOP and VERBOSE still run (`200 result=1`), the other
commands get `511 Command Not Permitted on a dead channel or intercept routine`. Asterisk then
waits for the service to close the connection, as the fake does.
`close_after=N` instead closes the socket mid-call after N answers (a dead link, a restart).

Given `sounds` (Asterisk's sounds directory), a file asked for must exist there, in the call's
language's sub-directory or at the top, with an extension Asterisk plays; a missing one is
answered as Asterisk does (-1) and listed in `Transcript.missing_prompts`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from botbridge.channels.phone.server import AgiServer

DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
# The commands res_agi.c flags as runnable on a dead channel (of those the fake knows).
RUN_DEAD = frozenset({"SET VARIABLE", "NOOP", "VERBOSE"})
UNKNOWN = "510 Invalid or unknown command"
# What Asterisk finds for a sound's name, in its order of preference (a subset).
SOUND_EXTENSIONS = ("sln", "sln16", "wav", "wav16", "gsm", "ulaw", "alaw", "g722", "g729")
KEYS = frozenset("0123456789*#ABCD")
USAGE = {
    "GET DATA": "Usage: GET DATA <file to be streamed> [timeout] [max digits]",
    "STREAM FILE": "Usage: STREAM FILE <filename> <escape digits> [sample offset]",
    "SET VARIABLE": "Usage: SET VARIABLE <variablename> <value>",
    "HANGUP": "Usage: HANGUP [<channelname>]",
    "VERBOSE": "Usage: VERBOSE <message> <level>",
}
_unique = itertools.count(1)


def parse_args(line: str) -> list[str]:
    """The words of a command as Asterisk's res_agi.c `parse_args` splits them."""
    words: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and current is None:
                current = []
            continue
        if char in " \t" and not quoted and not escaped:
            if current is not None:
                words.append("".join(current))
                current = None
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if current is None:
            current = []
        current.append(char)
        escaped = False
    if current is not None:
        words.append("".join(current))
    return words


@dataclasses.dataclass
class Exchange:
    """One command as received (the raw line and its words) and the fake's answer."""

    line: str
    words: list[str]
    answer: str

    @property
    def ran(self) -> bool:
        """Whether the command ran (a `200` answer, maybe after a `HANGUP` line)."""
        return any(line.startswith("200 ") for line in self.answer.split("\n"))

    @property
    def command(self) -> str:
        """The command's name in capitals: "GET DATA", "STREAM FILE", "HANGUP", …"""
        two = " ".join(self.words[:2]).upper()
        return two if two in USAGE else (self.words[0].upper() if self.words else "")


@dataclasses.dataclass
class Transcript:
    """Everything one call saw: the commands in order, with the answers given."""

    variables: dict[str, str]
    exchanges: list[Exchange] = dataclasses.field(default_factory=list)
    missing_prompts: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)  # what real Asterisk would mind
    caller_hung_up: bool = False
    ended: str = ""  # "server closed", "server hung up", "caller closed", "timed out"

    @property
    def commands(self) -> list[str]:
        return [exchange.command for exchange in self.exchanges]

    @property
    def prompts(self) -> list[str]:
        """Every sound file asked for (GET DATA and STREAM FILE), in order."""
        return [e.words[2] for e in self.exchanges if e.command in ("GET DATA", "STREAM FILE") and len(e.words) > 2]

    @property
    def asked(self) -> list[str]:
        return [e.words[2] for e in self.exchanges if e.command == "GET DATA" and len(e.words) > 2]

    @property
    def played(self) -> list[str]:
        return [e.words[2] for e in self.exchanges if e.command == "STREAM FILE" and len(e.words) > 2]

    @property
    def set_variables(self) -> dict[str, str]:
        return {
            e.words[2]: e.words[3]
            for e in self.exchanges
            if e.command == "SET VARIABLE" and e.ran and len(e.words) == 4
        }

    @property
    def hung_up_by_server(self) -> bool:
        return any(e.command == "HANGUP" and e.ran for e in self.exchanges)

    @property
    def refused(self) -> list[Exchange]:
        """Commands real Asterisk would have refused (510, 520)."""
        return [e for e in self.exchanges if e.answer.startswith(("510", "520"))]


@contextlib.contextmanager
def agi_server(**options) -> Iterator[AgiServer]:
    """The FastAGI server on a free port of 127.0.0.1, serving in a thread for the block's
    length (`options` as AgiServer takes them, e.g. `scripts={"readings": "dotted.path"}`);
    stopped after it, when no call's thread may be left."""
    server = AgiServer("127.0.0.1", 0, **options)
    thread = threading.Thread(target=server.serve_forever, name="agi-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the FastAGI server did not stop"
        assert server.calls_in_progress == 0, "a call's thread outlived the server"


def settle(server: AgiServer, *, within: float = 5.0) -> None:
    """Wait until the server has finished every call (a call's thread ends just after the
    fake sees the connection close)."""
    deadline = time.monotonic() + within
    while server.calls_in_progress and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.calls_in_progress == 0, f"{server.calls_in_progress} calls still in progress"


class FakeAsterisk:
    """Dials in to the FastAGI server at host:port; `call()` is one call, run in the caller's
    thread (make calls from many threads at once to load the server)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sounds: Path | None = None,
        sighup: bool = True,
        timeout: float = 10.0,
        answer_delay: float = 0.0,
    ) -> None:
        self.host, self.port = host, port
        self.sounds = sounds
        self.sighup = sighup
        self.timeout = timeout  # the longest a call may last
        self.answer_delay = answer_delay  # seconds before each answer: a caller listening, typing
        self.calls: list[Transcript] = []
        self._lock = threading.Lock()

    def variables(self, *, script: str = "readings", caller: str = "0671234567", language: str = "uk") -> dict:
        """The block res_agi sends for a call from `caller` to the company's number."""
        unique = next(_unique)
        return {
            "agi_network": "yes",
            "agi_network_script": script,
            "agi_request": f"agi://{self.host}:{self.port}/{script}",
            "agi_channel": f"PJSIP/trunk-{unique:08x}",
            "agi_language": language,
            "agi_type": "PJSIP",
            "agi_uniqueid": f"{time.time():.0f}.{unique}",
            "agi_version": "20.5.0",
            "agi_callerid": caller or "unknown",
            "agi_calleridname": "unknown",
            "agi_callingpres": "0",
            "agi_callingani2": "0",
            "agi_callington": "0",
            "agi_callingtns": "0",
            "agi_dnid": "0612253609",
            "agi_rdnis": "unknown",
            "agi_context": "pokaznyk",
            "agi_extension": "s",
            "agi_priority": "2",
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": str(140_000_000_000 + unique),
        }

    def request(self, **options) -> bytes:
        """The variables block and its blank line, as bytes on the wire (`options` as `variables`),
        for tests that play Asterisk by hand on a raw socket."""
        return "".join(f"{name}: {value}\n" for name, value in self.variables(**options).items()).encode() + b"\n"

    def call(
        self,
        *,
        caller: str = "0671234567",
        keys: list[str | None] | tuple = (),
        hang_up_after: int | None = None,
        close_after: int | None = None,
        script: str = "readings",
        language: str = "uk",
    ) -> Transcript:
        """One call: dial in, answer every command until the server closes the connection."""
        transcript = Transcript(variables=self.variables(script=script, caller=caller, language=language))
        with self._lock:
            self.calls.append(transcript)
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
            _Call(self, sock, transcript, list(keys), hang_up_after, close_after).run()
        return transcript


class _Call:
    """One call's side of the conversation (Asterisk's run_agi loop)."""

    def __init__(self, fake, sock, transcript, keys, hang_up_after, close_after) -> None:
        self.fake, self.sock, self.transcript = fake, sock, transcript
        self.keys = keys
        self.hang_up_after, self.close_after = hang_up_after, close_after
        self.reader = sock.makefile("rb")
        self.dead = False

    def run(self) -> None:
        block = "".join(f"{name}: {value}\n" for name, value in self.transcript.variables.items())
        self.sock.sendall((block + "\n").encode())
        deadline = time.monotonic() + self.fake.timeout
        while True:
            if self.close_after is not None and len(self.transcript.exchanges) >= self.close_after:
                self.sock.shutdown(socket.SHUT_RDWR)
                self.transcript.ended = "caller closed"
                return
            try:
                self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
                raw = self.reader.readline(4096)
            except TimeoutError:
                self.transcript.ended = "timed out"
                self.transcript.problems.append(
                    f"the server neither sent a command nor closed in {self.fake.timeout} s"
                )
                return
            except ConnectionResetError:
                raw = b""
            if not raw:
                self.transcript.ended = self.transcript.ended or "server closed"
                return
            time.sleep(self.fake.answer_delay)
            answer = self.answer(raw)
            if answer is None:  # HANGUP ran: the channel is gone and Asterisk closes
                self.transcript.ended = "server hung up"
                return
            try:
                self.sock.sendall(answer.encode())
            except OSError:
                self.transcript.ended = "server closed"
                return

    def answer(self, raw: bytes) -> str | None:
        transcript = self.transcript
        if not raw.endswith(b"\n"):
            transcript.problems.append(f"a command longer than Asterisk's 2048-byte buffer: {raw[:60]!r}")
        if len(raw) > 2048:
            transcript.problems.append(f"a command of {len(raw)} bytes: Asterisk cuts it at 2047")
        line = raw.decode(errors="replace").rstrip("\n")
        if "\r" in line:
            transcript.problems.append(f"a carriage return in {line!r}: Asterisk keeps it in the last word")
        words = parse_args(line)
        exchange = Exchange(line=line, words=words, answer="")
        transcript.exchanges.append(exchange)
        hang_up_now = (
            not self.dead and self.hang_up_after is not None and len(transcript.exchanges) > self.hang_up_after
        )
        if hang_up_now:
            self.dead = transcript.caller_hung_up = True
            exchange.answer = self.hang_up_during(exchange)
        elif self.dead:
            exchange.answer = self.on_dead_channel(exchange)
        else:
            exchange.answer = self.run_command(exchange)
        if exchange.command == "HANGUP" and exchange.answer.startswith("200"):
            hangup_line = "HANGUP\n" if self.fake.sighup else ""
            self.sock.sendall((exchange.answer + hangup_line).encode())
            return None
        return exchange.answer

    def hang_up_during(self, exchange: Exchange) -> str:
        """The caller hangs up while this command runs."""
        hangup_line = "HANGUP\n" if self.fake.sighup else ""
        if exchange.command == "GET DATA":
            return "200 result=-1\n" + hangup_line
        if exchange.command == "STREAM FILE":
            return "200 result=-1 endpos=0\n" + hangup_line
        return hangup_line + self.on_dead_channel(exchange)

    def on_dead_channel(self, exchange: Exchange) -> str:
        """After the hang-up: res_agi runs only the commands flagged to run dead."""
        if exchange.command in RUN_DEAD:
            return self.run_command(exchange)
        if exchange.command in USAGE or exchange.command == "ANSWER":
            return DEAD + "\n"
        return UNKNOWN + "\n"

    def run_command(self, exchange: Exchange) -> str:
        words, command = exchange.words, exchange.command
        argc = len(words)
        if command == "GET DATA":
            if argc < 3:
                return self.usage(command)
            return self.get_data(words)
        if command == "STREAM FILE":
            if argc not in (4, 5):
                return self.usage(command)
            if not self.sound_exists(words[2]):
                return "200 result=-1 endpos=0\n"
            return f"200 result=0 endpos={self.samples(words[2])}\n"
        if command == "SET VARIABLE":
            return "200 result=1\n" if argc == 4 else self.usage(command)
        if command == "HANGUP":
            return "200 result=1\n" if argc in (1, 2) else self.usage(command)
        if command in ("ANSWER", "NOOP"):
            return "200 result=0\n"
        if command == "VERBOSE":
            return "200 result=1\n" if argc in (2, 3) else self.usage(command)
        return UNKNOWN + "\n"

    def get_data(self, words: list[str]) -> str:
        timeout, max_digits = (words[3] if len(words) > 3 else "0"), (words[4] if len(words) > 4 else "1024")
        if not (timeout.lstrip("-").isdigit() and max_digits.isdigit()):
            self.transcript.problems.append(f"GET DATA with a time-out or digits Asterisk reads as 0: {words}")
        if not self.sound_exists(words[2]):
            return "200 result=-1\n"
        pressed = self.keys.pop(0) if self.keys else None
        if pressed and not set(pressed) <= KEYS:
            raise ValueError(f"a caller presses only 0-9, *, #, A-D: {pressed!r}")
        limit = int(max_digits) if max_digits.isdigit() and int(max_digits) > 0 else 1024
        typed = ""
        for key in pressed or "":
            if key == "#":
                return f"200 result={typed}\n"
            typed += key
            if len(typed) >= limit:
                return f"200 result={typed}\n"
        return f"200 result={typed} (timeout)\n"

    def usage(self, command: str) -> str:
        return f"520-Invalid command syntax.  Proper usage follows:\n{USAGE[command]}\n520 End of proper usage.\n"

    def sound_exists(self, name: str) -> bool:
        if self.fake.sounds is None:
            return True
        if self.sound_file(name) is not None:
            return True
        self.transcript.missing_prompts.append(name)
        return False

    def sound_file(self, name: str) -> Path | None:
        if self.fake.sounds is None or name.startswith("/") or ".." in name.split("/"):
            return None
        language = self.transcript.variables["agi_language"]
        for directory in (self.fake.sounds / language, self.fake.sounds):
            for extension in SOUND_EXTENSIONS:
                if (directory / f"{name}.{extension}").is_file():
                    return directory / f"{name}.{extension}"
        return None

    def samples(self, name: str) -> int:
        """Where playback ended, in samples (8 kHz): the file's length, or 2 s without files."""
        found = self.sound_file(name)
        return max((found.stat().st_size - 44) // 2, 0) if found else 16000
