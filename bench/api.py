"""Accepted readings per second through POST /api/v1/accounts/{number}/readings/, and the export.

    .venv/bin/python bench/api.py [--requests N] [--clients C] [--seconds S] [--export-rows N]

The portal is served as in production (uvicorn, 2 workers, DEBUG off, PostgreSQL
through the pool) in a scratch database, pokaznyk_bench_api, dropped after. Every
request is a different resident's first reading of the month, inside the window
(the same calendar overrides as bench/webhook.py open it when today is outside),
so each one is accepted. Printed beside it: the raw single-row INSERT rate of
psycopg into the same PostgreSQL in the same run; the ratio is the figure.

Then the billing export: N readings (default 1,000,000) are copied into the
period, and the export's CSV and XLSX are each produced in a child process that
reports its time and peak memory. Not part of the test suite.
"""

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import webhook  # noqa: E402 - the server, the scratch database and the window come from there

webhook.SCRATCH_DATABASE = "pokaznyk_bench_api"
SENT = "2026-10-01T10:00:00+02:00"
API_ENV = {
    "API_THROTTLE_SUBMIT": "100000000/hour",
    "API_THROTTLE_LINK": "100000000/hour",
    "API_THROTTLE_TOKEN": "100000000/min",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--export-only", action="store_true", help="skip the submission benchmark")
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--export", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(asyncio.run(load(json.loads(args.load.read_text())))))
        return
    if args.export:
        export_child(args.export)
        return
    server = webhook.postgres_server()
    with webhook.scratch_database(server) as url, tempfile.TemporaryDirectory(prefix="pokaznyk-bench-api-") as tmp:
        run(args, url, Path(tmp))


def run(args: argparse.Namespace, url: str, tmp: Path) -> None:
    os.environ["DATABASE_URL"] = url
    env = {**webhook.server_environment(url, {}), **API_ENV}
    webhook.manage(["migrate", "--noinput"], env)
    for name, value in env.items():
        if name.startswith(("DJANGO_", "API_", "READINGS_")):
            os.environ[name] = value
    import django

    django.setup()
    residents = seed(args.warmup + args.requests if not args.export_only else 100)
    if args.export_only:
        export_figures(args.export_rows, url)
        return
    print(webhook.open_window(), flush=True)
    raw = raw_insert_rate(url)
    with webhook.uvicorn_server(env, 2, tmp / "server.log") as (base_url, _pids):
        requests = [
            (f"{base_url}/api/v1/accounts/{number}/readings/", token, json.dumps({"value": "1250"}))
            for number, token in residents
        ]
        warmup = measure(requests[: args.warmup], args, tmp)  # not reported
        phase = measure(requests[args.warmup :], args, tmp)
    answered = warmup["statuses"].get("201", 0) + phase["statuses"].get("201", 0)
    report(phase, raw, count_accepted() - answered, args)
    export_figures(args.export_rows, url)


def seed(count: int) -> list[tuple[str, str]]:
    """Residents, each with an account, a meter, a link and an API token, through the services."""
    from accounts.models import User
    from accounts.services import MasterDataRow, account_link, api_token_issue, master_data_import

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


def measure(requests: list[tuple], args: argparse.Namespace, tmp: Path) -> dict:
    spec = tmp / "spec.json"
    spec.write_text(json.dumps({"requests": requests, "clients": args.clients, "seconds": args.seconds}))
    done = subprocess.run(
        [sys.executable, __file__, "--load", str(spec)], cwd=BASE_DIR, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


async def load(spec: dict) -> dict:
    import aiohttp

    pending = iter(spec["requests"])
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    deadline = time.perf_counter() + spec["seconds"]
    connector = aiohttp.TCPConnector(limit=spec["clients"])
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def client() -> None:
            while time.perf_counter() <= deadline and (request := next(pending, None)) is not None:
                url, token, body = request
                sent = time.perf_counter()
                headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        statuses[str(response.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as error:
                    statuses[type(error).__name__] += 1
                latencies.append((time.perf_counter() - sent) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(spec["clients"])))
    return {"statuses": dict(statuses), "latencies": latencies, "seconds": time.perf_counter() - started}


def count_accepted() -> int:
    from readings.models import Reading

    return Reading.objects.filter(status=Reading.Status.ACCEPTED).count()


def report(phase: dict, raw: float, mismatch: int, args: argparse.Namespace) -> None:
    latencies = sorted(phase["latencies"])
    accepted = phase["statuses"].get("201", 0)
    rate = accepted / phase["seconds"]
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0
    print(f"\n== API bench: uvicorn --workers 2, {args.clients} clients, PostgreSQL, DEBUG off")
    print(
        f"POST /api/v1/accounts/{{number}}/readings/: {rate:,.0f} accepted readings/s, "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, statuses {phase['statuses']}"
    )
    print(f"raw psycopg single-row INSERT, one connection: {raw:,.0f} rows/s; the API reaches {rate / raw:.1%} of it")
    print(f"database check: {'OK' if mismatch == 0 else f'{mismatch} readings differ from the 201 answers'}")


def export_figures(rows: int, url: str) -> None:
    """Copy `rows` readings into one period, then time each export format in a child process."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        meters = [row[0] for row in connection.execute("SELECT id FROM accounts_meter ORDER BY id")]
        started = time.perf_counter()
        with connection.cursor().copy(
            "COPY readings_reading"
            " (meter_id, period, value1, consumption1, status, review_reason, review_note, channel, channel_user_key,"
            " submitted_at) FROM STDIN"
        ) as copy:
            for n in range(rows):
                meter = meters[n % len(meters)]
                copy.write_row((meter, "2026-10-01", 1000 + n % 9000, 100, "control", "", "", "api", "", SENT))
        connection.execute("ANALYZE readings_reading")  # as autovacuum would after such a load
    print(f"\ncopied {rows:,} readings into period 2026-10-01 in {time.perf_counter() - started:.1f} s")
    for kind in ("csv", "xlsx"):
        done = subprocess.run(
            [sys.executable, __file__, "--export", kind], cwd=BASE_DIR, capture_output=True, text=True, check=True
        )
        print(done.stdout.strip())


def export_child(kind: str) -> None:
    import django

    django.setup()
    from accounts.models import User
    from readings import export
    from readings.services import export_batch_complete, export_batch_record

    started = time.perf_counter()
    period = __import__("datetime").date(2026, 10, 1)
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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"export {kind}: {time.perf_counter() - started:.1f} s (recording the batch {recorded:.1f} s), "
        f"{size / 1e6:.0f} MB, peak memory {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
