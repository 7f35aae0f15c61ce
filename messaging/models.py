"""Texts in and out: an account's message settings, inbound texts, the delivery log, double opt-in
requests and alerts.

Models hold data only. Statuses of subscribers are never written here: messaging's services ask
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


TEXT_FIELDS = ("welcome_text", "opt_out_text", "help_text", "request_text", "confirmation_text")


def translated_defaults(account_name: str, language: str) -> dict[str, str]:
    """The starting texts in `language`, with the carrier's words (who, how often, rates, HELP, STOP) in it."""
    if language == "es":
        rates = "Pueden aplicarse tarifas de mensajes y datos. Responda AYUDA para ayuda, ALTO para cancelar."
        return {
            "welcome_text": f"{account_name}: ahora recibirá alertas de cortes. Frecuencia variable. {rates}",
            "opt_out_text": f"{account_name}: se ha dado de baja y no recibirá más mensajes. Responda INICIO para "
            "suscribirse de nuevo.",
            "help_text": f"{account_name} alertas de cortes. Frecuencia variable. {rates}",
            "request_text": f"{account_name}: responda SI para recibir alertas de cortes. Frecuencia variable. {rates}",
            "confirmation_text": f"{account_name}: gracias, ahora recibirá alertas de cortes. Frecuencia variable. "
            f"{rates}",
        }
    if language == "fr":
        rates = "Des frais de messagerie peuvent s'appliquer. Répondez AIDE pour de l'aide, ARRET pour vous désabonner."
        return {
            "welcome_text": f"{account_name} : vous recevrez désormais les alertes de panne. Fréquence variable. {rates}",
            "opt_out_text": f"{account_name} : vous êtes désabonné et ne recevrez plus de messages. Répondez DEBUT "
            "pour vous réabonner.",
            "help_text": f"{account_name} alertes de panne. Fréquence variable. {rates}",
            "request_text": f"{account_name} : répondez OUI pour recevoir les alertes de panne. Fréquence variable. "
            f"{rates}",
            "confirmation_text": f"{account_name} : merci, vous recevrez désormais les alertes de panne. Fréquence "
            f"variable. {rates}",
        }
    return default_texts(account_name)


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
    # The texts above are the English ones; {"es": {"welcome_text": …}, "fr": {…}} holds the others. A text left
    # out is sent as its default in that language (translated_defaults), never in English.
    translations = models.JSONField(default=dict, blank=True)
    # Quiet hours in the account's time zone: a non-urgent alert waits for their end. Both empty: none.
    quiet_start = models.TimeField(null=True, blank=True, help_text="e.g. 21:00")
    quiet_end = models.TimeField(null=True, blank=True, help_text="e.g. 08:00")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "messaging settings"

    def __str__(self) -> str:
        return f"Messaging settings of {self.account}"

    def text(self, name: str, language: str) -> str:
        """The text `name` (e.g. "opt_out_text") in `language`: the account's own, else that language's default."""
        if name not in TEXT_FIELDS:
            raise ValueError(name)
        if language not in ("es", "fr"):
            return getattr(self, name)
        own = (self.translations or {}).get(language, {}).get(name, "")
        return own.strip() or translated_defaults(self.account.name, language)[name]


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
    # A number whose language is Spanish or French gets that body when there is one, else `body`.
    body_es = models.TextField(blank=True)
    body_fr = models.TextField(blank=True)
    # Urgent (a safety outage) goes at once; any other alert waits out the account's quiet hours.
    urgent = models.BooleanField(default=False)
    not_before = models.DateTimeField(null=True, blank=True, help_text="Held by quiet hours until then")
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
        UNCLEAR = "unclear", "Maybe an opt-out (inbox)"
        OTHER = "other", "Other (forwarded)"

    class Resolution(models.TextChoices):
        OPEN = "", "Open"
        OPTED_OUT = "opted_out", "Treated as an opt-out"
        NOT_OPT_OUT = "not_opt_out", "Not an opt-out"

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
    # The inbox: texts that may be a revocation, for a person to decide by `respond_by` (10 business days).
    respond_by = models.DateField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["account", "received_at"], name="inbound_account_received"),
            models.Index(fields=["account", "meaning", "resolution"], name="inbound_account_inbox"),
        ]

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


class WebhookEvent(models.Model):
    """A consent change posted to the account's webhook (STOP, START, YES, a staff-recorded revocation…)."""

    class Kind(models.TextChoices):
        OPT_OUT = "opt_out", "Opted out by the owner's text"
        OPT_IN = "opt_in", "Opted in by the owner's text"
        CONFIRMED = "confirmed", "Confirmed a double opt-in request"
        REVOCATION_RECORDED = "revocation_recorded", "Revocation recorded by staff"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    phone = models.CharField(max_length=16)
    payload = models.JSONField()
    state = models.CharField(
        max_length=16, choices=InboundMessage.Forward.choices, default=InboundMessage.Forward.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"], name="webhookevent_account_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.phone} ({self.state})"
