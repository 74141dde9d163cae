"""`make bench`: every hot path's highest open-loop arrival rate with p99 under 50 ms, side by side in one run.

    .venv/bin/python bench/hotpaths.py [--quick] [--stacks gunicorn,uvicorn] [--export-rows N]

Printed first, in this process: the machine's load, the raw psycopg INSERT rate (one connection,
single-row INSERTs of a reading-like row, autocommit) and an empty Django request (/bench/empty/,
bench/settings.py: the whole middleware, no view work) under each serving stack. Then each path's own
script, one after the other, each in its own scratch database (their output streams through): the
REST API (bench/api.py), the three webhooks (bench/webhook.py), `runagi` (bench/agi.py), under the
production stack (harness.PRODUCTION_STACK, the first of --stacks), then the API and the Telegram
webhook again under every other stack, and bench/export.py when it exists (the billing export
against COPY). Last, one table: each path's highest rate with p99 under 50 ms and no errors, as a
share of the raw INSERT rate, the aims of #17, and the database checks (no reading lost or doubled).

The load is other processes' too on a shared machine: the load average is printed at the start and
the end, and each script prints its own. A missed aim does not fail the run; a database check that
fails, or a script that fails, does (exit status 1). Not part of the test suite.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SCRATCH_DATABASE = "pokaznyk_bench_hot"
BENCH = Path(__file__).resolve().parent
EMPTY = "GET /bench/empty/ (an empty Django request)"
# The shell's environment, for the scripts this one starts: django_setup replaces os.environ with the
# portal's (bench.settings included), which each script makes anew from the shell's.
SHELL_ENV = dict(os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short steps, small export: a check that it runs")
    parser.add_argument("--stacks", default=",".join(harness.STACKS), help="serving stacks compared, production first")
    parser.add_argument("--export-rows", type=int, default=1_000_000, help="for bench/api.py when export.py is absent")
    args = parser.parse_args()
    stacks = [stack.strip() for stack in args.stacks.split(",") if stack.strip()]
    if not stacks or set(stacks) - set(harness.STACKS):
        parser.error(f"--stacks: some of {', '.join(harness.STACKS)}")
    if harness.PRODUCTION_STACK in stacks:  # the production stack first: every path runs under it
        stacks.remove(harness.PRODUCTION_STACK)
        stacks.insert(0, harness.PRODUCTION_STACK)
    started = time.monotonic()
    load_before = harness.machine_load()
    print(f"== make bench: {load_before}", flush=True)
    with harness.workspace(SCRATCH_DATABASE) as (url, tmp):
        raw, empties = baselines(url, tmp, stacks, quick=args.quick)
        summaries, failed = paths(args, stacks, tmp)
        raw_after = harness.raw_insert_rate(url, 2.0 if args.quick else 5.0)
    print_table(raw, raw_after, empties, summaries, stacks)
    print(f"load: at the start {load_before}; at the end {harness.machine_load()}")
    print(f"make bench took {(time.monotonic() - started) / 60:.1f} min")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


def baselines(url: str, tmp: Path, stacks: list[str], *, quick: bool) -> tuple[float, dict]:
    env = harness.portal_environment(url, DJANGO_SETTINGS_MODULE="bench.settings")
    harness.migrate(env)
    harness.django_setup(env)
    raw = harness.raw_insert_rate(url, 2.0 if quick else 5.0)
    print(f"raw psycopg single-row INSERT of a reading-like row, one connection: {raw:,.0f} rows/s", flush=True)
    load = harness.Load(warmup=200, requests=0, seconds=0, clients=64, tmp=tmp)
    rates = harness.Rates(start=50, seconds=2.0 if quick else 4.0, refine=1 if quick else 2)
    empties = {}
    for stack in stacks:
        with (
            harness.ConnectionSampler(url) as sampler,
            harness.serve(stack, env, 2, tmp / f"{stack}.log") as (base_url, server_pids),
        ):
            target = harness.Target(f"{EMPTY}, {stack}", f"{base_url}/bench/empty/")
            empties[stack] = capacity = load.capacity(target, server_pids, sampler, rates)
        capacity.print()
    return raw, empties


def paths(args: argparse.Namespace, stacks: list[str], tmp: Path) -> tuple[dict, list[str]]:
    """Each path's script under the production stack, then the API and Telegram under the others."""
    quick = ["--quick"] if args.quick else []
    export = BENCH / "export.py"
    runs = [
        (
            "api",
            stacks[0],
            ["api.py", "--stack", stacks[0], "--export-rows", "0" if export.exists() else str(args.export_rows)],
        ),
        ("webhooks", stacks[0], ["webhook.py", "--stack", stacks[0]]),
        ("runagi", stacks[0], ["agi.py", "--scenario", "reading", "--processes", "2"]),
    ]
    for stack in stacks[1:]:
        runs += [
            ("api", stack, ["api.py", "--stack", stack, "--export-rows", "0"]),
            ("webhooks", stack, ["webhook.py", "--stack", stack, "--channels", "telegram"]),
        ]
    summaries: dict = {}
    failed = []
    for name, stack, command in runs:
        summary = tmp / f"{name}-{stack}.json"
        print(f"\n== {name} under {stack}: bench/{' '.join(command)}", flush=True)
        done = subprocess.run(
            [sys.executable, str(BENCH / command[0]), *command[1:], *quick, "--summary", str(summary)],
            cwd=harness.BASE_DIR,
            check=False,
        )
        if done.returncode:
            failed.append(f"bench/{' '.join(command)} (exit {done.returncode})")
        if summary.exists():
            summaries[(name, stack)] = json.loads(summary.read_text())
    if export.exists():
        print("\n== the billing export: bench/export.py", flush=True)
        done = subprocess.run([sys.executable, str(export), *quick], cwd=harness.BASE_DIR, env=SHELL_ENV, check=False)
        if done.returncode:
            failed.append(f"bench/export.py (exit {done.returncode})")
    return summaries, failed


def print_table(raw: float, raw_after: float, empties: dict, summaries: dict, stacks: list[str]) -> None:
    """Path, stack, highest rate with p99 < 50 ms and no errors, its share of the raw INSERT rate, the aim."""
    print("\n== make bench: the hot paths at fixed arrival rates (open loop), p99 < 50 ms and no errors")
    print(
        "raw psycopg single-row INSERT of a reading-like row, one connection: "
        f"{raw:,.0f} rows/s at the start, {raw_after:,.0f} at the end"
    )
    rows = []

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    def row(what: str, stack: str, rate: float, notes: list[str], steps: list[dict]) -> None:
        # Missed even at the lowest rate tried: say so, and that rate's p99, rather than "0/s".
        lowest = min(steps, key=lambda step: step["rate"], default=None)
        shown = f"{rate:,.0f}/s" if rate or lowest is None else f"< {lowest['rate']:,.1f}/s"
        if not rate and lowest is not None:
            notes = [f"p99 {lowest['p99_ms']:,.0f} ms at {lowest['rate']:,.1f}/s", *notes]
        rows.append((what, stack, shown, f"{rate / raw:.1%}" if raw else "-", "; ".join(notes)))

    for stack, capacity in empties.items():
        cpu = capacity.summary()["cpu_ms"]
        notes = [f"server CPU {cpu.get('server', 0):.2f} ms"] if cpu else []
        row("empty Django request", stack, capacity.rate, notes, capacity.summary()["steps"])
    for (name, stack), summary in summaries.items():
        if name == "api":
            capacity, cpu = summary["capacity"], summary["capacity"]["cpu_ms"]
            notes = [f"aim >= 20% of raw: {met(capacity['rate'] >= 0.2 * raw)}", f"database {summary['database']}"]
            if cpu:
                notes.append(
                    f"CPU a request: server {cpu['server']:.1f} ms, PostgreSQL {cpu['PostgreSQL (all of it)']:.1f} ms"
                )
            row("API, POST a reading", stack, capacity["rate"], notes, capacity["steps"])
        elif name == "webhooks":
            for channel, figures in summary["channels"].items():
                rate, e2e = figures["capacity"]["rate"], figures["end_to_end"]
                notes = [
                    f"intake aim >= 1,000/s: {met(rate >= 1000)}",
                    f"end to end {e2e:,.0f} readings/s with replies p99 < 1 s (aim >= 100: {met(e2e >= 100)})",
                    f"database {figures['database']}",
                ]
                row(f"{channel} webhook", stack, rate, notes, figures["capacity"]["steps"])
        elif name == "runagi":
            complete = summary["complete_rate"]
            notes = [
                f"{complete:,.0f} complete calls/s with p99 < 1 s (aim >= 200: {met(complete >= 200)})",
                f"database {summary['database']}",
            ]
            row("runagi, a whole reading call", "-", summary["rate"], notes, summary["steps"])
    heading = ("path", "stack", "p99 < 50 ms", "of raw", "")
    widths = [max(len(r[i]) for r in [heading, *rows]) for i in range(4)]
    for r in [heading, *rows]:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]}")


if __name__ == "__main__":
    main()
