"""Events per second through each messenger's webhook on the reading-submission path, and their latency.

    .venv/bin/python bench/webhook.py [--channels telegram,viber,messenger] [--requests N] [--warmup N]
                                      [--seconds S] [--clients C] [--workers W]

The portal is served as in production: uvicorn, `portal.asgi:application`, W worker
processes (default 2), DEBUG off, PostgreSQL, with every channel on at once. Each bot
replies to its platform's fake (botbridge/tests/fake_bot_api.py, fake_viber.py,
fake_graph.py) running in this process and told of every resident, so the real clients
send real HTTP requests, and any reply the platform would refuse is counted. Every body
posted to Viber's and Messenger's webhooks is signed as the platform signs it, by the
load generator, per request.

The channels are measured one after the other in the same run, against the same
/healthz baseline, each with residents of its own (a Telegram, Viber or Messenger user
each); what follows says "update" for each platform's event.

Every update measured is the one the issue asks about: a resident whose conversation
waits for a reading (they pressed their account's button) sends a text message like
"10234"; the bot records it through `reading_submit` and answers with the consumption
and the cost. Each resident sends exactly one reading, so every update takes the path
of a resident's first reading of the month (a second one would supersede the first:
one more UPDATE) and needs a resident of its own. The warm-up's residents are seeded
first; after the warm-up, as many more as the measured phase can use (1.5 x the
warm-up's rate x S, at most N), so a slow server is not seeded for minutes in vain.

Seeding goes through the real write paths: accounts and meters through
`master_data_import`, the channel's users through `channel_identity_resolve`, the
links through `account_link`. The conversation state after "press the account
button" is written as `ConversationState` rows keyed by (channel, the user's id
there); the first resident presses the button through the webhook instead, and the
row the bot writes for them must be the row this script writes for everyone else.

Readings must land *in* the submission window, the normal path. When today (Kyiv) is
outside it, `CalendarOverride` rows are added, as staff would: today and tomorrow
working days, the rest of tomorrow's month days off. Today and tomorrow are then the
last working days of the month, inside the next period's window (the default policy,
2 working days before + 3 after, is set for the server), also for a run that crosses
midnight. Every submission reads the override rows anyway (a handful of rows).

The load generator is a child process (aiohttp, one keep-alive connection per client,
C clients, default 64); it measures each request from sending to the whole response
read. Each phase warms up with its own requests, then measures N requests or S
seconds, whichever ends first. GET /healthz (SELECT 1) on the same server with the
same clients is the baseline. CPU time of each part (uvicorn, PostgreSQL, the load
generator, this process with the fake Bot API, anything else running) is read from
/proc, and PostgreSQL's own counters from pg_stat_database: on 2 cores every part
competes with the server under test.

Afterwards the database must hold one accepted reading, of the value sent, for each
update answered 200, and the fake must have refused no reply; the rate of readings
recorded is counted from the database, not from the 200s. If they disagree the
figures are still printed, and the script exits with status 1.

It needs PostgreSQL: DATABASE_URL's server (postgresql://...), or
postgresql://127.0.0.1:5432/postgres when DATABASE_URL is unset. A scratch database,
pokaznyk_bench_webhook, is created there and dropped after; the database DATABASE_URL
names is left alone. REDIS_URL is removed from the server's environment (/healthz is
then SELECT 1 only; the bot path does not use Redis). DJANGO_SETTINGS_MODULE, when set,
replaces portal.settings, to try a change of settings without editing them (e.g. a
connection pool); --server-log keeps uvicorn's output. Not part of the test suite.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SCRATCH_DATABASE = "pokaznyk_bench_webhook"
DEFAULT_SERVER = "postgresql://127.0.0.1:5432/postgres"
ACCOUNT_BASE = 700_000_000  # account numbers 700000000, 700000001, ...; 710000000, ... for the 2nd channel
CHANNEL_ACCOUNTS = 10_000_000
TELEGRAM_ID_BASE = 5_100_000_000  # residents' Telegram ids (ids above 2**32 are real too)
UPDATE_ID_BASE = 900_000_001
HEALTHZ = "GET /healthz (SELECT 1)"
AIM_RATE = 1_000
AIM_P99_MS = 50.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Resident:
    external_id: str  # the user's id on the channel
    account_number: str
    meter_id: int
    reading: int


@dataclass
class Phase:
    """What the load generator saw in one phase: counts, latencies in ms, wall time."""

    sent: int
    statuses: dict[str, int]
    latencies_ms: list[float]
    seconds: float

    @property
    def ok(self) -> int:
        return self.statuses.get("200", 0)

    @property
    def errors(self) -> int:
        return self.sent - self.ok

    def percentile(self, p: float) -> float:
        """Nearest rank: the smallest latency that `p` per cent of the requests did not exceed."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Run:
    name: str
    warmup: Phase
    measured: Phase
    planned: int  # requests the measured phase had (it may stop earlier, at the time limit)
    cpu: dict[str, float]  # cores used by each part during the measured phase: 1.0 = one core all along
    idle: float  # share of the machine idle during the measured phase
    pg: dict[str, int]  # pg_stat_database deltas over the measured phase, and peak connections
    busiest_others: list[str]  # other processes that took CPU meanwhile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--channels", default=",".join(CHANNELS), help=f"webhooks to measure, in order (default {','.join(CHANNELS)})"
    )
    parser.add_argument("--requests", type=int, default=10_000, help="measured requests per phase (default 10,000)")
    parser.add_argument("--warmup", type=int, default=1_000, help="warm-up requests per phase (default 1,000)")
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit of each phase (default 30)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--server-log", type=Path, help="keep uvicorn's output in this file (default: not kept)")
    parser.add_argument("--load-client", help=argparse.SUPPRESS)  # the child process that makes the load
    args = parser.parse_args()
    if args.load_client:
        load_client(Path(args.load_client))
        return
    if args.requests < 1 or args.warmup < 1 or args.clients < 1 or args.workers < 1 or args.seconds <= 0:
        parser.error("--requests, --warmup, --clients and --workers: at least 1; --seconds: above 0")
    names = [name.strip() for name in args.channels.split(",") if name.strip()]
    if not names or set(names) - set(CHANNELS) or len(set(names)) != len(names):
        parser.error(f"--channels: some of {', '.join(CHANNELS)}, each once, comma-separated")

    server_url = postgres_server()
    sys.path.insert(0, str(BASE_DIR))
    with contextlib.ExitStack() as stack:
        channels = [stack.enter_context(CHANNELS[name](index)) for index, name in enumerate(names)]
        database_url = stack.enter_context(scratch_database(server_url))
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="pokaznyk-bench-webhook-"))
        env = server_environment(database_url, channels_env(channels))
        print(f"migrating {SCRATCH_DATABASE} ...", flush=True)
        manage(["migrate", "--noinput", "-v", "0"], env)
        os.environ.update(env)  # this process seeds and checks through Django too
        import django

        django.setup()
        try:
            report = benchmark(args, channels, env, Path(tmp))
        finally:
            from django.db import connections

            connections.close_all()
    print_report(report)


# --- The benchmark ------------------------------------------------------------------------------


@dataclass
class ChannelReport:
    channel: str
    seeding: str
    probe: str
    run: Run
    verification: "Verification"


@dataclass
class Report:
    header: str
    window: str
    baseline: Run
    channels: list[ChannelReport]


def benchmark(args: argparse.Namespace, channels: list, env: dict[str, str], tmp: Path) -> Report:
    window = open_window()
    print(window, flush=True)
    everyone = {}
    for channel in channels:
        everyone[channel.name] = residents = Residents(channel, tmp / f"{channel.name}.jsonl")
        residents.grow(args.warmup, waiting_from=1)  # the first one presses the button through the webhook
        print(residents.seeding[-1], flush=True)

    header = (
        f"{server_versions()}, uvicorn {uvicorn_flavour()} --workers {args.workers}, {args.clients} clients, "
        f"{os.cpu_count()} cores, DEBUG off, LOG_LEVEL {env.get('LOG_LEVEL') or 'info'}"
    )
    if env["DJANGO_SETTINGS_MODULE"] != "portal.settings":
        header += f", DJANGO_SETTINGS_MODULE={env['DJANGO_SETTINGS_MODULE']}"
    log = args.server_log or tmp / "uvicorn.log"

    sampler = ConnectionSampler(os.environ["DATABASE_URL"])
    reports = []
    try:
        with uvicorn_server(env, args.workers, log) as (base_url, server_pids):
            healthz = Target(HEALTHZ, f"{base_url}/healthz", "GET", {}, None)
            baseline = load(healthz, lambda _warmup: args.requests, args, tmp, server_pids, sampler)
            for channel in channels:
                residents = everyone[channel.name]
                probe = press_account_button(base_url, channel, residents.all[0])
                print(probe, flush=True)

                def more_residents(warmup: Phase, residents=residents) -> int:
                    """As many residents as the measured phase can use: 1.5 x the warm-up's rate x the time limit."""
                    rate = warmup.sent / warmup.seconds
                    wanted = min(args.requests, math.ceil(rate * args.seconds * 1.5) + args.clients)
                    residents.grow(args.warmup + wanted)
                    print(residents.seeding[-1], flush=True)
                    return wanted

                headers = {**channel.headers(), "Content-Type": "application/json"}
                webhook = Target(
                    f"POST {channel.path} (a reading)",
                    f"{base_url}{channel.path}",
                    "POST",
                    headers,
                    residents.updates,
                    channel.signature(),
                )
                run = load(webhook, more_residents, args, tmp, server_pids, sampler)
                verification = verify(run, channel, residents.all, args.warmup, log)
                reports.append(ChannelReport(channel.name, "; ".join(residents.seeding), probe, run, verification))
    finally:
        sampler.close()
    return Report(header, window, baseline, reports)


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
        write_updates(self.channel, self.updates, self.all)
        self.seeding.append(
            f"{self.channel.name}: seeded {len(new):,} residents (account, meter, user, link, waiting state) "
            f"in {time.perf_counter() - started:.1f} s"
        )


def seed(channel, first: int, end: int) -> list[Resident]:
    """Residents first..end-1, each with an account and a one-zone meter, linked, through the write paths."""
    from django.db import transaction

    from accounts.models import Meter
    from accounts.services import MasterDataRow, account_link, channel_identity_resolve, master_data_import

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


def open_window() -> str:
    """Make today and tomorrow (Kyiv) days of an open window, with staff's calendar overrides if need be."""
    import datetime as dt

    from django.utils import timezone

    from readings.models import CalendarOverride
    from readings.selectors import window_on

    today = timezone.localdate()
    days = (today, today + dt.timedelta(days=1))  # a run that crosses midnight stays in the window
    if all(window_on(day).contains(day) for day in days):
        return f"window: {today} is inside the window {_span(window_on(today))}; no calendar overrides"
    month_end = (days[1].replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    overrides = {day: True for day in days}
    day = days[1] + dt.timedelta(days=1)
    while day <= month_end:
        overrides[day] = False
        day += dt.timedelta(days=1)
    CalendarOverride.objects.bulk_create(
        [CalendarOverride(date=day, is_working=working, note="bench/webhook.py") for day, working in overrides.items()]
    )
    windows = [window_on(day) for day in days]
    if not all(window.contains(day) for window, day in zip(windows, days, strict=True)):
        sys.exit(f"could not open the window for {today} with calendar overrides: {windows}")
    return (
        f"window: {today} was outside the window; {len(overrides)} calendar overrides ({min(overrides)} … "
        f"{max(overrides)}: the 2 first working, the rest days off) open {_span(windows[0])}"
    )


def _span(window) -> str:
    return f"{window.opens} … {window.closes} (period {window.period})"


def press_account_button(base_url: str, channel, resident: Resident) -> str:
    """One resident presses their account's button through the webhook: the bot's state row must be ours."""
    from botbridge.models import ConversationState

    status = channel.press_account(base_url, resident)
    if status != 200:
        sys.exit(f"{channel.name}: pressing the account button through the webhook answered {status}")
    expected = waiting_state(channel, resident)
    actual = (
        ConversationState.objects.filter(channel=expected.channel, user_key=expected.user_key)
        .values_list("state", "data")
        .first()
    )
    if actual != (expected.state, expected.data):
        rows = list(ConversationState.objects.values_list("channel", "user_key", "state", "data"))
        sys.exit(f"the bot's state after the button is not what this script writes: expected {expected}, got {rows}")
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


def write_updates(channel, path: Path, residents: list[Resident]) -> None:
    """One update per line, in resident order: the reading each sends, as the platform delivers it."""
    with path.open("w", encoding="utf-8") as file:
        for n, resident in enumerate(residents):
            file.write(json.dumps(channel.reading_event(resident, n), ensure_ascii=False) + "\n")


@dataclass
class Verification:
    recorded: int  # readings recorded for the updates of the measured phase
    lines: list[str]
    failed: bool


def verify(run: Run, channel, residents: list[Resident], warmup: int, log: Path) -> Verification:
    """The database and the channel's fake against what the clients were told."""
    from django.db.models import Count

    from botbridge.models import ConversationState, ProcessedEvent
    from readings.models import Reading

    ok = run.warmup.ok + run.measured.ok
    readings = Reading.objects.filter(channel=channel.name)
    statuses = dict(readings.values_list("status").annotate(n=Count("id")))
    created = sum(statuses.values())
    sent_values = {resident.meter_id: resident.reading for resident in residents}
    wrong_values = sum(
        1 for meter_id, value in readings.values_list("meter_id", "value1") if value != sent_values.get(meter_id)
    )
    measured = [resident.meter_id for resident in residents[warmup : warmup + run.measured.sent]]
    recorded = readings.filter(meter_id__in=measured).count()
    waiting = ConversationState.objects.filter(channel=channel.name, state="Submitting:reading").count()
    processed = ProcessedEvent.objects.filter(channel=channel.name).count() - 1  # the probe's button
    sent, refused = channel.replies()
    failed = created != ok or wrong_values or refused or set(statuses) - {"accepted"} or processed != ok
    shown = ", ".join(f"{n:,} {status}" for status, n in sorted(statuses.items())) or "none"
    lines = [
        f"database: {created:,} readings for {ok:,} updates answered 200 ({shown}); "
        f"{wrong_values} with a value other than the one sent; {processed:,} update ids claimed; "
        f"{waiting:,} of {len(residents):,} residents still wait for their reading — "
        + ("OK" if not failed else f"MISMATCH: {ok - created:,} readings lost though the webhook answered 200"),
        f"{channel.fake_name}: {sent:,} replies sent (1 to the probe), {len(refused)} refused"
        + (f": {Counter(refused).most_common(3)}" if refused else ""),
        f"server log: {log_summary(log)}",
    ]
    return Verification(recorded, lines, bool(failed))


def log_summary(log: Path) -> str:
    """What uvicorn and the portal said, by kind of message (numbers masked), commonest first."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    # Tracebacks' lines are indented or start with one of these; the message lines are the rest.
    skip = ("Traceback", "The above exception", "During handling")
    kinds = Counter(
        re.sub(r"\d+", "N", line)[:160]
        for line in text.splitlines()
        if line.strip() and not line.startswith((" ", *skip))
    )
    if not kinds:
        return "empty"
    return "; ".join(f"{n:,} x {kind!r}" for kind, n in kinds.most_common(6))


# --- Load ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    method: str
    headers: dict[str, str]
    bodies: Path | None  # request i sends line i of this file
    signature: dict | None = None  # {"header", "key", "prefix"}: each body's HMAC-SHA256 in that header


def load(
    target: Target,
    measured_count: Callable[[Phase], int],
    args: argparse.Namespace,
    tmp: Path,
    server_pids: list[int],
    sampler: "ConnectionSampler",
) -> Run:
    """Warm up, then measure, each a run of the load generator in a child process; CPU per part from /proc.

    `measured_count` is told how the warm-up went and says how many requests to measure (at most
    --requests); it may seed more residents meanwhile.
    """
    name = target.name
    spec = {
        "url": target.url,
        "method": target.method,
        "headers": target.headers,
        "bodies": str(target.bodies) if target.bodies else None,
        "signature": target.signature,
        "seconds": args.seconds,
        "clients": args.clients,
    }
    print(f"{name}: warming up with {args.warmup:,} requests ...", flush=True)
    warmup, _ = run_client(tmp, {**spec, "first": 0, "count": args.warmup}, None)
    count = measured_count(warmup)
    # A backend's counters reach pg_stat_database when it ends or within a second of going idle: let the
    # warm-up's and the seeding's arrive before the measured phase starts.
    time.sleep(1.2)
    print(f"{name}: measuring {count:,} requests or {args.seconds:g} s, whichever ends first ...", flush=True)
    with sampler.sampling():
        measured, marks = run_client(tmp, {**spec, "first": args.warmup, "count": count}, server_pids)
    (cpu0, pg0), (cpu1, pg1) = marks["start"], marks["done"]
    cpu = {part: (cpu1[part] - cpu0[part]) / CLK_TCK for part in cpu1 if part not in ("machine", "others")}
    others: Counter[str] = Counter()
    for pid, (comm, ticks) in cpu1["others"].items():
        others[comm] += ticks - cpu0["others"].get(pid, (comm, 0))[1]
    busy0, total0 = cpu0["machine"]
    busy1, total1 = cpu1["machine"]
    # /proc/stat counts every core: its ticks over the phase are cores x wall time.
    cores = os.cpu_count() or 1
    wall = (total1 - total0) / CLK_TCK / cores
    cpu["other processes"] = sum(others.values()) / CLK_TCK
    cpu = {part: seconds / wall for part, seconds in cpu.items()}  # in cores: 1.0 = one core all the time
    idle = 1 - (busy1 - busy0) / max(1, total1 - total0)
    busiest = [f"{comm} {ticks / CLK_TCK / wall * 100:.0f}%" for comm, ticks in others.most_common(3) if ticks > 0]
    pg = {key: pg1[key] - pg0[key] for key in pg1}
    pg |= {"peak_here": sampler.peak_here, "peak_all": sampler.peak_all, "max_connections": sampler.max_connections}
    return Run(name, warmup, measured, count, cpu, idle, pg, busiest)


def run_client(tmp: Path, spec: dict, server_pids: list[int] | None) -> tuple[Phase, dict]:
    """One phase of load from a child process; with `server_pids`, CPU and PostgreSQL counters around it."""
    from django.db import connection

    path = tmp / "spec.json"
    path.write_text(json.dumps(spec))
    child = subprocess.Popen(
        [sys.executable, __file__, "--load-client", str(path)], cwd=BASE_DIR, stdout=subprocess.PIPE, text=True
    )
    marks: dict = {}
    result = None
    try:
        for line in child.stdout:
            mark = line.strip()
            if mark not in ("start", "done"):
                result = json.loads(line)
                break
            if server_pids is not None:
                cpu = cpu_snapshot(server_pids, child.pid)
                if mark == "done":
                    time.sleep(1.1)  # PostgreSQL publishes a backend's counters at most once a second
                marks[mark] = (cpu, pg_counters(connection))
    finally:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if child.returncode or result is None:
        sys.exit(f"the load generator failed ({child.returncode})")
    return Phase(**result), marks


class ConnectionSampler:
    """The most connections open at once, to the scratch database and to the whole server, 4 times a second.

    Its connection is opened before the server starts, so that it has one when the server has taken them all.
    """

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)
        self.max_connections = int(self.connection.execute("SHOW max_connections").fetchone()[0])
        self.peak_here = self.peak_all = 0

    @contextlib.contextmanager
    def sampling(self) -> Iterator[None]:
        from django.db import connection

        self.peak_here = self.peak_all = 0
        # Neither the sampler's own connection nor this process's Django one (it reads the counters) counts.
        exclude = [self.connection.info.backend_pid, connection.cursor().connection.info.backend_pid]
        done = threading.Event()
        thread = threading.Thread(target=self._sample, args=(done, exclude), name="connection-sampler", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=5)

    def _sample(self, done: threading.Event, exclude: list[int]) -> None:
        while not done.wait(0.25):
            here, everywhere = self.connection.execute(
                "SELECT count(*) FILTER (WHERE datname = current_database() AND pid <> ALL(%s)),"
                " count(*) FILTER (WHERE backend_type = 'client backend') FROM pg_stat_activity",
                [exclude],
            ).fetchone()
            self.peak_here, self.peak_all = max(self.peak_here, here), max(self.peak_all, everywhere)

    def close(self) -> None:
        self.connection.close()


def load_client(spec_path: Path) -> None:
    """The child process: one phase, C clients over keep-alive connections, one JSON line of results."""
    spec = json.loads(spec_path.read_text())
    bodies = None
    if spec["bodies"]:
        with open(spec["bodies"], "rb") as file:
            bodies = [line.rstrip(b"\n") for line in file]
    result = asyncio.run(_load(spec, bodies))
    print(json.dumps(result), flush=True)


async def _load(spec: dict, bodies: list[bytes] | None) -> dict:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=spec["clients"])
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=spec["headers"]) as session:
        print("start", flush=True)
        result = await _phase(session, spec, bodies, spec["first"], spec["count"])
        print("done", flush=True)
    return result


async def _phase(session, spec: dict, bodies: list[bytes] | None, first: int, count: int) -> dict:
    """Requests first..first+count-1 (body i for request i), stopping early at the time limit."""
    import aiohttp

    indexes = iter(range(first, first + count))
    signature = spec.get("signature")
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + spec["seconds"]

    async def client() -> None:
        # The deadline is checked before an index is taken: the requests sent are the first ones.
        while time.perf_counter() <= deadline and (i := next(indexes, None)) is not None:
            body = bodies[i] if bodies is not None else None
            sent = time.perf_counter()
            headers = signed(body, signature) if signature else None
            try:
                async with session.request(spec["method"], spec["url"], data=body, headers=headers) as response:
                    await response.read()
                    status = str(response.status)
            except (aiohttp.ClientError, TimeoutError) as error:
                status = type(error).__name__
            latencies.append((time.perf_counter() - sent) * 1000)
            statuses[status] += 1

    await asyncio.gather(*(client() for _ in range(spec["clients"])))
    return {
        "sent": sum(statuses.values()),
        "statuses": dict(statuses),
        "latencies_ms": latencies,
        "seconds": time.perf_counter() - started,
    }


def signed(body: bytes, signature: dict) -> dict[str, str]:
    """The platform's signature of the body (as Viber and Messenger sign what they post), made per request."""
    import hashlib
    import hmac

    digest = hmac.new(signature["key"].encode(), body, hashlib.sha256).hexdigest()
    return {signature["header"]: signature["prefix"] + digest}


def cpu_snapshot(server_pids: list[int], client_pid: int) -> dict:
    """Clock ticks of CPU used so far by each part, by every other process, and by the whole machine."""
    procs = _processes()
    server = {pid for pid in server_pids if pid in procs}
    server |= {pid for pid in procs if _descends(pid, server_pids, procs)}
    postgres = {pid for pid, p in procs.items() if p["comm"].startswith("postgres")}
    postmaster = [pid for pid in postgres if procs[pid]["ppid"] not in postgres]
    with open("/proc/stat") as file:
        ticks = [int(n) for n in file.readline().split()[1:9]]  # user .. steal; guest is inside user
    idle = ticks[3] + ticks[4]  # idle + iowait
    mine = server | postgres | {client_pid, os.getpid()}
    return {
        "uvicorn": sum(procs[pid]["cpu"] for pid in server),
        # Backends that ended meanwhile are counted in the postmaster's children's time.
        "PostgreSQL (all of it)": sum(procs[pid]["cpu"] for pid in postgres)
        + sum(procs[pid]["children"] for pid in postmaster),
        "load generator": procs.get(client_pid, {}).get("cpu", 0),
        "this process (the fakes)": procs.get(os.getpid(), {}).get("cpu", 0),
        "machine": (sum(ticks) - idle, sum(ticks)),
        "others": {pid: (p["comm"], p["cpu"]) for pid, p in procs.items() if pid not in mine},
    }


def _processes() -> dict[int, dict]:
    procs = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/stat") as file:
                raw = file.read()
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2 :].split()
            procs[int(entry)] = {
                "comm": comm,
                "ppid": int(fields[1]),
                "cpu": int(fields[11]) + int(fields[12]),  # utime + stime
                "children": int(fields[13]) + int(fields[14]),  # cutime + cstime
            }
    return procs


def _descends(pid: int, ancestors: list[int], procs: dict[int, dict]) -> bool:
    seen = 0
    while pid in procs and seen < 64:
        pid = procs[pid]["ppid"]
        if pid in ancestors:
            return True
        seen += 1
    return False


def pg_counters(connection) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT sessions, xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched"
            " FROM pg_stat_database WHERE datname = current_database()"
        )
        names = [column.name for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


# --- The server --------------------------------------------------------------------------------------


@contextlib.contextmanager
def uvicorn_server(env: dict[str, str], workers: int, log: Path) -> Iterator[tuple[str, list[int]]]:
    """uvicorn serving the portal on a free port of 127.0.0.1; stopped (workers too) on the way out."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "portal.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    descendants: set[int] = set()
    try:
        _wait_until_up(base_url, server, log)
        procs = _processes()
        descendants = {pid for pid in procs if _descends(pid, [server.pid], procs)}
        if len(descendants) < workers:
            sys.exit(f"uvicorn started {len(descendants)} worker processes, not {workers}")
        yield base_url, [server.pid]
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        for pid in descendants:  # only if uvicorn left them behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base_url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"uvicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
            if response.status == 200:
                time.sleep(1)  # the second worker may still be importing
                return
        time.sleep(0.2)
    sys.exit(f"uvicorn did not answer /healthz within 60 s:\n{log.read_text()[-3000:]}")


def post_json(url: str, body: dict, headers: dict[str, str]) -> int:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={**headers, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def uvicorn_flavour() -> str:
    """What uvicorn's "auto" picks here: uvloop and httptools when installed, else asyncio and h11."""
    import importlib.metadata
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{importlib.metadata.version('uvicorn')} ({loop}, {http})"


def server_versions() -> str:
    from django.db import connection

    version = connection.cursor().connection.info.server_version
    return f"PostgreSQL {version // 10000}.{version % 10000}"


def server_environment(database_url: str, channels: dict[str, str]) -> dict[str, str]:
    """The portal's environment: DEBUG off, the scratch database, `channels`' settings (tokens, fakes)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain http on 127.0.0.1
        **channels,
        "READINGS_WINDOW_DAYS": "working",
        "READINGS_WINDOW_BEFORE": "2",
        "READINGS_WINDOW_AFTER": "3",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    # Another settings module (on PYTHONPATH) only to try a change, e.g. a connection pool.
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE") or "portal.settings"
    return env


def manage(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")


# --- The scratch database ------------------------------------------------------------------------------


def postgres_server() -> str:
    url = os.environ.get("DATABASE_URL", "").strip() or DEFAULT_SERVER
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        sys.exit(f"DATABASE_URL: this benchmark needs PostgreSQL (postgresql://...), not {urlsplit(url).scheme}.")
    if urlsplit(url).path.strip("/") == SCRATCH_DATABASE:
        sys.exit(f"DATABASE_URL names {SCRATCH_DATABASE}, the scratch database this benchmark drops: name another.")
    return url


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new, empty database on `url`'s server, dropped on the way out; `url`'s own database is left alone."""
    _postgres_admin(url, f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")  # left by a killed run
    _postgres_admin(url, f"CREATE DATABASE {SCRATCH_DATABASE}")
    try:
        yield urlsplit(url)._replace(path=f"/{SCRATCH_DATABASE}").geturl()
    finally:
        _postgres_admin(url, f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")


def _postgres_admin(url: str, statement: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement)
    except psycopg.OperationalError as error:
        sys.exit(f"PostgreSQL at {urlsplit(url).hostname}:{urlsplit(url).port or 5432}: {error}")


# --- The report --------------------------------------------------------------------------------------


def print_report(report: Report) -> None:
    cores = os.cpu_count() or 1
    runs = [report.baseline, *(channel.run for channel in report.channels)]
    print()
    print(f"== webhook bench: {report.header}")
    print(report.window)
    for channel in report.channels:
        print(channel.seeding)
        print(channel.probe)
    print(f"{'':<40} {'200s':>9} {'p50':>9} {'p99':>9} {'max':>9}  errors (not 200)")
    for run in runs:
        m = run.measured
        stopped = "" if m.sent == run.planned else f", stopped by the time limit at {m.sent:,} of {run.planned:,}"
        print(
            f"{run.name:<40} {m.ok / m.seconds:>7,.0f}/s {m.percentile(50):>6.1f} ms {m.percentile(99):>6.1f} ms "
            f"{max(m.latencies_ms, default=float('nan')):>6.1f} ms  {m.errors:,} of {m.sent:,} in {m.seconds:.1f} s"
            + (f" {dict(m.statuses)}" if m.errors else "")
            + stopped
        )
    for run in runs:
        parts = ", ".join(f"{part} {used * 100:.0f}%" for part, used in run.cpu.items())
        per_request = ", ".join(
            f"{part} {run.cpu[part] * 1000 / rate:.1f} ms"
            for part in ("uvicorn", "PostgreSQL (all of it)")
            if (rate := run.measured.sent / run.measured.seconds)
        )
        busiest = f" [of which {', '.join(run.busiest_others)}]" if run.busiest_others else ""
        print(
            f"CPU, {run.name}: {parts}{busiest}, idle {run.idle * 100:.0f}% ({cores} cores = {cores * 100}%); "
            f"per request: {per_request}"
        )
    for run in runs:
        sent = max(1, run.measured.sent)
        print(
            f"PostgreSQL, {run.name}: {run.pg['sessions']:,} sessions opened ({run.pg['sessions'] / sent:.2f} per "
            f"request), {run.pg['xact_commit'] / sent:.1f} transactions, {run.pg['tup_inserted'] / sent:.1f} rows "
            f"inserted, {run.pg['tup_updated'] / sent:.1f} updated per request; peak {run.pg['peak_here']} "
            f"connections to it open at once ({run.pg['peak_all']} to the server, max_connections "
            f"{run.pg['max_connections']})"
        )
    base_rate = report.baseline.measured.ok / report.baseline.measured.seconds
    failed = []
    for channel in report.channels:
        bot, verification = channel.run, channel.verification
        recorded = verification.recorded / bot.measured.seconds
        versus = f" = {recorded / base_rate * 100:.0f}% of the /healthz rate" if base_rate else ""
        p99 = bot.measured.percentile(99)
        met = recorded >= AIM_RATE and p99 < AIM_P99_MS and not bot.measured.errors and not verification.failed
        print(
            f"{channel.channel}: readings recorded in the measured phase: {verification.recorded:,} of "
            f"{bot.measured.ok:,} updates answered 200 = {recorded:,.0f} readings/s{versus}; "
            f"aim (>= {AIM_RATE:,}/s with p99 < {AIM_P99_MS:.0f} ms, none lost) {'met' if met else 'NOT met'} "
            f"(p99 {p99:.1f} ms)"
        )
        for line in verification.lines:
            print(f"  {line}")
        if verification.failed:
            failed.append(channel.channel)
    if failed:
        sys.exit(f"the database or the fake disagrees with the responses for {', '.join(failed)}: see above")


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

    def press_account(self, base_url: str, resident: Resident) -> int:
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
        return post_json(f"{base_url}{self.path}", update, self.headers())

    def reply_calls(self) -> list[str]:
        return [call.method for call in self.fake.calls]

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

    def signature(self) -> dict:
        return {"header": "X-Viber-Content-Signature", "key": self.fake.token, "prefix": ""}

    def reading_event(self, resident: Resident, n: int) -> dict:
        from botbridge.tests import fake_viber

        return fake_viber.message_callback(resident.external_id, str(resident.reading), token=UPDATE_ID_BASE + n)

    def press_account(self, base_url: str, resident: Resident) -> int:
        from botbridge.channels.viber.keyboards import action_body
        from botbridge.conversation import Option, menus
        from botbridge.tests import fake_viber

        tap = action_body(Option(resident.account_number, menus.OPEN, resident.account_number))
        callback = fake_viber.message_callback(resident.external_id, tap, token=UPDATE_ID_BASE - 1)
        body = json.dumps(callback).encode()
        headers = signed(body, self.signature())
        return post_json(f"{base_url}{self.path}", callback, headers)

    def reply_calls(self) -> list[str]:
        return [call.method for call in self.fake.calls]

    def replies(self) -> tuple[int, list[str]]:
        refused = [f"{call.method}: {call.response.get('status_message')}" for call in self.fake.calls if call.status]
        return len(self.fake.calls_to("send_message")), refused


class MessengerBench:
    """Messenger: the fake Graph API, bodies signed with the app secret, a quick-reply tap on the account."""

    name, path, fake_name = "messenger", "/messenger/webhook/", "fake Graph API"

    def __init__(self, index: int) -> None:
        self.index = index

    def __enter__(self) -> "MessengerBench":
        from botbridge.tests.fake_graph import FakeGraphAPI

        self.fake = FakeGraphAPI().__enter__()
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

    def signature(self) -> dict:
        from botbridge.tests import fake_graph

        return {"header": "X-Hub-Signature-256", "key": fake_graph.APP_SECRET, "prefix": "sha256="}

    def reading_event(self, resident: Resident, n: int) -> dict:
        from botbridge.tests import fake_graph

        return fake_graph.body([fake_graph.message(resident.external_id, str(resident.reading))])

    def press_account(self, base_url: str, resident: Resident) -> int:
        from botbridge.channels.messenger.intake import option_payload
        from botbridge.conversation import menus
        from botbridge.tests import fake_graph

        payload = option_payload(menus.OPEN, resident.account_number)
        tap = fake_graph.message(resident.external_id, resident.account_number, quick_reply=payload)
        callback = fake_graph.body([tap])
        return post_json(f"{base_url}{self.path}", callback, signed(json.dumps(callback).encode(), self.signature()))

    def reply_calls(self) -> list[str]:
        return [call.edge for call in self.fake.calls]

    def replies(self) -> tuple[int, list[str]]:
        refused = [f"{call.edge}: {call.response.get('error', {}).get('message')}" for call in self.fake.refused()]
        return len(self.fake.sent()), refused


CHANNELS = {"telegram": TelegramBench, "viber": ViberBench, "messenger": MessengerBench}


def channels_env(channels: list) -> dict[str, str]:
    env: dict[str, str] = {}
    for channel in channels:
        env |= channel.env()
    return env


if __name__ == "__main__":
    main()
