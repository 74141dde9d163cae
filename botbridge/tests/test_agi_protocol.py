"""FastAGI as Asterisk speaks it: the variables block, quoting, and every kind of answer, read by
`Connection` and `Line` from a socket whose far end writes what Asterisk writes."""

import socket
import struct
import threading

import pytest

from botbridge.channels.phone.agi import (
    COMMAND_MAX_BYTES,
    CommandRefused,
    Connection,
    HungUp,
    Line,
    NotAgi,
    parse_reply,
    quote,
)
from botbridge.tests.fake_asterisk import parse_args

VARIABLES = (
    b"agi_network: yes\n"
    b"agi_network_script: readings\n"
    b"agi_request: agi://127.0.0.1:4573/readings\n"
    b"agi_channel: PJSIP/trunk-00000012\n"
    b"agi_language: uk\n"
    b"agi_uniqueid: 1764470400.18\n"
    b"agi_callerid: 0671234567\n"
    b"agi_calleridname: \xd0\x9c\xd0\xb0\xd1\x80\xd1\x96\xd1\x8f\n"
    b"agi_enhanced: 0.0\n"
    b"agi_accountcode: \n"
    b"\n"
)


@pytest.fixture
def asterisk():
    """(the server's Connection, Asterisk's end of the socket): write answers to the latter."""
    ours, theirs = socket.socketpair()
    connection = Connection(ours, timeout=1.0)
    yield connection, theirs
    connection.close()
    theirs.close()


def answered(asterisk, answer: bytes) -> tuple[Line, socket.socket]:
    """A Line on `asterisk` whose next command gets `answer` (already waiting in the socket)."""
    connection, theirs = asterisk
    theirs.sendall(VARIABLES + answer)
    line = Line(connection, connection.read_variables(within=1))
    return line, theirs


def sent(theirs: socket.socket) -> str:
    theirs.settimeout(1)
    return theirs.recv(4096).decode()


def test_the_variables_block_is_read_up_to_its_blank_line(asterisk):
    line, theirs = answered(asterisk, b"200 result=1\n")
    assert line.caller == "0671234567"
    assert line.variables["agi_network_script"] == "readings"
    assert line.variables["agi_calleridname"] == "Марія"
    assert line.variables["agi_accountcode"] == ""
    line.set_variable("X", "1")  # what followed the blank line is the first answer
    assert sent(theirs) == 'SET VARIABLE X "1"\n'


@pytest.mark.parametrize(
    ("peer_sends", "reason"),
    [
        (b"\n", "no variables"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not an agi_ variable"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\n", "not UTF-8"),
        (b"agi_callerid: \xff\xfe\n\n", "not UTF-8"),
        (b"agi_request: " + b"x" * 5000 + b"\n\n", "longer than"),
        (b"".join(b"agi_arg_%d: x\n" % n for n in range(200)) + b"\n", "more than 100 variables"),
        (b"agi_network: yes\n", "did not arrive whole"),  # then nothing: the read time-out
        (b"agi_network: yes\nagi_chan", "did not arrive whole"),  # then the connection closes
    ],
)
def test_what_is_not_a_variables_block_is_refused(asterisk, peer_sends, reason):
    connection, theirs = asterisk
    theirs.sendall(peer_sends)
    if peer_sends.endswith(b"agi_chan"):
        theirs.shutdown(socket.SHUT_WR)
    with pytest.raises(NotAgi, match=reason):
        connection.read_variables(within=0.3)


@pytest.mark.parametrize(
    ("argument", "word"),
    [
        ("pokaznyk/ask-account", "pokaznyk/ask-account"),
        ("", '""'),
        ("two words", '"two words"'),
        ('say "1"', r'"say \"1\""'),
        ("back\\slash", r'"back\\slash"'),
        ("tab\there", '"tab\there"'),
        ("Марія", "Марія"),
    ],
)
def test_an_argument_is_one_word_for_asterisks_parser(argument, word):
    assert quote(argument) == word
    assert parse_args(f"SET VARIABLE NAME {quote(argument)}") == ["SET", "VARIABLE", "NAME", argument]
    assert parse_args(f"SET VARIABLE NAME {quote(argument, always=True)}") == ["SET", "VARIABLE", "NAME", argument]


@pytest.mark.parametrize("argument", ["a\nHANGUP", "a\r", "\n"])
def test_a_line_break_in_an_argument_is_refused_before_anything_is_sent(asterisk, argument):
    line, theirs = answered(asterisk, b"")
    with pytest.raises(ValueError, match="line break"):
        line.set_variable("NAME", argument)
    with pytest.raises(ValueError, match="line break"):
        line.play(argument)
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(100)


def test_a_command_longer_than_asterisks_buffer_is_refused(asterisk):
    line, _ = answered(asterisk, b"")
    with pytest.raises(ValueError, match=str(COMMAND_MAX_BYTES)):
        line.set_variable("NAME", "x" * COMMAND_MAX_BYTES)


@pytest.mark.parametrize("name", ["", "A B", 'A"', "1ABC", "A;B"])
def test_a_variable_name_asterisk_would_not_take_is_refused(asterisk, name):
    line, _ = answered(asterisk, b"")
    with pytest.raises(ValueError, match="name"):
        line.set_variable(name, "1")


@pytest.mark.parametrize(
    ("answer", "typed"),
    [
        (b"200 result=123456789\n", "123456789"),  # ended by # or by the number of digits
        (b"200 result=1234 (timeout)\n", "1234"),  # typed, then the time-out
        (b"200 result= (timeout)\n", None),  # nothing before the time-out
        (b"200 result=\n", ""),  # # alone
        (b"200 result=* (timeout)\n", "*"),
        (b"200 result=12*\n", "12*"),
    ],
)
def test_ask_sends_get_data_and_returns_what_was_typed(asterisk, answer, typed):
    line, theirs = answered(asterisk, answer)
    assert line.ask("pokaznyk/ask-account", timeout_ms=5000, max_digits=12) == typed
    assert sent(theirs) == "GET DATA pokaznyk/ask-account 5000 12\n"


def test_play_sends_stream_file_with_no_escape_digits(asterisk):
    line, theirs = answered(asterisk, b"200 result=0 endpos=12345\n")
    line.play("pokaznyk/goodbye")
    assert sent(theirs) == 'STREAM FILE pokaznyk/goodbye ""\n'


def test_hangup_sends_hangup_and_nothing_can_follow(asterisk):
    line, theirs = answered(asterisk, b"200 result=1\nHANGUP\n")
    line.hangup()
    assert sent(theirs) == "HANGUP\n"
    with pytest.raises(HungUp):
        line.play("pokaznyk/goodbye")


@pytest.mark.parametrize(
    "answer",
    [
        b"200 result=-1\n",  # hung up during GET DATA / STREAM FILE
        b"200 result=-1\nHANGUP\n",
        b"HANGUP\n",  # AGISIGHUP: the caller hung up before the answer
        b"511 Command Not Permitted on a dead channel or intercept routine\n",
        b"511 Command Not Permitted on a dead channel\n",  # older Asterisk
        b"",  # the connection closes
        b"200 resu",  # closed in the middle of an answer
        b"garbage\n",  # not Asterisk: the call cannot go on
        b"200 result=" + b"1" * 2000 + b"\n",
    ],
)
@pytest.mark.parametrize("command", ["ask", "play", "set_variable", "hangup"])
def test_every_command_raises_hung_up_when_the_call_is_gone(asterisk, answer, command):
    line, theirs = answered(asterisk, answer)
    if answer in (b"", b"200 resu"):
        theirs.shutdown(socket.SHUT_WR)
    calls = {
        "ask": lambda: line.ask("p", timeout_ms=1000, max_digits=1),
        "play": lambda: line.play("p"),
        "set_variable": lambda: line.set_variable("X", "1"),
        "hangup": line.hangup,
    }
    if answer.startswith(b"200 result=-1") and command in ("set_variable", "hangup"):
        calls[command]()  # -1 means a failure only for the commands that wait for the caller
        return
    with pytest.raises(HungUp):
        calls[command]()
    with pytest.raises(HungUp):  # and the line stays dead
        line.play("p")


def test_a_reset_connection_is_a_hang_up(asterisk):
    line, theirs = answered(asterisk, b"")
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    theirs.close()  # RST, not FIN
    with pytest.raises(HungUp):
        line.ask("p", timeout_ms=1000, max_digits=1)


def test_an_asterisk_that_never_answers_ends_the_call_after_the_idle_time_out(asterisk):
    connection, theirs = asterisk
    connection.timeout = 0.2
    theirs.sendall(VARIABLES)
    line = Line(connection, connection.read_variables(within=1))
    with pytest.raises(HungUp, match="time-out"):
        line.play("p")


def test_an_unknown_command_and_a_wrong_syntax_are_refused_with_asterisks_words(asterisk):
    usage = (
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b"Usage: SET VARIABLE <variablename> <value>\n"
        b"520 End of proper usage.\n"
    )
    line, _ = answered(asterisk, b"510 Invalid or unknown command\n" + usage + b"200 result=1\n")
    with pytest.raises(CommandRefused) as unknown:
        line.command("SAY", "NOTHING")
    assert unknown.value.reply.code == 510
    with pytest.raises(CommandRefused) as wrong:
        line.command("SET", "VARIABLE", "X")
    assert wrong.value.reply.code == 520
    assert "Usage: SET VARIABLE" in wrong.value.reply.text
    line.set_variable("X", "1")  # the 520 block was read whole: the next answer is the next command's


def test_answers_are_read_whole_however_the_bytes_arrive(asterisk):
    """Asterisk's lines may come in pieces (a slow link) or several in one read (a variables
    block with an answer behind it): each command gets its own answer, whole."""
    connection, theirs = asterisk

    def trickle() -> None:
        for byte in VARIABLES + b"200 result=42\n":
            theirs.sendall(bytes([byte]))

    sender = threading.Thread(target=trickle)
    sender.start()
    line = Line(connection, connection.read_variables(within=5))
    assert line.ask("p", timeout_ms=1000, max_digits=4) == "42"
    sender.join()
    theirs.sendall(b"200 result=0 endpos=1\n200 result=7\n")  # two answers in one segment
    line.play("a")
    assert line.ask("b", timeout_ms=1000, max_digits=4) == "7"
    assert line.variables["agi_calleridname"] == "Марія"


def test_answers_are_parsed_into_code_result_data_and_fields():
    reply = parse_reply(["200 result=0 endpos=12345"])
    assert (reply.code, reply.result, reply.data, reply.fields) == (200, "0", None, {"endpos": "12345"})
    reply = parse_reply(["200 result=-1 (hangup) endpos=0"])
    assert (reply.result, reply.data, reply.fields) == ("-1", "hangup", {"endpos": "0"})
    assert parse_reply(["510 Invalid or unknown command"]).code == 510
    with pytest.raises(NotAgi):
        parse_reply(["hello"])
    with pytest.raises(NotAgi):
        parse_reply(["200 ok"])


def test_ask_and_play_give_the_database_connection_back_before_waiting(transactional_db):
    """In a thread of its own, as the server runs a call (the test's thread is in a transaction)."""
    from django.db import connection

    from accounts.models import PersonalAccount

    if connection.vendor == "sqlite":
        pytest.skip("the test database is SQLite in memory, whose connection Django never closes")
    ours, theirs = socket.socketpair()
    theirs.sendall(VARIABLES + b"200 result=0 endpos=1\n200 result=1 (timeout)\n")
    seen = []

    def call() -> None:
        agi = Connection(ours, timeout=1)
        line = Line(agi, agi.read_variables(within=1))
        PersonalAccount.objects.exists()
        seen.append(connection.connection is not None)
        line.play("p")
        seen.append(connection.connection is not None)
        PersonalAccount.objects.exists()
        line.ask("p", timeout_ms=100, max_digits=1)
        seen.append(connection.connection is not None)
        connection.close()

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(5)
    ours.close()
    theirs.close()
    assert seen == [True, False, False]


def test_a_transaction_left_open_while_the_caller_is_asked_is_a_bug_said_at_once(db, asterisk):
    line, _ = answered(asterisk, b"200 result=1\n")
    with pytest.raises(RuntimeError, match="transaction"):  # the test runs in one
        line.ask("p", timeout_ms=1000, max_digits=1)
