"""Server time of the cabinet's dashboard and history for a resident with 5 accounts and 5 years of readings.

    .venv/bin/python bench/cabinet.py [--requests N] [--sqlite]

The aim (issue #5): each page renders in under 30 ms of server time with a fixed
number of queries. Server time here is the whole of Django's handling of the
request in-process (middleware, session, queries, template), with DEBUG off and
the manifest static storage of production, measured over N requests after a
warm-up; the network and the browser are not in it. PostgreSQL (a scratch
database, pokaznyk_bench_cabinet, dropped after) unless --sqlite, then a
temporary SQLite file. Not part of the test suite.
"""

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SCRATCH_DATABASE = "pokaznyk_bench_cabinet"
ACCOUNTS = 5
YEARS = 5
AIM_MS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="measured requests per page (default 500)")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--sqlite", action="store_true", help="the embedded default instead of PostgreSQL")
    args = parser.parse_args()
    with harness.workspace(SCRATCH_DATABASE, sqlite=args.sqlite) as (url, _tmp):
        run(args, url)


def run(args: argparse.Namespace, url: str) -> None:
    env = harness.portal_environment(url, LOG_LEVEL="warning")
    harness.migrate(env)
    harness.manage(["collectstatic", "--noinput", "--verbosity", "0"], env)  # production's manifest storage
    harness.django_setup(env)
    from django.db import connection
    from django.test import Client

    user, numbers, rows = seed()
    client = Client()
    client.force_login(user)
    print(f"== cabinet bench: {connection.vendor}, {ACCOUNTS} accounts × {YEARS} years, {rows} readings in all")
    print(f"{'page':<34} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, path in (("dashboard /", "/"), ("history /accounts/…/history/", f"/accounts/{numbers[0]}/history/")):
        statements: list[str] = []
        # A wrapper, not CaptureQueriesContext: that one loses the log when the connection closes after a request.
        with connection.execute_wrapper(counting(statements)):
            assert client.get(path).status_code == 200
        times = measure(client, path, args.warmup, args.requests)
        p50, p95, p99 = (harness.percentile(times, p) for p in (50, 95, 99))
        verdict = "met" if p99 < AIM_MS else "NOT met"
        print(
            f"{name:<34} {len(statements):>7} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {max(times):>8.1f}"
            f"  aim p99 < {AIM_MS:.0f} ms: {verdict}"
        )


def counting(statements: list[str]):
    def wrapper(execute, sql, *rest):
        statements.append(sql)
        return execute(sql, *rest)

    return wrapper


def measure(client, path: str, warmup: int, requests: int) -> list[float]:
    for _ in range(warmup):
        client.get(path)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times


def seed() -> tuple[object, list[str], int]:
    """A resident with 5 two-zone accounts, each with a reading a month for 5 years and a few resent ones."""
    from accounts.models import AccountLink, Meter, PersonalAccount, User
    from readings.models import Reading
    from readings.window import add_months, first_of_month

    user = User.objects.create_user(username="bench@example.com", email="bench@example.com", password=None)
    last = first_of_month(dt.date.today())
    numbers = []
    readings = []
    for index in range(ACCOUNTS):
        account = PersonalAccount.objects.create(number=f"{900000000 + index}", address=f"вул. Соборна, {index + 1}")
        meter = Meter.objects.create(account=account, serial=f"BENCH{index}", zones=2, digits=6, initial_values=[0, 0])
        AccountLink.objects.create(user=user, account=account)
        numbers.append(account.number)
        day, night = 0, 0
        for month in range(YEARS * 12):
            period = add_months(last, month - YEARS * 12 + 1)
            day, night = day + 150 + month % 7, night + 60 + month % 5
            sent = dt.datetime(period.year, period.month, 1, 10, tzinfo=dt.UTC)
            if month % 6 == 0:  # a resident sometimes sends twice: the first one is superseded
                readings.append(_reading(meter, period, day - 5, night - 5, "superseded", sent))
            readings.append(_reading(meter, period, day, night, "accepted", sent, 150 + month % 7, 60 + month % 5))
    Reading.objects.bulk_create(readings, batch_size=1000)
    return user, numbers, len(readings)


def _reading(meter, period, day, night, status, sent, used_day=None, used_night=None):
    from readings.models import Reading

    return Reading(
        meter=meter,
        period=period,
        value1=day,
        value2=night,
        consumption1=used_day,
        consumption2=used_night,
        status=status,
        channel="telegram",
        submitted_at=sent,
    )


if __name__ == "__main__":
    main()
