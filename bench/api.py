"""Accepted readings per second through POST /api/v1/accounts/{number}/readings/, and the export.

    .venv/bin/python bench/api.py [--requests N] [--clients C] [--seconds S] [--export-rows N]

The portal is served as in production (uvicorn, 2 workers, DEBUG off, PostgreSQL
through the pool) in a scratch database, pokaznyk_bench_api, dropped after. Every
request is a different resident's first reading of the month, inside the window
(harness.open_window's calendar overrides open it when today is outside), so each
one is accepted. The load, its CPU and PostgreSQL figures are bench/harness.py's,
as for the webhooks. Printed beside it: the raw single-row INSERT rate of psycopg
into the same PostgreSQL in the same run; the ratio is the figure.

Then the billing export: N readings (default 1,000,000) are copied into the
period, and the export's CSV and XLSX are each produced in a child process that
reports its time and peak memory. Not part of the test suite.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--export-only", action="store_true", help="skip the submission benchmark")
    parser.add_argument("--export", help=argparse.SUPPRESS)  # the child process that times one export
    args = parser.parse_args()
    if args.export:
        export_child(args.export)
        return
    with harness.workspace(SCRATCH_DATABASE) as (url, tmp):
        run(args, url, tmp)


def run(args: argparse.Namespace, url: str, tmp: Path) -> None:
    env = harness.portal_environment(url, **API_ENV, **harness.WINDOW_ENV)
    harness.migrate(env)
    harness.django_setup(env)
    residents = seed(args.warmup + args.requests if not args.export_only else 100)
    if args.export_only:
        export_figures(args.export_rows, url, env)
        return
    print(harness.open_window("bench/api.py"), flush=True)
    raw = raw_insert_rate(url)
    load = harness.Load(warmup=args.warmup, requests=args.requests, seconds=args.seconds, clients=args.clients, tmp=tmp)
    requests = tmp / "requests.jsonl"
    body = json.dumps({"value": "1250"})
    harness.write_requests(
        requests,
        (
            {
                "path": f"/api/v1/accounts/{number}/readings/",
                "headers": {"Authorization": f"Token {token}"},
                "body": body,
            }
            for number, token in residents
        ),
    )
    with (
        harness.ConnectionSampler(url) as sampler,
        harness.uvicorn_server(env, 2, tmp / "server.log") as (base_url, server_pids),
    ):
        target = harness.Target(
            "POST /api/v1/accounts/{number}/readings/",
            base_url,
            "POST",
            {"Content-Type": "application/json"},
            requests,
            ok_status="201",
        )
        submitted = load.run(target, server_pids, sampler)
    answered = submitted.warmup.ok + submitted.measured.ok
    report(submitted, raw, count_accepted() - answered, args)
    export_figures(args.export_rows, url, env)


def seed(count: int) -> list[tuple[str, str]]:
    """Residents, each with an account, a meter, a link and an API token, through the services."""
    from accounts.linking import account_link
    from accounts.masterdata import MasterDataRow, master_data_import
    from accounts.models import User
    from accounts.tokens import api_token_issue

    started = time.perf_counter()
    rows = [
        MasterDataRow(
            account_number=f"{700000000 + n}", meter_serial=f"API{n}", zones=1, digits=6, initial_values=(1000,)
        )
        for n in range(count)
    ]
    master_data_import(rows=rows)
    residents = []
    for row in rows:
        user = User.objects.create(username=f"api{row.account_number}")
        account_link(user=user, account_number=row.account_number, meter_serial=row.meter_serial)
        residents.append((row.account_number, api_token_issue(user=user)[1]))
    print(f"seeded {count:,} residents (account, meter, link, token) in {time.perf_counter() - started:.1f} s")
    return residents


def raw_insert_rate(url: str, seconds: float = 5.0) -> float:
    """Single-row INSERTs, autocommit, one connection: PostgreSQL's own pace on this machine."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE bench_raw (id bigserial PRIMARY KEY, meter int, value int, at timestamptz)")
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            connection.execute("INSERT INTO bench_raw (meter, value, at) VALUES (%s, %s, now())", (done, 1250))
            done += 1
        rate = done / (time.perf_counter() - started)
        connection.execute("DROP TABLE bench_raw")
    return rate


def count_accepted() -> int:
    from readings.models import Reading

    return Reading.objects.filter(status=Reading.Status.ACCEPTED).count()


def report(submitted: harness.Run, raw: float, mismatch: int, args: argparse.Namespace) -> None:
    rate = submitted.measured.ok / submitted.measured.seconds
    print(f"\n== API bench: {harness.server_versions()}, uvicorn --workers 2, {args.clients} clients, DEBUG off")
    harness.print_runs([submitted])
    print(f"raw psycopg single-row INSERT, one connection: {raw:,.0f} rows/s; the API reaches {rate / raw:.1%} of it")
    print(f"database check: {'OK' if mismatch == 0 else f'{mismatch} readings differ from the 201 answers'}")


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
