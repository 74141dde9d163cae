"""A resident's latency on the API while password guessers flood POST /api/v1/auth/token/.

    .venv/bin/python bench/login_flood.py [--code DIR] [--flooders 12] [--samples 30]

Serves the portal in DIR (default: this tree; give an older checkout to measure
"before") as in production (harness.PRODUCTION_STACK) with 2 workers, DEBUG off, PostgreSQL (DATABASE_URL's
server, as every bench: bench/harness.py), in a scratch database `pokaznyk_bench_login`
made and dropped here. TRUSTED_PROXIES=1 so each flooder
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
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SCRATCH_DATABASE = "pokaznyk_bench_login"
PASSWORD = "bench-resident-password-42"
RESIDENT_ADDRESS = "198.51.100.7"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=harness.BASE_DIR)
    parser.add_argument("--flooders", type=int, default=12)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--settle", type=float, default=120, help="at most this long for all flooders to be locked")
    args = parser.parse_args()
    with harness.workspace(SCRATCH_DATABASE) as (url, tmp):
        run(args, url, tmp)


def run(args: argparse.Namespace, database_url: str, tmp: Path) -> None:
    env = harness.portal_environment(
        database_url, TRUSTED_PROXIES="1", API_THROTTLE_TOKEN="100000000/min", LOG_LEVEL="error"
    )
    harness.migrate(env, cwd=args.code)
    make_user = f"from accounts.models import User; User.objects.create_user('resident', password='{PASSWORD}')"
    harness.manage(["shell", "-c", make_user], env, cwd=args.code)
    with harness.serve(harness.PRODUCTION_STACK, env, 2, tmp / "server.log", cwd=args.code) as (base, _pids):
        token = post_token(base, "resident", PASSWORD, RESIDENT_ADDRESS)[1]["token"]
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
    print(f"code: {args.code}")
    print(f"  {len(locked)} of {args.flooders} flooders locked out after {settled:.0f} s")
    for name in ("token", "accounts"):
        print(f"  {name:8} alone: {summary(alone[name])}")
        print(f"  {name:8} flood, first tries: {summary(early[name])}")
        print(f"  {name:8} flood, from {settled:.0f} s: {summary(late[name])}")
    total = sum(counts.values())
    print(f"  flood: {total} guesses in {seconds:.1f} s ({total / seconds:.0f}/s), answers {dict(counts)}")


def post_token(base: str, username: str, password: str, address: str) -> tuple[int, dict]:
    status, body = harness.post_json(
        f"{base}/api/v1/auth/token/",
        {"username": username, "password": password},
        {"X-Forwarded-For": address},
        timeout=60,
    )
    return status, json.loads(body) if status == 200 else {}


def sample(base: str, token: str, count: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"token": [], "accounts": []}
    for _ in range(count):
        started = time.perf_counter()
        status, body = post_token(base, "resident", PASSWORD, RESIDENT_ADDRESS)
        assert status == 200, status
        token = body["token"]  # the newest: a tree that caps tokens per user revokes the oldest
        times["token"].append(time.perf_counter() - started)
        request = urllib.request.Request(
            f"{base}/api/v1/accounts/", headers={"Authorization": f"Token {token}", "X-Forwarded-For": RESIDENT_ADDRESS}
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


def summary(seconds: list[float]) -> str:
    ms = [value * 1000 for value in seconds]
    return f"median {statistics.median(ms):.0f} ms, p95 {harness.percentile(ms, 95):.0f} ms"


if __name__ == "__main__":
    main()
