"""python manage.py converse [--processes N]: the bots' workers.

The webhooks only store what residents send; these processes run the conversation and send
the replies (botbridge.worker). SIGTERM or Ctrl-C: each worker finishes the event in hand and
exits. A worker that dies is started again; the event it held is taken by another once its
lease runs out.
"""

import multiprocessing
import os
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from botbridge import worker

MAX_PROCESSES = 64


class Command(BaseCommand):
    help = "Run the bots' workers: they handle what the webhooks stored and send the replies."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--processes", type=int, default=1, help="How many worker processes (one event at a time each)."
        )

    def handle(self, *args, processes: int, **options) -> None:
        if not 1 <= processes <= MAX_PROCESSES:
            raise CommandError(f"--processes {processes}: use 1 to {MAX_PROCESSES}.")
        self.stdout.write(f"Conversing with {processes} worker process(es); SIGTERM stops them after their event.")
        if processes == 1:
            _work()
            return
        _supervise(processes)


def _work() -> None:
    stopping = threading.Event()
    for name in (signal.SIGTERM, signal.SIGINT):
        signal.signal(name, lambda *_: stopping.set())
    worker.run(stop=stopping.is_set)


def _supervise(processes: int) -> None:
    """N workers forked from this process; a dead one is replaced, SIGTERM is passed on."""
    stopping = threading.Event()
    for name in (signal.SIGTERM, signal.SIGINT):
        signal.signal(name, lambda *_: stopping.set())
    connections.close_all()  # a forked child must open its own connection, not share this one
    context = multiprocessing.get_context("fork")
    children: list = [None] * processes
    while not stopping.is_set():
        for index, child in enumerate(children):
            if child is None or not child.is_alive():
                children[index] = context.Process(target=_work, name=f"converse-{index}", daemon=False)
                children[index].start()
        time.sleep(0.2)
    for child in children:
        if child is not None and child.is_alive():
            os.kill(child.pid, signal.SIGTERM)
    for child in children:
        if child is not None:
            child.join()
