"""A demo account to log into: Lakeside Electric Cooperative, its staff and about 2,000 numbers.

Idempotent: running it again keeps the numbers it made and resets the demo passwords.
"""

import base64
import hashlib
import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from people import services as people_services
from people.support import SUPPORT_GROUP, support_group_ensure
from subscribers import phones, services
from subscribers.models import Account, Membership, OptEvent, Role, Source, Subscriber
from subscribers.services import Cause

DEMO_SLUG = "lakeside"
DEMO_PASSWORD = "lakeside-demo"
DEMO_USERS = [
    ("manager", Role.MANAGER, False),
    ("uploader", Role.UPLOADER, False),
    ("support", None, True),
]
# Area codes around a Minnesota/Wisconsin co-op.
AREA_CODES = ["218", "320", "507", "612", "651", "715", "763", "952"]
DISTRICTS = [f"District {n}" for n in range(1, 7)]
FEEDERS = [f"Feeder {d}{n}" for d in "ABCDE" for n in range(1, 5)]


def _demo_key(username: str) -> str:
    """The demo authenticator's secret (hex, 20 bytes): fixed, so an app set up once keeps working across runs."""
    return hashlib.sha1(f"lakeside-demo-totp:{username}".encode()).hexdigest()


def _demo_setup_key(username: str) -> str:
    return base64.b32encode(bytes.fromhex(_demo_key(username))).decode()


def _demo_numbers(rng: random.Random, count: int) -> list[str]:
    numbers: set[str] = set()
    while len(numbers) < count:
        candidate = f"{rng.choice(AREA_CODES)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        result = phones.normalise(candidate)
        if result.e164:
            numbers.add(result.e164)
    return sorted(numbers)


class Command(BaseCommand):
    help = "Create or refresh the demo account, its users and about 2,000 realistic subscribers."

    def add_arguments(self, parser):
        parser.add_argument("--numbers", type=int, default=2000)

    def handle(self, *args, numbers, **options):
        account, _ = Account.objects.get_or_create(
            slug=DEMO_SLUG, defaults={"name": "Lakeside Electric Cooperative", "time_zone": "America/Chicago"}
        )
        services.account_sender_add(account=account, phone="73303")
        self._users(account)
        if Subscriber.objects.filter(account=account).exists():
            self.stdout.write("Demo numbers already present; left as they are.")
        else:
            self._subscribers(account, numbers)
        self.stdout.write(self.style.SUCCESS(f"Demo account ready: {account.name}"))
        self.stdout.write(
            f"Every login needs the password {DEMO_PASSWORD} and then a second factor: one of the single-use backup codes\n"
            "below (new ones at every run), or the code an authenticator app shows for the setup key."
        )
        for username, role, _staff in DEMO_USERS:
            code = people_services.backup_code_issue(
                user=get_user_model().objects.get(username=username), by_name="demo"
            )
            self.stdout.write(
                f"  {username:<9} backup code {code}   setup key {_demo_setup_key(username)}"
                f"   ({role or 'support staff, Django admin'})"
            )

    def _users(self, account: Account) -> None:
        User = get_user_model()
        for username, role, staff in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@lakeside.example"})
            user.set_password(DEMO_PASSWORD)
            # Support staff work through the Support group's permissions, not as superusers.
            user.is_staff = staff
            user.is_superuser = False
            user.is_active = True
            user.save()
            if staff:
                support_group_ensure()
                user.groups.add(Group.objects.get(name=SUPPORT_GROUP))
            if role:
                Membership.objects.update_or_create(user=user, account=account, defaults={"role": role})
            # Enrolled already, so the demo is a one-minute start: the authenticator's key is fixed and printed.
            TOTPDevice.objects.filter(user=user).exclude(key=_demo_key(username)).delete()
            TOTPDevice.objects.get_or_create(
                user=user, key=_demo_key(username), defaults={"name": "Demo authenticator", "confirmed": True}
            )

    def _subscribers(self, account: Account, count: int) -> None:
        rng = random.Random(2026)
        manager = get_user_model().objects.get(username="manager")
        start = timezone.now()
        plan = []
        for phone in _demo_numbers(rng, count):
            tags = [rng.choice(DISTRICTS), rng.choice(FEEDERS)]
            if rng.random() < 0.2:
                tags.append("Medical priority")
            plan.append((phone, tags, rng.random(), rng.random()))
        # The billing system's export comes in as a real import, so the dashboard's latest imports and the history
        # of each number agree (an event said "import" for a run that did not exist).
        imported = [(phone, tags) for phone, tags, first, _ in plan if first >= 0.08]
        self._import(account, manager, imported)
        with transaction.atomic():
            self._changes(account, manager, plan)
        self._spread_over_last_90_days(account, rng, start)

    def _import(self, account: Account, manager, rows: list[tuple[str, list[str]]]) -> None:
        import io

        from imports import jobs
        from imports import services as import_services
        from imports.models import RunSource

        content = "Phone,District,Feeder,Priority\n" + "".join(f"{p},{','.join(t)}\n" for p, t in rows)
        run = import_services.import_run_create(
            account=account,
            file=io.BytesIO(content.encode()),
            file_name="lakeside-cis-export.csv",
            source=RunSource.CLI,
            started_by=manager,
        )
        jobs.import_run_job(run.pk)

    def _changes(self, account: Account, manager, plan) -> None:
        for phone, _tags, first, roll in plan:
            if first < 0.03:
                services.subscriber_request_confirmation(account=account, phone=phone, cause=Cause(Source.WIDGET))
                continue
            if first < 0.08:
                services.subscriber_keyword_start(account=account, phone=phone)
            if roll < 0.07:
                services.subscriber_suspend(account=account, phone=phone, cause=Cause(Source.MANAGER, user=manager))
            elif roll < 0.11:
                services.subscriber_keyword_stop(account=account, phone=phone)
            elif roll < 0.13:
                services.subscriber_opt_out(account=account, phone=phone, cause=Cause(Source.MANAGER, user=manager))

    def _spread_over_last_90_days(self, account: Account, rng: random.Random, since) -> None:
        """Demo data only: give the history realistic dates so the dashboard has something to show."""
        now = timezone.now()
        events = list(OptEvent.objects.filter(account=account, created_at__gte=since).order_by("phone", "id"))
        when_by_phone: dict[str, object] = {}
        for event in events:
            base = when_by_phone.get(event.phone) or now - timedelta(days=rng.uniform(1, 90))
            event.created_at = base
            when_by_phone[event.phone] = base + timedelta(days=rng.uniform(0.01, 1))
        OptEvent.objects.bulk_update(events, ["created_at"], batch_size=1000)
        subscribers = list(Subscriber.objects.filter(account=account))
        first = {}
        last = {}
        for event in events:
            first.setdefault(event.phone, event.created_at)
            last[event.phone] = event.created_at
        for subscriber in subscribers:
            subscriber.first_seen = first.get(subscriber.phone, subscriber.first_seen)
            subscriber.status_changed = last.get(subscriber.phone, subscriber.status_changed)
        Subscriber.objects.bulk_update(subscribers, ["first_seen", "status_changed"], batch_size=1000)
