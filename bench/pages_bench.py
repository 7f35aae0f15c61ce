"""How fast the managers' pages answer on an account of 1,000,000 numbers (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/am_bench REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/pages_bench.py [--rows 1000000] [--runs 15] [--reload]

The first run migrates the database and loads a "bench" account with COPY: `--rows` numbers with a
realistic mix of statuses, 50 tags (one to three per number, a few large, many small) and the opt
events a real list would have (each number's first opt-in and its later changes, over three years).
It then times each page server-side through the Django test client, as the bench manager, and prints
the median, the 90th percentile and the slowest request. The dashboard is timed three ways: as served,
its figures fresh in the cache; computed from scratch (every figure of the account forgotten before
each request, so the page computes them all while it waits); and just after a change to the list (the
figures are out of date: the page shows their previous values while a job, not run here, computes the
new ones). The figures are also computed one by one from scratch, as the background refresh job does,
to show where the from-scratch time goes.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertmanager.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from subscribers.models import Account, Membership, Role, Subscriber, Tag  # noqa: E402

SLUG = "bench"
AREA_CODES = ["218", "320", "507", "612", "651", "715", "763", "952", "512", "737", "210", "214"]
STATUS_MIX = [("opted_in", "", 0.83), ("suspended", "", 0.07), ("opted_out", "subscriber", 0.05),
              ("opted_out", "customer", 0.03), ("pending", "", 0.02)]  # fmt: skip


def _numbers(rng: random.Random, count: int) -> list[str]:
    """Distinct, valid NANP mobile-capable numbers: exchanges 200-999, lines 0000-9999."""
    seen: set[int] = set()
    out = []
    while len(out) < count:
        area = rng.choice(AREA_CODES)
        rest = rng.randint(2_000_000, 9_999_999)
        key = int(area) * 10_000_000 + rest
        if key in seen or str(rest)[1:3] == "11":
            continue
        seen.add(key)
        out.append(f"+1{area}{rest}")
    return out


def _load(rows: int) -> Account:
    from subscribers import phones

    rng = random.Random(4)
    account = Account.objects.create(slug=SLUG, name="Bench Electric (1M)", time_zone="America/Chicago")
    user = get_user_model().objects.create_user(username="bench-manager", password="bench-manager-pw")
    Membership.objects.create(user=user, account=account, role=Role.MANAGER)
    tags = [Tag.objects.create(account=account, name=f"Feeder {n:02d}") for n in range(1, 51)]
    # A few big tags (districts), many small ones: weights fall off like a real co-op's feeders.
    weights = [1 / (n + 1) ** 0.8 for n in range(len(tags))]

    candidates = _numbers(rng, int(rows * 1.02))
    numbers = [n for n, r in zip(candidates, phones.normalise_many(candidates), strict=True) if r.ok][:rows]
    rng.shuffle(numbers)  # the table's physical order is not the phone order, as after years of imports
    now = datetime.now(UTC)
    start = now - timedelta(days=3 * 365)
    span = (now - start).total_seconds()
    cursor = connection.cursor().cursor
    statuses = [(s, b) for s, b, _ in STATUS_MIX]
    status_weights = [w for _, _, w in STATUS_MIX]
    t0 = time.perf_counter()
    events = []
    with cursor.copy(
        "COPY subscribers_subscriber (account_id, phone, status, opted_out_by, first_seen, status_changed) FROM STDIN"
    ) as copy:
        for phone in numbers:
            status, by = rng.choices(statuses, status_weights)[0]
            # More numbers arrived recently: the list grows.
            first = start + timedelta(seconds=span * rng.random() ** 0.6)
            changed = first if status in ("opted_in", "pending") else first + (now - first) * rng.random()
            copy.write_row((account.pk, phone, status, by, first, changed))
            events.append((phone, status, by, first, changed))
    print(f"  subscribers copied in {time.perf_counter() - t0:.1f} s", flush=True)
    ids = dict(Subscriber.objects.filter(account=account).values_list("phone", "id").iterator(chunk_size=20000))
    t0 = time.perf_counter()
    tag_of_row = {}
    with cursor.copy("COPY subscribers_subscribertag (subscriber_id, tag_id) FROM STDIN") as copy:
        for phone, *_ in events:
            chosen = {t.pk: t.name for t in rng.choices(tags, weights, k=rng.choice((1, 2, 2, 3)))}
            tag_of_row[phone] = sorted(chosen.values())
            for tag_id in chosen:
                copy.write_row((ids[phone], tag_id))
    print(f"  tags copied in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    import json

    with cursor.copy(
        "COPY subscribers_optevent (account_id, phone, old_status, new_status, opted_out_by, tags_added,"
        " tags_removed, source, message_sid, note, created_at) FROM STDIN"
    ) as copy:
        for phone, status, by, first, changed in events:
            initial = "pending" if status == "pending" else "opted_in"
            copy.write_row(
                (account.pk, phone, "", initial, "", json.dumps(tag_of_row[phone]), "[]", "import", "", "", first)
            )
            if status not in ("opted_in", "pending"):
                source = "keyword" if by == "subscriber" else "import"
                copy.write_row((account.pk, phone, "opted_in", status, by, "[]", "[]", source, "", "", changed))
    print(f"  opt events copied in {time.perf_counter() - t0:.1f} s", flush=True)
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE subscribers_subscriber")
        c.execute("VACUUM ANALYZE subscribers_subscribertag")
        c.execute("VACUUM ANALYZE subscribers_optevent")
    return account


def _time(client: Client, url: str, runs: int, before=None) -> tuple[float, float, float, int]:
    timings = []
    size = 0
    for _ in range(runs + 1):
        if before:
            before()
        t0 = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.content)
        timings.append(elapsed)
    timings = timings[1:]  # the first request warms the connection and the templates
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.9) - 1], timings[-1], size


def _change_one(account: Account) -> None:
    """A manager suspends or reactivates a number: an opt event, so the figures are out of date."""
    from subscribers.services import Cause, subscriber_reactivate, subscriber_suspend

    start = f"+1{random.choice(AREA_CODES)}{random.randint(2_000_000, 9_999_999)}"
    numbers = Subscriber.objects.filter(account=account, status__in=["opted_in", "suspended"], phone__gte=start)
    subscriber = numbers.order_by("phone").first()
    change = subscriber_suspend if subscriber.status == "opted_in" else subscriber_reactivate
    change(account=account, phone=subscriber.phone, cause=Cause("manager"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reload", action="store_true", help="drop the bench account and load it again")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("The bench measures PostgreSQL: set DATABASE_URL=postgres://…")
    call_command("migrate", verbosity=0)
    account = Account.objects.filter(slug=SLUG).first()
    if account is not None and (args.reload or Subscriber.objects.filter(account=account).count() != args.rows):
        print("Dropping the old bench account…", flush=True)
        with connection.cursor() as c:
            c.execute("DELETE FROM subscribers_optevent WHERE account_id = %s", [account.pk])
        account.delete()
        get_user_model().objects.filter(username="bench-manager").delete()
        account = None
    if account is None:
        print(f"Loading {args.rows:,} subscribers…", flush=True)
        account = _load(args.rows)

    from subscribers import selectors

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-manager"))
    tag = Tag.objects.filter(account=account).order_by("name")[4]
    cases = [
        ("list, first page, unfiltered", "/numbers/"),
        ("list, one tag + status", f"/numbers/?status=opted_in&tags={tag.pk}"),
        ("list, phone prefix search “(512) 55”", "/numbers/?q=%28512%29+55"),
        ("list, any-part search “4417”", "/numbers/?q=4417"),
        ("list, sorted by last change", "/numbers/?sort=-status_changed"),
        ("list, page 40", "/numbers/?page=40"),
        ("dashboard, served (figures cached)", "/dashboard/"),
        ("dashboard, computed from scratch", "/dashboard/"),
        ("dashboard, just after a change (stale)", "/dashboard/"),
        ("tags page, served (figures cached)", "/numbers/tags/"),
    ]
    listed = Subscriber.objects.filter(account=account).count()
    print(f"\nAccount “{account.name}”: {listed:,} numbers, {Tag.objects.filter(account=account).count()} tags")
    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, {os.cpu_count()} CPUs, {args.runs} runs each\n"
    )
    # The figures fresh, as the refresh job leaves them, whatever an earlier run left in the cache.
    selectors.figures_forget(account=account)
    selectors.figures_refresh(account=account)
    print(f"{'page':44} {'median ms':>10} {'p90 ms':>8} {'max ms':>8} {'KB':>6}")
    for label, url in cases:
        before = None
        if "from scratch" in label:
            before = lambda: selectors.figures_forget(account=account)  # noqa: E731
        elif "after a change" in label:
            before = lambda: _change_one(account)  # noqa: E731
        median, p90, slowest, size = _time(client, url, args.runs, before)
        print(f"{label:44} {median:10.1f} {p90:8.1f} {slowest:8.1f} {size / 1024:6.0f}", flush=True)

    print("\nEach figure computed from scratch (what the refresh job does), 3 runs each:")
    month_start = selectors.month_start(account)
    figures = [
        ("counts by status (dashboard, list total)", lambda: selectors.status_counts(account=account)),
        ("numbers per tag (dashboard, tags page)", lambda: selectors.tag_counts(account=account)),
        ("opted in / out per day, 90 days", lambda: selectors.daily_opt_changes(account=account)),
        ("new numbers this month (dashboard)", lambda: selectors.new_numbers_since(account=account, since=month_start)),
        ("new numbers per month (usage page)", lambda: selectors.new_numbers_by_month(account=account)),
        ("all of them: the refresh job", lambda: selectors.figures_refresh(account=account)),
    ]
    for label, compute in figures:
        timings = []
        for _ in range(3):
            selectors.figures_forget(account=account)
            t0 = time.perf_counter()
            compute()
            timings.append((time.perf_counter() - t0) * 1000)
        print(f"{label:44} {statistics.median(timings):10.1f} {'':8} {max(timings):8.1f}", flush=True)
    cache.close()


if __name__ == "__main__":
    main()
