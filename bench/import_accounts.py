"""How long `manage.py import_accounts` takes on a large file, and how much memory.

    .venv/bin/python bench/import_accounts.py [--rows N]    # default 1,000,000

Generates a valid master-data CSV (docs/domain.md) of N rows in a temporary directory
and imports it into a fresh database, then does the same with N/10 rows: the two
peaks of memory side by side show whether memory grows with the file.

The database is the server of DATABASE_URL, or SQLite when it is unset. The import
never touches the database DATABASE_URL names: with PostgreSQL it goes into a
scratch database, pokaznyk_bench, created on the same server and dropped after;
with SQLite into a file in the temporary directory (harness.fresh_database). The
time is the command's wall time and the memory its own peak (harness.manage). The
import runs with DEBUG off, as in production: with DEBUG on, Django keeps the SQL of
the last 9000 queries in memory, which is not the importer's memory. Not part of the
test suite.
"""

import argparse
import csv
import os
import random
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SCRATCH_DATABASE = "pokaznyk_bench"
COLUMNS = ["account_number", "meter_serial", "zones", "digits", "address", "holder_name", "eic", "t1", "t2", "t3"]
STREETS = ["вул. Соборна", "вул. Київська", "вул. Шевченка", "просп. Миру", "вул. Лесі Українки", "пров. Тихий"]
TOWNS = ["м. Житомир", "м. Бердичів", "смт Чуднів", "с. Тетерівка", "м. Коростень"]
HOLDERS = ["Іваненко Марія Петрівна", "Петренко Олег Іванович", "Коваль Ганна", "Шевчук Андрій", "Бондар Ірина"]


@dataclass(frozen=True)
class Measurement:
    rows: int
    seconds: float
    peak_mib: float
    engine: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the large file (default 1,000,000)")
    rows = parser.parse_args().rows
    if rows < 10:
        parser.error("--rows: at least 10, so that the second run has N/10 rows")

    sqlite = not os.environ.get("DATABASE_URL", "").strip()
    with tempfile.TemporaryDirectory(prefix="pokaznyk-bench-") as tmp:
        results = [measure(n, Path(tmp), sqlite=sqlite) for n in (rows, rows // 10)]
    for result in results:
        print(
            f"import_accounts: {result.rows:>9,} rows in {result.seconds:7.1f} s = "
            f"{result.rows / result.seconds:>7,.0f} rows/s, peak memory {result.peak_mib:6.1f} MiB "
            f"({result.engine}, DEBUG off)"
        )
    large, small = results
    print(
        f"memory: {large.peak_mib:.1f} MiB for {large.rows:,} rows vs {small.peak_mib:.1f} MiB for "
        f"{small.rows:,}: {'bounded' if large.peak_mib < small.peak_mib * 1.25 else 'GROWS with the rows'}"
    )


def measure(rows: int, tmp: Path, *, sqlite: bool) -> Measurement:
    """Generate a file of `rows` rows and import it into a fresh database."""
    path = tmp / f"accounts-{rows}.csv"
    write_master_data(path, rows)
    with harness.fresh_database(SCRATCH_DATABASE, tmp, sqlite=sqlite) as url:
        env = harness.portal_environment(url)
        harness.migrate(env)
        imported = harness.manage(["import_accounts", str(path)], env)
        engine = harness.database_engine(url)
    path.unlink()
    counted = [int(n) for n in re.findall(r"\d+", imported.output)][:1]
    if counted != [rows]:
        sys.exit(f"expected {rows} rows imported, the command said: {imported.output.strip()}")
    return Measurement(rows=rows, seconds=imported.seconds, peak_mib=imported.peak_mib, engine=engine)


def write_master_data(path: Path, rows: int) -> None:
    """A valid file of `rows` meters, written as it is generated: about 1.2 meters an account."""
    generator = random.Random(rows)  # the same file for the same size, run after run
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        written = 0
        account = 100_000_000
        while written < rows:
            account += generator.randint(1, 3)
            meters = min(1 if generator.random() < 0.8 else 2, rows - written)
            flat = f", кв. {generator.randint(1, 120)}" if generator.random() < 0.5 else ""
            address = f"{generator.choice(TOWNS)}, {generator.choice(STREETS)}, {generator.randint(1, 200)}{flat}"
            holder = generator.choice(HOLDERS)
            eic = f"62Z{account:013d}"
            for meter in range(meters):
                zones, digits, baseline = _meter(generator)
                writer.writerow([account, f"SN{account}{meter}", zones, digits, address, holder, eic, *baseline])
                written += 1


def _meter(generator: random.Random) -> tuple[int, int, list[int | str]]:
    """Zones, digits and t1..t3: mostly 1-zone meters; nine in ten with a baseline."""
    zones = generator.choices((1, 2, 3), weights=(60, 30, 10))[0]
    digits = generator.randint(5, 8)
    baseline: list[int | str] = [generator.randrange(10**digits) for _ in range(zones)]
    if generator.random() < 0.1:
        baseline = []
    return zones, digits, baseline + [""] * (3 - len(baseline))


if __name__ == "__main__":
    main()
