"""Texts in and out: an account's message settings, inbound texts, the delivery log, double opt-in
requests and alerts.

Models hold data only. Statuses of subscribers are never written here: messaging.services asks
subscribers.services for every change.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from subscribers.models import Account, Tag

CARRIER_WORDS = "Msg&Data rates may apply. Reply HELP for help, STOP to opt out."


def default_texts(account_name: str) -> dict[str, str]:
    """Starting texts that carriers accept: who is texting, how often, rates, HELP and STOP."""
    return {
        "welcome_text": f"{account_name}: you will now receive outage alerts. Msg frequency varies. {CARRIER_WORDS}",
        "opt_out_text": f"{account_name}: you are unsubscribed and will receive no more messages. Reply START to "
        "subscribe again.",
        "help_text": f"{account_name} outage alerts. Msg frequency varies. {CARRIER_WORDS}",
        "request_text": f"{account_name}: reply YES to receive outage alerts. Msg frequency varies. {CARRIER_WORDS}",
        "confirmation_text": f"{account_name}: thank you, you will now receive outage alerts. Msg frequency varies. "
        f"{CARRIER_WORDS}",
    }


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _new_widget_key() -> str:
    return secrets.token_urlsafe(12)


class MessagingSettings(models.Model):
    """One account's texts, keywords, forwarding webhook and widget settings."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="messaging")
    welcome_text = models.TextField(help_text="Sent when a number opts in by keyword, START or UNSTOP.")
    opt_out_text = models.TextField(help_text="Sent once when a number texts STOP or another opt-out word.")
    help_text = models.TextField(help_text="Sent when a number texts HELP or INFO.")
    request_text = models.TextField(help_text="The double opt-in request: asks the phone to reply YES.")
    confirmation_text = models.TextField(help_text="Sent when a number replies YES to a double opt-in request.")
    opt_in_keywords = models.JSONField(default=list, blank=True)
    webhook_url = models.URLField(blank=True, help_text="Other inbound texts are forwarded here as a signed POST.")
    webhook_secret = models.CharField(max_length=64, default=_new_secret)
    widget_key = models.CharField(max_length=32, unique=True, default=_new_widget_key)
    widget_origins = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "messaging settings"

    def __str__(self) -> str:
        return f"Messaging settings of {self.account}"


class MessageKind(models.TextChoices):
    ALERT = "alert", "Alert"
    WELCOME = "welcome", "Welcome"
    OPT_OUT = "opt_out", "Opt-out confirmation"
    HELP = "help", "Help"
    REQUEST = "request", "Double opt-in request"
    CONFIRMATION = "confirmation", "Double opt-in confirmation"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    BLOCKED = "blocked", "Blocked"
    # Caught in flight when its worker died, and the provider cannot say whether it took it: not sent again.
    UNKNOWN = "unknown", "Unknown"


class Alert(models.Model):
    class Target(models.TextChoices):
        EVERYONE = "everyone", "The whole list"
        ANY = "any", "Numbers with any of the tags"
        ALL = "all", "Numbers with all of the tags"

    class Stage(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DONE = "done", "Sent"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alerts")
    body = models.TextField()
    target = models.CharField(max_length=16, choices=Target.choices, default=Target.EVERYONE)
    tags = models.ManyToManyField(Tag, blank=True, related_name="+")
    tag_names = models.JSONField(default=list, blank=True, help_text="The tags as they were named when sent")
    fingerprint = models.CharField(max_length=64, help_text="Same text to the same list: the 12-hour check")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Counters written by the sending job batch by batch, for the progress bar and history.
    total = models.PositiveIntegerField(default=0, help_text="Opted-in numbers when sending began")
    sent_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    blocked_count = models.PositiveIntegerField(default=0)
    blocked_before = models.PositiveIntegerField(default=0, help_text="Numbers in the selection not opted in")
    unknown_count = models.PositiveIntegerField(
        default=0, help_text="Texts in flight when a worker died that the provider could not account for"
    )
    resumed = models.PositiveSmallIntegerField(default=0, help_text="Times sending resumed after a worker died")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "fingerprint", "created_at"], name="alert_account_fingerprint")]

    def __str__(self) -> str:
        return f"Alert {self.pk}: {self.body[:40]}"

    @property
    def processed(self) -> int:
        return self.sent_count + self.failed_count + self.unknown_count + self.blocked_at_send

    @property
    def blocked_at_send(self) -> int:
        return max(self.blocked_count - self.blocked_before, 0)

    @property
    def percent(self) -> int:
        if self.stage == self.Stage.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, int(100 * self.processed / self.total))

    @property
    def finished(self) -> bool:
        return self.stage in (self.Stage.DONE, self.Stage.FAILED)


class OutboundMessage(models.Model):
    """One text to one number: the delivery log of alerts and every keyword reply."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="outbound_messages")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    phone = models.CharField(max_length=16)
    sender = models.CharField(max_length=16, blank=True)
    body = models.TextField(blank=True, help_text="Empty for alert messages: the alert holds the text")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    provider_id = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Never twice to the same number for one alert, even if the job runs again.
            models.UniqueConstraint(
                fields=["alert", "phone"], condition=models.Q(alert__isnull=False), name="outbound_alert_phone_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["alert", "status", "id"], name="outbound_alert_status"),
            models.Index(fields=["account", "created_at"], name="outbound_account_created"),
            models.Index(fields=["provider_id"], name="outbound_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.phone} ({self.status})"

    @property
    def text(self) -> str:
        return self.body or (self.alert.body if self.alert_id else "")


class InboundMessage(models.Model):
    class Meaning(models.TextChoices):
        STOP = "stop", "Opt-out"
        START = "start", "Opt-in"
        CONFIRM = "confirm", "YES to a double opt-in request"
        HELP = "help", "Help"
        OTHER = "other", "Other (forwarded)"

    class Forward(models.TextChoices):
        NONE = "", "Not forwarded"
        PENDING = "pending", "Forwarding"
        DELIVERED = "delivered", "Forwarded"
        FAILED = "failed", "Forward failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="inbound_messages")
    message_sid = models.CharField(max_length=64, unique=True)
    phone = models.CharField(max_length=32)
    sender = models.CharField(max_length=16)
    body = models.TextField(blank=True)
    meaning = models.CharField(max_length=16, choices=Meaning.choices)
    forward = models.CharField(max_length=16, choices=Forward.choices, blank=True)
    forward_attempts = models.PositiveSmallIntegerField(default=0)
    forward_error = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["account", "received_at"], name="inbound_account_received")]

    def __str__(self) -> str:
        return f"{self.phone}: {self.body[:40]}"


class OptInRequest(models.Model):
    """A double opt-in request: open until YES, a newer request, or its expiry 7 days later."""

    class State(models.TextChoices):
        OPEN = "open", "Waiting for YES"
        CONFIRMED = "confirmed", "Confirmed"
        EXPIRED = "expired", "Expired"
        REPLACED = "replaced", "Replaced by a newer request"
        CANCELLED = "cancelled", "Closed by STOP or START"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="opt_in_requests")
    phone = models.CharField(max_length=16)
    source = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "phone", "created_at"], name="optinrequest_account_phone"),
            models.Index(fields=["state", "expires_at"], name="optinrequest_state_expires"),
            models.Index(fields=["account", "source", "created_at"], name="optinrequest_account_source"),
        ]

    def __str__(self) -> str:
        return f"Double opt-in request to {self.phone} ({self.state})"
