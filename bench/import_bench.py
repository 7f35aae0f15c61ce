"""Import benchmark: a realistic CIS export through `append_soft_tags`, end to end through an RQ worker on PostgreSQL.

    .venv/bin/python bench/import_bench.py [--rows 100000 1000000] [--formats csv xlsx] [--repeat 3]

For each size and format: generates (seeded, cached under var/bench/) a 15-column CIS export with two phone
columns, messy phone formats, ~3% duplicate rows and district/feeder/substation tags; loads an account whose
list overlaps it (about 90% of the list in the file, 5% of the file new, the rest of the list missing, 10% of
the numbers with changed tags); then times the upload (file copied, checked) to results written, with the
work done by a `manage.py rqworker imports` started beforehand, and the job's peak memory. Then the same file again,
which changes nothing. Prints one line per run and the medians.

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/alertmanager_bench),
created and migrated on first use, and REDIS_URL's queue (default redis://127.0.0.1:6379/12).
"""

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alertmanager_bench")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertmanager.settings")
os.environ.setdefault("IMPORT_GUARD_SHARE", "1")  # the benchmark measures the import, not a manager's click
os.environ.setdefault("LOG_LEVEL", "WARNING")
CACHE = ROOT / "var" / "bench"
AREAS = ("205", "251", "256", "334", "938")
EXCHANGES = [f"{n:03d}" for n in range(201, 1000) if n % 100 != 11 and n != 555]
DISTRICTS = [f"District {i}" for i in range(1, 13)]
FEEDERS = [f"Feeder {i:03d}" for i in range(1, 301)]
SUBSTATIONS = [f"Substation {i:02d}" for i in range(1, 41)]
HEADER = [
    "AccountNumber", "CustomerName", "ServiceAddress", "City", "State", "Zip", "PrimaryPhone", "MobilePhone",
    "Email", "District", "Feeder", "Substation", "RateClass", "MeterNumber", "Status",
]  # fmt: skip


def phone(k: int) -> str:
    area = AREAS[k % len(AREAS)]
    k //= len(AREAS)
    return f"{area}{EXCHANGES[(k // 10_000) % len(EXCHANGES)]}{k % 10_000:04d}"


def messy(digits: str, rng: random.Random):
    a, b, c = digits[:3], digits[3:6], digits[6:]
    shape = rng.random()
    if shape < 0.25:
        return f"({a}) {b}-{c}"
    if shape < 0.45:
        return f"{a}-{b}-{c}"
    if shape < 0.60:
        return digits
    if shape < 0.70:
        return f"{a}.{b}.{c}"
    if shape < 0.80:
        return f"1{digits}"
    if shape < 0.90:
        return f"+1 {a} {b} {c}"
    return int(digits)  # a numeric cell; in CSV the same digits


def tags_for(k: int, changed: bool) -> tuple[str, str, str]:
    shift = 1 if changed else 0
    return DISTRICTS[(k + shift) % 12], FEEDERS[(k * 7 + shift) % 300], SUBSTATIONS[(k * 3) % 40]


def plan(rows: int) -> dict:
    """Which numbers are on the list and which rows the file has (seeded)."""
    rng = random.Random(rows)
    distinct = int(rows * 0.97)
    new_from = int(distinct * 0.95)  # the last 5% of the file's numbers are new
    list_size = rows  # the list: the file's existing numbers plus numbers missing from the file
    on_list = list(range(new_from)) + list(range(distinct, distinct + (list_size - new_from)))
    file_rows = list(range(distinct)) + [rng.randrange(distinct) for _ in range(rows - distinct)]
    rng.shuffle(file_rows)
    return {"on_list": on_list, "file_rows": file_rows, "changed": {k for k in range(new_from) if k % 10 == 0}}


def write_csv(path: Path, layout: dict, rng: random.Random) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i, k in enumerate(layout["file_rows"]):
            out.writerow(_row(i, k, layout, rng))


def _row(i: int, k: int, layout: dict, rng: random.Random) -> list:
    digits = phone(k)
    mobile = messy(digits, rng) if rng.random() < 0.1 else ""  # the same number again, typed differently
    district, feeder, substation = tags_for(k, k in layout["changed"])
    return [
        f"{100000 + i}", f"Customer {k}", f"{k % 9000 + 100} Main St", "Lakeside", "AL", f"35{k % 1000:03d}",
        messy(digits, rng), mobile, f"c{k}@example.com", district, feeder, substation,
        rng.choice(["RES", "COM", "IRR"]), f"M{k:09d}", "Active",
    ]  # fmt: skip


def write_xlsx(path: Path, layout: dict, rng: random.Random) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Customers")
    sheet.append(HEADER)
    for i, k in enumerate(layout["file_rows"]):
        sheet.append(_row(i, k, layout, rng))
    book.save(path)


def ensure_file(rows: int, fmt: str, layout: dict) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"cis-{rows}.{fmt}"
    if not path.exists():
        started = time.perf_counter()
        (write_csv if fmt == "csv" else write_xlsx)(path, layout, random.Random(rows + 1))
        print(f"  generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
    return path


def ensure_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def load_account(rows: int, layout: dict):
    """A fresh account whose list is `layout['on_list']`, opted in, with their current tags."""
    from django.db import connection, transaction

    from subscribers.models import Account

    slug = f"bench-{rows}"
    Account.objects.filter(slug=slug).delete()
    account = Account.objects.create(slug=slug, name=f"Bench {rows:,}")
    phones = ["+1" + phone(k) for k in layout["on_list"]]
    names = DISTRICTS + FEEDERS + SUBSTATIONS
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscribers_subscriber (account_id, phone, status, opted_out_by, first_seen, status_changed) "
            "SELECT %s, p, 'opted_in', '', now(), now() FROM unnest(%s::text[]) p",
            [account.pk, phones],
        )
        cursor.execute(
            "INSERT INTO subscribers_tag (account_id, name, created_at) SELECT %s, n, now() FROM unnest(%s::text[]) n",
            [account.pk, names],
        )
        current = [tags_for(k, False) for k in layout["on_list"]]
        for column in range(3):
            cursor.execute(
                "INSERT INTO subscribers_subscribertag (subscriber_id, tag_id) "
                "SELECT s.id, t.id FROM unnest(%s::text[], %s::text[]) AS x(phone, tag) "
                "JOIN subscribers_subscriber s ON s.account_id = %s AND s.phone = x.phone "
                "JOIN subscribers_tag t ON t.account_id = %s AND t.name = x.tag",
                [phones, [c[column] for c in current], account.pk, account.pk],
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE subscribers_subscriber")
        cursor.execute("VACUUM ANALYZE subscribers_subscribertag")
    return account


class Worker:
    """One `manage.py rqworker imports`, started before the timed runs as it is in production: an import
    is measured from its upload to its results, not the minutes-long life of a worker process. Its work
    horse (forked per job) is watched through /proc for the job's peak memory."""

    def __enter__(self) -> "Worker":
        from django_rq import get_connection
        from rq import Worker as RQWorker

        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "imports"], cwd=ROOT, env={**os.environ},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        connection = get_connection("imports")
        deadline = time.monotonic() + 60
        while not any(w.pid == self.process.pid and w.state == "idle" for w in RQWorker.all(connection=connection)):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the import worker did not start")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def peak_mb(self) -> float:
        """The largest peak resident size of the worker and its work horses alive now, in MB."""
        peak = 0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        return peak / 1024


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def run_once(account, path: Path, worker: Worker) -> dict:
    """Upload, then wait for the worker to finish the run; returns seconds, the job's peak memory, and the run."""
    from imports import services
    from imports.fieldmap import FieldMap
    from imports.models import ImportConfiguration, ImportRun, Mode, RunSource, Stage

    config = ImportConfiguration.objects.filter(account=account, name="CIS export").first()
    if config is None:
        field_map = FieldMap.load(
            {"phone_columns": ["PrimaryPhone", "MobilePhone"], "tag_columns": ["District", "Feeder", "Substation"]}
        )
        config = services.configuration_save(
            account=account, user=None, name="CIS export", field_map=field_map, mode=Mode.APPEND_SOFT_TAGS
        )
        services.configuration_approve(configuration=config, user=None)
    started = time.perf_counter()
    with path.open("rb") as f:
        run = services.import_run_create(
            account=account, file=f, file_name=path.name, source=RunSource.CLI, configuration=config
        )
    peak = 0.0
    finished = (Stage.DONE, Stage.FAILED, Stage.CANCELLED, Stage.AWAITING_CONFIRMATION)
    while True:
        peak = max(peak, worker.peak_mb())
        if ImportRun.objects.filter(pk=run.pk, stage__in=finished).exists():
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    run = ImportRun.objects.get(pk=run.pk)
    return {"seconds": seconds, "peak_mb": peak, "run": run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"], choices=["csv", "xlsx"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import django_rq

    django_rq.get_queue("imports").empty()
    print(f"PostgreSQL at {DB_URL}; {os.cpu_count()} cores")
    summary = []
    with Worker() as worker:
        for rows in args.rows:
            layout = plan(rows)
            for fmt in args.formats:
                path = ensure_file(rows, fmt, layout)
                firsts, seconds_again, peaks = [], [], []
                for attempt in range(args.repeat):
                    account = load_account(rows, layout)
                    first = run_once(account, path, worker)
                    again = run_once(account, path, worker)
                    run = first["run"]
                    assert run.stage == "done", (run.stage, run.error)
                    assert again["run"].stage == "done", (again["run"].stage, again["run"].error)
                    changed = sum(
                        v
                        for k, v in again["run"].counts.items()
                        if k not in ("unchanged", "duplicate", "new") and not k.startswith("rejected")
                    )
                    firsts.append(first["seconds"])
                    seconds_again.append(again["seconds"])
                    peaks.append(first["peak_mb"])
                    counts = ", ".join(
                        f"{k} {v:,}" for k, v in sorted(run.counts.items()) if not k.startswith("rejected_")
                    )
                    print(
                        f"{rows:>9,} rows {fmt:<4} #{attempt + 1}: {first['seconds']:6.1f} s "
                        f"({rows / first['seconds']:,.0f} rows/s), worker peak {first['peak_mb']:.0f} MB; "
                        f"again {again['seconds']:.1f} s ({changed} changes) | {counts}"
                    )
                median = statistics.median(firsts)
                summary.append((rows, fmt, median, rows / median, max(peaks), statistics.median(seconds_again)))
    print("\nmedians")
    print(f"{'rows':>10} {'format':<6} {'seconds':>8} {'rows/s':>9} {'peak MB':>8} {'again s':>8}")
    for rows, fmt, median, rate, peak, again in summary:
        print(f"{rows:>10,} {fmt:<6} {median:>8.1f} {rate:>9,.0f} {peak:>8.0f} {again:>8.1f}")


if __name__ == "__main__":
    main()
