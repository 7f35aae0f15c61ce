"""Reads for the import pages: which runs and configurations a member may see, a run's figures in words, and
the first rows of a sample file."""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from imports import readers
from imports.models import (
    OUTCOMES,
    REJECT_REASON_TEXT,
    REJECT_REASONS,
    ImportConfiguration,
    ImportResult,
    ImportRun,
    ResultOutcome,
    Stage,
)
from subscribers.models import Account, Membership, Role

# The outcomes of a run in the order the results page shows them, with their labels.
OUTCOME_ORDER = [(outcome.value, words.figure) for outcome, words in OUTCOMES.items() if not words.undo_only]
# The tag figures count every number whose tags changed, whatever else happened to it (a new number is
# "opted in" and also given tags); these are the keys of the counts that hold them.
TAG_FIGURES = {"tags_added": "tagged", "tags_removed": "untagged"}
UNDO_OUTCOMES = [(outcome.value, words.figure) for outcome, words in OUTCOMES.items() if words.undo_only]


def reason_text(reason: str) -> str:
    if not reason:
        return ""
    return REJECT_REASON_TEXT.get(reason, reason.replace("_", " ").capitalize() + ".")


def approved_configurations(*, account: Account) -> QuerySet[ImportConfiguration]:
    """Configurations an uploader may pick: approved at their current version and not retired."""
    return ImportConfiguration.objects.filter(
        account=account, retired_at__isnull=True, approved_at__isnull=False, approved_version=F("version")
    ).order_by("name")


def latest_imports(*, account: Account, limit: int = 5) -> list[ImportRun]:
    """The account's latest runs, for the dashboard (which composes them with the list's own figures)."""
    return list(
        ImportRun.objects.filter(account=account).select_related("started_by").order_by("-created_at", "-id")[:limit]
    )


def held_imports(*, account: Account) -> list[ImportRun]:
    """The account's imports the guard holds for a manager, soonest to lapse first: the dashboard tells of them,
    since a held run nobody confirms is dropped after 24 hours."""
    runs = list(
        ImportRun.objects.filter(account=account, stage=Stage.AWAITING_CONFIRMATION, expires_at__gt=timezone.now())
        .select_related("started_by")
        .order_by("expires_at", "id")[:20]
    )
    for run in runs:
        counts = run.counts or {}
        run.would_stop = int(counts.get("suspended", 0) or 0) + int(counts.get("opted_out", 0) or 0)
    return runs


def lost_imports(*, account: Account) -> list[ImportRun]:
    """Imports of the last week that failed because their worker died on every try: a nightly sync to send again."""
    since = timezone.now() - timedelta(days=7)
    return list(ImportRun.objects.filter(account=account, worker_lost=True, finished_at__gte=since)[:5])


def list_imported(*, account: Account) -> bool:
    """Whether a file has brought numbers in (a dry run does not), for the dashboard's first steps."""
    return ImportRun.objects.filter(account=account, stage=Stage.DONE, dry_run=False).exists()


def runs_for_member(*, account: Account, membership: Membership) -> QuerySet[ImportRun]:
    """The runs a member may see: all of the account's for a manager, only their own for an uploader."""
    runs = ImportRun.objects.filter(account=account).select_related("started_by", "configuration")
    if membership.role != Role.MANAGER:
        runs = runs.filter(started_by=membership.user)
    return runs


def may_see_run(*, run: ImportRun, membership: Membership) -> bool:
    return membership.role == Role.MANAGER or run.started_by_id == membership.user_id


def run_is_moving(run: ImportRun) -> bool:
    """Whether the run's page should keep asking for its state: it is neither finished nor waiting for a manager."""
    return not run.is_finished and run.stage != Stage.AWAITING_CONFIRMATION


def run_undone_by(*, run: ImportRun) -> ImportRun | None:
    """The undo that took this run back, or is taking it back now."""
    if run.stage != Stage.DONE:
        return None
    return run.undos.exclude(stage__in=(Stage.FAILED, Stage.CANCELLED)).order_by("-created_at").first()


def may_decide_run(*, run: ImportRun, membership: Membership) -> bool:
    """A manager confirms or cancels a run that waits for a decision."""
    return membership.role == Role.MANAGER and run.stage == Stage.AWAITING_CONFIRMATION


def may_undo_run(*, run: ImportRun, membership: Membership, undone_by: ImportRun | None) -> bool:
    """A manager undoes a finished import that changed the list, unless it is itself an undo or already undone."""
    return (
        membership.role == Role.MANAGER
        and run.stage == Stage.DONE
        and not run.dry_run
        and run.undo_of_id is None
        and undone_by is None
    )


@dataclass
class Figure:
    key: str
    label: str
    value: int
    text: str = ""


@dataclass
class RunFigures:
    outcomes: list[Figure]
    new: int
    rejected_by_reason: list[Figure]
    total: int = 0
    header: str = ""
    numbers: int | None = None  # valid numbers in the file, each once (None: a run from before it was counted)

    @property
    def any(self) -> bool:
        return self.total > 0

    @property
    def top(self) -> int:
        return max((f.value for f in self.outcomes), default=0)

    @property
    def chart_height(self) -> int:
        return 28 * len(self.outcomes) + 6


def run_figures(*, run: ImportRun) -> RunFigures:
    counts = run.counts or {}
    outcomes = [Figure(key, label, figure_value(counts, key)) for key, label in OUTCOME_ORDER]
    outcomes += [Figure(key, label, int(counts[key])) for key, label in UNDO_OUTCOMES if counts.get(key)]
    reasons = []
    for key, value in counts.items():
        if key.startswith("rejected_") and value:
            reason = key.removeprefix("rejected_")
            label = REJECT_REASONS[reason].label if reason in REJECT_REASONS else reason.replace("_", " ").capitalize()
            reasons.append(Figure(reason, label, int(value), reason_text(reason)))
    reasons.sort(key=lambda f: -f.value)
    new = int(counts.get("new", run.new_numbers) or 0)
    return RunFigures(
        outcomes=outcomes,
        new=new,
        rejected_by_reason=reasons,
        total=sum(f.value for f in outcomes),
        header=str(counts.get("header") or ""),
        numbers=counts.get("numbers"),
    )


@dataclass
class GuardFigures:
    stops: int
    opted_in_total: int
    share: str
    limit: str


def _percent(value: float) -> str:
    text = f"{value * 100:.1f}".removesuffix(".0")
    return f"{text}%"


def guard_figures(*, run: ImportRun) -> GuardFigures | None:
    """What a held run would stop, in numbers and as a share of the opted-in list, beside the guard's limit."""
    counts = run.counts or {}
    if run.stage != Stage.AWAITING_CONFIRMATION or "stops" not in counts:
        return None
    stops, total = int(counts["stops"]), int(counts.get("opted_in_total") or 0)
    share = _percent(stops / total) if total else "all"
    return GuardFigures(stops, total, share, _percent(settings.IMPORT_GUARD_SHARE))


def figure_value(counts: dict, key: str) -> int:
    # Runs finished before the tag figures were counted only have the outcome's count.
    return int(counts.get(TAG_FIGURES.get(key, key), counts.get(key, 0)) or 0)


def run_results(*, run: ImportRun, outcome: str = "", number: str = "") -> QuerySet[ImportResult]:
    results = ImportResult.objects.filter(run=run)
    if outcome == "new":
        results = results.filter(outcome=ResultOutcome.OPTED_IN, is_new=True)
    elif outcome == "tags_added" and "tagged" in (run.counts or {}):
        results = results.exclude(tags_added=[])
    elif outcome == "tags_removed" and "untagged" in (run.counts or {}):
        results = results.exclude(tags_removed=[])
    elif outcome:
        results = results.filter(outcome=outcome)
    digits = re.sub(r"\D", "", number or "")
    if digits:
        results = results.filter(Q(phone__contains=digits) | Q(raw_value__contains=digits))
    elif number and number.strip():
        results = results.filter(raw_value__icontains=number.strip())
    return results.order_by("id")


def results_count(*, run: ImportRun, outcome: str = "", number: str = "") -> int | None:
    """How many results a filter matches, from the run's own counts, so a page of a million results needs no
    COUNT(*); None when only the database can say (a search)."""
    counts = run.counts or {}
    if number.strip() or not counts or run.stage != Stage.DONE:
        return None
    if outcome == "new":
        return int(counts.get("new", 0))
    if outcome:
        return figure_value(counts, outcome)
    return sum(int(counts.get(key, 0)) for key in ResultOutcome.values)


def preformatted_rows(*, run: ImportRun) -> QuerySet:
    """The Preformatted file a run's input turns into: each valid number once, with the tags the file gives it."""
    return (
        ImportResult.objects.filter(run=run)
        .exclude(outcome__in=[ResultOutcome.REJECTED, ResultOutcome.DUPLICATE])
        .exclude(phone="")
        # Only the file's own rows: numbers a soft or hard opt-out would stop are in the results, with no row.
        .filter(row_number__isnull=False)
        .order_by("row_number", "id")
        .values_list("phone", "tags")
    )


def latest_test_run(*, configuration: ImportConfiguration) -> ImportRun | None:
    return (
        ImportRun.objects.filter(account=configuration.account, configuration=configuration, dry_run=True)
        .select_related("started_by")
        .order_by("-created_at", "-id")
        .first()
    )


_STEPS = [Stage.QUEUED, Stage.READING, Stage.COMPARING, Stage.APPLYING, Stage.DONE]


def run_steps(*, run: ImportRun) -> list[dict]:
    """The stages a run goes through, each done, current or still to come."""
    steps = list(_STEPS)
    if run.stage == Stage.AWAITING_CONFIRMATION or (run.stage == Stage.CANCELLED and run.counts):
        steps.insert(3, Stage.AWAITING_CONFIRMATION)
    if run.dry_run:
        steps.remove(Stage.APPLYING)
    if run.stage in (Stage.FAILED, Stage.CANCELLED):
        steps[-1] = Stage(run.stage)
    current = steps.index(run.stage) if run.stage in steps else 0
    result = []
    for i, stage in enumerate(steps):
        state = "done" if i < current else "current" if i == current else "todo"
        if stage == run.stage and run.stage in (Stage.DONE, Stage.FAILED, Stage.CANCELLED):
            state = run.stage
        result.append({"label": stage.label, "state": state})
    return result


def has_results(run: ImportRun) -> bool:
    return run.stage in (Stage.DONE, Stage.AWAITING_CONFIRMATION) or (run.stage == Stage.CANCELLED and bool(run.counts))


@dataclass
class Column:
    index: int
    letter: str
    header: str

    @property
    def key(self) -> str:
        """How a field map names this column: its header when it has a usable one, else its letter."""
        return self.header or self.letter

    @property
    def label(self) -> str:
        return f"{self.letter} · {self.header}" if self.header else f"Column {self.letter}"


@dataclass
class SamplePreview:
    info: readers.FileInfo
    header_row: int
    columns: list[Column] = field(default_factory=list)
    rows: list[readers.Row] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(self.info.delimiter or "", "")


def sample_preview(*, path: Path, sheet: str | None = None, header_row: int = 1, rows: int = 10) -> SamplePreview:
    """The first rows of a sample file and its columns, named by letter and header. Raises FileRejected."""
    info = readers.detect(path, sheet=sheet or None)
    read = readers.preview(path, info, rows=rows + max(header_row, 0))
    header_cells: list = []
    body = []
    for row in read:
        if header_row and row.number == header_row:
            header_cells = row.cells
        elif not header_row or row.number > header_row:
            body.append(row)
    body = body[:rows]
    width = max([len(header_cells)] + [len(r.cells) for r in body] + [0])
    headers = [_header_text(header_cells[i]) if i < len(header_cells) else "" for i in range(width)]
    # A header that repeats cannot name a column on its own: fall back to the letter.
    seen = {h for h in headers if h and headers.count(h) > 1}
    columns = [Column(i, readers.column_letter(i), "" if headers[i] in seen else headers[i]) for i in range(width)]
    for row in body:
        row.cells = list(row.cells) + [None] * (width - len(row.cells))
    return SamplePreview(info=info, header_row=header_row, columns=columns, rows=body)


def _header_text(value) -> str:
    if value is None:
        return ""
    return str(value).strip()
