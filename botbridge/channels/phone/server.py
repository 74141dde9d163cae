"""The FastAGI server: one thread a call, the call's function chosen by the script in the URL.

Asterisk's `AGI(agi://127.0.0.1:4573/readings)` connects here; the request's path (the variable
`agi_network_script`, "readings") names the function that runs the call in
`settings.IVR_SCRIPTS`, imported the first time a call asks for it. Whatever one call does or
sends, the server goes on: every exception of a call ends that call (logged), its socket and
its database connections are closed, and its thread ends. When the script's function returns
without hanging up, closing the connection hands the call back to the dialplan.
"""

import contextlib
import errno
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

from botbridge.channels.phone.agi import CommandRefused, Connection, HungUp, Line, NotAgi, quote

log = logging.getLogger(__name__)

# Asterisk sends the whole variables block as it connects; a peer slower than this is not Asterisk.
VARIABLES_WITHIN_SECONDS = 5.0
# A refused call (too many at once) is read and answered inline by the accepting thread: briefly.
REFUSAL_WITHIN_SECONDS = 0.5
# How often the accepting loop looks whether it was told to stop.
ACCEPT_POLL_SECONDS = 0.2

Script = Callable[[Line], None]


class AgiServer:
    """Listens on host:port (port 0: a free one; see `address`) once made; `serve_forever()`
    serves until `stop()` (safe to call from a signal handler), then lets the calls in progress
    finish for `stop_grace` seconds and drops the rest."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4573,
        *,
        scripts: Mapping[str, str] | None = None,
        max_calls: int | None = None,
        idle_timeout: float | None = None,
        stop_grace: float | None = None,
        variables_within: float = VARIABLES_WITHIN_SECONDS,
        backlog: int | None = None,
    ) -> None:
        self.scripts = dict(settings.IVR_SCRIPTS if scripts is None else scripts)
        self.max_calls = max_calls or settings.IVR_MAX_CALLS
        self.idle_timeout = idle_timeout or settings.IVR_IDLE_TIMEOUT_SECONDS
        self.stop_grace = settings.IVR_STOP_GRACE_SECONDS if stop_grace is None else stop_grace
        self.variables_within = variables_within
        self.peak_calls = 0  # the most calls served at once so far
        self._listener = socket.create_server((host, port), backlog=min(backlog or self.max_calls, 1024))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._calls: dict[threading.Thread, socket.socket] = {}
        self._handlers: dict[str, Script | None] = {}
        self._lock = threading.Lock()
        self._stopping = False  # a plain flag: set from a signal handler
        self.stopped = threading.Event()

    @property
    def calls_in_progress(self) -> int:
        with self._lock:
            return len(self._calls)

    def serve_forever(self) -> None:
        self._listener.settimeout(ACCEPT_POLL_SECONDS)
        try:
            while not self._stopping:
                try:
                    sock, peer = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError as error:
                    if self._stopping or error.errno == errno.EINVAL:  # shut down by stop(), here or in a sibling
                        break
                    # Out of file descriptors and the like: the next may work.
                    log.error("FastAGI: could not accept a connection: %s", error)
                    time.sleep(ACCEPT_POLL_SECONDS)
                    continue
                self._take(sock, peer)
        finally:
            self._listener.close()
            self._finish_calls()
            self.stopped.set()

    def stop(self) -> None:
        self._stopping = True
        # Shut down, the socket refuses new calls at once, in every process that shares it
        # (runagi --processes), rather than queueing them until each accept loop looks at the flag.
        with contextlib.suppress(OSError):  # closed already
            self._listener.shutdown(socket.SHUT_RD)

    def close(self) -> None:
        """Let go of the socket without serving: the process that forked the servers (runagi --processes)."""
        self._listener.close()

    def _take(self, sock: socket.socket, peer: tuple) -> None:
        with self._lock:
            busy = len(self._calls) >= self.max_calls
            if not busy:
                thread = threading.Thread(target=self._serve_call, args=(sock, peer), name="agi-call", daemon=True)
                self._calls[thread] = sock
                self.peak_calls = max(self.peak_calls, len(self._calls))
        if busy:
            self._refuse(sock, peer)
            return
        try:
            thread.start()
        except RuntimeError as error:  # no thread to be had (memory, limits): this call only
            log.error("FastAGI: cannot start a thread for a call from %s: %s", peer[0], error)
            with self._lock:
                self._calls.pop(thread, None)
            sock.close()

    def _serve_call(self, sock: socket.socket, peer: tuple) -> None:
        connection = Connection(sock, timeout=self.idle_timeout)
        call = f"from {peer[0]}"
        try:
            variables = connection.read_variables(within=self.variables_within)
            script = variables.get("agi_network_script", "")
            call = f"{variables.get('agi_uniqueid', '?')} ({script!r})"
            line = Line(connection, variables)
            handler = self._handler(script)
            if handler is None:
                log.warning("FastAGI call %s: no such script, hanging up", call)
                line.hangup()
                return
            handler(line)
            log.info("FastAGI call %s ended", call)
        except NotAgi as error:  # before HungUp, whose kind it is
            log.warning("FastAGI connection %s refused: %s", call, error)
        except HungUp as reason:
            log.info("FastAGI call %s ended: %s", call, reason)
        except CommandRefused as error:
            log.error("FastAGI call %s dropped: %s", call, error)
        except Exception:  # one call's failure must never reach the server
            log.exception("FastAGI call %s failed", call)
        finally:
            connection.close()
            connections.close_all()  # this thread's: back to the pool, or closed
            with self._lock:
                self._calls.pop(threading.current_thread(), None)

    def _handler(self, script: str) -> Script | None:
        if script not in self.scripts:
            return None
        with self._lock:
            if script in self._handlers:
                return self._handlers[script]
        handler = None
        try:
            handler = import_string(self.scripts[script])
        except ImportError:
            log.exception("FastAGI script %r: cannot import %s", script, self.scripts[script])
        with self._lock:
            self._handlers[script] = handler
        return handler

    def _refuse(self, sock: socket.socket, peer: tuple) -> None:
        """Too many calls: tell the dialplan (IVR_STATUS=busy) and hand the call back to it."""
        log.warning("FastAGI: %s calls in progress, refusing a call from %s", self.max_calls, peer[0])
        connection = Connection(sock, timeout=REFUSAL_WITHIN_SECONDS)
        try:
            connection.read_variables(within=REFUSAL_WITHIN_SECONDS)
            connection.command("SET", "VARIABLE", "IVR_STATUS", quote("busy", always=True))
        except HungUp as error:
            log.info("FastAGI: the refused call went first: %s", error)
        finally:
            connection.close()

    def _finish_calls(self) -> None:
        deadline = time.monotonic() + self.stop_grace
        while self.calls_in_progress and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            left = dict(self._calls)
        if left:
            log.warning("FastAGI: stopping, dropping %s calls in progress", len(left))
        for sock in left.values():
            with contextlib.suppress(OSError):  # it closed meanwhile
                sock.shutdown(socket.SHUT_RDWR)  # the call's next read ends it (HungUp)
        for thread in left:
            thread.join(timeout=5)
