"""What the carriers say about an account's numbers: line type, reachability, reassignment.

Kept beside the list rather than on the subscriber row, keyed by phone like the opt events: the import engine
writes subscribers set-based and knows nothing of lookups, and a number deleted and added again keeps what was
already paid for. Statuses are never written here: a carrier opt-out or a reassigned number goes through
subscribers.services.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from subscribers.models import Account


class LineType(models.TextChoices):
    MOBILE = "mobile", "Mobile"
    LANDLINE = "landline", "Landline"
    VOIP = "voip", "VoIP"
    UNKNOWN = "unknown", "Unknown"


class LandlinePolicy(models.TextChoices):
    BLOCK = "block", "Keep on the list, block from alerts"
    FLAG = "flag", "Only flag them; alerts still go"


class LineSettings(models.Model):
    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="line_settings")
    landline_policy = models.CharField(
        max_length=8,
        choices=LandlinePolicy.choices,
        default=LandlinePolicy.BLOCK,
        help_text="What a number the carriers call a landline means for alerts.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "line settings"

    def __str__(self) -> str:
        return f"Line settings of {self.account}"


class NumberLine(models.Model):
    """One number of one account as the carriers see it. Also the lookup cache: a number checked within
    LINE_TYPE_MAX_AGE_DAYS is not looked up (nor paid for) again."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    phone = models.CharField(max_length=16)
    line_type = models.CharField(max_length=8, choices=LineType.choices, default=LineType.UNKNOWN)
    carrier = models.CharField(max_length=120, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.CharField(max_length=64, blank=True, help_text="The provider, or “delivery receipt”")
    # Consecutive permanent delivery failures (30003, 30005); a delivery resets it.
    failures = models.PositiveSmallIntegerField(default=0)
    last_receipt_sid = models.CharField(max_length=64, blank=True)
    unreachable_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "phone"], name="numberline_account_phone")]
        indexes = [models.Index(fields=["account", "line_type"], name="numberline_account_type")]

    def __str__(self) -> str:
        return f"{self.phone}: {self.line_type}"

    @property
    def unreachable(self) -> bool:
        return self.unreachable_since is not None


class LineEventKind(models.TextChoices):
    LOOKUP = "lookup", "Line type changed by a lookup"
    LANDLINE = "landline", "Delivery receipt: not a mobile"
    UNREACHABLE = "unreachable", "Flagged unreachable"
    REACHABLE = "reachable", "Delivered again: unreachable flag lifted"
    CLEARED = "cleared", "Unreachable flag cleared by a manager"
    CARRIER_OPT_OUT = "carrier_opt_out", "Carrier opt-out block (21610)"
    REASSIGNED = "reassigned", "Reassigned since consent: opted out"


class LineEvent(models.Model):
    """A flag the carriers' answers set or lifted, with the receipt or check that caused it. Append-only."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    phone = models.CharField(max_length=16)
    kind = models.CharField(max_length=16, choices=LineEventKind.choices)
    message_sid = models.CharField(max_length=64, blank=True, help_text="The delivery receipt's message")
    error_code = models.CharField(max_length=16, blank=True)
    note = models.CharField(max_length=300, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "phone", "created_at"], name="lineevent_account_phone"),
            models.Index(fields=["account", "kind", "created_at"], name="lineevent_account_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.phone}: {self.get_kind_display()}"


class JobStage(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class LookupRun(models.Model):
    """One pass of line-type lookups over the account's numbers that need one (after an import, or asked for)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lookup_runs")
    import_run = models.ForeignKey(
        "imports.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="lookup_runs"
    )
    provider = models.CharField(max_length=64)
    stage = models.CharField(max_length=16, choices=JobStage.choices, default=JobStage.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Numbers needing a lookup when the pass began")
    done = models.PositiveIntegerField(default=0)
    looked_up = models.PositiveIntegerField(default=0, help_text="Asked of the provider (what costs money)")
    failed = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0, help_text="The last subscriber id handled")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written by every batch: a pass whose worker died stops being written, and the next pass fails it.
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "stage"], name="lookuprun_account_stage")]

    @property
    def pending(self) -> int:
        if self.stage in (JobStage.DONE, JobStage.FAILED):
            return 0
        return max(self.total - self.done - self.failed, 0)

    @property
    def percent(self) -> int:
        if self.stage == JobStage.DONE:
            return 100
        return min(100, int(100 * (self.done + self.failed) / self.total)) if self.total else 0


class LookupUsage(models.Model):
    """Lookups asked of a paid provider, per account, month and provider: the usage page's figures."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField(help_text="The first day of the month, in the account's time zone")
    provider = models.CharField(max_length=64)
    lookups = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "month", "provider"], name="lookupusage_account_month")
        ]
        ordering = ["-month", "provider"]


class ReassignedCheckRun(models.Model):
    """One monthly check of an account's opted-in numbers against the reassigned-numbers database."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="reassigned_checks")
    checker = models.CharField(max_length=64)
    stage = models.CharField(max_length=16, choices=JobStage.choices, default=JobStage.QUEUED)
    checked = models.PositiveIntegerField(default=0)
    reassigned = models.PositiveIntegerField(default=0)
    no_data = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
