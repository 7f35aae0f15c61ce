from django.core.management.base import BaseCommand, CommandError

from sftpdrop import services
from subscribers.models import Account


class Command(BaseCommand):
    help = "Create an account's SFTP credentials (or give existing ones a new password) and print them."

    def add_arguments(self, parser):
        parser.add_argument("account_slug")
        parser.add_argument("--public-key-file", help="Log in with this OpenSSH public key instead of a password")
        parser.add_argument(
            "--rotate", action="store_true", help="Replace the password (or key) of existing credentials"
        )

    def handle(self, *args, account_slug, public_key_file, rotate, **options):
        account = Account.objects.filter(slug=account_slug).first()
        if account is None:
            raise CommandError(f"No account with the slug {account_slug!r}.")
        public_key = ""
        if public_key_file:
            try:
                with open(public_key_file, encoding="utf-8") as handle:
                    public_key = handle.read()
            except OSError as exc:
                raise CommandError(f"Cannot read {public_key_file}: {exc.strerror}") from None
        try:
            existing = services.SftpCredential.objects.filter(account=account, revoked_at=None).first()
            if rotate and existing is not None:
                credential = existing
                password = services.credential_rotate(credential=existing, public_key=public_key)
                credential.refresh_from_db()
            else:
                credential, password = services.credential_create(account=account, public_key=public_key)
        except services.CredentialRefused as exc:
            hint = " (use --rotate)" if exc.code == "exists" else ""
            raise CommandError(exc.detail + hint) from None
        self.stdout.write(f"username: {credential.username}")
        if password:
            self.stdout.write(f"password: {password}")
        else:
            self.stdout.write(f"key: {credential.public_key_fingerprint}")
