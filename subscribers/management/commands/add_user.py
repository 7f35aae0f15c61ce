import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from subscribers.models import Account, Membership, Role


class Command(BaseCommand):
    help = "Create a user (or find an existing one) and give them a role in an account."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--account", required=True, help="The account's slug")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--password", help="Set this password (a random one is printed when omitted for a new user)"
        )
        parser.add_argument("--email", default="")

    def handle(self, *args, username, account, role, password, email, **options):
        try:
            account_obj = Account.objects.get(slug=account)
        except Account.DoesNotExist:
            raise CommandError(f"No account with the slug {account!r}. Create it with create_account first.") from None
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        if password or created:
            password = password or secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
        Membership.objects.update_or_create(user=user, account=account_obj, defaults={"role": role})
        self.stdout.write(f"{username} is a {role} of {account_obj.slug}")
        if created:
            self.stdout.write(f"Password: {password}")
