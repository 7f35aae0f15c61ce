"""Accounts, their users, their subscribers and tags, and the append-only trail of opt events.

Models hold data only; every change of a subscriber's status goes through subscribers.services.
"""

from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.db import connection, models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    MANAGER = "manager", "Manager"
    UPLOADER = "uploader", "Uploader"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    OPTED_IN = "opted_in", "Opted in"
    SUSPENDED = "suspended", "Suspended"
    OPTED_OUT = "opted_out", "Opted out"


class OptedOutBy(models.TextChoices):
    SUBSCRIBER = "subscriber", "The subscriber"
    CUSTOMER = "customer", "The utility"


class Source(models.TextChoices):
    KEYWORD = "keyword", "Text keyword"
    WIDGET = "widget", "Web widget"
    DOUBLE_OPT_IN = "double_opt_in", "Double opt-in"
    IMPORT = "import", "Import"
    API = "api", "API"
    MANAGER = "manager", "Manager"
    SUPPORT = "support", "Support"
    EXPIRY = "expiry", "Expiry"
    # What the carriers tell: their own opt-out block in a delivery receipt (as the owner's STOP), and the
    # reassigned-numbers check (the utility's opt-out of a number that changed hands).
    CARRIER = "carrier", "Carrier delivery receipt"
    REASSIGNED = "reassigned", "Reassigned-numbers check"


class Channel(models.TextChoices):
    """How a revocation reached the utility: the FCC accepts any reasonable means (47 CFR 64.1200(a)(10))."""

    SMS = "sms", "Text message"
    PHONE = "phone", "Phone call"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    IN_PERSON = "in_person", "In person"
    OTHER = "other", "Other"


# The languages a number is texted in (messaging.phrases holds each one's words).
LANGUAGE_CHOICES = [("en", "English"), ("es", "Español"), ("fr", "Français")]


TIME_ZONE_CHOICES = sorted((tz, tz.replace("_", " ")) for tz in available_timezones() if "/" in tz)


class Account(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="America/Chicago", choices=TIME_ZONE_CHOICES)
    created_at = models.DateTimeField(default=timezone.now)
    # When a manager dismissed the dashboard's first-run guide (empty: it is shown until every step is done).
    guide_dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "account"], name="membership_user_account_unique")]
        ordering = ["account__name"]

    def __str__(self) -> str:
        return f"{self.user} – {self.account} ({self.role})"

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER


# The one rule of tag identity. The import engine matches tags set-based with SQL lower() (and the unique
# constraint below is on Lower("name")), so Python folds exactly as the database's lower() does. PostgreSQL's
# goes one character at a time: str.casefold() would fold "Straße" into "strasse" and str.lower() the final "Σ"
# into "ς", where lower() keeps "ß" and makes every "Σ" "σ"; "İ" is the one character whose Python lowercase is
# two characters. SQLite's lower() folds ASCII letters only.
_ONE_TO_ONE_LOWER = {"\u0130": "i"}


def tag_key(name: str) -> str:
    """What makes two tag names one tag: trimmed, lowercased as the database's lower() does it."""
    name = (name or "").strip()
    if name.isascii():
        return name.lower()
    if connection.vendor == "sqlite":
        return "".join(ch.lower() if ch.isascii() else ch for ch in name)
    return "".join(_ONE_TO_ONE_LOWER.get(ch) or ch.lower() for ch in name)


class TagQuerySet(models.QuerySet):
    def named(self, name: str) -> "TagQuerySet":
        """The tag(s) of this name by the one rule of identity (tag_key), whatever its spelling."""
        return self.annotate(name_key=Lower("name")).filter(name_key=tag_key(name))


class Tag(models.Model):
    MAX_LENGTH = 75

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TagQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), "account", name="tag_account_name_ci_unique"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubscriberQuerySet(models.QuerySet):
    def listed(self) -> "SubscriberQuerySet":
        """The working list: numbers a manager deleted stay only as opt-out blocks."""
        return self.filter(removed_at__isnull=True)


class Subscriber(models.Model):
    # Indexed by the (account, phone) constraint and the (account, …) indexes: one of its own would only be
    # one more to write per imported number.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="subscribers", db_index=False)
    phone = models.CharField(max_length=16, help_text="E.164, e.g. +12025550173")
    status = models.CharField(max_length=16, choices=Status.choices)
    opted_out_by = models.CharField(max_length=16, choices=OptedOutBy.choices, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    status_changed = models.DateTimeField(default=timezone.now)
    # Set when a manager deletes an opted-out number (by its owner or the utility): the row stays to block imports.
    removed_at = models.DateTimeField(null=True, blank=True)
    # A database default as well: the import engine inserts numbers in SQL.
    language = models.CharField(max_length=2, choices=LANGUAGE_CHOICES, default="en", db_default="en")
    tags = models.ManyToManyField(Tag, through="SubscriberTag", related_name="subscribers")

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "phone"], name="subscriber_account_phone_unique"),
            models.CheckConstraint(
                condition=models.Q(status="opted_out", opted_out_by__in=["subscriber", "customer"])
                | (~models.Q(status="opted_out") & models.Q(opted_out_by="")),
                name="subscriber_opted_out_by_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status", "phone"], name="subscriber_account_status"),
            models.Index(fields=["account", "status_changed"], name="subscriber_account_changed"),
            models.Index(fields=["account", "first_seen"], name="subscriber_account_first_seen"),
        ]
        ordering = ["phone"]

    def __str__(self) -> str:
        return self.phone

    @property
    def receives_alerts(self) -> bool:
        return self.status == Status.OPTED_IN


class SubscriberTag(models.Model):
    # Both indexed by the constraint and the index below, which lead with them. No database constraints: an
    # import links hundreds of thousands of numbers to their tags in one commit, and PostgreSQL checks a foreign
    # key row by row (a lookup and a row lock each), which cost about three seconds a million-row import. The
    # links are only written by code that has just read both ends under the account's lock, and Django deletes
    # them with their number or tag (on_delete runs in the ORM, whatever the database enforces).
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, db_index=False, db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscriber", "tag"], name="subscribertag_unique")]
        indexes = [models.Index(fields=["tag", "subscriber"], name="subscribertag_tag_subscriber")]


class OptEvent(models.Model):
    """One change of a number's status or tags. Append-only: the audit trail.

    Keyed by phone rather than by subscriber row, so a number's history survives its deletion.
    """

    # Indexed by optevent_account_phone and optevent_account_created, which lead with it. No database constraint,
    # like the user and the run below: an import writes an event per changed number in one commit (see
    # SubscriberTag).
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="opt_events", db_index=False, db_constraint=False
    )
    phone = models.CharField(max_length=16)
    old_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    new_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    opted_out_by = models.CharField(max_length=16, choices=OptedOutBy.choices, blank=True)
    tags_added = models.JSONField(default=list, blank=True)
    tags_removed = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    # The run row is never deleted.
    import_run = models.ForeignKey(
        "imports.ImportRun",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # optevent_import_run
        related_name="+",
    )
    message_sid = models.CharField(max_length=64, blank=True, help_text="The inbound text that caused it")
    note = models.CharField(max_length=200, blank=True)
    # A revocation staff recorded: how it reached them and the day it did (the 10-business-day clock starts then).
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True, default="", db_default="")
    received_on = models.DateField(null=True, blank=True)
    # Where a sign-up on the web widget came from: part of the consent record an auditor asks for.
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    # db_default: the set-based paths (imports, bulk changes) insert events in SQL without naming it.
    page_url = models.CharField(
        max_length=500, blank=True, default="", db_default="", help_text="The web page the widget was used on"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["account", "phone", "created_at"], name="optevent_account_phone"),
            models.Index(fields=["account", "created_at"], name="optevent_account_created"),
            models.Index(fields=["import_run"], name="optevent_import_run"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.phone}: {self.old_status or '–'} → {self.new_status or '–'} ({self.source})"


class SenderNumber(models.Model):
    """A short code or long code an account texts from; inbound texts are routed by it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sender_numbers")
    number = models.CharField(max_length=16, unique=True, help_text="E.164 long code or a 5–6 digit short code")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number
