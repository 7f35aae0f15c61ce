"""The import engine: one entry point per step of a run, whatever its layout and mode.

- `read(run, path, progress)`: the file into the run's staging table (layouts, phone rules).
- `compare_and_apply(run, confirmed)`: in one transaction under the account's lock, the diff against the
  account's list, the guard, and — unless it is a dry run or held by the guard — the changes, their opt
  events and the per-number results.
- `undo(run)`: revert what an earlier run did (SPEC §4.5).
- `discard(run)`: drop whatever the run staged.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from imports.engine import plan, reading, store
from imports.engine import undo as undo_sql
from imports.engine.modes import rules_for
from imports.fieldmap import FieldMap
from imports.models import ImportResult, ImportRun, Layout, Stage

HOLD_HOURS = 24


def field_map_of(run: ImportRun) -> FieldMap | None:
    if run.layout == Layout.ALP and run.configuration is not None:
        return run.configuration.fieldmap
    return None


def read(run: ImportRun, path, progress) -> int:
    header: list[str] = []
    rows = reading.stage(store.Tables(run.pk), path, field_map_of(run), progress, header)
    # Kept with the counts: the file is gone by the time the results say that it held no number.
    run.counts = {"header": ", ".join(header)[:200]} if header else {}
    ImportRun.objects.filter(pk=run.pk).update(counts=run.counts)
    return rows


@dataclass
class Outcome:
    stage: str
    counts: dict
    new_numbers: int


def compare_and_apply(run: ImportRun, *, confirmed: bool = False) -> Outcome:
    tables = store.Tables(run.pk)
    rules = rules_for(run.mode, run.action)
    try:
        with transaction.atomic():
            store.lock_account(run.account_id)
            store.refresh_statistics(run.account_id)
            summary = plan.build(tables, account_id=run.account_id, rules=rules)
            ImportResult.objects.filter(run=run).delete()  # a held run's preview, replaced by what happened
            if run.dry_run or (not confirmed and _guard_trips(rules, summary)):
                plan.write_results(tables, run_id=run.pk, applied=False)
                stage = Stage.DONE if run.dry_run else Stage.AWAITING_CONFIRMATION
            else:
                summary = plan.apply(
                    tables,
                    summary,
                    rules=rules,
                    account_id=run.account_id,
                    run_id=run.pk,
                    user_id=run.started_by_id,
                    now=timezone.now(),
                )
                plan.write_results(tables, run_id=run.pk, applied=True)
                store.apply_languages(tables, run.account_id)
                stage = Stage.DONE
            applied = stage == Stage.DONE and not run.dry_run
            counts = with_tag_counts(
                run, summary.counts, numbers=summary.valid_numbers, tagged=plan.tag_counts(tables, applied=applied)
            )
            if stage == Stage.AWAITING_CONFIRMATION:
                # What the guard's banner tells the manager: how many numbers it would stop, of how many.
                counts |= {"stops": summary.stops, "opted_in_total": summary.opted_in_total}
            _finish(run, stage, counts, summary.new_numbers)
    finally:
        plan.drop_derived(tables)
    if run.stage != Stage.AWAITING_CONFIRMATION:
        discard(run)
    return Outcome(run.stage, run.counts, run.new_numbers)


def with_tag_counts(
    run: ImportRun, counts: dict, *, numbers: int | None = None, tagged: tuple[int, int] | None = None
) -> dict:
    """The counts plus how many numbers gained and lost tags, whatever their outcome: a new number's outcome is
    `opted_in` though it got the file's tags, so the outcome counts alone say "Tags added 0" while the per-number
    rows list the tags. `tagged`: (gained, lost) as the engine's staged tables give them; else read from the
    results just written (an undo). `numbers`: how many valid numbers the file held, so a file with none says so."""
    if tagged is None:
        results = ImportResult.objects.filter(run=run)
        tagged = (results.exclude(tags_added=[]).count(), results.exclude(tags_removed=[]).count())
    header = (run.counts or {}).get("header")
    return {
        **counts,
        **({"header": header} if header else {}),
        **({"numbers": numbers} if numbers is not None else {}),
        "tagged": tagged[0],
        "untagged": tagged[1],
    }


def _guard_trips(rules, summary: plan.Summary) -> bool:
    """SPEC §4.3: more than the configured share of the opted-in list would stop getting alerts, or the file
    has no valid number at all while the run can stop alerts (the wrong file, or an empty export). Never for an
    `opt_out` file (see Rules.guarded)."""
    if not rules.guarded:
        return False
    if summary.valid_numbers == 0:
        return True
    return summary.stops > settings.IMPORT_GUARD_SHARE * summary.opted_in_total


def _finish(run: ImportRun, stage: str, counts: dict, new_numbers: int) -> None:
    now = timezone.now()
    run.stage = stage
    run.progress = 100
    run.counts = counts
    run.new_numbers = new_numbers
    if stage == Stage.AWAITING_CONFIRMATION:
        run.expires_at = now + timedelta(hours=HOLD_HOURS)
    else:
        run.finished_at = now
        run.expires_at = None
    run.save(update_fields=["stage", "progress", "counts", "new_numbers", "expires_at", "finished_at"])


def undo(run: ImportRun) -> Outcome:
    """Apply the undo run `run` (its `undo_of` is the run being undone)."""
    tables = store.Tables(run.pk)
    try:
        with transaction.atomic():
            store.lock_account(run.account_id)
            store.refresh_statistics(run.account_id)
            counts = undo_sql.apply(
                tables,
                account_id=run.account_id,
                undone_id=run.undo_of_id,
                run_id=run.pk,
                user_id=run.started_by_id,
                now=timezone.now(),
            )
            _finish(run, Stage.DONE, with_tag_counts(run, counts), 0)
    finally:
        store.drop(tables)
    return Outcome(run.stage, run.counts, 0)


def undo_preview(run: ImportRun) -> dict:
    return undo_sql.preview(account_id=run.account_id, undone_id=run.pk)


def has_staged_rows(run: ImportRun) -> bool:
    return store.staged_exists(store.Tables(run.pk))


def discard(run: ImportRun) -> None:
    store.drop(store.Tables(run.pk))
