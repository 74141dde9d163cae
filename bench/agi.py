"""Complete phone calls per second on one `runagi` process, with PostgreSQL.

    .venv/bin/python bench/agi.py [--scenario short] [--calls N] [--warmup N] [--callers C]
                                  [--seconds S] [--answer-delay MS]

One `manage.py runagi` process serves FastAGI as in production (DEBUG off, PostgreSQL through
the pool, its default DATABASE_POOL_SIZE), in a scratch database, pokaznyk_bench_agi, dropped
after. The fake Asterisk of the test suite (botbridge/tests/fake_asterisk.py) dials in from
this process over TCP on 127.0.0.1: C callers (threads, default 50), each making one call after
another, until N calls were made or S seconds passed. A call counts when it is complete: the
server hung up after the scenario's last command, nothing was refused (510/520), and the
scenario's check of its transcript passes. The warm-up's calls are not counted.

A scenario is what one call does (`Scenario` below): the FastAGI script runagi serves (name and
dotted path, given to runagi by --script), the seeding of what the calls need, each call's
caller number and keys, and the check of its transcript. `short`: the test script
botbridge.tests.agi_scripts.account — GET DATA the account number, a lookup in PostgreSQL,
STREAM FILE, SET VARIABLE, HANGUP (half the numbers exist): the server and the protocol alone.
`reading`: the menu's whole call (botbridge.conversation.phone.call) for a one-zone meter —
account number, serial, the reading, its read-back, 1, accepted, goodbye — checked to end
accepted, and the readings written counted.

Printed: calls per second, each call's duration (p50, p99, max), failures, the CPU time of
runagi and of this process (the callers) per call, and os.getloadavg() before and after: the
callers run on the same machine and compete with the server. `--answer-delay` makes the fake
wait before each answer (a caller listening and typing), for a load of long calls at once
rather than the server's top rate. Not part of the test suite.
"""

import argparse
import dataclasses
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SCRATCH_DATABASE = "pokaznyk_bench_agi"


@dataclasses.dataclass(frozen=True)
class Call:
    """What one call of the benchmark does: who calls and what they press."""

    caller: str
    keys: tuple[str | None, ...]
    expect: str = ""  # for the scenario's check


@dataclasses.dataclass(frozen=True)
class Scenario:
    script: str  # the FastAGI script's name, agi://…/<script>
    handler: str  # its function's dotted path, served by runagi --script script=handler
    seed: Callable[[int], list[Call]]  # makes what `count` calls need, returns the calls
    check: Callable[[object, Call], str | None]  # the transcript of a call → a problem, or None
    count_written: Callable[[], int] | None = None  # rows the calls wrote, for the report


def short_seed(count: int) -> list[Call]:
    """Accounts through the master-data import; every other call types an existing number."""
    from accounts.masterdata import MasterDataRow, master_data_import

    numbers = [f"{800000000 + n}" for n in range(count)]
    master_data_import(
        rows=[MasterDataRow(account_number=n, meter_serial=f"AGI{n}", zones=1, digits=6) for n in numbers[::2]]
    )
    return [
        Call(caller=f"067{n[-7:]}", keys=(n + "#",), expect="known" if i % 2 == 0 else "unknown")
        for i, n in enumerate(numbers)
    ]


def short_check(transcript, call: Call) -> str | None:
    if transcript.set_variables != {"ACCOUNT": call.expect}:
        return f"ACCOUNT={transcript.set_variables}, expected {call.expect}"
    return None


def reading_seed(count: int) -> list[Call]:
    """One-zone meters through the master-data import; each call sends one ordinary reading."""
    from accounts.masterdata import MasterDataRow, master_data_import

    master_data_import(
        rows=[
            MasterDataRow(
                account_number=f"{810000000 + n}",
                meter_serial=f"PH-{n:07d}",
                zones=1,
                digits=6,
                initial_values=(10_000,),
            )
            for n in range(count)
        ]
    )
    return [
        Call(caller=f"+38067{n:07d}", keys=(f"{810000000 + n}#", f"{n:07d}#", f"{10_100 + n % 100}#", "1", None))
        for n in range(count)
    ]


def reading_check(transcript, call: Call) -> str | None:
    heard = [prompt.rsplit("/", 1)[-1] for prompt in transcript.prompts]
    if "accepted-consumption" not in heard or heard[-1] != "goodbye":
        return f"the reading was not accepted: heard {heard}"
    return None


def readings_written() -> int:
    from readings.models import Reading

    return Reading.objects.filter(channel=Reading.Channel.PHONE).count()


SCENARIOS = {
    "short": Scenario(
        script="bench-short",
        handler="botbridge.tests.agi_scripts.account",
        seed=short_seed,
        check=short_check,
    ),
    # The menu's whole call: greeting, account number, serial, the reading, its read-back, 1 to
    # confirm, accepted for the period, silence at "another one?", goodbye.
    "reading": Scenario(
        script="readings",
        handler="botbridge.conversation.phone.call",
        seed=reading_seed,
        check=reading_check,
        count_written=readings_written,
    ),
}


@dataclasses.dataclass
class Phase:
    seconds: float = 0.0
    durations: list[float] = dataclasses.field(default_factory=list)  # complete calls, s
    failures: list[str] = dataclasses.field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="short")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--answer-delay", type=float, default=0.0, help="ms the fake waits before each answer")
    args = parser.parse_args()
    scenario = SCENARIOS[args.scenario]
    with harness.workspace(SCRATCH_DATABASE) as (url, _tmp):
        run(args, scenario, url)


def run(args: argparse.Namespace, scenario: Scenario, url: str) -> None:
    env = harness.portal_environment(url, **harness.WINDOW_ENV)
    harness.migrate(env)
    harness.django_setup(env)
    print(harness.open_window("bench/agi.py"), flush=True)  # readings land inside the window, the normal path
    started = time.perf_counter()
    calls = scenario.seed(args.warmup + args.calls)
    print(f"seeded {len(calls):,} calls' data in {time.perf_counter() - started:.1f} s", flush=True)
    server, address = start_runagi(env, scenario)
    try:
        run_phase(address, scenario, calls[: args.warmup], args)
        load_before = os.getloadavg()
        cpu_before = harness.cpu_seconds(server.pid), harness.cpu_seconds(os.getpid())
        phase = run_phase(address, scenario, calls[args.warmup :], args)
        cpu_after = harness.cpu_seconds(server.pid), harness.cpu_seconds(os.getpid())
        load_after = os.getloadavg()
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=60)
    report(args, scenario, phase, [b - a for a, b in zip(cpu_before, cpu_after, strict=True)], load_before, load_after)
    if server.returncode != 0 or "Traceback" in errors:
        print(f"runagi exited with {server.returncode}:\n{errors[-3000:]}")
        sys.exit(1)
    if phase.failures:
        sys.exit(1)


def start_runagi(env: dict[str, str], scenario: Scenario) -> tuple[subprocess.Popen, tuple[str, int]]:
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runagi", "--port", "0", "--script", f"{scenario.script}={scenario.handler}"],
        cwd=harness.BASE_DIR,
        env={**env, "LOG_LEVEL": "warning"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready, _, _ = select.select([server.stdout], [], [], 60)
    line = server.stdout.readline() if ready else ""
    found = re.search(r"agi://([\d.]+):(\d+)/", line)
    if found is None:
        server.kill()
        sys.exit(f"runagi did not start: {line!r}\n{server.stderr.read()[-3000:]}")
    print(line.strip(), flush=True)
    return server, (found[1], int(found[2]))


def run_phase(address: tuple[str, int], scenario: Scenario, calls: list, args: argparse.Namespace) -> Phase:
    """`args.callers` callers take the calls in turn until none are left or the time is up."""
    from botbridge.tests.fake_asterisk import FakeAsterisk

    fake = FakeAsterisk(*address, timeout=30, answer_delay=args.answer_delay / 1000)
    phase, lock, queue = Phase(), threading.Lock(), iter(calls)
    deadline = time.monotonic() + args.seconds

    def caller() -> None:
        while time.monotonic() < deadline:
            with lock:
                call = next(queue, None)
            if call is None:
                return
            began = time.perf_counter()
            try:
                transcript = fake.call(script=scenario.script, caller=call.caller, keys=list(call.keys))
            except OSError as error:
                problem = f"could not call: {error}"
            else:
                problem = problem_of(transcript, scenario, call)
            took = time.perf_counter() - began
            with lock:
                if problem is None:
                    phase.durations.append(took)
                else:
                    phase.failures.append(problem)

    threads = [threading.Thread(target=caller) for _ in range(args.callers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    return phase


def problem_of(transcript, scenario: Scenario, call: Call) -> str | None:
    if transcript.refused or transcript.problems:
        return f"refused or wrong: {[e.line for e in transcript.refused]} {transcript.problems}"
    if transcript.ended != "server hung up":
        return f"the call ended with {transcript.ended!r} after {transcript.commands}"
    return scenario.check(transcript, call)


def report(args, scenario: Scenario, phase: Phase, cpu: list[float], before, after) -> None:
    done = len(phase.durations)
    ms = [d * 1000 for d in phase.durations]
    print()
    print(
        f"== agi bench: scenario {args.scenario} ({scenario.handler}), one runagi process, PostgreSQL, "
        f"{args.callers} callers, answer delay {args.answer_delay:g} ms, {os.cpu_count()} cores"
    )
    if done:
        print(
            f"complete calls: {done / phase.seconds:,.1f}/s ({done:,} in {phase.seconds:.1f} s); "
            f"a call took {harness.latency_summary(ms)}"
        )
        runagi, callers = (seconds * 1000 / done for seconds in cpu)
        print(f"CPU per call: runagi {runagi:.2f} ms, the callers (this process) {callers:.2f} ms")
    if scenario.count_written is not None:
        print(f"written by the calls: {scenario.count_written():,}")
    print(f"failed calls: {len(phase.failures):,}" + (f", first: {phase.failures[0]}" if phase.failures else ""))
    print("load average (1, 5, 15 min): before " + " ".join(f"{x:.2f}" for x in before), end="")
    print(", after " + " ".join(f"{x:.2f}" for x in after))


if __name__ == "__main__":
    main()
