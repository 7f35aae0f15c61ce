from django.core.management.base import BaseCommand, CommandError

from subscribers.models import Account


class Command(BaseCommand):
    help = "Create an account (a utility) or update its name."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--time-zone", default="America/Chicago")
        parser.add_argument("--sender", action="append", default=[], help="A sender number (+1NXXNXXXXXX); repeatable")

    def handle(self, *args, slug, name, time_zone, sender, **options):
        from subscribers import services

        account, created = Account.objects.update_or_create(slug=slug, defaults={"name": name, "time_zone": time_zone})
        for number in sender:
            try:
                services.account_sender_add(account=account, phone=number)
            except services.ServiceError as exc:
                raise CommandError(f"{number}: {exc.detail}") from None
        self.stdout.write(f"{'Created' if created else 'Updated'} account {account.slug} ({account.name})")
