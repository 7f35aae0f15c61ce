"""Retention purge benchmark: a run of N per-number results built through the product's own import (a
Preformatted opt-in file through the import job), made older than IMPORT_RESULTS_KEEP_DAYS, then purged by the
janitor's function batch by batch, while a small import of another account runs beside it.

    .venv/bin/python bench/purge_bench.py [--rows 1000000] [--batch 10000]

Prints the import's time, the purge's seconds and rows per second, the longest batch, and how long the small
import took during the purge (it must not wait for it: the purge touches only old runs' rows, a batch per
transaction). Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
alertmanager_purge_bench), created and migrated on first use, and REDIS_URL's queue (default db 12).
"""

import argparse
import io
import os
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alertmanager_purge_bench")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertmanager.settings")
os.environ.setdefault("IMPORT_GUARD_SHARE", "1")
os.environ.setdefault("UPLOAD_DIR", tempfile.mkdtemp(prefix="purge-bench-"))


def ensure_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _import(account, content: bytes, name: str):
    import django_rq

    from imports import jobs
    from imports.models import RunSource
    from imports.services import import_run_create

    run = import_run_create(account=account, file=io.BytesIO(content), file_name=name, source=RunSource.CLI)
    django_rq.get_queue("imports").empty()  # run here, in this process, by the job itself
    jobs.import_run_job(run.pk)
    run.refresh_from_db()
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from imports import janitor
    from imports.models import ImportResult, ImportRun
    from subscribers.models import Account

    stamp = int(time.time())
    account = Account.objects.create(slug=f"purge-{stamp}", name="Purge bench")
    other = Account.objects.create(slug=f"purge-other-{stamp}", name="Purge bench, the import beside")
    content = "".join(f"+1205{2000000 + i:07d},District {i % 9}\n" for i in range(args.rows)).encode()
    started = time.monotonic()
    run = _import(account, content, "big.csv")
    print(f"import of {args.rows:,} rows: {time.monotonic() - started:.1f} s ({run.stage})")
    results = ImportResult.objects.filter(run=run).count()
    ImportRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now() - timedelta(days=settings.IMPORT_RESULTS_KEEP_DAYS + 1)
    )

    beside = {}

    def small_import():
        from django.db import connection as own

        time.sleep(0.1)  # once the purge has begun
        t0 = time.monotonic()
        done = _import(other, "".join(f"+1312{5000000 + i:07d},D\n" for i in range(5_000)).encode(), "small.csv")
        beside["seconds"] = time.monotonic() - t0
        beside["stage"] = done.stage
        own.close()

    thread = threading.Thread(target=small_import)
    thread.start()
    purged, longest = 0, 0.0
    t0 = time.monotonic()
    while True:
        b0 = time.monotonic()
        n = janitor.results_purge(batch=args.batch, max_batches=1)
        longest = max(longest, time.monotonic() - b0)
        purged += n
        if not n:
            break
    seconds = time.monotonic() - t0
    thread.join()
    connection.close()
    print(
        f"purge of {results:,} results: {seconds:.1f} s, {purged / seconds:,.0f} rows/s, longest batch of "
        f"{args.batch:,}: {longest:.2f} s; a 5,000-row import beside it: {beside.get('seconds', 0):.1f} s "
        f"({beside.get('stage')}); load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
