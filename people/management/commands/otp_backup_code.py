"""Support's way back in for a user who lost their phone and their backup codes: one single-use code."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from people import services


class Command(BaseCommand):
    help = "Print one single-use backup code for USERNAME (recorded in the audit log)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is deactivated; a code would not let them in.")
        self.stdout.write(services.backup_code_issue(user=user))
