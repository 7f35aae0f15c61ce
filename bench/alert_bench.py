"""An alert to 100,000 opted-in numbers through the memory gateway with one RQ worker, end to end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alertmanager REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python bench/alert_bench.py [--numbers 100000] [--batch 500]

It works in its own database (bench_<name>, kept between runs) and its own account. The numbers are
bulk-inserted as opted in (set-up, not measured). The clock runs from the manager's confirmation
(alert_create, which enqueues the job) until the worker has logged the last text; the worker is a
real forking RQ worker, as in production. Target: at least 2,000 messages/s.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertmanager.settings")
os.environ["SMS_GATEWAY"] = "memory"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    os.environ["ALERT_BATCH_SIZE"] = str(args.batch)

    import django

    django.setup()
    import django_rq
    from django.conf import settings
    from django.db import connection

    connection.settings_dict["TEST"]["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True)
    settings.ALERT_BATCH_SIZE = args.batch

    from messaging import alerts
    from messaging.models import Alert, DeliveryStatus, OutboundMessage
    from subscribers.models import Account, Status, Subscriber, Tag
    from subscribers.services import account_sender_add

    Account.objects.filter(slug="alert-bench").delete()
    account = Account.objects.create(slug="alert-bench", name="Alert Bench Electric")
    account_sender_add(account=account, phone="73399")
    Tag.objects.create(account=account, name="Everyone")
    t = time.perf_counter()
    Subscriber.objects.bulk_create(
        (
            Subscriber(account=account, phone=f"+1612{2000000 + i:07d}", status=Status.OPTED_IN)
            for i in range(args.numbers)
        ),
        batch_size=5000,
    )
    print(f"set-up: {args.numbers:,} opted-in numbers inserted in {time.perf_counter() - t:.1f} s")

    queue = django_rq.get_queue("default")
    queue.empty()
    start = time.perf_counter()
    alert = alerts.alert_create(
        account=account, body="Alert bench: planned outage tonight 1-3 am on Feeder A2. Reply STOP to opt out.",
        target=Alert.Target.EVERYONE, tags=[], user=None,
    )  # fmt: skip
    django_rq.get_worker("default").work(burst=True, with_scheduler=False)
    elapsed = time.perf_counter() - start

    alert.refresh_from_db()
    sent = OutboundMessage.objects.filter(alert=alert, status=DeliveryStatus.SENT).count()
    snapshot = (alert.started_at - alert.created_at).total_seconds() if alert.started_at else float("nan")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {connection.vendor}")
    print(f"alert {alert.pk}: stage={alert.stage} total={alert.total:,} sent={sent:,} failed={alert.failed_count:,} "
          f"blocked={alert.blocked_count:,} batch={args.batch}")  # fmt: skip
    print(f"end to end: {elapsed:.2f} s  ({sent / elapsed:,.0f} messages/s)")
    print(f"  of which worker start and delivery-log snapshot ≈ {snapshot:.2f} s after confirming")
    if sent != args.numbers:
        sys.exit(f"expected {args.numbers:,} sent, got {sent:,}")


if __name__ == "__main__":
    main()
