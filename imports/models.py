"""ALP import configurations, import runs and their per-number results (SPEC §4)."""

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils import timezone

from imports.fieldmap import FieldMap
from subscribers.vocabulary import REASONS, ReasonWords


class Layout(models.TextChoices):
    PREFORMATTED = "preformatted", "Preformatted"
    ALP = "alp", "ALP configuration"


class Mode(models.TextChoices):
    STANDARD = "standard", "Standard (apply the chosen action to the numbers in the file)"
    APPEND = "append", "Append: opt in, add tags"
    APPEND_TAGS = "append_tags", "Append with tag management"
    APPEND_SOFT = "append_soft", "Append with soft opt-out"
    APPEND_SOFT_TAGS = "append_soft_tags", "Append with soft opt-out and tag management"
    APPEND_HARD = "append_hard", "Append with hard opt-out"


# What happens to opted-in numbers missing from the file, in a clerk's words.
MODE_MISSING_TEXT = {
    Mode.STANDARD: "Numbers missing from the file are left alone.",
    Mode.APPEND: "Numbers missing from the file are left alone; no tags are removed.",
    Mode.APPEND_TAGS: "Numbers missing from the file are left alone; tags of the numbers in the file are set to exactly the file's tags.",
    Mode.APPEND_SOFT: "Opted-in numbers missing from the file will be suspended.",
    Mode.APPEND_SOFT_TAGS: "Opted-in numbers missing from the file will be suspended; tags of the numbers in the file are set to exactly the file's tags.",
    Mode.APPEND_HARD: "Opted-in numbers missing from the file will be opted out (only their owners can opt back in).",
}


class Action(models.TextChoices):
    OPT_IN = "opt_in", "Opt in (with tags)"
    OPT_OUT = "opt_out", "Opt out"
    SUSPEND = "suspend", "Suspend"
    REACTIVATE = "reactivate", "Reactivate"
    ADD_TAGS = "add_tags", "Add tags"
    REMOVE_TAGS = "remove_tags", "Remove tags"


class RunSource(models.TextChoices):
    WEB = "web", "Web"
    SFTP = "sftp", "SFTP"
    API = "api", "API"
    CLI = "cli", "Command line"


class Stage(models.TextChoices):
    QUEUED = "queued", "Queued"
    READING = "reading", "Reading the file"
    COMPARING = "comparing", "Comparing with the list"
    AWAITING_CONFIRMATION = "awaiting_confirmation", "Waiting for a manager to confirm"
    APPLYING = "applying", "Applying the changes"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STAGES = (Stage.DONE, Stage.FAILED, Stage.CANCELLED)


class ResultOutcome(models.TextChoices):
    OPTED_IN = "opted_in", "Opted in"
    REACTIVATED = "reactivated", "Reactivated"
    SUSPENDED = "suspended", "Suspended"
    OPTED_OUT = "opted_out", "Opted out"
    TAGS_ADDED = "tags_added", "Tags added"
    TAGS_REMOVED = "tags_removed", "Tags removed"
    UNCHANGED = "unchanged", "Unchanged"
    DUPLICATE = "duplicate", "Duplicate"
    REJECTED = "rejected", "Rejected"
    # Only an undo has these: a number the undone import added is taken off the list again, or goes back
    # to waiting for its owner's YES.
    REMOVED = "removed", "Removed"
    PENDING = "pending", "Back to pending"


@dataclass(frozen=True)
class OutcomeWords:
    figure: str  # the results page's figure, and the run's summary in the history
    filter: str = ""  # in the results filter, when it is not the outcome's own label
    undo_only: bool = False  # only an undo has it: its figure is shown when there are any


# Each outcome's own label (ResultOutcome.label) names it on a result row and in the results' CSV.
OUTCOMES: dict[ResultOutcome, OutcomeWords] = {
    ResultOutcome.OPTED_IN: OutcomeWords("Opted in"),
    ResultOutcome.REACTIVATED: OutcomeWords("Reactivated"),
    ResultOutcome.SUSPENDED: OutcomeWords("Suspended"),
    ResultOutcome.OPTED_OUT: OutcomeWords("Opted out"),
    # These two match every number whose tags changed, as the figures count them, not only the numbers whose
    # one change was to their tags.
    ResultOutcome.TAGS_ADDED: OutcomeWords("Given tags", filter="Given tags"),
    ResultOutcome.TAGS_REMOVED: OutcomeWords("Lost tags", filter="Lost tags"),
    ResultOutcome.UNCHANGED: OutcomeWords("Unchanged"),
    ResultOutcome.DUPLICATE: OutcomeWords("Duplicates"),
    ResultOutcome.REJECTED: OutcomeWords("Rejected"),
    ResultOutcome.REMOVED: OutcomeWords("Taken off the list", undo_only=True),
    ResultOutcome.PENDING: OutcomeWords("Back to pending", undo_only=True),
}


# Why a row or a number was rejected: a row the file gives wrong, or a change the status rules refuse.
REJECT_REASONS: dict[str, ReasonWords] = {
    "blank": ReasonWords("Blank", "The phone cell is empty."),
    "invalid": ReasonWords("Not a valid number", "This is not a valid US or Canadian phone number."),
    "not_us_ca": ReasonWords(
        "Outside the US and Canada", "This is not a US or Canadian number; only those can receive these alerts."
    ),
    "not_mobile": ReasonWords(
        "Cannot receive texts",
        "This kind of number (toll-free, premium-rate, pager, or with an extension) cannot receive texts.",
    ),
    **{code.value: words for code, words in REASONS.items()},
    "tag_too_long": ReasonWords("A tag too long", "A tag on this row is longer than 75 characters."),
    "unreadable": ReasonWords("Unreadable rows", "This row could not be read."),
    "changed_since": ReasonWords(
        "Changed again since", "This number changed again after the import, so the undo left it as it is."
    ),
}
REJECT_REASON_TEXT = {code: words.text for code, words in REJECT_REASONS.items()}


class ImportConfiguration(models.Model):
    """An ALP configuration: which columns of a CIS export hold phones and tags, and the mode."""

    account = models.ForeignKey("subscribers.Account", on_delete=models.CASCADE, related_name="import_configurations")
    name = models.CharField(max_length=100)
    # The field map as stored (FieldMap.dump()): phone and tag columns by header name or letter,
    # header row, delimiter, encoding, sheet. Read it as `fieldmap`.
    field_map = models.JSONField(default=dict)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.APPEND)
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.OPT_IN)
    version = models.PositiveIntegerField(default=1)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_version = models.PositiveIntegerField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="importconfiguration_account_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def fieldmap(self) -> FieldMap:
        """The stored field map, validated; ValueError when it does not make sense."""
        return FieldMap.load(self.field_map or {})

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None and self.approved_version == self.version and self.retired_at is None

    @property
    def missing_text(self) -> str:
        return MODE_MISSING_TEXT[Mode(self.mode)]


class ImportRun(models.Model):
    account = models.ForeignKey("subscribers.Account", on_delete=models.CASCADE, related_name="import_runs")
    layout = models.CharField(max_length=16, choices=Layout.choices, default=Layout.PREFORMATTED)
    configuration = models.ForeignKey(
        ImportConfiguration, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    configuration_version = models.PositiveIntegerField(null=True, blank=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.STANDARD)
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.OPT_IN)
    dry_run = models.BooleanField(default=False)
    source = models.CharField(max_length=8, choices=RunSource.choices, default=RunSource.WEB)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Display text only: never used to open a file.
    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_size = models.BigIntegerField(default=0)
    # Where the upload waits until the job has read it; emptied when the file is deleted.
    file_path = models.CharField(max_length=500, blank=True)
    stage = models.CharField(max_length=24, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of the current stage")
    rows_read = models.PositiveIntegerField(default=0)
    # Per outcome: opted_in, new, reactivated, suspended, opted_out, tags_added, tags_removed,
    # unchanged, duplicate, rejected, and rejected_<reason>.
    counts = models.JSONField(default=dict, blank=True)
    new_numbers = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    undo_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undos")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Parsed rows held for a confirmation are dropped after this time.
    expires_at = models.DateTimeField(null=True, blank=True)
    # Set once its job is in the queue: a run committed while Redis was down is queued by the janitor later.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Times the run was queued again because its worker died (IMPORT_RETRIES at most).
    attempts = models.PositiveSmallIntegerField(default=0)
    # Failed because its worker died on every try: the dashboard tells the managers.
    worker_lost = models.BooleanField(default=False)
    # Its per-number results were purged (IMPORT_RESULTS_KEEP_DAYS); the counts above stay.
    results_purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="importrun_account_created"),
            models.Index(fields=["stage"], name="importrun_stage"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.file_name})"

    @property
    def is_finished(self) -> bool:
        return self.stage in FINAL_STAGES


class ImportResult(models.Model):
    """What happened to one number of a run (or one rejected row)."""

    # No database constraint: a run writes up to a million of these in one commit. Indexed by the Meta indexes.
    run = models.ForeignKey(
        ImportRun, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="results"
    )
    phone = models.CharField(max_length=16, blank=True)
    outcome = models.CharField(max_length=16, choices=ResultOutcome.choices)
    is_new = models.BooleanField(default=False)
    # The tags the file gives this number: with the phone, the row of the Preformatted equivalent.
    tags = models.JSONField(default=list, blank=True)
    tags_added = models.JSONField(default=list, blank=True)
    tags_removed = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=16, blank=True, help_text="Why a row was rejected")
    row_number = models.PositiveIntegerField(null=True, blank=True)
    raw_value = models.CharField(max_length=64, blank=True, help_text="The cell as the file had it")
    detail = models.CharField(max_length=300, blank=True, help_text="More about a rejection, in words")

    class Meta:
        indexes = [
            # Also the run's range for a search by number: a search matches inside the number (LIKE '%…%'),
            # which no index on the phone would serve, so there is none to write per result.
            models.Index(fields=["run", "outcome", "id"], name="importresult_run_outcome"),
        ]
        ordering = ["id"]

    @property
    def reason_text(self) -> str:
        return self.detail or REJECT_REASON_TEXT.get(self.reason, self.reason)
