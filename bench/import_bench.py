"""Import benchmark: realistic CIS exports through approved ALP configurations, end to end through an RQ worker on
PostgreSQL, every starting list built by the product's own import.

    .venv/bin/python bench/import_bench.py [--cases first mixed small-account large-account ten-tags]
        [--rows 100000 1000000] [--formats csv xlsx] [--repeat 3]

Files are generated (seeded, cached under var/bench/): a 15-column CIS export with two phone columns, messy
phone formats, ~3% duplicate rows and district/feeder/substation tags. Each case times the upload (file copied,
checked) to results written, the work done by a `manage.py rqworker imports` started beforehand, and the job's
peak memory:
- `first`: the export into an empty account (how every utility starts), then the same file again.
- `mixed`: an account whose list was imported first (about 90% of it in the file, 5% of the file new, the rest of
  the list missing, 10% of the numbers with changed tags) through `append_soft_tags`; then the same file again.
- `small-account`: a 1,000-number account (imported) receiving the whole export.
- `large-account`: an account of as many numbers as the export has rows (imported) receiving 1,000-row daily
  files (`append`: 950 of its numbers, 10% with a changed tag, and 50 new ones), one per repeat.
- `ten-tags`: every number with ten tags, into an empty account, then again with one tag of each number changed.
Prints one line per run and the medians.

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


def write_list(path: Path, ks: list[int], rng: random.Random) -> None:
    """A starting list as the utility's system exports it: the same columns, the numbers' current tags."""
    write_csv(path, {"file_rows": ks, "changed": set()}, rng)


def ensure_list(name: str, ks: list[int]) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.csv"
    if not path.exists():
        write_list(path, ks, random.Random(len(ks)))
    return path


def ensure_delta(rows: int, layout: dict, attempt: int) -> Path:
    """A daily file for a `rows`-number account: 950 of its numbers (one in ten with a changed feeder), 50 new."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"delta-{rows}-{attempt}.csv"
    if not path.exists():
        rng = random.Random(attempt)
        listed = rng.sample(layout["on_list"], 950)
        fresh = [3 * rows + 50 * attempt + i for i in range(50)]  # beyond every number of the list and the export
        write_csv(path, {"file_rows": listed + fresh, "changed": set(listed[::10])}, rng)
    return path


TEN_TAGS = [f"Tag{i}" for i in range(1, 11)]


def ensure_ten_tags(rows: int, shift: int) -> Path:
    """Phone and ten tag columns; `shift` changes the first tag of every number."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"ten-tags-{rows}-{shift}.csv"
    if not path.exists():
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["Phone", *TEN_TAGS])
            for k in range(rows):
                tags = [
                    f"{name} {(k * (i + 3) + (shift if i == 0 else 0)) % (20 + 10 * i)}"
                    for i, name in enumerate(TEN_TAGS)
                ]
                out.writerow([phone(k), *tags])
    return path


_accounts = 0


def new_account():
    """An empty account, as a new customer's; the previous benchmark accounts are deleted first."""
    from subscribers.models import Account

    global _accounts
    _accounts += 1
    Account.objects.filter(slug__startswith="bench-").delete()
    return Account.objects.create(slug=f"bench-{os.getpid()}-{_accounts}", name=f"Bench {_accounts}")


CONFIGURATIONS = {
    "CIS export": ({"phone_columns": ["PrimaryPhone", "MobilePhone"], "tag_columns": ["District", "Feeder", "Substation"]}, "append_soft_tags"),
    "CIS daily": ({"phone_columns": ["PrimaryPhone", "MobilePhone"], "tag_columns": ["District", "Feeder", "Substation"]}, "append"),
    "Ten tags": ({"phone_columns": ["Phone"], "tag_columns": TEN_TAGS}, "append_tags"),
}  # fmt: skip


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


def run_once(account, path: Path, worker: Worker, configuration: str = "CIS export") -> dict:
    """Upload, then wait for the worker to finish the run; returns seconds, the job's peak memory, and the run."""
    from imports import services
    from imports.fieldmap import FieldMap
    from imports.models import ImportConfiguration, ImportRun, RunSource, Stage

    config = ImportConfiguration.objects.filter(account=account, name=configuration).first()
    if config is None:
        field_map, mode = CONFIGURATIONS[configuration]
        config = services.configuration_save(
            account=account, user=None, name=configuration, field_map=FieldMap.load(field_map), mode=mode
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
    assert run.stage == Stage.DONE, (run.stage, run.error)
    return {"seconds": seconds, "peak_mb": peak, "run": run, "rows": run.rows_read}


def changes(run) -> int:
    return sum(
        v
        for k, v in run.counts.items()
        if k
        not in ("unchanged", "duplicate", "new", "numbers", "tagged", "untagged", "header", "stops", "opted_in_total")
        and not k.startswith("rejected")
    )


def report(label: str, result: dict) -> None:
    run = result["run"]
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(run.counts.items()) if not k.startswith("rejected_"))
    print(
        f"  {label:<34} {result['seconds']:7.1f} s ({result['rows'] / result['seconds']:>8,.0f} rows/s), "
        f"peak {result['peak_mb']:4.0f} MB | {counts}",
        flush=True,
    )


def case_first(rows, fmt, path, layout, worker, attempt):
    account = new_account()
    first = run_once(account, path, worker)
    report(f"first {rows:,} {fmt} #{attempt}", first)
    again = run_once(account, path, worker)
    report(f"  same file again ({changes(again['run'])} changes)", again)
    return {"first import": first, "same file again": again}


def case_mixed(rows, fmt, path, layout, worker, attempt):
    account = new_account()
    start = run_once(account, ensure_list(f"list-{rows}", layout["on_list"]), worker)
    report(f"  its list, imported ({len(layout['on_list']):,})", start)
    mixed = run_once(account, path, worker)
    report(f"mixed {rows:,} {fmt} #{attempt}", mixed)
    again = run_once(account, path, worker)
    report(f"  same file again ({changes(again['run'])} changes)", again)
    return {"list imported first": start, "mixed import": mixed, "same file again": again}


def case_small_account(rows, fmt, path, layout, worker, attempt):
    account = new_account()
    start = run_once(account, ensure_list(f"list-{rows}-1000", layout["on_list"][:1000]), worker)
    into = run_once(account, path, worker)
    report(f"1,000-number account + {rows:,} {fmt} #{attempt}", into)
    return {"into a 1,000-number account": into, "its list, imported": start}


_large: dict = {}


def case_large_account(rows, fmt, path, layout, worker, attempt):
    if _large.get("rows") != rows:
        account = new_account()
        start = run_once(account, ensure_list(f"list-{rows}", layout["on_list"]), worker)
        report(f"  its list, imported ({len(layout['on_list']):,})", start)
        _large.update(rows=rows, account=account, start=start)
    delta = run_once(_large["account"], ensure_delta(rows, layout, attempt), worker, "CIS daily")
    report(f"1,000 rows into {rows:,}-number account #{attempt}", delta)
    return {f"1,000 rows into {rows:,}": delta}


def case_ten_tags(rows, fmt, path, layout, worker, attempt):
    account = new_account()
    first = run_once(account, ensure_ten_tags(rows, 0), worker, "Ten tags")
    report(f"ten tags {rows:,} #{attempt}", first)
    changed = run_once(account, ensure_ten_tags(rows, 1), worker, "Ten tags")
    report(f"  one tag of each changed ({changes(changed['run'])})", changed)
    return {"ten tags, first import": first, "ten tags, one changed": changed}


CASES = {
    "first": case_first,
    "mixed": case_mixed,
    "small-account": case_small_account,
    "large-account": case_large_account,
    "ten-tags": case_ten_tags,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv"], choices=["csv", "xlsx"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import django_rq

    django_rq.get_queue("imports").empty()
    print(f"PostgreSQL at {DB_URL}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    summary = []
    with Worker() as worker:
        for case in args.cases:
            for rows in args.rows:
                layout = plan(rows)
                for fmt in args.formats if case in ("first", "mixed", "small-account") else ["csv"]:
                    path = ensure_file(rows, fmt, layout)
                    results: dict[str, list] = {}
                    for attempt in range(1, args.repeat + 1):
                        for label, result in CASES[case](rows, fmt, path, layout, worker, attempt).items():
                            results.setdefault(label, []).append(result)
                    for label, runs in results.items():
                        seconds = [r["seconds"] for r in runs]
                        median = statistics.median(seconds)
                        rate = statistics.median(r["rows"] for r in runs) / median
                        summary.append((case, rows, fmt, label, median, seconds, rate, max(r["peak_mb"] for r in runs)))
    print(f"\nmedians (load average now {os.getloadavg()[0]:.1f})")
    print(f"{'case':<14} {'rows':>10} {'format':<6} {'what':<34} {'median s':>9} {'rows/s':>9} {'peak MB':>8}  runs")
    for case, rows, fmt, label, median, seconds, rate, peak in summary:
        runs = ", ".join(f"{s:.1f}" for s in seconds)
        print(f"{case:<14} {rows:>10,} {fmt:<6} {label:<34} {median:>9.1f} {rate:>9,.0f} {peak:>8.0f}  {runs}")


if __name__ == "__main__":
    main()
