from django.core.management.base import BaseCommand, CommandError

from api import services
from subscribers.models import Account


class Command(BaseCommand):
    help = "Create an API key for an account and print it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("account_slug")
        parser.add_argument("--name", default="Command line")

    def handle(self, *args, account_slug, name, **options):
        account = Account.objects.filter(slug=account_slug).first()
        if account is None:
            raise CommandError(f"No account with the slug {account_slug!r}.")
        try:
            api_key, token = services.api_key_create(account=account, name=name)
        except services.ServiceError as exc:
            raise CommandError(exc.detail) from None
        self.stderr.write(f"API key “{api_key.name}” for {account.name}; store it now, it is not shown again:")
        self.stdout.write(token)
