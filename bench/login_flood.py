"""A resident's latency on the API while password guessers flood POST /api/v1/auth/token/.

    .venv/bin/python bench/login_flood.py [--code DIR] [--flooders 12] [--samples 30]

Serves the portal in DIR (default: this tree; give an older checkout to measure
"before") as in production: uvicorn with 2 workers, DEBUG off, PostgreSQL, in a scratch
database `pokaznyk_bench_login` made and dropped here. TRUSTED_PROXIES=1 so each flooder
is a client address of its own (X-Forwarded-For), and the per-address DRF throttle on the
token endpoint is lifted: the guessers are assumed to have the addresses to evade it.
Each flooder sends wrong passwords for a new account name every time from its own
address, as fast as it gets answers. The resident, from another address, meanwhile
asks for a token with the right password and reads their accounts with a token.
Prints the median and 95th percentile of both, alone and during the flood.
Not part of the test suite.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
SCRATCH = "pokaznyk_bench_login"
PASSWORD = "bench-resident-password-42"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", type=Path, default=BASE_DIR)
    parser.add_argument("--flooders", type=int, default=12)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--settle", type=float, default=120, help="at most this long for all flooders to be locked")
    args = parser.parse_args()
    admin_url = os.environ.get("BENCH_POSTGRES", "postgresql://root@127.0.0.1:5432/postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
        admin.execute(f"CREATE DATABASE {SCRATCH}")
    try:
        run(args, admin_url.rsplit("/", 1)[0] + "/" + SCRATCH)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


def run(args: argparse.Namespace, database_url: str) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_", "REDIS_"))},
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "TRUSTED_PROXIES": "1",
        "API_THROTTLE_TOKEN": "100000000/min",
        "LOG_LEVEL": "error",
    }
    python = str(BASE_DIR / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=args.code, env=env, check=True)
    make_user = f"from accounts.models import User; User.objects.create_user('resident', password='{PASSWORD}')"
    subprocess.run([python, "manage.py", "shell", "-c", make_user], cwd=args.code, env=env, check=True)
    server = subprocess.Popen(
        [python, "-m", "uvicorn", "portal.asgi:application", "--port", str(args.port), "--workers", "2",
         "--log-level", "error", "--no-proxy-headers", "--no-access-log"],
        cwd=args.code, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_ready(base)
        token = post_token(base, "resident", PASSWORD, "198.51.100.7")[1]["token"]
        alone = sample(base, token, args.samples)
        stop, counts, lock, locked = threading.Event(), Counter(), threading.Lock(), set()
        flooders = [
            threading.Thread(target=flood, args=(base, n, stop, counts, lock, locked), daemon=True)
            for n in range(args.flooders)
        ]
        started = time.monotonic()
        for thread in flooders:
            thread.start()
        early = sample(base, token, args.samples)  # while the guessers still get their first tries
        while len(locked) < args.flooders and time.monotonic() - started < args.settle:
            time.sleep(0.5)
        settled = time.monotonic() - started
        late = sample(base, token, args.samples)
        stop.set()
        for thread in flooders:
            thread.join(timeout=60)
        seconds = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"code: {args.code}")
    print(f"  {len(locked)} of {args.flooders} flooders locked out after {settled:.0f} s")
    for name in ("token", "accounts"):
        print(f"  {name:8} alone: {summary(alone[name])}")
        print(f"  {name:8} flood, first tries: {summary(early[name])}")
        print(f"  {name:8} flood, from {settled:.0f} s: {summary(late[name])}")
    total = sum(counts.values())
    print(f"  flood: {total} guesses in {seconds:.1f} s ({total / seconds:.0f}/s), answers {dict(counts)}")


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the portal did not start")


def post_token(base: str, username: str, password: str, address: str) -> tuple[int, dict]:
    body = json.dumps({"username": username, "password": password}).encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
    request = urllib.request.Request(f"{base}/api/v1/auth/token/", body, headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refusal:
        return refusal.code, {}


def sample(base: str, token: str, count: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"token": [], "accounts": []}
    for _ in range(count):
        started = time.perf_counter()
        status, body = post_token(base, "resident", PASSWORD, "198.51.100.7")
        assert status == 200, status
        token = body["token"]  # the newest: a tree that caps tokens per user revokes the oldest
        times["token"].append(time.perf_counter() - started)
        request = urllib.request.Request(
            f"{base}/api/v1/accounts/", headers={"Authorization": f"Token {token}", "X-Forwarded-For": "198.51.100.7"}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
        times["accounts"].append(time.perf_counter() - started)
    return times


def flood(base: str, n: int, stop: threading.Event, counts: Counter, lock: threading.Lock, locked: set) -> None:
    address, guess = f"203.0.113.{n + 1}", 0
    while not stop.is_set():
        guess += 1
        status, _ = post_token(base, f"guess-{n}-{guess}@example.com", "wrong-password", address)
        with lock:
            counts[status] += 1
            if status == 429:
                locked.add(n)


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


if __name__ == "__main__":
    sys.exit(main())
