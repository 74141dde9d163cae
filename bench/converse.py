"""The bots' workers alone: how fast `manage.py converse` turns stored readings into replies, and
what each costs in CPU (the workers' and their PostgreSQL backends').

    .venv/bin/python bench/converse.py [--events N] [--processes P] [--profile FILE]

N Telegram residents are seeded as bench/webhook.py seeds them (an account, a meter, a linked
user, a conversation waiting for the reading) and their readings are stored as the webhook stores
them (services.events_store: the intake is not measured here, bench/webhook.py does that); then
`manage.py converse --processes P` starts and the queue is timed from the first reply to the last
(Django's start left out). The fake Bot API runs in this process, as in bench/webhook.py.

CPU is counted per event from /proc: the workers' processes, and the PostgreSQL backends connected
to the scratch database (not the whole server: other databases on it are not this bench's). With
--profile, py-spy samples the workers while they drain; the summary names where their time goes.
Afterwards every resident must have one reading of the value sent and one reply.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, webhook

SCRATCH_DATABASE = "pokaznyk_bench_converse"
# Frames of a worker busy with events: its event loop's, and those of the thread sync_to_async runs
# the database work in (whose stacks do not pass through the loop's frames).
WORKER_MARKERS = ("event_work", "events_lease", "event_answer", "event_claim", "event_done", "stored_handle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="readings stored, one resident each (default 2000)")
    parser.add_argument("--processes", type=int, default=2, help="manage.py converse --processes (default 2)")
    parser.add_argument("--profile", type=Path, help="py-spy the workers while they drain: collapsed stacks here")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        channel = stack.enter_context(webhook.TelegramBench(0))
        database_url, tmp = stack.enter_context(harness.workspace(SCRATCH_DATABASE))
        env = harness.portal_environment(database_url, **channel.env(), **harness.WINDOW_ENV, BOT_EVENTS_INLINE="0")
        harness.migrate(env)
        harness.django_setup(env)
        try:
            print(harness.open_window("bench/converse.py"), flush=True)
            residents = seed(channel, args.events, tmp)
            drain(args, channel, env, residents, tmp)
        finally:
            from django.db import connections

            connections.close_all()


def seed(channel, count: int, tmp: Path) -> list[webhook.Resident]:
    from botbridge.services import Inbound, events_store, telegram_update_key

    started = time.perf_counter()
    residents = webhook.Residents(channel, tmp / "updates.jsonl")
    residents.grow(count)
    bot_id = int(channel.fake.token.split(":")[0])
    events = []
    for n, resident in enumerate(residents.all):
        update = channel.reading_event(resident, n)
        key = telegram_update_key(bot_id=bot_id, update_id=update["update_id"])
        events.append(Inbound("telegram", key, resident.external_id, json.dumps(update, ensure_ascii=False)))
    for first in range(0, len(events), 1000):
        events_store(events=events[first : first + 1000])
    print(f"seeded and stored {count:,} readings in {time.perf_counter() - started:.1f} s", flush=True)
    return residents.all


def drain(args: argparse.Namespace, channel, env: dict[str, str], residents: list, tmp: Path) -> None:
    from botbridge.models import InboundEvent

    log = (tmp / "workers.log").open("w")
    command = [sys.executable, "manage.py", "converse", "--processes", str(args.processes)]
    print(harness.machine_load(), flush=True)
    worker = subprocess.Popen(command, cwd=harness.BASE_DIR, env=env, stdout=log, stderr=log)
    try:
        first = _first_reply(channel, worker, tmp)
        pids = _tree(worker.pid)
        backends = _backends()
        cpu_before = _cpu(pids), _cpu(backends)
        started = time.monotonic()
        replied_before = len(channel.fake.calls_to("sendMessage"))
        seconds = max(5.0, len(residents) / 20)
        with harness.py_spy(args.profile, [worker.pid], seconds) if args.profile else contextlib.nullcontext():
            while InboundEvent.objects.filter(done_at__isnull=True).exists():
                if time.monotonic() - started > 600:
                    sys.exit("the queue did not drain in 10 minutes")
                time.sleep(0.05)
        elapsed = time.monotonic() - started
        backends = backends | _backends()
        cpu_after = _cpu(pids), _cpu(backends)
        load = harness.machine_load()
    finally:
        harness.process_stop(worker)
    replied = len(channel.fake.calls_to("sendMessage")) - replied_before
    events = replied
    worker_ms = (cpu_after[0] - cpu_before[0]) * 1000 / max(events, 1)
    pg_ms = (cpu_after[1] - cpu_before[1]) * 1000 / max(events, 1)
    print(
        f"\n== converse bench: {args.processes} worker process(es), {os.cpu_count()} cores (first reply at "
        f"{first:.1f} s after start, then timed)\n"
        f"{events:,} events drained in {elapsed:.2f} s: {events / elapsed:,.1f} events/s; "
        f"CPU an event: workers {worker_ms:.1f} ms, their PostgreSQL backends {pg_ms:.1f} ms\n{load}"
    )
    verify(channel, residents)
    if args.profile:
        print(harness.profile_summary(args.profile, markers=WORKER_MARKERS))


def _first_reply(channel, worker: subprocess.Popen, tmp: Path) -> float:
    started = time.monotonic()
    while not channel.fake.calls_to("sendMessage"):
        if worker.poll() is not None:
            sys.exit(f"manage.py converse exited ({worker.returncode}): {(tmp / 'workers.log').read_text()[-2000:]}")
        if time.monotonic() - started > 120:
            sys.exit("no reply in 2 minutes")
        time.sleep(0.01)
    return time.monotonic() - started


def _tree(root: int) -> set[int]:
    procs = harness._processes()
    return {root} | {pid for pid in procs if harness._descends(pid, [root], procs)}


def _backends() -> set[int]:
    """The PostgreSQL backends of the scratch database but this process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def _cpu(pids: set[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += harness.cpu_seconds(pid)
    return total


def verify(channel, residents: list) -> None:
    from readings.models import Reading

    values = dict(Reading.objects.filter(channel="telegram").values_list("meter_id", "value1"))
    counts = Counter(Reading.objects.filter(channel="telegram").values_list("meter_id", flat=True))
    wrong = sum(values.get(r.meter_id) != r.reading for r in residents)
    doubled = sum(n > 1 for n in counts.values())
    replies = Counter(str(call.params.get("chat_id")) for call in channel.fake.calls_to("sendMessage"))
    unanswered = sum(replies[r.external_id] != 1 for r in residents)
    ok = not (wrong or doubled or unanswered)
    print(
        f"database: {len(values):,} readings for {len(residents):,} residents; {wrong} missing or wrong, "
        f"{doubled} doubled; {unanswered} residents without exactly one reply — {'OK' if ok else 'MISMATCH'}"
    )
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
