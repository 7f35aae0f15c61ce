"""How fast the results of a 1,000,000-number import answer: the run page, its table filtered, searched and paged,
the progress fragment htmx polls, and the two CSV downloads (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/am_bench REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/results_bench.py [--rows 1000000] [--runs 7] [--reload]

The first run migrates the database and writes one finished run of `--rows` results straight in SQL, with the
mix a CIS export gives (most numbers opted in, a fifth of them new; a few percent unchanged, with tags added,
suspended, duplicates and rejected rows of each reason). It then times each page server-side through the Django
test client, as the account's manager, and prints the median and the slowest of `--runs` requests.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertmanager.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from imports.models import ImportResult, ImportRun, Stage  # noqa: E402
from subscribers.models import Account, Membership, Role  # noqa: E402

SLUG = "results-bench"

# outcome, is_new, reason: chosen by the row's position modulo 100.
_MIX_SQL = """
CASE
  WHEN mod(g, 100) < 80 THEN 'opted_in'
  WHEN mod(g, 100) < 85 THEN 'unchanged'
  WHEN mod(g, 100) < 89 THEN 'tags_added'
  WHEN mod(g, 100) < 92 THEN 'suspended'
  WHEN mod(g, 100) < 95 THEN 'duplicate'
  ELSE 'rejected'
END
"""
_REASON_SQL = """
CASE WHEN mod(g, 100) >= 95 THEN (ARRAY['blank', 'invalid', 'not_us_ca', 'not_mobile', 'opted_out'])[mod(g, 5) + 1] ELSE '' END
"""


def _load(rows: int) -> ImportRun:
    call_command("migrate", verbosity=0)
    account, _ = Account.objects.get_or_create(
        slug=SLUG, defaults={"name": "Results bench", "time_zone": "America/Chicago"}
    )
    user, created = get_user_model().objects.get_or_create(username="results-bench-manager")
    if created:
        user.set_password("results-bench")
        user.save()
    Membership.objects.get_or_create(user=user, account=account, defaults={"role": Role.MANAGER})
    run = ImportRun.objects.filter(account=account, file_name="bench.csv").first()
    if run is not None and ImportResult.objects.filter(run=run).count() == rows:
        return run
    if run is not None:
        ImportResult.objects.filter(run=run).delete()
        run.delete()
    started = time.perf_counter()
    with transaction.atomic():
        run = ImportRun.objects.create(account=account, started_by=user, file_name="bench.csv", stage=Stage.DONE)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO imports_importresult
                  (run_id, phone, outcome, is_new, tags, tags_added, tags_removed, reason, row_number, raw_value, detail)
                SELECT %s,
                  CASE WHEN mod(g, 100) >= 95 THEN '' ELSE '+1612' || lpad((2000000 + g)::text, 7, '0') END,
                  {_MIX_SQL},
                  mod(g, 100) < 16,
                  '["North", "Residential"]'::jsonb,
                  CASE WHEN mod(g, 100) BETWEEN 85 AND 88 THEN '["Outage-2026"]'::jsonb ELSE '[]'::jsonb END,
                  '[]'::jsonb,
                  {_REASON_SQL},
                  g + 1,
                  CASE WHEN mod(g, 100) >= 95 THEN 'bad ' || g ELSE '' END,
                  ''
                FROM generate_series(1, %s) AS g
                """,
                [run.pk, rows],
            )
            cursor.execute(
                "SELECT outcome, reason, count(*) FROM imports_importresult WHERE run_id = %s GROUP BY outcome, reason",
                [run.pk],
            )
            counts: dict[str, int] = {}
            for outcome, reason, n in cursor.fetchall():
                counts[outcome] = counts.get(outcome, 0) + n
                if reason:
                    counts[f"rejected_{reason}"] = n
        counts["new"] = rows * 16 // 100
        run.counts = counts
        run.rows_read = rows
        run.save(update_fields=["counts", "rows_read"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE imports_importresult")
    print(f"loaded {rows:,} results in {time.perf_counter() - started:.1f} s")
    return run


def _time(client: Client, url: str, runs: int, *, stream: bool = False, **headers) -> tuple[float, float, int]:
    times = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, **headers)
        if stream:
            size = sum(len(chunk) for chunk in response.streaming_content)
        else:
            size = len(response.content)
        assert response.status_code in (200, 286), (url, response.status_code)
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL.")
    if args.reload:
        ImportResult.objects.filter(run__account__slug=SLUG).delete()
        ImportRun.objects.filter(account__slug=SLUG).delete()
    run = _load(args.rows)
    client = Client()
    client.force_login(get_user_model().objects.get(username="results-bench-manager"))
    page = reverse("imports:run", args=[run.pk])
    last_page = -(-args.rows // 50)
    cases = [
        ("run page (chart, figures, first 50 numbers)", page, {}),
        (
            "progress fragment (htmx poll of a finished run)",
            page,
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "run-status"},
        ),
        (
            "table only, rejected rows",
            f"{page}?outcome=rejected",
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results-table"},
        ),
        (
            "table only, new numbers, page 100",
            f"{page}?outcome=new&page=100",
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results-table"},
        ),
        (
            "table only, search by number",
            f"{page}?number=612-200-0042",
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results-table"},
        ),
        (
            f"table only, last page ({last_page:,})",
            f"{page}?page={last_page}",
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results-table"},
        ),
        ("history page", reverse("imports:history"), {}),
    ]
    print(f"\n{args.rows:,} results, {args.runs} requests each (server-side, Django test client)\n")
    print(f"{'page':<52} {'median':>9} {'slowest':>9}")
    for label, url, headers in cases:
        median, slowest, _ = _time(client, url, args.runs, **headers)
        print(f"{label:<52} {median * 1000:>7.0f} ms {slowest * 1000:>6.0f} ms")
    for label, url in (
        ("results CSV, every row", reverse("imports:run_csv", args=[run.pk])),
        ("Preformatted CSV, every number", reverse("imports:run_preformatted", args=[run.pk])),
    ):
        median, slowest, size = _time(client, url, min(args.runs, 3), stream=True)
        rate = args.rows / median
        print(f"{label:<52} {median:>7.1f} s  {slowest:>6.1f} s   {size / 1024**2:,.0f} MB, {rate:,.0f} rows/s")


if __name__ == "__main__":
    main()
