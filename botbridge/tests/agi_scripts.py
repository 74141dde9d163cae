"""Small FastAGI scripts the AGI tests and bench/agi.py serve in place of the menu: each is a
function of a `Line`, named in the server's scripts by dotted path like the real menu."""

import os
import threading

from django.db import connections

from accounts.models import PersonalAccount
from botbridge.channels.phone.agi import Line

# The database connection object of each call's thread, by agi_uniqueid: tests look after the
# call whether the server closed it.
database_connections: dict[str, object] = {}
_lock = threading.Lock()


def echo(line: Line) -> None:
    """Asks for a number, says it was heard, tells the dialplan what was typed, hangs up."""
    typed = line.ask("test/ask-number", timeout_ms=3000, max_digits=12)
    line.play("test/thank-you")
    line.set_variable("TYPED", "silence" if typed is None else typed)
    line.hangup()


def account(line: Line) -> None:
    """A short call on the database: the account typed is looked up, the answer played and
    set, then the call ends. The caller's thread's connection is recorded for the tests."""
    number = line.ask("test/ask-account", timeout_ms=3000, max_digits=12)
    known = bool(number) and PersonalAccount.objects.filter(number=number).exists()
    with _lock:
        database_connections[line.variables["agi_uniqueid"]] = connections["default"]
    line.play("test/account-known" if known else "test/account-unknown")
    line.set_variable("ACCOUNT", "known" if known else "unknown")
    line.hangup()


def every_command(line: Line) -> None:
    """One of each of Line's commands, the database touched between them."""
    PersonalAccount.objects.exists()
    with _lock:
        database_connections[line.variables["agi_uniqueid"]] = connections["default"]
    line.play("test/welcome")
    PersonalAccount.objects.exists()
    line.ask("test/ask-number", timeout_ms=3000, max_digits=4)
    PersonalAccount.objects.exists()
    line.set_variable("DONE", "yes")
    line.hangup()


def broken(line: Line) -> None:
    """A bug in a script: the call must end, the server must not."""
    line.play("test/welcome")
    raise RuntimeError("a bug in the script")


def unknown_command(line: Line) -> None:
    """Sends a command Asterisk does not know (510)."""
    line.command("SAY", "NOTHING")
    line.hangup()


def returns(line: Line) -> None:
    """Plays one prompt and returns without hanging up: the call goes back to the dialplan."""
    line.play("test/welcome")


def process(line: Line) -> None:
    """Tells the dialplan which server process took the call (runagi --processes), after a pause
    as long as a prompt's, so that calls at once overlap."""
    line.play("test/welcome")
    line.set_variable("PROCESS", str(os.getpid()))
    line.hangup()
