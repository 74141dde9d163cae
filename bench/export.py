"""The billing export against `COPY (SELECT …) TO STDOUT` of the same rows, in one run: time and memory.

    .venv/bin/python bench/export.py [--rows N] [--small N] [--runs R] [--no-before] [--no-xlsx]

In a scratch database, pokaznyk_bench_export (dropped after), N readings (default 1,000,000) of
October 2026 and --small (default 100,000) of September are copied in: 1-, 2- and 3-zone meters,
every status and channel, times spread over the month (October's across the clock change). Then,
each in a child process of its own (so that its peak memory is its own), in the same run:

- COPY: `COPY (SELECT …) TO STDOUT WITH CSV` of the export's rows (an export batch's readings with
  their account and meter, in the export's order), read to the end as the export reads its own
  (libpq's lines): the baseline; the same read through psycopg's Copy iteration (the usual way, slower
  per line); and the export's own COPY statement (what its SQL costs over the baseline's);
- the CSV export as the API and the admin make it (readings.export.period_response: the batch
  recorded, then the file streamed), read to the end;
- once, the CSV as it was made before (csv.writer over the ORM's rows, the path SQLite still
  takes), whose bytes must be the export's (checked by SHA-256);
- the XLSX export, on both periods.

Each measurement also gives its CPU: this process's, and its PostgreSQL backend's (from /proc, when
PostgreSQL runs on this machine). COPY and the CSV export alternate --runs times (default 3); the
medians are compared. The load of the machine (`uptime`) is printed before and after every
measurement: the machine is shared, read the ratios. Not part of the test suite.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SCRATCH_DATABASE = "pokaznyk_bench_export"
OCTOBER, SEPTEMBER = dt.date(2026, 10, 1), dt.date(2026, 9, 1)
READINGS_PER_METER = 50
STATUSES = ("superseded", "control", "rejected")  # before each meter's standing one, accepted or held
CHANNELS = ("telegram", "viber", "messenger", "web", "quick", "api", "phone", "staff", "import")
# The baseline: the same rows, columns as PostgreSQL has them (its own text for the time).
BASELINE = """
COPY (
    SELECT a.number, a.eic, m.serial, m.zones, r.value1, r.value2, r.value3,
        r.consumption1, r.consumption2, r.consumption3, r.status, r.channel, r.submitted_at
    FROM readings_exportedreading e
    JOIN readings_reading r ON r.id = e.reading_id
    JOIN accounts_meter m ON m.id = r.meter_id
    JOIN accounts_personalaccount a ON a.id = m.account_id
    WHERE e.batch_id = %(batch)s AND r.period = %(period)s
    ORDER BY e.reading_id
) TO STDOUT WITH (FORMAT csv)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="October's readings")
    parser.add_argument("--quick", action="store_true", help="a short check: 20,000 + 2,000 readings, one run")
    parser.add_argument("--small", type=int, default=100_000, help="September's readings")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-before", action="store_true", help="skip the CSV as it was made before")
    parser.add_argument("--no-xlsx", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # MODE PERIOD BATCH: one measurement
    args = parser.parse_args()
    if args.quick:
        args.rows, args.small, args.runs = 20_000, 2_000, 1
    if args.child:
        child(*args.child)
        return
    with harness.workspace(SCRATCH_DATABASE) as (url, _tmp):
        run(args, url)


def run(args: argparse.Namespace, url: str) -> None:
    env = harness.portal_environment(url)
    harness.migrate(env)
    harness.django_setup(env)
    print(f"== export bench: {harness.database_engine(url)}; load: {uptime()}", flush=True)
    seconds = seed(url, args.rows, args.small)
    print(f"copied {args.rows:,} readings into {OCTOBER} and {args.small:,} into {SEPTEMBER} in {seconds:.0f} s")

    def measure(mode: str, period: dt.date, batch: int = 0) -> dict:
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, period.isoformat(), str(batch)],
            cwd=harness.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.exit(f"{mode} on {period} failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.splitlines()[-1])
        print(f"  {mode:<10} {period}: {describe(result)}; load {uptime()}", flush=True)
        return result

    csv_runs, copy_runs = [], []
    print(f"\nCOPY and the CSV export alternately, {args.runs} times, on {args.rows:,} readings:")
    first = measure("csv", OCTOBER)  # warms the caches; its batch is the baseline's rows
    statement_runs = []
    for _ in range(args.runs):
        copy_runs.append(measure("copy", OCTOBER, first["batch"]))
        csv_runs.append(measure("csv", OCTOBER))
        statement_runs.append(measure("statement", OCTOBER, first["batch"]))
    psycopg_run = measure("psycopg", OCTOBER, first["batch"])
    small_csv = measure("csv", SEPTEMBER)
    small_copy = measure("copy", SEPTEMBER, small_csv["batch"])
    before = None if args.no_before else measure("before", OCTOBER)
    xlsx = [] if args.no_xlsx else [measure("xlsx", SEPTEMBER), measure("xlsx", OCTOBER)]

    copy_s = statistics.median(r["seconds"] for r in copy_runs)
    csv_s = statistics.median(r["seconds"] for r in csv_runs)
    streamed_s = statistics.median(r["seconds"] - r["recording"] for r in csv_runs)
    statement_s = statistics.median(r["seconds"] for r in statement_runs)
    same = {r["sha256"] for r in [first, *csv_runs] + ([before] if before else [])}
    print(f"\n== export vs COPY of the same {args.rows:,} rows (medians of {args.runs}); load {uptime()}")
    rows = [
        ("COPY (SELECT …) TO STDOUT", f"{copy_s:.2f} s", "the baseline"),
        ("CSV export (batch recorded + streamed)", f"{csv_s / copy_s:.2f}× COPY", f"{csv_s:.2f} s; aim ≤ 2×"),
        ("  of which streaming the file", f"{streamed_s / copy_s:.2f}× COPY", f"{streamed_s:.2f} s"),
        ("  of which recording the batch", f"{csv_s - streamed_s:.2f} s", "one INSERT … SELECT"),
        (
            "COPY read by psycopg's Copy iteration",
            f"{psycopg_run['seconds'] / copy_s:.2f}× COPY",
            f"{psycopg_run['seconds']:.2f} s; the export is {csv_s / psycopg_run['seconds']:.2f}× this",
        ),
        (
            "COPY of the export's own statement",
            f"{statement_s / copy_s:.2f}× COPY",
            f"{statement_s:.2f} s: its SQL's share",
        ),
    ]
    if before:
        rows.append(
            ("CSV as made before (csv.writer)", f"{before['seconds'] / copy_s:.2f}× COPY", f"{before['seconds']:.2f} s")
        )
    for name, runs in (("COPY", copy_runs), ("CSV export", csv_runs), ("XLSX export", xlsx[-1:])):
        if runs:
            rows.append((f"CPU, {name} of {runs[0]['rows']:,} rows", *cpu_figure(runs)))
    for result, period in zip(xlsx, (SEPTEMBER, OCTOBER), strict=True):
        base = copy_s if period == OCTOBER else small_copy["seconds"]
        rows.append(
            (
                f"XLSX export, {result['rows']:,} rows",
                f"{result['seconds'] / base:.2f}× COPY",
                f"{result['seconds']:.2f} s",
            )
        )
    rows += [
        (
            f"peak memory, CSV export {small_csv['rows']:,} → {csv_runs[-1]['rows']:,} rows",
            f"{small_csv['peak_mib']:.0f} → {csv_runs[-1]['peak_mib']:.0f} MiB",
            "flat: the same for 10× the rows",
        ),
        (
            f"peak memory, COPY {small_copy['rows']:,} → {copy_runs[-1]['rows']:,} rows",
            f"{small_copy['peak_mib']:.0f} → {copy_runs[-1]['peak_mib']:.0f} MiB",
            "",
        ),
    ]
    if len(xlsx) == 2:
        rows.append(
            (
                f"peak memory, XLSX export {xlsx[0]['rows']:,} → {xlsx[1]['rows']:,} rows",
                f"{xlsx[0]['peak_mib']:.0f} → {xlsx[1]['peak_mib']:.0f} MiB",
                "",
            )
        )
    harness.print_table(rows, heading=("", "figure", "aim / detail"))
    print(f"output: {'the same bytes in every CSV run' if len(same) == 1 else f'DIFFERENT bytes: {same}'}")
    if len(same) != 1:
        sys.exit(1)


def seed(url: str, rows: int, small: int) -> float:
    """Accounts and meters through the ORM, readings by COPY: every status, channel and zone count."""
    import psycopg

    from accounts.models import Meter, PersonalAccount

    started = time.perf_counter()
    meters_count = max(1, -(-rows // READINGS_PER_METER))
    accounts = PersonalAccount.objects.bulk_create(
        PersonalAccount(
            number=f"{120000000 + n}",
            eic=f"62Z{n:013d}" if n % 2 else "",
            address=f"вул. Соборна, {n + 1}",
            holder_name="Іваненко Марія Петрівна",
        )
        for n in range(meters_count)
    )
    meters = Meter.objects.bulk_create(
        Meter(account=account, serial=f"SN{n:07d}", zones=n % 3 + 1, digits=6, initial_values=[0] * (n % 3 + 1))
        for n, account in enumerate(accounts)
    )
    zones = {meter.pk: meter.zones for meter in meters}
    ids = list(zones)
    receipts = (f"{n:08d}" for n in range(10**8))
    with psycopg.connect(url, autocommit=True) as connection:
        with connection.cursor().copy(
            "COPY readings_reading (meter_id, period, value1, value2, value3, consumption1, consumption2,"
            " consumption3, status, review_reason, review_note, channel, channel_user_key, submitted_at, receipt)"
            " FROM STDIN"
        ) as copy:
            for period, count in ((OCTOBER, rows), (SEPTEMBER, small)):
                start = dt.datetime.combine(period, dt.time(), dt.UTC) - dt.timedelta(hours=3)
                step = dt.timedelta(days=28) / max(count, 1)
                for n in range(count):
                    meter = ids[n % len(ids)]
                    z = zones[meter]
                    values = [1000 + n % 9000, 2000 + n % 7000, 300 + n % 500][:z] + [None] * (3 - z)
                    used = [None] * 3 if n < len(ids) else [n % 97, n % 89, n % 83][:z] + [None] * (3 - z)
                    # Each meter's last reading of the period is its standing one, accepted or held.
                    last = n + len(ids) >= count
                    status = ("accepted" if n % 4 else "needs_review") if last else STATUSES[n % 3]
                    copy.write_row(
                        (
                            meter,
                            period,
                            *values,
                            *used,
                            status,
                            "",
                            "",
                            CHANNELS[n % 9],
                            "",
                            start + n * step,
                            next(receipts),
                        )
                    )
        connection.execute("ANALYZE")  # as autovacuum would after such a load
    return time.perf_counter() - started


def child(mode: str, period_text: str, batch_text: str) -> None:
    """One measurement in this process; one JSON line: seconds, bytes, SHA-256, peak memory."""
    import django

    django.setup()
    from django.db import connection
    from django.test import RequestFactory

    from accounts.models import User
    from readings import export
    from readings.models import ExportBatch
    from readings.services import export_batch_complete, export_batch_record

    period = dt.date.fromisoformat(period_text)
    user = User.objects.get_or_create(username="billing", defaults={"is_staff": True})[0]
    connection.ensure_connection()  # not timed: every mode starts connected
    digest, size, recording = hashlib.sha256(), 0, 0.0
    backend = connection.connection.info.backend_pid
    server_cpu, cpu = backend_cpu(backend), time.process_time()
    started = time.perf_counter()
    if mode in ("copy", "statement"):
        batch = ExportBatch.objects.get(pk=int(batch_text))
        statement, params = BASELINE, {"batch": batch.pk, "period": period}
        if mode == "statement":  # the export's own COPY, its lines as PostgreSQL sends them
            statement, params = export._copy_statement(export._COPY_CSV, batch)
        # Read as the export reads its own COPY (libpq's lines, no Python per line beyond this loop).
        for line in export._copy_lines(statement, params):
            digest.update(line)
            size += len(line)
    elif mode == "psycopg":
        # The same COPY read through psycopg's Copy iteration, the usual way (slower per line).
        batch = ExportBatch.objects.get(pk=int(batch_text))
        with connection.cursor() as cursor, cursor.copy(BASELINE, {"batch": batch.pk, "period": period}) as copy:
            for line in copy:
                digest.update(line)
                size += len(line)
    elif mode == "before":
        # As the export was made before COPY: the rows through the ORM, each line by csv.writer.
        batch = export_batch_record(period=period, kind="csv", exported_by=user)
        recording = time.perf_counter() - started
        for line in export.csv_lines(export.period_rows(period, batch)):
            chunk = line.encode()
            digest.update(chunk)
            size += len(chunk)
        export_batch_complete(batch_id=batch.pk)
    else:
        # As the API and the admin export: the batch recorded, then the response streamed to the end.
        request = RequestFactory().get("/api/v1/export/readings/")
        response = export.period_response(request, period, mode, exported_by=user)
        batch = ExportBatch.objects.get(pk=int(response["X-Export-Batch"]))
        recording = time.perf_counter() - started  # the batch recorded (and an XLSX file made)
        for chunk in response.streaming_content:
            digest.update(chunk)
            size += len(chunk)
        response.close()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    server_cpu = backend_cpu(backend) - server_cpu if server_cpu is not None else None
    result = {
        "cpu": cpu,
        "server_cpu": server_cpu,
        "seconds": seconds,
        "recording": recording,
        "bytes": size,
        "rows": batch.readings_count,
        "batch": batch.pk,
        "sha256": digest.hexdigest(),
        "peak_mib": harness.peak_rss_mib(),
    }
    print(json.dumps(result), flush=True)


def cpu_figure(runs: list[dict]) -> tuple[str, str]:
    """Median CPU seconds in this process and in its PostgreSQL backend: the share of each side."""
    here = statistics.median(r["cpu"] for r in runs)
    if any(r["server_cpu"] is None for r in runs):
        return f"{here:.2f} s", "this process (PostgreSQL's backend not on this machine)"
    return f"{here:.2f} + {statistics.median(r['server_cpu'] for r in runs):.2f} s", "this process + PostgreSQL"


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL backend `pid` so far, when it runs on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def describe(result: dict) -> str:
    recording = f" ({result['recording']:.2f} s before the first byte)" if result["recording"] else ""
    server = f" + PostgreSQL {result['server_cpu']:.2f}" if result["server_cpu"] is not None else ""
    return (
        f"{result['seconds']:.2f} s{recording}, CPU {result['cpu']:.2f} s here{server}, "
        f"{result['rows']:,} rows, {result['bytes'] / 1e6:.1f} MB, "
        f"peak memory {result['peak_mib']:.0f} MiB"
    )


def uptime() -> str:
    """The load averages, as `uptime` prints them."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average: ")[-1]


if __name__ == "__main__":
    main()
