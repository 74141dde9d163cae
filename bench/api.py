"""The highest rate of readings POST /api/v1/accounts/{number}/readings/ takes with p99 under 50 ms, and the export.

    .venv/bin/python bench/api.py [--quick] [--stack gunicorn|uvicorn] [--workers W] [--export-rows N]
                                  [--summary FILE]

The portal is served as in production (harness.PRODUCTION_STACK unless --stack says another, 2
workers, DEBUG off, PostgreSQL through the pool) in a scratch database, pokaznyk_bench_api,
dropped after. Every request is a different resident's first reading of the month, inside the
window (harness.open_window's calendar overrides open it when today is outside), so each one is
accepted. The load is offered at fixed arrival rates (harness.Load.capacity, open loop): the
figure is the highest rate with p99 under 50 ms and no errors, as a share of the raw single-row
INSERT rate of psycopg into a reading-like table of the same PostgreSQL in the same run. After
each step the database must hold exactly one accepted reading for each 201 and none for the rest.

Then the billing export: N readings (default 1,000,000; 0 skips it) are copied into the period,
and the export's CSV and XLSX are each produced in a child process that reports its time and peak
memory. Not part of the test suite.
"""

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SCRATCH_DATABASE = "pokaznyk_bench_api"
SENT = "2026-10-01T10:00:00+02:00"
API_ENV = {
    "API_THROTTLE_SUBMIT": "100000000/hour",
    "API_THROTTLE_LINK": "100000000/hour",
    "API_THROTTLE_TOKEN": "100000000/min",
}
ACCOUNT_BASE = 700_000_000
AIM_SHARE = 0.20  # of the raw INSERT rate, with p99 under 50 ms (#17)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short steps, no export: a check that it runs")
    parser.add_argument("--stack", choices=harness.STACKS, default=harness.PRODUCTION_STACK)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--start-rate", type=float, default=10.0)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--export-only", action="store_true", help="skip the submission benchmark")
    parser.add_argument("--summary", type=Path, help="write the figures here as JSON (bench/hotpaths.py)")
    parser.add_argument("--profile", type=Path, help="one more step under py-spy: its collapsed stacks here")
    parser.add_argument("--export", help=argparse.SUPPRESS)  # the child process that times one export
    args = parser.parse_args()
    if args.export:
        export_child(args.export)
        return
    if args.quick:
        args.export_rows = min(args.export_rows, 20_000)
        args.warmup = min(args.warmup, 50)
    with harness.workspace(SCRATCH_DATABASE) as (url, tmp):
        run(args, url, tmp)


def run(args: argparse.Namespace, url: str, tmp: Path) -> None:
    env = harness.portal_environment(url, **API_ENV, **harness.WINDOW_ENV)
    harness.migrate(env)
    harness.django_setup(env)
    if args.export_only:
        seed(0, 100)
        export_figures(args.export_rows, url, env)
        return
    print(harness.machine_load(), flush=True)
    print(harness.open_window("bench/api.py"), flush=True)
    raw = harness.raw_insert_rate(url, 2.0 if args.quick else 5.0)
    print(f"raw psycopg single-row INSERT of a reading-like row, one connection: {raw:,.0f} rows/s", flush=True)
    residents = Residents(tmp / "requests.jsonl")
    load = harness.Load(warmup=args.warmup, requests=0, seconds=0, clients=64, tmp=tmp)
    rates = harness.Rates(start=args.start_rate, seconds=2.0 if args.quick else 4.0, refine=1 if args.quick else 2)
    log = tmp / "server.log"
    with (
        harness.ConnectionSampler(url) as sampler,
        harness.serve(args.stack, env, args.workers, log) as (base_url, server_pids),
    ):
        target = harness.Target(
            "POST /api/v1/accounts/{number}/readings/",
            base_url,
            "POST",
            {"Content-Type": "application/json"},
            residents.path,
            ok_status="201",
        )
        capacity = load.capacity(
            target, server_pids, sampler, rates, prepare=residents.grow, check=residents.check, profile=args.profile
        )
    lost = residents.check_all(capacity)
    stack = harness.stack_name(args.stack, args.workers)
    print(f"\n== API bench: {harness.server_versions()}, {stack}, DEBUG off; {harness.machine_load()}")
    print(harness.open_window("bench/api.py"))
    capacity.print()
    share = capacity.rate / raw
    print(
        f"raw psycopg single-row INSERT, one connection: {raw:,.0f} rows/s; the API takes {capacity.rate:,.0f}/s = "
        f"{share:.1%} of it; aim >= {AIM_SHARE:.0%} with p99 < 50 ms: {'met' if share >= AIM_SHARE else 'NOT met'}"
    )
    print(f"database check over every step: {lost or 'OK, every 201 left one accepted reading and nothing else did'}")
    print(f"server log: {harness.log_summary(log)}")
    harness.write_summary(
        args.summary,
        {
            "path": "api",
            "stack": stack,
            "raw_insert": raw,
            "capacity": capacity.summary(),
            "database": lost or "OK",
            "load": harness.machine_load(),
        },
    )
    if args.export_rows:
        export_figures(args.export_rows, url, env)
    if lost:
        sys.exit(f"the database disagrees with the API's answers: {lost}")


class Residents:
    """Residents seeded so far, each with an account, a meter, a link and an API token; request i is resident i's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.answered = 0  # 201s over every step, warm-up included
        self.problems: list[str] = []
        with path.open("w"):
            pass

    def grow(self, end: int) -> None:
        if end <= self.count:
            return
        residents = seed(self.count, end)
        body = json.dumps({"value": "1250"})
        with self.path.open("a", encoding="utf-8") as file:
            for number, token in residents:
                request = {
                    "path": f"/api/v1/accounts/{number}/readings/",
                    "headers": {"Authorization": f"Token {token}"},
                    "body": body,
                }
                file.write(json.dumps(request) + "\n")
        self.count = end

    def check(self, phase: harness.Phase, first: int) -> str:
        """The step's residents: one accepted reading each for the 201s, none for the rest, nothing doubled."""
        from django.db.models import Count

        from readings.models import Reading

        numbers = [str(ACCOUNT_BASE + i) for i in range(first, first + phase.sent)]
        readings = Reading.objects.filter(meter__account__number__in=numbers)
        statuses = dict(readings.values_list("status").annotate(n=Count("id")))
        doubled = readings.values("meter").annotate(n=Count("id")).filter(n__gt=1).count()
        self.answered += phase.ok
        if statuses.get("accepted", 0) != phase.ok or sum(statuses.values()) != phase.ok or doubled:
            problem = (
                f"{phase.ok:,} answered 201 but the database holds {statuses}, {doubled} meters with more than one"
            )
            self.problems.append(problem)
            return problem
        return ""

    def check_all(self, capacity: harness.Capacity) -> str:
        from readings.models import Reading

        answered = capacity.answered
        accepted = Reading.objects.filter(status=Reading.Status.ACCEPTED).count()
        problems = list(self.problems)
        if accepted != answered:
            problems.append(f"{accepted:,} accepted readings for {answered:,} answers 201")
        return "; ".join(problems)


def seed(first: int, end: int) -> list[tuple[str, str]]:
    """Residents first..end-1, each with an account, a meter, a link and an API token, through the services."""
    from accounts.linking import account_link
    from accounts.masterdata import MasterDataRow, master_data_import
    from accounts.models import User
    from accounts.tokens import api_token_issue

    started = time.perf_counter()
    rows = [
        MasterDataRow(
            account_number=f"{ACCOUNT_BASE + n}", meter_serial=f"API{n}", zones=1, digits=6, initial_values=(1000,)
        )
        for n in range(first, end)
    ]
    master_data_import(rows=rows)
    residents = []
    for row in rows:
        user = User.objects.create(username=f"api{row.account_number}")
        account_link(user=user, account_number=row.account_number, meter_serial=row.meter_serial)
        residents.append((row.account_number, api_token_issue(user=user)[1]))
    print(f"seeded {end - first:,} residents (account, meter, link, token) in {time.perf_counter() - started:.1f} s")
    return residents


def export_figures(rows: int, url: str, env: dict[str, str]) -> None:
    """Copy `rows` readings into one period, then time each export format in a child process."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        meters = [row[0] for row in connection.execute("SELECT id FROM accounts_meter ORDER BY id")]
        # Receipts are unique: counted up, past the ones the submitted readings drew.
        taken = {row[0] for row in connection.execute("SELECT receipt FROM readings_reading")}
        receipts = (code for n in range(10**8) if (code := f"{n:08d}") not in taken)
        started = time.perf_counter()
        with connection.cursor().copy(
            "COPY readings_reading"
            " (meter_id, period, value1, consumption1, status, review_reason, review_note, channel, channel_user_key,"
            " submitted_at, receipt) FROM STDIN"
        ) as copy:
            for n, receipt in zip(range(rows), receipts, strict=False):
                meter = meters[n % len(meters)]
                copy.write_row((meter, "2026-10-01", 1000 + n % 9000, 100, "control", "", "", "api", "", SENT, receipt))
        connection.execute("ANALYZE readings_reading")  # as autovacuum would after such a load
    print(f"\ncopied {rows:,} readings into period 2026-10-01 in {time.perf_counter() - started:.1f} s")
    for kind in ("csv", "xlsx"):
        done = subprocess.run(
            [sys.executable, __file__, "--export", kind],
            cwd=harness.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        print(done.stdout.strip())


def export_child(kind: str) -> None:
    import django

    django.setup()
    from accounts.models import User
    from readings import export
    from readings.services import export_batch_complete, export_batch_record

    started = time.perf_counter()
    period = dt.date(2026, 10, 1)
    # As the admin and the API export: the batch is recorded first, the file is made of its readings.
    batch = export_batch_record(period=period, kind=kind, exported_by=User.objects.first())
    recorded = time.perf_counter() - started
    size = 0
    if kind == "csv":
        for line in export.csv_lines(export.period_rows(period, batch)):
            size += len(line.encode())
    else:
        with export.xlsx_file(export.period_rows(period, batch)) as file:
            size = file.seek(0, 2)
    export_batch_complete(batch_id=batch.pk)
    peak = harness.peak_rss_mib()
    print(
        f"export {kind}: {time.perf_counter() - started:.1f} s (recording the batch {recorded:.1f} s), "
        f"{size / 1e6:.0f} MB, peak memory {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
