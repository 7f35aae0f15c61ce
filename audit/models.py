"""The audit log: who did what to an account, when, and from which address. Append-only.

Opt events (subscribers.OptEvent) record changes to the list itself; this records everything around it:
logins, second factors, people, passwords, API keys, SFTP credentials, configurations, imports, exports,
alerts, settings, and support staff's changes in admin.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    LOGIN_OK = "login_ok", "Login"
    LOGIN_FAILED = "login_failed", "Failed login"
    LOGIN_LOCKED = "login_locked", "Login locked"
    LOCK_LIFTED = "lock_lifted", "Login lock lifted"
    SECOND_FACTOR = "second_factor", "Second factor"
    PERSON = "person", "People and roles"
    PASSWORD = "password", "Password"
    API_KEY = "api_key", "API key"
    SFTP_CREDENTIAL = "sftp_credential", "SFTP credentials"
    SFTP_BLOCK_LIFTED = "sftp_block_lifted", "SFTP block lifted"
    CONFIGURATION = "configuration", "Import configuration"
    IMPORT = "import", "Import"
    EXPORT = "export", "Export"
    ALERT = "alert", "Alert sent"
    SETTINGS = "settings", "Settings"
    SUPPORT = "support", "Support staff change"


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit entries are never changed.")

    def delete(self):
        raise TypeError("Audit entries are never deleted.")


class AuditEntry(models.Model):
    # No database constraints: an entry outlives the user and is kept however the account's other rows change.
    account = models.ForeignKey(
        "subscribers.Account",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # audit_account_created leads with it
        related_name="+",
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    action = models.CharField(max_length=40, help_text="What happened within the kind, e.g. created, revoked")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # The name as it was, so the entry still reads right after the user is renamed or removed.
    actor_name = models.CharField(max_length=150, blank=True)
    actor_is_staff = models.BooleanField(default=False)
    ip = models.GenericIPAddressField(null=True, blank=True)
    summary = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at"], name="audit_account_created"),
            models.Index(fields=["account", "kind", "-created_at"], name="audit_account_kind"),
        ]
        ordering = ["-created_at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or '–'}: {self.summary}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit entries are never deleted.")
