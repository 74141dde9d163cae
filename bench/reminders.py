"""A window reminder to 100,000 chats: the rate the sender achieves, and its peak memory.

    .venv/bin/python bench/reminders.py [--recipients N] [--rate R] [--sqlite]

The aim (issue #6): the broadcast goes out at the configured rate, at least 95 % of
TELEGRAM_BROADCAST_RATE (default 25 a second, so 100,000 chats take about 67 minutes),
never faster, one message per chat, in bounded memory. N bot users (default 100,000),
each with a linked account and reminders on, are seeded with bulk_create; the
window-opens reminder is listed with `services.broadcast_fill`; then
`sending.deliveries_send(channel="telegram")`, the one sender every broadcast goes through, runs in a
child process (DEBUG off), in slices of SEND_SLICE_SECONDS as the Celery task runs it,
against a fake Bot API (botbridge/tests/fake_bot_api.py) in this process, and reports
its time and peak memory (VmHWM). The rate is counted on the fake's side: messages
answered between the first and the last one; the busiest second is the most answered
within any one second, which may hold one tick (a tenth of the rate) more. Afterwards
every chat must have got exactly one message, or the script exits with status 1.

The sender, the fake and the database share this machine's cores: a rate far above
Telegram's (say 1,000 a second) measures the machine as much as the sender.
PostgreSQL (a scratch database, pokaznyk_bench_reminders, dropped after) unless
--sqlite, then a temporary SQLite file. Without --rate, the setting's own value.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

if TYPE_CHECKING:
    from botbridge.tests.fake_bot_api import FakeBotAPI

SCRATCH_DATABASE = "pokaznyk_bench_reminders"
SEED_BATCH = 5000
AIM_SHARE = 0.95
PROGRESS_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000, help="bot users to remind (default 100000)")
    parser.add_argument("--rate", type=int, help="TELEGRAM_BROADCAST_RATE, messages a second (default: the setting's)")
    parser.add_argument("--sqlite", action="store_true", help="the embedded default instead of PostgreSQL")
    parser.add_argument("--send", action="store_true", help=argparse.SUPPRESS)  # the sender's child process
    args = parser.parse_args()
    if args.send:
        send_child()
        return
    with harness.workspace(SCRATCH_DATABASE, sqlite=args.sqlite) as (url, _tmp):
        run(args, url)


def run(args: argparse.Namespace, url: str) -> None:
    from botbridge.tests.fake_bot_api import FakeBotAPI

    with FakeBotAPI() as fake:
        # No REDIS_URL (harness.portal_environment): the sender's lock in its own process's memory,
        # one sender anyway.
        env = harness.portal_environment(
            url, LOG_LEVEL="warning", TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE=fake.base_url
        )
        if args.rate:
            env["TELEGRAM_BROADCAST_RATE"] = str(args.rate)
        harness.migrate(env)
        harness.django_setup(env)
        from django.conf import settings
        from django.db import connection

        chat_ids = range(1_000_000, 1_000_000 + args.recipients)
        print(
            f"== reminders bench: {connection.vendor}, {args.recipients:,} chats, "
            f"{settings.TELEGRAM_BROADCAST_RATE} messages a second",
            flush=True,
        )
        seed(chat_ids)
        for chat_id in chat_ids:
            fake.add_chat(chat_id)
        broadcast_id = fill()
        connection.close()
        result = send(fake, args.recipients / settings.TELEGRAM_BROADCAST_RATE)
        ok = report(fake, result, chat_ids, broadcast_id, settings.TELEGRAM_BROADCAST_RATE)
    if not ok:
        sys.exit(1)


def seed(chat_ids: range) -> None:
    """Bot users, each with a Telegram identity and a linked account (one meter) with reminders on."""
    from botbridge.tests.seeding import bot_users_create

    started = time.perf_counter()
    for first in range(0, len(chat_ids), SEED_BATCH):
        bot_users_create(chat_ids[first : first + SEED_BATCH], english_every=10)
    print(
        f"seeded {len(chat_ids):,} bot users (identity, account, meter, link) in {time.perf_counter() - started:.1f} s"
    )


def fill() -> int:
    import datetime as dt

    from botbridge import services
    from botbridge.models import Broadcast

    started = time.perf_counter()
    broadcast = services.broadcast_start(kind=Broadcast.Kind.WINDOW_OPENS, period=dt.date(2026, 12, 1))
    added = services.broadcast_fill(broadcast_id=broadcast.pk)
    print(f"listed {added:,} deliveries (services.broadcast_fill) in {time.perf_counter() - started:.1f} s", flush=True)
    return broadcast.pk


def send(fake: FakeBotAPI, expected_seconds: float) -> dict:
    """The sender in a child process, with progress every minute for a long run."""
    print(f"sending: about {expected_seconds:,.0f} s at the configured rate", flush=True)
    child = subprocess.Popen(
        [sys.executable, __file__, "--send"], cwd=harness.BASE_DIR, stdout=subprocess.PIPE, text=True
    )
    started = time.monotonic()
    while True:
        try:
            output, _ = child.communicate(timeout=PROGRESS_SECONDS)
            break
        except subprocess.TimeoutExpired:
            sent = len(fake.calls_to("sendMessage"))
            print(f"  {time.monotonic() - started:6.0f} s: {sent:,} messages answered", flush=True)
    if child.returncode:
        sys.exit(f"the sender's process failed with status {child.returncode}")
    return json.loads(output.strip().splitlines()[-1])


def send_child() -> None:
    import django

    django.setup()
    from botbridge import sending, services, tasks

    at_start = harness.peak_rss_mib()
    slices = []
    while not slices or services.deliveries_waiting(channel="telegram"):
        # As the deliveries_send task runs it: a new sender every SEND_SLICE_SECONDS.
        slices.append(sending.deliveries_send(channel="telegram", stop_after_seconds=tasks.SEND_SLICE_SECONDS).__dict__)
    print(json.dumps({"slices": slices, "rss_at_start_mib": at_start, "rss_peak_mib": harness.peak_rss_mib()}))


def report(fake: FakeBotAPI, result: dict, chat_ids: range, broadcast_id: int, rate: int) -> bool:
    from botbridge.models import Delivery

    seconds = sum(piece["seconds"] for piece in result["slices"])
    answered = sorted(call.at for call in fake.calls_to("sendMessage"))
    span = answered[-1] - answered[0] if len(answered) > 1 else 0.0
    achieved = (len(answered) - 1) / span if span else 0.0
    share = achieved / rate
    per_chat = Counter(call.params["chat_id"] for call in fake.sent_messages())
    once = len(per_chat) == len(chat_ids) and set(per_chat.values()) == {1}
    statuses = Counter(Delivery.objects.filter(broadcast_id=broadcast_id).values_list("status", flat=True))
    print()
    harness.print_table(
        [
            ("messages answered by the fake", f"{len(answered):,}", ""),
            (
                "chats with exactly one message",
                f"{sum(1 for n in per_chat.values() if n == 1):,}",
                f"all {len(chat_ids):,}: {'met' if once else 'NOT met'}",
            ),
            ("deliveries by status", ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())), ""),
            (
                f"sender's time, {len(result['slices'])} slice(s)",
                f"{seconds:.1f} s",
                f"{len(chat_ids) / rate:.0f} s at {rate}/s",
            ),
            ("rate, first to last message", f"{achieved:.2f}/s", ""),
            (
                "share of the configured rate",
                f"{share:.1%}",
                f">= {AIM_SHARE:.0%}: {'met' if share >= AIM_SHARE else 'NOT met'}",
            ),
            ("busiest second", f"{busiest_second(answered)}", f"{rate}, one tick more at most"),
            (
                "sender's peak memory (RSS)",
                f"{result['rss_peak_mib']:.0f} MiB",
                f"{result['rss_at_start_mib']:.0f} MiB before sending",
            ),
        ]
    )
    return once


def busiest_second(times: list[float]) -> int:
    """The most messages answered within any one second (times sorted)."""
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


if __name__ == "__main__":
    main()
