"""What every bench shares: scratch databases, the portal's environment and servers, load, timing,
CPU and PostgreSQL counters, and the printed tables. Not part of the test suite.

Each script in bench/ imports this module and keeps only what its own measurement needs (its
seeding, its requests, its checks of the database, its aims); nothing here is overridden from
outside, every difference is an argument.

Load is made by a child process (`python bench/harness.py --load-client SPEC`), so its CPU is
counted apart from the script's: aiohttp, one keep-alive connection per client. A phase warms up
with its own requests, then measures N requests or S seconds, whichever ends first. The load
generators are in LOAD_GENERATORS, by the spec's "mode": "closed" is C clients each sending its
next request when the last one is answered (warm-ups); "open" starts requests at a fixed arrival
rate whether or not earlier ones were answered, each one's latency counted from its scheduled start.
Load.capacity steps that rate (search_rates) to the highest one whose p99 stays under 50 ms with no
errors: the figure #17 asks of every hot path. open_loop_calls does the same for a protocol other
than HTTP (runagi's FastAGI).

Run from a script (`.venv/bin/python bench/<name>.py`), this module puts the repository on
sys.path first, so `portal` and the apps import as in manage.py.
"""

import argparse
import asyncio
import contextlib
import datetime as dt
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

DEFAULT_SERVER = "postgresql://127.0.0.1:5432/postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")
HEALTHZ = "GET /healthz (SELECT 1)"
# What a bench inherits from the shell never reaches a platform or a shared Redis: the channels'
# tokens and Redis are left out of the portal's environment unless the bench sets them itself.
NOT_INHERITED = ("REDIS_", "TELEGRAM_", "VIBER_", "MESSENGER_")
# The default window policy for a bench that opens the window with open_window().
WINDOW_ENV = {"READINGS_WINDOW_DAYS": "working", "READINGS_WINDOW_BEFORE": "2", "READINGS_WINDOW_AFTER": "3"}


# --- Scratch databases ------------------------------------------------------------------------------


def postgres_server(scratch: str) -> str:
    """DATABASE_URL's PostgreSQL server (or DEFAULT_SERVER when it is unset), where `scratch` is made."""
    url = os.environ.get("DATABASE_URL", "").strip() or DEFAULT_SERVER
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        sys.exit(f"DATABASE_URL: this benchmark needs PostgreSQL (postgresql://...), not {urlsplit(url).scheme}.")
    if urlsplit(url).path.strip("/") == scratch:
        sys.exit(f"DATABASE_URL names {scratch}, the scratch database this benchmark drops: name another.")
    return url


@contextlib.contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """A new, empty database `name` on `server_url`'s server, dropped on the way out; the database
    `server_url` names is left alone."""
    _postgres_admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # left by a killed run
    _postgres_admin(server_url, f"CREATE DATABASE {name}")
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        _postgres_admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def fresh_database(name: str, tmp: Path, *, sqlite: bool) -> Iterator[str]:
    """The URL of an empty database, removed after: a SQLite file in `tmp`, or the scratch PostgreSQL
    database `name` on DATABASE_URL's server."""
    if sqlite:
        database = tmp / f"{name}.sqlite3"
        try:
            yield f"sqlite:///{database}"
        finally:
            database.unlink(missing_ok=True)
        return
    with scratch_database(postgres_server(name), name) as url:
        yield url


@contextlib.contextmanager
def workspace(name: str, *, sqlite: bool = False) -> Iterator[tuple[str, Path]]:
    """A fresh database `name` (fresh_database) and a temporary directory for a bench, both removed after.

    BENCH_SCRATCH_SUFFIX, when set, is appended to the name: two runs of one script at once each drop only their own.
    """
    name += os.environ.get("BENCH_SCRATCH_SUFFIX", "")
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp, fresh_database(name, Path(tmp), sqlite=sqlite) as url:
        yield url, Path(tmp)


def _postgres_admin(url: str, statement: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement)
    except psycopg.OperationalError as error:
        sys.exit(f"PostgreSQL at {urlsplit(url).hostname}:{urlsplit(url).port or 5432}: {error}")


def database_engine(url: str) -> str:
    """ "PostgreSQL 16.4" or "SQLite 3.45.1": what a bench ran on, for its report."""
    if url.startswith("sqlite"):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    with psycopg.connect(url) as connection:
        version = connection.info.server_version  # e.g. 160004
    return f"PostgreSQL {version // 10000}.{version % 10000}"


# --- The portal's environment and Django in this process ----------------------------------------------


def portal_environment(database_url: str, **settings: str) -> dict[str, str]:
    """The portal's environment as in production (DEBUG off) on `database_url`, with `settings` on top.

    DJANGO_SETTINGS_MODULE, when set in the shell, replaces portal.settings, to try a change of
    settings without editing them (e.g. a connection pool); nothing else of DJANGO_* is inherited.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith((*NOT_INHERITED, "DJANGO_"))}
    env |= {
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",  # testserver: Django's test client
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain http on 127.0.0.1
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE") or "portal.settings",
        "PYTHONUNBUFFERED": "1",
    }
    return env | settings


def django_setup(env: dict[str, str]) -> None:
    """Django in this process, on the portal's environment: a bench seeds and checks through the
    services and the ORM, like the portal."""
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()


@dataclass(frozen=True)
class Ran:
    output: str
    seconds: float
    peak_mib: float  # the command's own peak resident memory


def manage(args: list[str], env: dict[str, str], *, cwd: Path = BASE_DIR) -> Ran:
    """`manage.py` with `args`, exiting on failure; its stdout, wall time and peak memory.

    os.wait4 gives the rusage of this one child: RUSAGE_CHILDREN would be the maximum over
    every child so far, migrate included.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "manage.py", *args], cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen.wait
        out.seek(0)
        err.seek(0)
        if child.returncode:
            sys.exit(f"manage.py {' '.join(args)} failed ({child.returncode}):\n{err.read()[-3000:]}")
        return Ran(out.read(), seconds, usage.ru_maxrss / 1024)  # ru_maxrss: KiB on Linux


def migrate(env: dict[str, str], *, cwd: Path = BASE_DIR) -> None:
    name = urlsplit(env["DATABASE_URL"]).path.strip("/").rsplit("/", 1)[-1]
    print(f"migrating {name} ...", flush=True)
    manage(["migrate", "--noinput", "-v", "0"], env, cwd=cwd)


# --- The server -------------------------------------------------------------------------------------


# The serving stacks a bench can put the portal under, by name: each is the production command with its
# port. "gunicorn": WSGI, portal.wsgi, threaded workers (gthread), so that a request waiting on PostgreSQL
# or a platform's API does not hold a process; README's production command. "uvicorn": ASGI, portal.asgi.
# An empty request costs 2-3x less server CPU under gunicorn than under uvicorn (asgiref's thread hops),
# which bounds every cheap path on 2 cores; both apply the body-size guard (portal.guards: BodyLimit,
# WsgiBodyLimit) and the security tests run under both. bench/hotpaths.py measures both each run, README's first.
STACKS = ("gunicorn", "uvicorn")
PRODUCTION_STACK = "gunicorn"
GUNICORN_THREADS = 4


def stack_command(stack: str, port: int, workers: int) -> list[str]:
    """The command serving the portal under `stack` on 127.0.0.1:`port` with `workers` processes.

    uvicorn: --no-proxy-headers, the portal itself reads X-Forwarded-For, as far as TRUSTED_PROXIES says.
    gunicorn: no access log (its default), its X-Forwarded-* handling limited to what it does for 127.0.0.1.
    """
    if stack == "uvicorn":
        return [
            *(sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", str(workers), "--no-access-log", "--no-proxy-headers", "--log-level", "warning"),
        ]
    if stack == "gunicorn":
        return [
            *(sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}"),
            *("--workers", str(workers), "--worker-class", "gthread", "--threads", str(GUNICORN_THREADS)),
            *("--log-level", "warning"),
        ]
    sys.exit(f"unknown serving stack {stack!r}: one of {', '.join(STACKS)}")


def stack_name(stack: str, workers: int) -> str:
    if stack == "gunicorn":
        import importlib.metadata

        version = importlib.metadata.version("gunicorn")
        return f"gunicorn {version} (WSGI, gthread) --workers {workers} --threads {GUNICORN_THREADS}"
    return f"uvicorn {uvicorn_flavour()} (ASGI) --workers {workers}"


@contextlib.contextmanager
def serve(
    stack: str, env: dict[str, str], workers: int, log: Path, *, cwd: Path = BASE_DIR
) -> Iterator[tuple[str, list[int]]]:
    """The portal in `cwd` served under `stack` on a free port of 127.0.0.1; stopped (workers too) on the way out."""
    port = _free_port()
    with log.open("w") as out:
        server = subprocess.Popen(stack_command(stack, port, workers), cwd=cwd, env=env, stdout=out, stderr=out)
    base_url = f"http://127.0.0.1:{port}"
    descendants: set[int] = set()
    try:
        _wait_until_up(base_url, server, log)
        procs = _processes()
        descendants = {pid for pid in procs if _descends(pid, [server.pid], procs)}
        if len(descendants) < workers:
            sys.exit(f"{stack} started {len(descendants)} worker processes, not {workers}")
        yield base_url, [server.pid]
    finally:
        process_stop(server)
        for pid in descendants:  # only if the server left them behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base_url: str, server: subprocess.Popen, log: Path) -> None:
    # Generous: on a 2-core machine other work shares, two workers importing Django took over a minute.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
            if response.status == 200:
                time.sleep(1)  # the second worker may still be importing
                return
        time.sleep(0.2)
    sys.exit(f"the server did not answer /healthz within 180 s:\n{log.read_text()[-3000:]}")


def post_json(url: str, body: dict, headers: dict[str, str], *, timeout: float = 30) -> tuple[int, bytes]:
    """One POST from this process (not the load generator): the status and the body, errors too."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={**headers, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


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


# --- Baselines ----------------------------------------------------------------------------------------


def machine_load() -> str:
    """uptime's load averages and the cores: what a run's figures were measured under."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} cores"


def raw_insert_rate(url: str, seconds: float = 5.0) -> float:
    """PostgreSQL's own pace here: single-row INSERTs of a reading-like row, autocommit, one psycopg connection.

    The table is a copy of readings_reading (migrated first) with its defaults, checks and indexes, the
    unique receipt and the one-standing-reading-per-meter index included; its foreign keys are not copied.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_raw")
        connection.execute("CREATE TABLE bench_raw (LIKE readings_reading INCLUDING ALL)")
        insert = (
            "INSERT INTO bench_raw (meter_id, period, value1, consumption1, status, review_reason, review_note,"
            " channel, channel_user_key, submitted_at, receipt) VALUES (%s, %s, %s, %s, 'accepted', '', '', 'api',"
            " '', now(), %s)"
        )
        period = dt.date(2026, 10, 1)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            connection.execute(insert, (done, period, 1250, 100, f"{done:08d}"))
            done += 1
        rate = done / (time.perf_counter() - started)
        connection.execute("DROP TABLE bench_raw")
    return rate


def write_summary(path: Path | None, summary: dict) -> None:
    """A script's figures as JSON, for bench/hotpaths.py's table (nothing when `path` is None)."""
    if path is not None:
        path.write_text(json.dumps(summary, indent=1))


# --- Profiles -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def py_spy(out: Path | None, pids: list[int], seconds: float) -> Iterator[None]:
    """py-spy sampling `pids` and their children (the server's workers) into `out` (collapsed stacks), when given.

    --nonblocking: the server is not paused to be sampled, so its latencies stay its own (mostly). Threads
    waiting in psycopg for PostgreSQL's answer are sampled too: the round trips are a request's cost as much
    as its CPU (the steps' "CPU a request" is the CPU alone).
    """
    if out is None:
        yield
        return
    spies = [
        subprocess.Popen(
            [
                *(str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--subprocesses"),
                *("--nonblocking", "--rate", "250", "--format", "raw", "--output", f"{out}.{pid}"),
                *("--duration", str(math.ceil(seconds))),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    try:
        yield
    finally:
        for spy in spies:
            try:
                spy.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
        with out.open("w") as merged:
            for pid in pids:
                part = Path(f"{out}.{pid}")
                if part.exists():
                    merged.write(part.read_text())
                    part.unlink()


def profile_summary(collapsed: Path, top: int = 22, *, markers: tuple[str, ...] = ()) -> str:
    """Where the server's samples went while it handled a request: the heaviest functions (inclusive) of the
    project and its libraries, the plumbing between them (threads, asgiref, Django's handler chain) left
    out, and the samples' own (self) time by package — psycopg's waits are PostgreSQL round trips.
    `markers`: the frames that mark a sample as work (a request's handling unless told)."""
    markers = markers or _HANDLING
    if not collapsed.exists() or not collapsed.stat().st_size:
        return f"profile: py-spy wrote nothing to {collapsed} (is it installed, may it ptrace here?)"
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.lstrip().startswith(("process ", "thread ", "spawn_main"))]
        # A worker waiting for a request is not a cost: only samples inside a request's handling count.
        if not any(marker in frame for frame in frames for marker in markers):
            continue
        n = int(count)
        total += n
        for name in {_frame_name(frame) for frame in frames}:
            if not name.endswith(_PLUMBING):
                inclusive[name] += n
        own[_frame_name(frames[-1]).rsplit("(", 1)[-1].split("/")[0].rstrip(")")] += n
    if not total:
        return f"profile: no samples inside a request in {collapsed}"
    lines = [f"profile ({collapsed}): {total:,} samples inside a request; inclusive share, heaviest first:"]
    lines += [f"  {count / total:6.1%}  {name}" for name, count in inclusive.most_common(top) if count / total >= 0.01]
    lines.append(
        "  own time by package: " + ", ".join(f"{area} {count / total:.0%}" for area, count in own.most_common(10))
    )
    return "\n".join(lines)


# Frames that mean "handling a request" (Django's handler, runagi's call), and frames that only carry one.
_HANDLING = ("get_response", "convert_exception_to_response", "runagi", "conversation/phone")
_PLUMBING = (
    "(threading.py)",
    "(concurrent/futures/thread.py)",
    "(asgiref/sync.py)",
    "(asgiref/current_thread_executor.py)",
    "(django/core/handlers/exception.py)",
    "(django/core/handlers/base.py)",
    "(django/utils/deprecation.py)",
    "(django/views/generic/base.py)",
    "(multiprocessing/spawn.py)",
    "(<string>)",
)


def _frame_name(frame: str) -> str:
    """ "function (path/to/file.py:12)" → "function (file area)": a site-package by its package, ours by its path."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif str(BASE_DIR) in path:
        path = path.split(str(BASE_DIR) + "/", 1)[1]
    return f"{name} ({path})"


# --- The window ---------------------------------------------------------------------------------------


def open_window(note: str) -> str:
    """Make today and tomorrow (Kyiv) days of an open window, with staff's calendar overrides if need be.

    Readings then land *in* the window, the normal path. When today is outside it, today and
    tomorrow become working days and the rest of tomorrow's month days off: the last working days
    of the month, inside the next period's window under WINDOW_ENV's policy (2 working days before
    + 3 after), also for a run that crosses midnight. `note` marks the overrides as the bench's.
    """
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
        [CalendarOverride(date=day, is_working=working, note=note) for day, working in overrides.items()]
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


# --- Figures ------------------------------------------------------------------------------------------


def percentile(values: Iterable[float], p: float) -> float:
    """Nearest rank: the smallest value that `p` per cent of the values do not exceed (nan for none)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_summary(ms: list[float]) -> str:
    return (
        f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
        f"max {max(ms, default=float('nan')):.1f} ms"
    )


@dataclass
class Phase:
    """What the load generator saw in one phase: counts, latencies in ms, wall time."""

    sent: int
    statuses: dict[str, int]
    latencies_ms: list[float]
    seconds: float
    ok_status: str = "200"
    # Open loop: each request's scheduled start on time.monotonic's clock (CLOCK_MONOTONIC, the same in
    # every process of this machine), for latencies measured elsewhere (a reply reaching a platform's fake).
    scheduled: list[float] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.statuses.get(self.ok_status, 0)

    @property
    def errors(self) -> int:
        return self.sent - self.ok

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)


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


def step_count(rates: "Rates", rate: float) -> int:
    """Requests in a step at `rate`: rates.seconds' worth, at least rates.least unless that takes over 3 x as long."""
    return max(1, math.ceil(rate * rates.seconds), min(rates.least, math.ceil(rate * rates.seconds * 3)))


def search_rates(rates: "Rates", step: Callable[[float], bool]) -> float:
    """Offer rates to `step` (True: the aim was met at that rate) as Load.capacity says; the highest rate met."""
    rate, met, missed = rates.start, 0.0, 0.0
    while True:  # up, doubling, until a step misses
        if step(rate):
            met = rate
            if rate >= rates.top:
                break
            rate = min(rates.top, rate * 2)
        else:
            missed = rate
            break
    while not met and rate > rates.start / 4:  # even the first missed: down, halving, until one meets
        rate /= 2
        if step(rate):
            met = rate
        else:
            missed = rate
    for _ in range(rates.refine if missed and met else 0):
        rate = math.sqrt(met * missed)
        if step(rate):
            met = rate
        else:
            missed = rate
    return met


def open_loop_calls(rate: float, items: list, call: Callable[[object], str | None], *, threads: int = 200) -> dict:
    """Open loop for a protocol other than HTTP: call(item) for each item, item k started k/rate s after the
    first on a pool of `threads` threads, whether or not earlier ones ended. Returns each one's latency in ms
    from its scheduled start (so a backlog counts), the problems call() named, and the wall time."""
    from concurrent.futures import ThreadPoolExecutor

    latencies: list[float] = []
    problems: list[str] = []
    lock = threading.Lock()

    def one(item, at: float) -> None:
        try:
            problem = call(item)
        except OSError as error:
            problem = f"{type(error).__name__}: {error}"
        took = (time.monotonic() - at) * 1000
        with lock:
            latencies.append(took)
            if problem:
                problems.append(problem)

    started = time.monotonic() + 0.01
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for k, item in enumerate(items):
            at = started + k / rate
            time.sleep(max(0.0, at - time.monotonic()))
            pool.submit(one, item, at)
    return {
        "latencies_ms": latencies,
        "problems": problems,
        "seconds": max(time.monotonic() - started, len(items) / rate),
    }


@dataclass(frozen=True)
class Rates:
    """How Load.capacity steps the arrival rate, and the aim a step must meet."""

    start: float = 10.0  # requests a second offered first; doubled after each step that meets the aim
    top: float = 2560.0  # no rate above this is tried
    seconds: float = 4.0  # each step's length
    least: int = 50  # requests a step has at least (in at most 3 x seconds), so its p99 is not just its slowest
    refine: int = 2  # bisecting steps between the last rate met and the first missed
    p99_ms: float = 50.0
    timeout: float = 10.0  # a request unanswered this long counts as an error


@dataclass
class Step:
    rate: float  # offered, requests a second
    run: Run
    missed: str  # what missed the aim, "" when met

    def line(self) -> str:
        m = self.run.measured
        sent = m.sent / m.seconds if m.seconds else 0
        parts = [("server", "server"), ("workers", "workers"), ("PostgreSQL", "PostgreSQL (all of it)")]
        parts.append(("load generator", "load generator"))
        per = (
            ", ".join(
                f"{name} {self.run.cpu[part] * 1000 / sent:.1f} ms" for name, part in parts if part in self.run.cpu
            )
            if sent
            else ""
        )
        return (
            f"{self.rate:>7,.0f}/s offered: {m.ok:,} of {m.sent:,} ok in {m.seconds:.1f} s, "
            f"p50 {m.percentile(50):,.1f} ms, p99 {m.percentile(99):,.1f} ms, "
            f"max {max(m.latencies_ms, default=float('nan')):,.1f} ms; CPU a request: {per}; "
            f"machine idle {self.run.idle * 100:.0f}% — " + (f"MISSED: {self.missed}" if self.missed else "met")
        )


@dataclass
class Capacity:
    name: str
    rates: Rates
    warmup: Phase
    steps: list[Step] = field(default_factory=list)
    profile: str = ""
    profiled: Step | None = None  # the step run under the profiler, apart from the figures

    @property
    def answered(self) -> int:
        """Requests answered ok over the whole search: warm-up, steps, the profiled step."""
        steps = [*self.steps, *([self.profiled] if self.profiled else [])]
        return self.warmup.ok + sum(step.run.measured.ok for step in steps)

    @property
    def best(self) -> Step | None:
        """The highest rate met below the lowest rate missed (a rate met above a miss is luck, not capacity)."""
        lowest_missed = min((step.rate for step in self.steps if step.missed), default=math.inf)
        met = [step for step in self.steps if not step.missed and step.rate < lowest_missed]
        return max(met, key=lambda step: step.rate, default=None)

    @property
    def rate(self) -> float:
        return self.best.rate if self.best else 0.0

    def summary(self) -> dict:
        best = self.best
        return {
            "name": self.name,
            "rate": self.rate,
            "p99_ms": best.run.measured.percentile(99) if best else None,
            "p50_ms": best.run.measured.percentile(50) if best else None,
            "steps": [
                {"rate": step.rate, "p99_ms": step.run.measured.percentile(99), "missed": step.missed}
                for step in self.steps
            ],
            "cpu_ms": {
                part: used * 1000 / (best.run.measured.sent / best.run.measured.seconds)
                for part, used in best.run.cpu.items()
            }
            if best
            else {},
            "idle": best.run.idle if best else None,
        }

    def print(self) -> None:
        best = self.best
        print(
            f"{self.name}: highest arrival rate with p99 < {self.rates.p99_ms:g} ms and no errors: "
            + (
                f"{best.rate:,.0f}/s (p50 {best.run.measured.percentile(50):.1f} ms, "
                f"p99 {best.run.measured.percentile(99):.1f} ms)"
                if best
                else f"none (not even {self.rates.start:g}/s)"
            )
        )
        for step in self.steps:
            print(f"  {step.line()}")
        if self.profile:
            print(self.profile)


# --- Load ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """Each body's HMAC-SHA256 under `key` in header `header`, after `prefix`, as Viber and Messenger sign."""

    header: str
    key: str
    prefix: str = ""

    def of(self, body: bytes) -> dict[str, str]:
        import hashlib
        import hmac

        return {self.header: self.prefix + hmac.new(self.key.encode(), body, hashlib.sha256).hexdigest()}


@dataclass(frozen=True)
class Target:
    """What a phase requests: `url`, or `url` + each request's own path, with `headers` and each
    request's own; request i is line i of `requests` (write_requests), or no body at all."""

    name: str
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    requests: Path | None = None
    signature: Signature | None = None
    ok_status: str = "200"


def write_requests(path: Path, requests: Iterable[dict]) -> None:
    """One request a line: {"path", "headers", "body"}, each optional; "body" is the text sent."""
    with path.open("w", encoding="utf-8") as file:
        for request in requests:
            file.write(json.dumps(request, ensure_ascii=False) + "\n")


@dataclass
class Load:
    """How a bench loads its targets: the same for each of its phases."""

    warmup: int
    requests: int
    seconds: float
    clients: int
    tmp: Path
    mode: str = "closed"

    def run(
        self,
        target: Target,
        server_pids: list[int],
        sampler: "ConnectionSampler",
        measured_count: Callable[[Phase], int] | None = None,
    ) -> Run:
        """Warm up, then measure, each a run of the load generator in a child process; CPU per part from /proc.

        `measured_count` is told how the warm-up went and says how many requests to measure (at most
        `requests`); it may seed more meanwhile. Without it, `requests` are measured.
        """
        name, spec = target.name, self._spec(target)
        print(f"{name}: warming up with {self.warmup:,} requests ...", flush=True)
        warmup, _ = self._client({**spec, "first": 0, "count": self.warmup}, None)
        warmup.ok_status = target.ok_status
        count = measured_count(warmup) if measured_count else self.requests
        # A backend's counters reach pg_stat_database when it ends or within a second of going idle: let
        # the warm-up's and the seeding's arrive before the measured phase starts.
        time.sleep(1.2)
        print(f"{name}: measuring {count:,} requests or {self.seconds:g} s, whichever ends first ...", flush=True)
        with sampler.sampling():
            measured, marks = self._client({**spec, "first": self.warmup, "count": count}, server_pids)
        measured.ok_status = target.ok_status
        return self._summarise(name, warmup, measured, count, marks, sampler)

    def _spec(self, target: Target) -> dict:
        return {
            "mode": self.mode,
            "url": target.url,
            "method": target.method,
            "headers": target.headers,
            "requests": str(target.requests) if target.requests else None,
            "signature": target.signature.__dict__ if target.signature else None,
            "seconds": self.seconds,
            "clients": self.clients,
        }

    def _summarise(self, name: str, warmup: Phase, measured: Phase, count: int, marks: dict, sampler) -> "Run":
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

    def capacity(
        self,
        target: Target,
        server_pids: list[int],
        sampler: "ConnectionSampler",
        rates: "Rates",
        *,
        prepare: Callable[[int], None] | None = None,
        check: Callable[[Phase, int], str] | None = None,
        profile: Path | None = None,
        worker_pids: list[int] | None = None,
    ) -> "Capacity":
        """The highest open-loop arrival rate at which `target` meets the aim: p99 under rates.p99_ms, no errors.

        After a closed-loop warm-up of `warmup` requests (every worker and connection touched), steps of
        `rates.seconds` (and at least rates.least requests) each offer the load at a fixed rate
        (open_loop), the rate doubling from rates.start until a step misses the aim or rates.top is
        reached (halving instead while none has met it, down to rates.start / 4), then `rates.refine`
        steps bisect (geometrically) between the last rate met and the first missed. Each step uses the
        next requests of `target.requests`; `prepare(end)` is told, before a step, that requests up to
        `end` are needed (to seed them), and `check(phase, first)`, after it, may name what the step got
        wrong beyond its answers (a reading lost or doubled): "" when nothing.

        With `profile`, one more step at the highest rate met (or the lowest tried) runs under py-spy,
        its samples of the server's processes written there and summed up in `Capacity.profile`.
        `worker_pids`: processes beside the server (a webhook's workers), whose CPU is counted apart.
        """
        spec = self._spec(target)
        print(f"{target.name}: warming up with {self.warmup:,} requests ...", flush=True)
        if prepare:
            prepare(self.warmup)
        warmup, _ = self._client(
            {
                **spec,
                "mode": "closed",
                "clients": min(8, self.clients),
                "seconds": 120,
                "first": 0,
                "count": self.warmup,
            },
            None,
        )
        warmup.ok_status = target.ok_status
        result = Capacity(target.name, rates, warmup)
        first = self.warmup

        def step(rate: float, record: Path | None = None) -> bool:
            nonlocal first
            count = step_count(rates, rate)
            if prepare:
                prepare(first + count)
            time.sleep(1.2)  # PostgreSQL's counters of what went before arrive; a missed step's queue drains
            with sampler.sampling(), py_spy(record, server_pids, count / rate + 2):
                phase, marks = self._client(
                    {**spec, "mode": "open", "rate": rate, "timeout": rates.timeout, "first": first, "count": count},
                    server_pids,
                    worker_pids,
                )
            phase.ok_status = target.ok_status
            run = self._summarise(f"{target.name} at {rate:,.0f}/s", warmup, phase, count, marks, sampler)
            problem = check(phase, first) if check else ""
            first += count
            missed = [
                *([f"p99 {phase.percentile(99):,.1f} ms"] if not phase.percentile(99) < rates.p99_ms else []),
                *([f"{phase.errors:,} errors {dict(phase.statuses)}"] if phase.errors else []),
                *([problem] if problem else []),
            ]
            result.steps.append(Step(rate, run, "; ".join(missed)))
            print(f"  {result.steps[-1].line()}", flush=True)
            return not missed

        search_rates(rates, step)
        if profile is not None:
            step(result.rate or min(s.rate for s in result.steps), profile)
            result.profile = profile_summary(profile)
            result.profiled = result.steps.pop()  # slower under the profiler: not one of the figures
        return result

    def _client(
        self, spec: dict, server_pids: list[int] | None, worker_pids: list[int] | None = None
    ) -> tuple[Phase, dict]:
        """One phase of load from a child process; with `server_pids`, CPU and PostgreSQL counters around it."""
        from django.db import connection

        path = self.tmp / "spec.json"
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
                    cpu = cpu_snapshot(server_pids, child.pid, worker_pids or [])
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


def load_client(spec_path: Path) -> None:
    """The child process: one phase of the spec's mode, one JSON line of results."""
    spec = json.loads(spec_path.read_text())
    requests = None
    if spec["requests"]:
        with open(spec["requests"], encoding="utf-8") as file:
            requests = [json.loads(line) for line in file]
    result = asyncio.run(_load(spec, requests))
    print(json.dumps(result), flush=True)


async def _load(spec: dict, requests: list[dict] | None) -> dict:
    import aiohttp

    # Open loop: as many connections as requests in flight; a request waiting for one still counts its wait.
    connector = aiohttp.TCPConnector(limit=spec["clients"] if spec["mode"] == "closed" else 2000)
    timeout = aiohttp.ClientTimeout(total=spec.get("timeout") or 30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=spec["headers"]) as session:
        print("start", flush=True)
        result = await LOAD_GENERATORS[spec["mode"]](session, spec, requests)
        print("done", flush=True)
    return result


async def closed_loop(session, spec: dict, requests: list[dict] | None) -> dict:
    """C clients, each sending its next request when its last one is answered: requests
    first..first+count-1 (request i's parts for request i), stopping early at the time limit."""

    first, count = spec["first"], spec["count"]
    indexes = iter(range(first, first + count))
    signature = Signature(**spec["signature"]) if spec["signature"] else None
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + spec["seconds"]

    async def client() -> None:
        # The deadline is checked before an index is taken: the requests sent are the first ones.
        while time.perf_counter() <= deadline and (i := next(indexes, None)) is not None:
            url, body, headers = _request(spec, requests[i] if requests is not None else {}, signature)
            sent = time.perf_counter()
            status = await _send(session, spec["method"], url, body, headers)
            latencies.append((time.perf_counter() - sent) * 1000)
            statuses[status] += 1

    await asyncio.gather(*(client() for _ in range(spec["clients"])))
    return {
        "sent": sum(statuses.values()),
        "statuses": dict(statuses),
        "latencies_ms": latencies,
        "seconds": time.perf_counter() - started,
    }


async def open_loop(session, spec: dict, requests: list[dict] | None) -> dict:
    """Requests first..first+count-1 offered at spec["rate"] a second: request k starts k/rate s after the
    first whether or not earlier ones were answered, and its latency counts from that scheduled start, so a
    server that falls behind shows its queue in the latencies (no coordinated omission)."""

    first, count, rate = spec["first"], spec["count"], spec["rate"]
    signature = Signature(**spec["signature"]) if spec["signature"] else None
    statuses: Counter[str] = Counter()
    latencies = [math.nan] * count
    scheduled = [0.0] * count

    async def one(k: int, at: float) -> None:
        url, body, headers = _request(spec, requests[first + k] if requests is not None else {}, signature)
        status = await _send(session, spec["method"], url, body, headers)
        latencies[k] = (time.monotonic() - at) * 1000
        statuses[status] += 1

    tasks = []
    started = time.monotonic() + 0.01
    for k in range(count):
        scheduled[k] = at = started + k / rate
        delay = at - time.monotonic()
        # Behind schedule (this process is short of CPU), the request still starts now, late, and its
        # latency counts from when it was due.
        await asyncio.sleep(max(0.0, delay))
        tasks.append(asyncio.create_task(one(k, at)))
    await asyncio.gather(*tasks)
    return {
        "sent": count,
        "statuses": dict(statuses),
        "latencies_ms": latencies,
        "seconds": max(time.monotonic() - started, count / rate),
        "scheduled": scheduled,
    }


LOAD_GENERATORS = {"closed": closed_loop, "open": open_loop}


async def _send(session, method: str, url: str, body: bytes | None, headers: dict | None) -> str:
    """One request; its HTTP status, or the name of the error that stood in for an answer."""
    import aiohttp

    try:
        async with session.request(method, url, data=body, headers=headers) as response:
            await response.read()
            return str(response.status)
    except (aiohttp.ClientError, TimeoutError) as error:
        return type(error).__name__


def process_stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout` s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _request(spec: dict, request: dict, signature: Signature | None) -> tuple[str, bytes | None, dict | None]:
    """A request's URL, body and own headers; the body is signed per request, as the platform would."""
    body = request["body"].encode() if "body" in request else None
    headers = dict(request.get("headers", {}))
    if signature and body is not None:
        headers |= signature.of(body)
    return spec["url"] + request.get("path", ""), body, headers or None


# --- CPU and PostgreSQL's counters --------------------------------------------------------------------


def cpu_snapshot(server_pids: list[int], client_pid: int, worker_pids: list[int] | None = None) -> dict:
    """Clock ticks of CPU used so far by each part, by every other process, and by the whole machine."""
    procs = _processes()
    server = {pid for pid in server_pids if pid in procs}
    server |= {pid for pid in procs if _descends(pid, server_pids, procs)}
    workers = {pid for pid in worker_pids or [] if pid in procs}
    workers |= {pid for pid in procs if _descends(pid, worker_pids or [], procs)}
    postgres = {pid for pid, p in procs.items() if p["comm"].startswith("postgres")}
    postmaster = [pid for pid in postgres if procs[pid]["ppid"] not in postgres]
    with open("/proc/stat") as file:
        ticks = [int(n) for n in file.readline().split()[1:9]]  # user .. steal; guest is inside user
    idle = ticks[3] + ticks[4]  # idle + iowait
    mine = server | workers | postgres | {client_pid, os.getpid()}
    return {
        "server": sum(procs[pid]["cpu"] for pid in server),
        **({"workers": sum(procs[pid]["cpu"] for pid in workers)} if worker_pids else {}),
        # Backends that ended meanwhile are counted in the postmaster's children's time.
        "PostgreSQL (all of it)": sum(procs[pid]["cpu"] for pid in postgres)
        + sum(procs[pid]["children"] for pid in postmaster),
        "load generator": procs.get(client_pid, {}).get("cpu", 0),
        "this process": procs.get(os.getpid(), {}).get("cpu", 0),
        "machine": (sum(ticks) - idle, sum(ticks)),
        "others": {pid: (p["comm"], p["cpu"]) for pid, p in procs.items() if pid not in mine},
    }


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system)."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def peak_rss_mib() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux carries that over
    from the parent through fork and exec, so a child would report its parent's memory."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


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


class ConnectionSampler:
    """The most connections open at once, to the scratch database and to the whole server, 4 times a second.

    Its connection is opened before the server starts, so that it has one when the server has taken them all.
    """

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)
        self.max_connections = int(self.connection.execute("SHOW max_connections").fetchone()[0])
        self.peak_here = self.peak_all = 0

    def __enter__(self) -> "ConnectionSampler":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.connection.close()

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


# --- Printing -----------------------------------------------------------------------------------------


def print_runs(runs: list[Run]) -> None:
    """Per run: answered rate and latencies, the CPU each part used, and PostgreSQL's work per request."""
    cores = os.cpu_count() or 1
    ok = runs[0].measured.ok_status if len({run.measured.ok_status for run in runs}) == 1 else "ok"
    print(f"{'':<40} {ok + 's':>9} {'p50':>9} {'p99':>9} {'max':>9}  errors (not {ok})")
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
            for part in ("server", "PostgreSQL (all of it)")
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


def print_table(rows: list[tuple[str, str, str]], *, heading: tuple[str, str, str] = ("", "figure", "aim")) -> None:
    """Rows of (what, figure, aim), aligned."""
    width = max(len(name) for name, _figure, _aim in [heading, *rows])
    for name, figure, aim in [heading, *rows]:
        print(f"{name:<{width}} {figure:>14}  {aim}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the load generator's child process (see the module's doc)")
    parser.add_argument("--load-client", type=Path, required=True)
    load_client(parser.parse_args().load_client)
