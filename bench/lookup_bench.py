"""Line-type lookups off the import's path: a 10,000-row Preformatted import with LINE_TYPE_LOOKUP=metadata and
with simulated, each through real `manage.py rqworker` processes (imports, lookups) started by this script.

    .venv/bin/python bench/lookup_bench.py [--rows 10000] [--provider simulated] [--repeat 3]

Times the import (file queued to run done) with each provider, then how long after the import the lookups took
until every number of the import has a line type, and checks the API read shows `line_type` by the simulated
rule. Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/alertmanager_bench)
and REDIS_URL (default redis://127.0.0.1:6379/12).
"""

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alertmanager_bench"
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertmanager.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def _workers(provider: str) -> list[subprocess.Popen]:
    env = {**os.environ, "LINE_TYPE_LOOKUP": provider}
    py = sys.executable
    return [
        subprocess.Popen([py, "manage.py", "rqworker", "imports"], cwd=ROOT, env=env),
        subprocess.Popen([py, "manage.py", "rqworker", "lookups"], cwd=ROOT, env=env),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--provider", default="simulated")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    django.setup()
    import django_rq
    from django.conf import settings
    from django.test import Client

    from api.services import api_key_create
    from imports import services
    from imports.models import RunSource, Stage
    from lines.models import JobStage, LookupRun, NumberLine
    from subscribers.models import Account

    def one(provider: str, n: int) -> tuple[float, float | None, str]:
        for name in settings.RQ_QUEUES:
            django_rq.get_queue(name).empty()
        Account.objects.filter(slug__startswith="lookup-bench").delete()
        account = Account.objects.create(slug=f"lookup-bench-{provider}-{n}", name="Lookup bench")
        phones = [f"+1205{201 + (k // 10_000) % 700:03d}{k % 10_000:04d}" for k in range(args.rows)]
        data = "\n".join(p[2:] for p in phones).encode()
        started = time.monotonic()
        run = services.import_run_create(
            account=account, file=io.BytesIO(data), file_name="bench.csv", source=RunSource.CLI
        )
        while True:
            run.refresh_from_db()
            if run.stage in (Stage.DONE, Stage.FAILED):
                break
            time.sleep(0.05)
        imported = time.monotonic() - started
        assert run.stage == Stage.DONE, run.error
        lookups_done = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pass_ = LookupRun.objects.filter(import_run=run).first()
            if pass_ and pass_.stage in (JobStage.DONE, JobStage.FAILED):
                lookups_done = time.monotonic() - started - imported
                break
            time.sleep(0.1)
        checked = NumberLine.objects.filter(account=account, checked_at__isnull=False).count()
        api_key, token = api_key_create(account=account, name="bench")
        client = Client()
        answer = client.get(f"/api/v1/subscribers/{phones[10]}", headers={"Authorization": f"Bearer {token}"})
        sample = answer.json().get("line_type")
        return imported, lookups_done, f"{checked} checked, {phones[10]} is {sample}"

    from rq import Worker

    for provider in ("metadata", args.provider):
        workers = _workers(provider)
        # Timed from a running worker, as in production: not the worker's own start.
        while len(Worker.all(connection=django_rq.get_connection("imports"))) < 2:
            time.sleep(0.2)
        try:
            times, after = [], []
            for n in range(args.repeat):
                imported, lookups_done, note = one(provider, n)
                times.append(imported)
                after.append(lookups_done)
                shown = f"{lookups_done:.1f} s" if lookups_done is not None else "not finished in 120 s"
                print(f"{provider:10} run {n + 1}: import {imported:.2f} s, lookups done {shown} after it; {note}")
            print(f"{provider:10} median import {statistics.median(times):.2f} s")
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait()
            while Worker.all(connection=django_rq.get_connection("imports")):
                time.sleep(0.2)


if __name__ == "__main__":
    main()
