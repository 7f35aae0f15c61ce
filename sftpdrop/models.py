"""SFTP drop: an account's SFTP login, its drop settings, and the record of failed logins and blocks.

The lockout counters themselves live in Redis (sftpdrop.lockout) so that every SFTP server process
shares them and they survive a restart; the rows here are what managers and support staff read.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class SftpCredential(models.Model):
    """The login a utility's scheduled job uses to push files. Distinct from app users and API keys."""

    account = models.ForeignKey("subscribers.Account", on_delete=models.CASCADE, related_name="sftp_credentials")
    username = models.CharField(max_length=32, unique=True)
    # Django's password hashers; empty when the credential logs in with a public key only.
    password_hash = models.CharField(max_length=256, blank=True)
    public_key = models.TextField(blank=True, help_text="OpenSSH public key, one line")
    public_key_fingerprint = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_login_at = models.DateTimeField(null=True, blank=True)
    last_login_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(revoked_at=None), name="sftpcredential_one_active_per_account"
            ),
        ]
        ordering = ["-created_at", "-id"]
        verbose_name = "SFTP credential"

    def __str__(self) -> str:
        return self.username

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def uses_key(self) -> bool:
        return bool(self.public_key)


# The Preformatted actions (imports.models.Action), written out so this app's migrations need not follow another's.
PREFORMATTED_ACTIONS = [
    ("opt_in", "Opt in (with tags)"),
    ("opt_out", "Opt out"),
    ("suspend", "Suspend"),
    ("reactivate", "Reactivate"),
    ("add_tags", "Add tags"),
    ("remove_tags", "Remove tags"),
]


class SftpSettings(models.Model):
    """How files dropped over SFTP are imported for one account."""

    account = models.OneToOneField("subscribers.Account", on_delete=models.CASCADE, related_name="sftp_settings")
    preformatted_default = models.BooleanField(
        "Use Preformatted opt-in as the SFTP default",
        default=False,
        help_text="Files are read as Preformatted (phone in column A, tags after it) and opted in.",
    )
    # What a Preformatted file dropped over SFTP does to its numbers, as the upload page's action does.
    preformatted_action = models.CharField(max_length=16, choices=PREFORMATTED_ACTIONS, default="opt_in")
    # Needed only when several configurations are approved; one approved configuration is used as is.
    configuration = models.ForeignKey(
        "imports.ImportConfiguration", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "SFTP settings"
        verbose_name_plural = "SFTP settings"

    def __str__(self) -> str:
        return f"SFTP settings of {self.account}"


class SftpLoginFailure(models.Model):
    """One refused SFTP login: a wrong password or an unknown username (no account then)."""

    account = models.ForeignKey(
        "subscribers.Account", null=True, blank=True, on_delete=models.CASCADE, related_name="sftp_login_failures"
    )
    username = models.CharField(max_length=64, help_text="As the client sent it")
    ip = models.GenericIPAddressField()
    blocked = models.BooleanField(default=False, help_text="Refused because the address was blocked")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at"], name="sftpfailure_account_created"),
            models.Index(fields=["ip", "-created_at"], name="sftpfailure_ip_created"),
        ]
        ordering = ["-created_at", "-id"]
        verbose_name = "SFTP failed login"

    def __str__(self) -> str:
        return f"{self.username} from {self.ip}"


class SftpAddressBlock(models.Model):
    """An address blocked after too many failed logins; it clears by itself at `blocked_until`."""

    ip = models.GenericIPAddressField()
    blocked_at = models.DateTimeField(default=timezone.now)
    blocked_until = models.DateTimeField()
    failures = models.PositiveSmallIntegerField(default=0)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["ip", "-blocked_until"], name="sftpblock_ip_until")]
        ordering = ["-blocked_at", "-id"]
        verbose_name = "SFTP blocked address"

    def __str__(self) -> str:
        return f"{self.ip} until {self.blocked_until:%Y-%m-%d %H:%M}"

    def is_active_at(self, when) -> bool:
        return self.lifted_at is None and self.blocked_until > when
