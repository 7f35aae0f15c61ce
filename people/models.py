"""Logins: the locks that too many failed logins set, and each account's login settings.

The failure counters themselves live in Redis (alertmanager.lockout), shared by every web process; a LoginLock
row is the record of a lock, for support staff to see and lift.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class LockKind(models.TextChoices):
    USERNAME = "username", "Username"
    ADDRESS = "address", "Address"


class LoginLock(models.Model):
    kind = models.CharField(max_length=16, choices=LockKind.choices)
    subject = models.CharField(max_length=150, help_text="The username (as typed, lower case) or the address")
    locked_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField()
    failures = models.PositiveSmallIntegerField(default=0)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["kind", "subject", "-locked_until"], name="loginlock_subject_until")]
        ordering = ["-locked_at", "-id"]
        verbose_name = "login lock"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject} until {self.locked_until:%Y-%m-%d %H:%M}"

    def is_active_at(self, when) -> bool:
        return self.lifted_at is None and self.locked_until > when


class AccountLoginSettings(models.Model):
    account = models.OneToOneField("subscribers.Account", on_delete=models.CASCADE, related_name="login_settings")
    remember_device = models.BooleanField(
        default=False,
        help_text=f"Members may skip the second factor on a browser they trust for {settings.REMEMBER_DEVICE_DAYS} "
        "days.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "account login settings"
        verbose_name_plural = "account login settings"

    def __str__(self) -> str:
        return f"Login settings of {self.account}"


def _invitation_expiry():
    return timezone.now() + timedelta(hours=72)


class Invitation(models.Model):
    """A link that lets a new person choose their password and enrol; valid 72 hours, used once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations")
    account = models.ForeignKey("subscribers.Account", on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.user} to {self.account}"

    def is_usable_at(self, when) -> bool:
        return self.used_at is None and self.expires_at > when
