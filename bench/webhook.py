"""Each messenger's webhook on the reading-submission path: the highest rate of events it takes with p99
under 50 ms (intake), and how long a resident waits for the reply (end to end).

    .venv/bin/python bench/webhook.py [--quick] [--channels telegram,viber,messenger] [--stack gunicorn|uvicorn]
                                      [--workers W] [--worker-command "CMD ARGS"] [--worker-processes N]
                                      [--summary FILE] [--server-log FILE]

The portal is served as in production (harness.PRODUCTION_STACK unless --stack says another, W
worker processes, default 2), DEBUG off, PostgreSQL, with every channel on at once. Each bot
replies to its platform's fake (botbridge/tests/fake_bot_api.py, fake_viber.py, fake_graph.py)
running in this process and told of every resident, so the real clients send real HTTP requests,
and any reply the platform would refuse is counted. Every body posted to Viber's and Messenger's
webhooks is signed as the platform signs it, by the load generator, per request.

Load is offered at fixed arrival rates, open loop (harness.Load.capacity): the rate doubles from
--start-rate until a step misses p99 < 50 ms with no errors, then bisects. Two figures per channel:

- intake: the highest rate whose webhook answers meet the aim (what the platform sees);
- end to end: for each step, the time from an event's scheduled POST to its reply reaching the
  platform's fake (a Telegram reply inside the HTTP response counts when that response arrives),
  and the highest rate at which every event of the step was replied to within --reply-wait with
  p99 under 1 s.

Store-then-workers (#17 item 2): when the portal has the management command WORKER_COMMAND
(or --worker-command names one), the bench starts --worker-processes of `manage.py <command>`
beside the server, with the server's environment, counts their CPU with the server's, and stops
them at the end. Nothing else in this script depends on how the webhook works: replies are
waited for after each step, readings are checked once every reply has arrived.

Every update measured is the one the issue asks about: a resident whose conversation waits for a
reading (they pressed their account's button) sends a text message like "10234"; the bot records it
through `reading_submit` and answers with the consumption and the cost. Each resident sends exactly
one reading, so every update is a resident's first reading of the month and needs a resident of its
own: each step's residents are seeded before it (accounts and meters through `master_data_import`,
the channel's users through `channel_identity_resolve`, links through `account_link`, the
conversation state after "press the account button" as `ConversationState` rows; the first resident
presses the button through the webhook instead, and the row the bot writes for them must be the row
this script writes for everyone else). Readings land *in* the window (harness.open_window).

Afterwards the database must hold one accepted reading, of the value sent, for each update answered
200, none doubled, one claimed event each, and the fake must have refused no reply; otherwise the
figures are still printed and the script exits with status 1. It needs PostgreSQL (DATABASE_URL's
server, or postgresql://127.0.0.1:5432/postgres); a scratch database, pokaznyk_bench_webhook, is made
and dropped after. REDIS_URL is not passed to the server. Not part of the test suite.
"""

import argparse
import contextlib
import json
import os
import secrets
import shlex
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SCRATCH_DATABASE = "pokaznyk_bench_webhook"
ACCOUNT_BASE = 700_000_000  # account numbers 700000000, 700000001, ...; 710000000, ... for the 2nd channel
CHANNEL_ACCOUNTS = 10_000_000
TELEGRAM_ID_BASE = 5_100_000_000  # residents' Telegram ids (ids above 2**32 are real too)
UPDATE_ID_BASE = 900_000_001
AIM_RATE = 1_000  # events a second taken with p99 under 50 ms (#17)
AIM_READINGS = 100  # readings a second through the bot, replies p99 under 1 s
AIM_REPLY_P99_MS = 1000.0
# The store-then-workers hook (#17 item 2): the management command that runs the webhooks' workers,
# started beside the server when the portal has it; "NAME ARGS", as typed after manage.py. `converse`
# is the intake branch's (one event at a time per process): one per core.
WORKER_COMMAND = "converse --processes 2"
WORKER_LOGS: list[Path] = []
# --worker-nice N runs the workers niced: on 2 cores they cannot converse 1,000 readings a second
# anyway, so the intake may come first and the workers take what CPU is left (they catch up after).
# Not the default: on a machine others load too, a niced worker starves (it did not take the probe's
# event within 90 s at load 15 with nice 10).
WORKER_NICE = 0


@dataclass(frozen=True)
class Resident:
    external_id: str  # the user's id on the channel
    account_number: str
    meter_id: int
    reading: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--channels", default=",".join(CHANNELS), help=f"webhooks to measure, in order (default {','.join(CHANNELS)})"
    )
    parser.add_argument("--quick", action="store_true", help="short steps: a check that it runs")
    parser.add_argument("--stack", choices=harness.STACKS, default=harness.PRODUCTION_STACK)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per channel (default 200)")
    parser.add_argument("--start-rate", type=float, default=10.0, help="the first rate offered, events/s")
    parser.add_argument("--reply-wait", type=float, default=10.0, help="s to wait for a step's replies")
    parser.add_argument("--worker-command", default=WORKER_COMMAND, help=f"default {WORKER_COMMAND!r}")
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument(
        "--worker-nice", type=int, default=WORKER_NICE, help=f"the workers' niceness (default {WORKER_NICE})"
    )
    parser.add_argument("--summary", type=Path, help="write the figures here as JSON (bench/hotpaths.py)")
    parser.add_argument("--profile", type=Path, help="one more step per channel under py-spy: PROFILE.<channel>")
    parser.add_argument("--server-log", type=Path, help="keep the server's output in this file (default: not kept)")
    args = parser.parse_args()
    if args.warmup < 1 or args.workers < 1 or args.start_rate <= 0:
        parser.error("--warmup and --workers: at least 1; --start-rate: above 0")
    names = [name.strip() for name in args.channels.split(",") if name.strip()]
    if not names or set(names) - set(CHANNELS) or len(set(names)) != len(names):
        parser.error(f"--channels: some of {', '.join(CHANNELS)}, each once, comma-separated")
    if args.quick:
        args.warmup = min(args.warmup, 50)
        args.reply_wait = min(args.reply_wait, 5.0)

    with contextlib.ExitStack() as stack:
        channels = [stack.enter_context(CHANNELS[name](index)) for index, name in enumerate(names)]
        database_url, tmp = stack.enter_context(harness.workspace(SCRATCH_DATABASE))
        env = harness.portal_environment(database_url, **channels_env(channels), **harness.WINDOW_ENV)
        harness.migrate(env)
        harness.django_setup(env)  # this process seeds and checks through Django too
        try:
            report = benchmark(args, channels, env, tmp)
        finally:
            from django.db import connections

            connections.close_all()
    failed = print_report(report)
    harness.write_summary(args.summary, report.summary())
    if failed:
        sys.exit(f"the database or the fake disagrees with the responses for {', '.join(failed)}: see above")


# --- The benchmark ------------------------------------------------------------------------------


@dataclass
class ChannelReport:
    channel: str
    seeding: str
    probe: str
    capacity: harness.Capacity
    replies: list["Replies"]  # one per step, in the capacity's steps' order
    verification: "Verification"

    @property
    def end_to_end(self) -> float:
        """The highest rate whose every event was replied to, p99 under 1 s, below the lowest rate that was not."""
        pairs = list(zip((step.rate for step in self.capacity.steps), self.replies, strict=False))
        missed = min((rate for rate, r in pairs if not r.met), default=float("inf"))
        return max((rate for rate, r in pairs if r.met and rate < missed), default=0.0)


@dataclass
class Report:
    header: str
    window: str
    workers: str
    channels: list[ChannelReport]

    def summary(self) -> dict:
        return {
            "path": "webhook",
            "stack": self.header,
            "workers": self.workers,
            "load": harness.machine_load(),
            "channels": {
                c.channel: {
                    "capacity": c.capacity.summary(),
                    "end_to_end": c.end_to_end,
                    "reply_p99_ms": [
                        [step.rate, r.p99_ms] for step, r in zip(c.capacity.steps, c.replies, strict=False)
                    ],
                    "database": "MISMATCH" if c.verification.failed else "OK",
                }
                for c in self.channels
            },
        }


def benchmark(args: argparse.Namespace, channels: list, env: dict[str, str], tmp: Path) -> Report:
    window = harness.open_window("bench/webhook.py")
    print(window, flush=True)
    print(harness.machine_load(), flush=True)
    everyone = {}
    for channel in channels:
        everyone[channel.name] = residents = Residents(channel, tmp / f"{channel.name}.jsonl")
        residents.grow(args.warmup, waiting_from=1)  # the first one presses the button through the webhook
        print(residents.seeding[-1], flush=True)

    header = (
        f"{harness.server_versions()}, {harness.stack_name(args.stack, args.workers)}, {os.cpu_count()} cores, "
        f"DEBUG off, LOG_LEVEL {env.get('LOG_LEVEL') or 'info'}"
    )
    if env["DJANGO_SETTINGS_MODULE"] != "portal.settings":
        header += f", DJANGO_SETTINGS_MODULE={env['DJANGO_SETTINGS_MODULE']}"
    log = args.server_log or tmp / "server.log"
    load = harness.Load(warmup=args.warmup, requests=0, seconds=0, clients=64, tmp=tmp)
    rates = harness.Rates(start=args.start_rate, seconds=2.0 if args.quick else 4.0, refine=1 if args.quick else 2)

    reports = []
    # The sampler connects before the server starts: it has a connection when the server has taken them all.
    with (
        harness.ConnectionSampler(env["DATABASE_URL"]) as sampler,
        harness.serve(args.stack, env, args.workers, log) as (base_url, server_pids),
        workers_running(args, env, tmp) as (worker_pids, workers),
    ):
        for channel in channels:
            residents = everyone[channel.name]
            probe = press_account_button(base_url, channel, residents.all[0])
            print(probe, flush=True)
            replies: list[Replies] = []

            def after_step(
                phase: harness.Phase, first: int, residents=residents, channel=channel, replies=replies
            ) -> str:
                """Wait for the step's replies; their latencies from each event's scheduled POST."""
                got = wait_for_replies(channel, residents.all[first : first + phase.sent], phase, args.reply_wait)
                replies.append(got)
                print(f"  replies: {got.line()}", flush=True)
                return ""

            webhook = harness.Target(
                f"POST {channel.path} (a reading)",
                f"{base_url}{channel.path}",
                "POST",
                {**channel.headers(), "Content-Type": "application/json"},
                residents.updates,
                channel.signature(),
            )
            capacity = load.capacity(
                webhook,
                server_pids,
                sampler,
                rates,
                prepare=residents.grow,
                check=after_step,
                profile=args.profile.with_suffix(f".{channel.name}") if args.profile else None,
                worker_pids=worker_pids,
            )
            verification = verify(capacity, channel, residents.all, log, args.reply_wait)
            reports.append(
                ChannelReport(channel.name, "; ".join(residents.seeding), probe, capacity, replies, verification)
            )
    return Report(header, window, workers, reports)


@contextlib.contextmanager
def workers_running(args: argparse.Namespace, env: dict[str, str], tmp: Path):
    """The webhooks' workers when the portal has their command (WORKER_COMMAND): their pids and a description."""
    command = shlex.split(args.worker_command or "")
    found = command and any(path.is_file() for path in harness.BASE_DIR.glob(f"*/management/commands/{command[0]}.py"))
    if not found:
        yield [], f"none (no manage.py {command[0] if command else '-'}: the webhooks converse in the request)"
        return
    processes = []
    try:
        for n in range(args.worker_processes):
            WORKER_LOGS.append(tmp / f"worker{n}.log")
            log = WORKER_LOGS[-1].open("w")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", *command],
                    cwd=harness.BASE_DIR,
                    env=env,
                    stdout=log,
                    stderr=log,
                    preexec_fn=lambda: os.nice(args.worker_nice),
                )
            )
        time.sleep(3)  # Django's start
        for process in processes:
            if process.poll() is not None:
                sys.exit(f"manage.py {args.worker_command} exited ({process.returncode}): see {tmp}/worker*.log")
        yield (
            [p.pid for p in processes],
            (f"{args.worker_processes} x manage.py {args.worker_command} (nice {args.worker_nice})"),
        )
    finally:
        for process in processes:
            harness.process_stop(process)


@dataclass
class Replies:
    expected: int  # events answered ok
    latencies_ms: list[float]  # of the replies that arrived, from each event's scheduled POST

    @property
    def p99_ms(self) -> float:
        return harness.percentile(self.latencies_ms, 99)

    @property
    def met(self) -> bool:
        return self.expected > 0 and len(self.latencies_ms) >= self.expected and self.p99_ms < AIM_REPLY_P99_MS

    def line(self) -> str:
        return (
            f"{len(self.latencies_ms):,} of {self.expected:,} replied; "
            + (harness.latency_summary(self.latencies_ms) if self.latencies_ms else "none")
            + " from the POST's scheduled start"
        )


def wait_for_replies(channel, residents: list["Resident"], phase: harness.Phase, wait: float) -> Replies:
    """The first reply to each of the step's residents, waiting up to `wait` s for the last one."""
    expected = phase.ok
    ids = {resident.external_id: k for k, resident in enumerate(residents)}
    deadline = time.monotonic() + wait
    while True:
        times = channel.reply_times(ids)
        if len(times) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    latencies = [(at - phase.scheduled[k]) * 1000 for k, at in times.items()]
    return Replies(expected, latencies)


class Residents:
    """A channel's residents seeded so far, known to its fake, their readings' updates in a file."""

    def __init__(self, channel, updates: Path) -> None:
        self.channel = channel
        self.updates = updates
        self.all: list[Resident] = []
        self.seeding: list[str] = []

    def grow(self, total: int, *, waiting_from: int = 0) -> None:
        """Seed residents up to `total`, all but the first `waiting_from` of the new ones waiting for a reading."""
        first = len(self.all)
        if total <= first:
            return
        started = time.perf_counter()
        new = seed(self.channel, first, total)
        write_waiting_states(self.channel, new[waiting_from:])
        for resident in new:
            self.channel.add_recipient(resident)
        self.all += new
        harness.write_requests(
            self.updates,
            (
                {"body": json.dumps(self.channel.reading_event(r, n), ensure_ascii=False)}
                for n, r in enumerate(self.all)
            ),
        )
        self.seeding.append(
            f"{self.channel.name}: seeded {len(new):,} residents (account, meter, user, link, waiting state) "
            f"in {time.perf_counter() - started:.1f} s"
        )


def seed(channel, first: int, end: int) -> list[Resident]:
    """Residents first..end-1, each with an account and a one-zone meter, linked, through the write paths."""
    from django.db import transaction

    from accounts.identities import channel_identity_resolve
    from accounts.linking import account_link
    from accounts.masterdata import MasterDataRow, master_data_import
    from accounts.models import Meter

    starts = {i: 10_000 + (i * 37) % 50_000 for i in range(first, end)}
    rows = {
        i: MasterDataRow(
            account_number=str(ACCOUNT_BASE + channel.index * CHANNEL_ACCOUNTS + i),
            meter_serial=f"BW{channel.index}{i:07d}",
            zones=1,
            digits=6,
            address=f"м. Житомир, вул. Соборна, {1 + i % 200}",
            holder_name="Іваненко Марія Петрівна",
            initial_values=(starts[i],),
        )
        for i in range(first, end)
    }
    master_data_import(rows=rows.values())
    for batch in range(first, end, 1000):
        with transaction.atomic():  # one commit per thousand, not four per resident
            for i in range(batch, min(end, batch + 1000)):
                # The same profile the updates carry, as after the resident's first message.
                user = channel_identity_resolve(
                    channel=channel.name,
                    external_id=channel.external_id(i),
                    display_name="Марія",
                    username="",
                    language_code="uk",
                )
                account_link(user=user, account_number=rows[i].account_number, meter_serial=rows[i].meter_serial)
    numbers = [row.account_number for row in rows.values()]
    meters = dict(Meter.objects.filter(account__number__in=numbers).values_list("account__number", "id"))
    # 100 to 199 kWh since the meter's initial reading: an ordinary month, accepted without questions.
    return [
        Resident(channel.external_id(i), row.account_number, meters[row.account_number], starts[i] + 100 + i % 100)
        for i, row in rows.items()
    ]


def press_account_button(base_url: str, channel, resident: Resident) -> str:
    """One resident presses their account's button through the webhook: the bot's state row must be ours."""
    from botbridge.models import ConversationState

    status, _body = channel.press_account(base_url, resident)
    if status != 200:
        sys.exit(f"{channel.name}: pressing the account button through the webhook answered {status}")
    expected = waiting_state(channel, resident)
    deadline = time.monotonic() + 90  # a worker may write it after the webhook's 200 (and be starting still)
    while True:
        actual = (
            ConversationState.objects.filter(channel=expected.channel, user_key=expected.user_key)
            .values_list("state", "data")
            .first()
        )
        if actual == (expected.state, expected.data) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if actual != (expected.state, expected.data):
        logs = "".join(f"\n{log}: {log.read_text()[-2000:]}" for log in WORKER_LOGS if log.exists())
        sys.exit(
            f"the bot's state after the button is not what this script writes: expected {expected}, got {actual}{logs}"
        )
    return (
        f"{channel.name} probe: pressing the account button through the webhook wrote {expected} = "
        f"{expected.state} {json.dumps(expected.data)}, the row seeded for everyone else; "
        f"replies {channel.reply_calls()}"
    )


def waiting_state(channel, resident: Resident):
    """The ConversationState row the bot keeps after "press the account button" for a one-meter account."""
    from botbridge.conversation import READING
    from botbridge.models import ConversationState

    return ConversationState(
        channel=channel.name,
        user_key=resident.external_id,
        state=READING,
        data={"meter_id": resident.meter_id, "zones": 1},
    )


def write_waiting_states(channel, residents: list[Resident]) -> None:
    from botbridge.models import ConversationState

    ConversationState.objects.bulk_create((waiting_state(channel, r) for r in residents), batch_size=2000)


@dataclass
class Verification:
    lines: list[str]
    failed: bool


def verify(capacity: harness.Capacity, channel, residents: list[Resident], log: Path, wait: float) -> Verification:
    """The database and the channel's fake against what the clients were told, once every reply has come."""
    from django.db.models import Count

    from botbridge.models import ConversationState, InboundEvent, ProcessedEvent
    from readings.models import Reading

    ok = capacity.answered
    readings = Reading.objects.filter(channel=channel.name)
    # The webhooks only store events: the steps over the workers' pace leave a queue, which the
    # workers go on taking after the load stops. Nothing is counted lost until it has drained (or
    # stopped moving for `wait` seconds: a stuck worker is a failure, not a slow one).
    pending = InboundEvent.objects.filter(channel=channel.name, done_at__isnull=True)
    started, left = time.monotonic(), pending.count()
    last_move = started
    while left and time.monotonic() - last_move < max(wait, 30.0):
        time.sleep(0.5)
        now_left = pending.count()
        if now_left < left:
            last_move = time.monotonic()
        left = now_left
    drained = (
        f"queue drained in {time.monotonic() - started:.1f} s after the load"
        if not left
        else (f"{left:,} events still queued, the workers stopped moving")
    )
    deadline = time.monotonic() + wait  # the last event's reading commits with its event
    while readings.count() < ok and time.monotonic() < deadline:
        time.sleep(0.2)
    statuses = dict(readings.values_list("status").annotate(n=Count("id")))
    created = sum(statuses.values())
    doubled = readings.values("meter").annotate(n=Count("id")).filter(n__gt=1).count()
    sent_values = {resident.meter_id: resident.reading for resident in residents}
    wrong_values = sum(
        1 for meter_id, value in readings.values_list("meter_id", "value1") if value != sent_values.get(meter_id)
    )
    waiting = ConversationState.objects.filter(channel=channel.name, state="Submitting:reading").count()
    processed = ProcessedEvent.objects.filter(channel=channel.name).count() - 1  # the probe's button
    sent, refused = channel.replies()
    failed = created != ok or doubled or wrong_values or refused or set(statuses) - {"accepted"} or processed != ok
    shown = ", ".join(f"{n:,} {status}" for status, n in sorted(statuses.items())) or "none"
    lines = [
        f"database: {created:,} readings for {ok:,} updates answered 200 ({shown}); {doubled} meters with more "
        f"than one; {wrong_values} with a value other than the one sent; {processed:,} update ids claimed; "
        f"{waiting:,} residents still wait for their reading — "
        + ("OK: none lost, none doubled" if not failed else f"MISMATCH: {ok - created:,} readings missing"),
        f"workers: {drained}",
        f"{channel.fake_name}: {sent:,} replies sent (1 to the probe), {len(refused)} refused"
        + (f": {Counter(refused).most_common(3)}" if refused else ""),
        f"server log: {harness.log_summary(log)}",
    ]
    return Verification(lines, bool(failed))


def print_report(report: Report) -> list[str]:
    print()
    print(f"== webhook bench: {report.header}; workers: {report.workers}")
    print(f"{report.window}; {harness.machine_load()}")
    failed = []
    for channel in report.channels:
        print(channel.seeding)
        print(channel.probe)
        capacity = channel.capacity
        capacity.print()
        for step, replies in zip(capacity.steps, channel.replies, strict=False):
            print(f"  {step.rate:>7,.0f}/s: reply {replies.line()}")
        intake_met = capacity.rate >= AIM_RATE and not channel.verification.failed
        e2e = channel.end_to_end
        print(
            f"{channel.channel}: intake {capacity.rate:,.0f} events/s with p99 < 50 ms "
            f"(aim >= {AIM_RATE:,}: {'met' if intake_met else 'NOT met'}); end to end {e2e:,.0f} readings/s with "
            f"every reply in, p99 < {AIM_REPLY_P99_MS:,.0f} ms (aim >= {AIM_READINGS}: "
            f"{'met' if e2e >= AIM_READINGS else 'NOT met'})"
        )
        for line in channel.verification.lines:
            print(f"  {line}")
        if channel.verification.failed:
            failed.append(channel.channel)
    return failed


# --- The channels -------------------------------------------------------------------------------------


class TelegramBench:
    """Telegram: its fake Bot API, a secret token in a header, updates as botbridge/tests/updates.py builds them."""

    name, path, fake_name = "telegram", "/telegram/webhook/", "fake Bot API"

    def __init__(self, index: int) -> None:
        self.index = index
        self.secret = secrets.token_urlsafe(24)  # 32 characters

    def __enter__(self) -> "TelegramBench":
        from botbridge.tests.fake_bot_api import FakeBotAPI

        self.fake = FakeBotAPI().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.fake.__exit__(*exc_info)

    def env(self) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": self.fake.token,
            "TELEGRAM_API_BASE": self.fake.base_url,
            "TELEGRAM_WEBHOOK_SECRET": self.secret,
        }

    def external_id(self, i: int) -> str:
        return str(TELEGRAM_ID_BASE + i)

    def add_recipient(self, resident: Resident) -> None:
        self.fake.add_chat(int(resident.external_id))

    def headers(self) -> dict[str, str]:
        return {"X-Telegram-Bot-Api-Secret-Token": self.secret}

    def signature(self) -> None:
        return None

    def reading_event(self, resident: Resident, n: int) -> dict:
        from botbridge.tests import updates

        return updates.message(str(resident.reading), user_id=int(resident.external_id), update_id=UPDATE_ID_BASE + n)

    def press_account(self, base_url: str, resident: Resident) -> tuple[int, bytes]:
        from botbridge.channels.telegram.keyboards import AccountAction
        from botbridge.tests import updates

        update = updates.callback(
            AccountAction(action="open", number=resident.account_number).pack(),
            user_id=int(resident.external_id),
            message_id=1,
            message_text="Оберіть особовий рахунок:",
            update_id=UPDATE_ID_BASE - 1,
        )
        self.fake.register_update(update)  # Telegram knows the bot's message the button is under
        return harness.post_json(f"{base_url}{self.path}", update, self.headers())

    def reply_calls(self) -> list[str]:
        return [call.method for call in self.fake.calls]

    def reply_times(self, ids: dict[str, int]) -> dict[int, float]:
        """When the first reply to each of `ids` (external id → its index) reached the fake."""
        times: dict[int, float] = {}
        for call in self.fake.calls_to("sendMessage"):
            k = ids.get(str(call.params.get("chat_id")))
            if k is not None and k not in times:
                times[k] = call.at
        return times

    def replies(self) -> tuple[int, list[str]]:
        """Replies sent, and the refused calls' (method, reason)."""
        calls = self.fake.calls
        refused = [f"{call.method}: {call.response.get('description')}" for call in calls if call.status != 200]
        return len(self.fake.calls_to("sendMessage")), refused


class ViberBench:
    """Viber: the fake Viber, bodies signed with the auth token, a tap on the account's button as Viber sends it."""

    name, path, fake_name = "viber", "/viber/webhook/", "fake Viber"

    def __init__(self, index: int) -> None:
        self.index = index

    def __enter__(self) -> "ViberBench":
        from botbridge.tests.fake_viber import FakeViber

        self.fake = FakeViber().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.fake.__exit__(*exc_info)

    def env(self) -> dict[str, str]:
        return {"VIBER_AUTH_TOKEN": self.fake.token, "VIBER_API_BASE": self.fake.base_url}

    def external_id(self, i: int) -> str:
        return f"BenchViber{i:08d}Resident=="  # Viber's ids are opaque base64-like strings

    def add_recipient(self, resident: Resident) -> None:
        self.fake.add_user(resident.external_id)

    def headers(self) -> dict[str, str]:
        return {}

    def signature(self) -> harness.Signature:
        return harness.Signature("X-Viber-Content-Signature", self.fake.token)

    def reading_event(self, resident: Resident, n: int) -> dict:
        from botbridge.tests import fake_viber

        return fake_viber.message_callback(resident.external_id, str(resident.reading), token=UPDATE_ID_BASE + n)

    def press_account(self, base_url: str, resident: Resident) -> tuple[int, bytes]:
        from botbridge.channels.viber.keyboards import action_body
        from botbridge.conversation import Option, menus
        from botbridge.tests import fake_viber

        tap = action_body(Option(resident.account_number, menus.OPEN, resident.account_number))
        callback = fake_viber.message_callback(resident.external_id, tap, token=UPDATE_ID_BASE - 1)
        return harness.post_json(f"{base_url}{self.path}", callback, self.signature().of(json.dumps(callback).encode()))

    def reply_calls(self) -> list[str]:
        return [call.method for call in self.fake.calls]

    def reply_times(self, ids: dict[str, int]) -> dict[int, float]:
        times: dict[int, float] = {}
        for call in self.fake.calls_to("send_message"):
            k = ids.get(call.params.get("receiver"))
            if k is not None and k not in times:
                times[k] = call.at
        return times

    def replies(self) -> tuple[int, list[str]]:
        refused = [f"{call.method}: {call.response.get('status_message')}" for call in self.fake.calls if call.status]
        return len(self.fake.calls_to("send_message")), refused


class MessengerBench:
    """Messenger: the fake Graph API, bodies signed with the app secret, a quick-reply tap on the account."""

    name, path, fake_name = "messenger", "/messenger/webhook/", "fake Graph API"

    def __init__(self, index: int) -> None:
        self.index = index

    def __enter__(self) -> "MessengerBench":
        self.fake = timed_graph_api().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.fake.__exit__(*exc_info)

    def env(self) -> dict[str, str]:
        from botbridge.tests import fake_graph

        return {
            "MESSENGER_PAGE_ACCESS_TOKEN": self.fake.token,
            "MESSENGER_APP_SECRET": fake_graph.APP_SECRET,
            "MESSENGER_VERIFY_TOKEN": fake_graph.VERIFY_TOKEN,
            "MESSENGER_API_BASE": self.fake.base_url,
        }

    def external_id(self, i: int) -> str:
        return str(7_100_000_000_000_000 + i)  # a page-scoped id (PSID)

    def add_recipient(self, resident: Resident) -> None:
        self.fake.wrote(resident.external_id)  # inside Messenger's 24 hours: replies are allowed

    def headers(self) -> dict[str, str]:
        return {}

    def signature(self) -> harness.Signature:
        from botbridge.tests import fake_graph

        return harness.Signature("X-Hub-Signature-256", fake_graph.APP_SECRET, "sha256=")

    def reading_event(self, resident: Resident, n: int) -> dict:
        from botbridge.tests import fake_graph

        return fake_graph.body([fake_graph.message(resident.external_id, str(resident.reading))])

    def press_account(self, base_url: str, resident: Resident) -> tuple[int, bytes]:
        from botbridge.channels.messenger.intake import option_payload
        from botbridge.conversation import menus
        from botbridge.tests import fake_graph

        payload = option_payload(menus.OPEN, resident.account_number)
        tap = fake_graph.message(resident.external_id, resident.account_number, quick_reply=payload)
        callback = fake_graph.body([tap])
        return harness.post_json(f"{base_url}{self.path}", callback, self.signature().of(json.dumps(callback).encode()))

    def reply_calls(self) -> list[str]:
        return [call.edge for call in self.fake.calls]

    def reply_times(self, ids: dict[str, int]) -> dict[int, float]:
        times: dict[int, float] = {}
        for call in self.fake.sent():
            k = ids.get(call.body.get("recipient", {}).get("id"))
            if k is not None and k not in times:
                times[k] = self.fake.answered_at[id(call)]
        return times

    def replies(self) -> tuple[int, list[str]]:
        refused = [f"{call.edge}: {call.response.get('error', {}).get('message')}" for call in self.fake.refused()]
        return len(self.fake.sent()), refused


def timed_graph_api():
    """The fake Graph API, noting when it answered each call (its calls carry no time, unlike the other fakes')."""
    from botbridge.tests.fake_graph import FakeGraphAPI

    class TimedGraphAPI(FakeGraphAPI):
        def __init__(self) -> None:
            super().__init__()
            self.answered_at: dict[int, float] = {}

        async def _handle(self, request):
            response = await super()._handle(request)
            with self._lock:  # the call just recorded is the last one: nothing awaits in between
                self.answered_at[id(self._calls[-1])] = time.monotonic()
            return response

    return TimedGraphAPI()


CHANNELS = {"telegram": TelegramBench, "viber": ViberBench, "messenger": MessengerBench}


def channels_env(channels: list) -> dict[str, str]:
    env: dict[str, str] = {}
    for channel in channels:
        env |= channel.env()
    return env


if __name__ == "__main__":
    main()
