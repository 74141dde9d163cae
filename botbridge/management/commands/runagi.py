"""python manage.py runagi: the phone voice menu, served to Asterisk over FastAGI.

With --processes N the listening socket is opened here, then N processes are forked that all
accept on it (one thread a call each): a call's Python work holds its process's GIL, so one
process serves as many calls a second as one core allows. A process that dies is started again;
SIGTERM or Ctrl-C is passed on to every process, which stops taking calls at once and lets its
calls in progress finish within IVR_STOP_GRACE_SECONDS, as a single process does.
"""

import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from botbridge.channels.phone.server import AgiServer

MAX_PROCESSES = 64
# How often the forking process looks whether a server process died or it was told to stop.
SUPERVISE_POLL_SECONDS = 0.2


class Command(BaseCommand):
    help = "Serve the phone voice menu to Asterisk over FastAGI (dialplan: AGI(agi://HOST:PORT/readings))."
    # The system checks would import every URLconf and view (the bots, aiogram) into a process
    # that serves calls only; `manage.py check` runs them at deployment.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=4573, help="port to listen on (default 4573; 0: any free)")
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="server processes accepting on the one port (default 1); IVR_MAX_CALLS is shared among them",
        )
        parser.add_argument(
            "--script",
            action="append",
            default=[],
            metavar="NAME=DOTTED.PATH",
            help="serve agi://…/NAME with this function besides settings.IVR_SCRIPTS (tests, benchmarks)",
        )

    def handle(self, *args, host: str, port: int, processes: int, script: list[str], **options) -> None:
        if not 1 <= processes <= MAX_PROCESSES:
            raise CommandError(f"--processes {processes}: use 1 to {MAX_PROCESSES}.")
        scripts = dict(settings.IVR_SCRIPTS)
        for item in script:
            name, equals, path = item.partition("=")
            if not (name and equals and path):
                raise CommandError(f"--script {item!r}: expected NAME=DOTTED.PATH")
            scripts[name] = path
        # The limit is the whole server's: each process takes its share (at least one call).
        max_calls = math.ceil(settings.IVR_MAX_CALLS / processes)
        try:
            server = AgiServer(host, port, scripts=scripts, max_calls=max_calls, backlog=settings.IVR_MAX_CALLS)
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port}: {error}") from error
        # Told to stop from here on: whoever reads the line below may send SIGTERM at once.
        stopping = threading.Event()
        _on_stop(server.stop if processes == 1 else lambda: (server.stop(), stopping.set()))
        listening_host, listening_port = server.address
        self.stdout.write(
            f"FastAGI listening on agi://{listening_host}:{listening_port}/ "
            f"(scripts: {', '.join(sorted(scripts))}; at most {max_calls * processes} calls at once"
            + (f", {processes} processes)" if processes > 1 else ")")
        )
        self.stdout.flush()
        if processes == 1:
            server.serve_forever()
        else:
            _supervise(server, processes, stopping)
        self.stdout.write("FastAGI stopped")


def _on_stop(stop: Callable[[], None]) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop())


def _serve(server: AgiServer, parent: int) -> None:
    """One forked server process: SIGTERM stops it as it stops a single runagi."""
    _on_stop(server.stop)
    threading.Thread(target=_stop_when_orphaned, args=(server, parent), name="runagi-parent", daemon=True).start()
    server.serve_forever()


def _stop_when_orphaned(server: AgiServer, parent: int) -> None:
    # A supervisor killed outright (SIGKILL, out of memory) passes no SIGTERM on: its servers
    # would go on taking calls on a port that no unit stops any more.
    while os.getppid() == parent:
        time.sleep(SUPERVISE_POLL_SECONDS)
    server.stop()


def _supervise(server: AgiServer, processes: int, stopping: threading.Event) -> None:
    """`processes` servers forked from this one, on its listening socket; a dead one is replaced,
    SIGTERM is passed on and waited for."""
    connections.close_all()  # a forked child must open its own connections (its own pool), not share these
    context = multiprocessing.get_context("fork")
    children: list = [None] * processes
    while not stopping.is_set():
        for index, child in enumerate(children):
            if child is None or not child.is_alive():
                children[index] = context.Process(target=_serve, args=(server, os.getpid()), name=f"runagi-{index}")
                children[index].start()
        stopping.wait(SUPERVISE_POLL_SECONDS)
    server.close()  # shut down already (stop()): new calls are refused while the children finish theirs
    for child in children:
        if child is not None and child.is_alive():
            os.kill(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + server.stop_grace + 10
    for child in children:
        if child is not None:
            child.join(timeout=max(deadline - time.monotonic(), 0))
            if child.is_alive():  # a process stuck beyond its grace: the unit's stop must not hang
                child.kill()
                child.join()
