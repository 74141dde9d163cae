"""FastAGI, the protocol Asterisk speaks to `AGI(agi://host:4573/script)`: one TCP connection a call.

Asterisk opens the connection and sends the call's `agi_*` variables, one `name: value` a line,
ended by a blank line. From then on the service drives the call: it sends one command a line
and Asterisk answers each, in res_agi.c's words:

    200 result=<n> [(<data>)] [key=value …]    the command ran (GET DATA: `result=` the digits)
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel…  the caller hung up earlier
    520-Invalid command syntax.  Proper usage follows:
    …usage lines…
    520 End of proper usage.

With AGISIGHUP on (Asterisk's default) a line `HANGUP` also arrives, unasked, when the caller
hangs up; and Asterisk closes the connection when the call is torn down.

Arguments are split by Asterisk's own parser (res_agi.c `parse_args`): on spaces and tabs,
where double quotes group words and a backslash takes the next character literally.
"""

import dataclasses
import logging
import re
import socket
import struct
import time

from django.db import connection, connections

log = logging.getLogger(__name__)

# Asterisk reads a command into a 2048-byte buffer (AGI_BUF_LEN); what is longer is cut.
COMMAND_MAX_BYTES = 2047
# What Asterisk sends is short (a channel name, a caller id); a longer line is not Asterisk.
LINE_MAX_BYTES = 1024
VARIABLES_MAX = 100
# A `520-` usage text is a dozen lines; more means the peer is not Asterisk.
USAGE_MAX_LINES = 100
# One read takes what is there, up to this: a variables block (about 600 bytes) in one go.
RECEIVE_BYTES = 4096

VARIABLE_LINE = re.compile(r"(agi_[a-z0-9_]+): ?(.*)")
REPLY_LINE = re.compile(r"(\d{3})([ -])(.*)")
RESULT = re.compile(r"result=(\S*)\s*(.*)")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.()]*")


class HungUp(Exception):
    """The caller hung up or the connection closed: the call is over."""


class NotAgi(HungUp):
    """What the peer sent is not FastAGI (garbage, too long, too slow): the connection is
    refused, or, in the middle of a call, the call is over as after a hang-up."""


class CommandRefused(Exception):
    """Asterisk answered 510 or 520: the command was wrong; a bug on our side, not the caller's."""

    def __init__(self, command: str, reply: "Reply") -> None:
        super().__init__(f"{command!r} was refused: {reply.text}")
        self.reply = reply


@dataclasses.dataclass(frozen=True)
class Reply:
    """One answer of Asterisk: `200 result=1234 (timeout)` → code 200, result "1234", data "timeout"."""

    code: int
    result: str | None = None  # 200 only; "" when GET DATA got nothing
    data: str | None = None  # the text in parentheses after the result, if any
    fields: dict[str, str] = dataclasses.field(default_factory=dict)  # endpos=12345 and the like
    text: str = ""  # the whole answer as received, lines joined by "\n"


def _timeval(seconds: float) -> bytes:
    """`seconds` as the struct timeval SO_RCVTIMEO and SO_SNDTIMEO take; at least a millisecond,
    since zero means "wait for ever"."""
    whole, fraction = divmod(max(seconds, 0.001), 1)
    return struct.pack("ll", int(whole), int(fraction * 1_000_000))


def quote(argument: str, *, always: bool = False) -> str:
    """`argument` as one word for Asterisk's parser: in double quotes when `always` or when it is
    empty or holds a space, a tab, a quote or a backslash (the latter two escaped)."""
    if "\r" in argument or "\n" in argument:
        raise ValueError(f"an AGI argument cannot hold a line break: {argument!r}")
    if argument and not always and not re.search(r'[\s"\\]', argument):
        return argument
    return '"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_reply(lines: list[str]) -> Reply:
    """The answer made of `lines` (one, or a `520-` block ending with `520 …`)."""
    text = "\n".join(lines)
    match = REPLY_LINE.fullmatch(lines[0])
    if match is None:
        raise NotAgi(f"not an AGI answer: {lines[0][:80]!r}")
    code, rest = int(match[1]), match[3]
    if code != 200:
        return Reply(code=code, text=text)
    result = RESULT.match(rest)
    if result is None:
        raise NotAgi(f"a 200 answer without result=: {lines[0][:80]!r}")
    data, fields, tail = None, {}, result[2]
    if tail.startswith("("):
        data, _, tail = tail[1:].partition(")")
    for part in tail.split():
        key, equals, value = part.partition("=")
        if equals:
            fields[key] = value
    return Reply(code=code, result=result[1], data=data, fields=fields, text=text)


class Connection:
    """The FastAGI connection of one call: variables in, commands out, answers in.

    Every read waits at most `timeout` seconds (the connection's idle time-out) unless told
    otherwise; a peer silent for longer ends the call."""

    def __init__(self, sock: socket.socket, *, timeout: float) -> None:
        self.sock = sock
        self.timeout = timeout
        self.closed = False
        # A blocking socket timed out by the kernel (SO_RCVTIMEO, SO_SNDTIMEO): each read and each
        # send is one system call. Python's own socket time-out costs a poll() before every recv and
        # send and an ioctl at every settimeout: three times the calls, each one a release and
        # re-take of the GIL that every other call's thread contends for.
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(timeout))
        self._receive_timeout = 0.0  # what SO_RCVTIMEO is set to now (0: not yet set)
        self._received = bytearray()  # what arrived and was not read as a line yet
        self._ended = False  # the peer closed its side: no more will arrive

    def read_variables(self, *, within: float) -> dict[str, str]:
        """The `agi_*` block up to its blank line, read within `within` seconds."""
        deadline = time.monotonic() + within
        variables: dict[str, str] = {}
        while True:
            try:
                line = self._read_line(deadline=deadline, what="variables")
            except HungUp as error:  # silent, slow or gone before the call began: not Asterisk
                raise NotAgi(f"the variables did not arrive whole: {error}") from error
            if line == "":
                break
            match = VARIABLE_LINE.fullmatch(line)
            if match is None:
                raise NotAgi(f"not an agi_ variable: {line[:80]!r}")
            if len(variables) >= VARIABLES_MAX:
                raise NotAgi(f"more than {VARIABLES_MAX} variables")
            variables[match[1]] = match[2]
        if not variables:
            raise NotAgi("no variables before the blank line")
        return variables

    def command(self, *words: str, wait: float | None = None) -> Reply:
        """Send one command (words already quoted) and read its answer, waiting at most `wait` s."""
        line = " ".join(words)
        if "\r" in line or "\n" in line:
            raise ValueError(f"an AGI command is one line: {line!r}")
        data = (line + "\n").encode()
        if len(data) > COMMAND_MAX_BYTES:
            raise ValueError(f"an AGI command is at most {COMMAND_MAX_BYTES} bytes: {line[:80]!r}…")
        if self.closed:
            raise HungUp("the call is over")
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise self._gone(f"could not send {words[0]}: {error}") from error
        try:
            return self._read_reply(deadline=time.monotonic() + (wait or self.timeout))
        except NotAgi:
            self.closed = True  # nothing more can be understood on this connection
            raise

    def close(self) -> None:
        self.closed = True
        self.sock.close()

    def _read_reply(self, *, deadline: float) -> Reply:
        first = self._read_line(deadline=deadline, what="an answer")
        if first == "HANGUP":
            raise self._gone("the caller hung up (HANGUP)")
        lines = [first]
        if first.startswith("520-"):
            while not lines[-1].startswith("520 "):
                if len(lines) > USAGE_MAX_LINES:
                    raise NotAgi(f"a 520 answer of more than {USAGE_MAX_LINES} lines")
                lines.append(self._read_line(deadline=deadline, what="an answer"))
        reply = parse_reply(lines)
        if reply.code == 511:
            raise self._gone(f"the channel is dead: {reply.text}")
        return reply

    def _read_line(self, *, deadline: float, what: str) -> str:
        """One line without its end; EOF, a reset or the time-out end the call (HungUp).

        What arrives is kept in one buffer: Asterisk's answers are a line each, so one recv is
        usually one answer, and a block that came in pieces or several lines at once costs no
        more reads than it needs."""
        while (end := self._received.find(b"\n", 0, LINE_MAX_BYTES + 1)) < 0:
            if len(self._received) > LINE_MAX_BYTES:
                raise NotAgi(f"a line longer than {LINE_MAX_BYTES} bytes")
            if self._ended:
                if self._received:
                    raise self._gone("the connection closed in the middle of a line")
                raise self._gone("the connection closed")
            self._receive(deadline=deadline, what=what)
        raw = bytes(self._received[: end + 1])
        del self._received[: end + 1]
        try:
            return raw.decode().rstrip("\r\n")
        except UnicodeDecodeError as error:
            raise NotAgi(f"not UTF-8: {raw[:40]!r}") from error

    def _receive(self, *, deadline: float, what: str) -> None:
        """What the peer sends next, waiting until `deadline` at most."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._gone(f"no {what} in time")
        # Set again only when the wait must grow or shrink by a tenth: most commands wait the
        # same idle time-out, and a setsockopt per answer would undo what the blocking read saves.
        if remaining > self._receive_timeout or remaining < self._receive_timeout * 0.9:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(remaining))
            self._receive_timeout = remaining
        try:
            chunk = self.sock.recv(RECEIVE_BYTES)
        except (BlockingIOError, TimeoutError) as error:  # SO_RCVTIMEO ran out: EAGAIN
            raise self._gone(f"no {what} within the time-out") from error
        except OSError as error:
            raise self._gone(f"connection lost: {error}") from error
        if chunk:
            self._received += chunk
        else:
            self._ended = True

    def _gone(self, reason: str) -> HungUp:
        self.closed = True
        return HungUp(reason)


class Line:
    """One call as the menu drives it; every method sends one AGI command and waits for its
    `200 result=…` answer; each raises HungUp when the call is gone (HANGUP, 511, EOF)."""

    def __init__(self, connection: Connection, variables: dict[str, str]) -> None:
        self.connection = connection
        self.variables = variables  # full names, agi_callerid and the like
        self.caller = variables.get("agi_callerid", "")

    def ask(self, prompt: str, *, timeout_ms: int, max_digits: int) -> str | None:
        """GET DATA <prompt> <timeout> <max digits>: the digits typed ("" when # alone was
        pressed), None when the caller typed nothing before the time-out. `*` and other keys
        come back as typed (GET DATA returns them in result)."""
        if timeout_ms <= 0 or max_digits <= 0:
            raise ValueError("GET DATA needs a time-out and a number of digits above 0")
        self._release_database()
        # The prompt plays first, then every key restarts the time-out.
        wait = self.connection.timeout + timeout_ms * (max_digits + 1) / 1000
        reply = self.command("GET", "DATA", quote(prompt), str(timeout_ms), str(max_digits), wait=wait)
        digits = reply.result or ""
        if digits == "-1":
            raise self._failed("GET DATA", prompt)
        if reply.data == "timeout" and digits == "":
            return None
        return digits

    def play(self, prompt: str) -> None:
        """STREAM FILE <prompt> "": plays it to the end."""
        self._release_database()
        reply = self.command("STREAM", "FILE", quote(prompt), '""')
        if reply.result == "-1":
            raise self._failed("STREAM FILE", prompt)

    def set_variable(self, name: str, value: str) -> None:
        """SET VARIABLE name "value": a channel variable the dialplan reads after the call."""
        if not VARIABLE_NAME.fullmatch(name):
            raise ValueError(f"not a channel variable's name: {name!r}")
        self.command("SET", "VARIABLE", name, quote(value, always=True))

    def hangup(self) -> None:
        """HANGUP: the call ends; nothing more can be sent."""
        try:
            self.command("HANGUP")
        finally:
            self.connection.closed = True

    def command(self, *words: str, wait: float | None = None) -> Reply:
        """Any other AGI command (words quoted with `quote`): its `200` answer; CommandRefused
        for 510/520."""
        reply = self.connection.command(*words, wait=wait)
        if reply.code != 200:
            raise CommandRefused(" ".join(words), reply)
        return reply

    def _failed(self, command: str, prompt: str) -> HungUp:
        # -1 is Asterisk's answer both to a hang-up during the command and to a sound file it
        # cannot open; either way this call cannot go on.
        log.info("%s %s answered -1: the caller hung up or the sound file is missing", command, prompt)
        self.connection.closed = True
        return HungUp(f"{command} {prompt} failed")

    def _release_database(self) -> None:
        """Before waiting for the caller (seconds to minutes), close the thread's database
        connections (with a pool: give them back): 50 callers listening to prompts must not hold 50 connections."""
        if connection.in_atomic_block:
            raise RuntimeError("a transaction must not stay open while the caller is being asked")
        connections.close_all()
