"""Expire double opt-in requests older than 7 days now (the worker's scheduler also does it on time)."""

from django.core.management.base import BaseCommand

from messaging.optin import opt_in_requests_expire


class Command(BaseCommand):
    help = "Expire every double opt-in request that has waited 7 days for YES."

    def handle(self, *args, **options):
        count = opt_in_requests_expire()
        self.stdout.write(self.style.SUCCESS(f"Expired {count} double opt-in request{'s' if count != 1 else ''}."))
