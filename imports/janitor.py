"""The janitor, run when a job starts, from the workers' heartbeat and every JANITOR_SECONDS by the scheduler.

A worker that is killed cannot clean up after itself, so each job holds a lease in Redis (alertmanager.jobqueue);
the janitor queues a run whose lease lapsed again, IMPORT_RETRIES times at most, then fails it and tells the
account's managers. It also queues runs committed while Redis was down, resumes alerts whose worker died, purges
old per-number results, and removes files and staging tables nobody owns.
"""

import logging
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alertmanager import metrics
from alertmanager.jobqueue import connection, enqueue, lease_exists
from imports import engine
from imports.models import ImportResult, ImportRun, Stage
from imports.running import ACTIVE, STOPPED, delete_file, lease_key

log = logging.getLogger(__name__)


def _janitor_every() -> timedelta:
    return timedelta(seconds=settings.JANITOR_SECONDS)


def _redis():
    return connection("imports")


def janitor() -> dict:
    """Retry or fail runs whose worker died, queue runs Redis missed, resume alerts whose worker died, expire held
    runs, and delete upload files and staging tables nobody owns. Cheap: it reads only runs and alerts in flight."""
    from imports.services import import_run_enqueue, import_run_expire_held
    from messaging.alerts import alerts_resume

    stale = retried = 0
    now = timezone.now()
    grace = now - timedelta(seconds=settings.IMPORT_LEASE_SECONDS * 2)
    from imports.services import run_queued_key

    for run in ImportRun.objects.filter(stage__in=ACTIVE, started_at__lt=grace).select_related("account"):
        if lease_exists(lease_key(run.pk)) or lease_exists(run_queued_key(run.pk)):
            continue  # running, or (confirmed) its job still waits in the queue
        if _retry(run):
            retried += 1
        elif _give_up(run):
            stale += 1
    # Committed while Redis was down (the on-commit enqueue failed), or queued in a Redis that restarted empty:
    # queued again now that it answers. A job that is queued twice runs once (the lease).
    missed = 0
    for run in ImportRun.objects.filter(stage=Stage.QUEUED, created_at__lt=now - timedelta(seconds=5)):
        if lease_exists(lease_key(run.pk)) or lease_exists(run_queued_key(run.pk)):
            continue
        if import_run_enqueue(run=run):
            missed += 1
    expired = import_run_expire_held()
    orphans = _remove_orphan_files()
    resumed = alerts_resume()
    return {
        "stale": stale, "retried": retried, "enqueued": missed, "expired": expired, "orphan_files": orphans,
        "alerts_resumed": resumed,
    }  # fmt: skip


def _retry(run: ImportRun) -> bool:
    """Queue a run whose worker died again, from its file or its staged rows; False when it has no try left."""
    from imports.services import import_run_enqueue

    if run.attempts >= settings.IMPORT_RETRIES:
        return False
    has_file = bool(run.file_path) and Path(run.file_path).exists()
    staged = engine.has_staged_rows(run)
    confirmed = run.stage == Stage.APPLYING and run.undo_of_id is None
    # A run killed while reading has partial staged rows: only its file can start it again.
    from_staged = run.stage == Stage.COMPARING and staged
    if run.undo_of_id is not None:
        job, args, stage = "imports.jobs.import_undo_job", (run.pk,), Stage.QUEUED
    elif confirmed:
        if not staged:
            return False
        job, args, stage = "imports.jobs.import_run_job", (run.pk, True), Stage.APPLYING
    elif has_file or from_staged:
        job, args, stage = "imports.jobs.import_run_job", (run.pk, False, from_staged and not has_file), Stage.QUEUED
    else:
        return False
    updated = ImportRun.objects.filter(pk=run.pk, stage=run.stage, attempts=run.attempts).update(
        stage=stage, attempts=run.attempts + 1, started_at=timezone.now(), progress=0, enqueued_at=None
    )
    if not updated:
        return True  # another janitor took it
    log.warning("import run %s lost its worker in stage %s; queued again (try %s)", run.pk, run.stage, run.attempts + 2)
    metrics.IMPORT_RETRIES.inc()
    run.refresh_from_db()
    import_run_enqueue(run=run, job=job, args=args)
    return True


def _give_up(run: ImportRun) -> bool:
    updated = ImportRun.objects.filter(pk=run.pk, stage=run.stage).update(
        stage=Stage.FAILED, error=STOPPED, finished_at=timezone.now(), worker_lost=True
    )
    if not updated:
        return False
    log.error("import run %s lost its worker on every try; failed", run.pk)
    metrics.IMPORT_RUNS.labels(outcome=Stage.FAILED).inc()
    engine.discard(run)
    delete_file(run)
    from imports.services import import_run_tell_managers

    import_run_tell_managers(run=run)
    return True


def _remove_orphan_files() -> int:
    folder = Path(settings.UPLOAD_DIR)
    if not folder.is_dir():
        return 0
    wanted = set(
        ImportRun.objects.exclude(file_path="")
        .exclude(stage__in=(Stage.DONE, Stage.FAILED, Stage.CANCELLED))
        .values_list("file_path", flat=True)
    )
    cutoff = time.time() - 3600
    removed = 0
    for path in folder.glob("*.upload"):
        if str(path) not in wanted:
            try:
                # An upload being written by the web process has no run yet: leave fresh files alone.
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
    return removed


def results_purge(*, now=None, batch: int | None = None, max_batches: int = 20) -> int:
    """Delete per-number results of runs finished more than IMPORT_RESULTS_KEEP_DAYS ago, a batch per statement
    and a transaction per batch, so no lock is held long and an import never waits on it (it touches only old
    runs' rows). The run's counts and every opt event stay. Returns the rows deleted this call."""
    now = now or timezone.now()
    batch = batch or settings.IMPORT_RESULTS_PURGE_BATCH
    cutoff = now - timedelta(days=settings.IMPORT_RESULTS_KEEP_DAYS)
    deleted = 0
    runs = ImportRun.objects.filter(finished_at__lt=cutoff, results_purged_at__isnull=True).order_by("id")
    for run_id in runs.values_list("id", flat=True)[:100]:
        while deleted < batch * max_batches:
            with transaction.atomic():
                ids = list(ImportResult.objects.filter(run_id=run_id).order_by().values_list("id", flat=True)[:batch])
                if ids:
                    ImportResult.objects.filter(id__in=ids).delete()
            deleted += len(ids)
            if len(ids) < batch:
                ImportRun.objects.filter(pk=run_id).update(results_purged_at=now)
                break
        else:
            break
    if deleted:
        metrics.RESULTS_PURGED.inc(deleted)
        log.info("purged %s import results older than %s days", deleted, settings.IMPORT_RESULTS_KEEP_DAYS)
    return deleted


def _once_per_period(name: str) -> bool:
    return bool(_redis().set(f"am:import-janitor:{name}", "1", nx=True, ex=max(1, settings.JANITOR_SECONDS - 1)))


def janitor_beat() -> dict | None:
    """From a worker's heartbeat: the janitor, once per JANITOR_SECONDS over all workers; then the janitor's chain
    started again if the job that carried it died (one SET NX)."""
    schedule_janitor()
    if not _once_per_period("ran"):
        return None
    return janitor()


def janitor_pass() -> dict:
    """The scheduled janitor: the retention purge (and the janitor), once per JANITOR_SECONDS, then its next run."""
    try:
        if not _once_per_period("job-ran"):
            return {"skipped": True}
        done = janitor()
        done["purged"] = results_purge()
        return done
    finally:
        schedule_janitor(force=True)


def schedule_janitor(*, force: bool = False) -> None:
    """One chain of janitor jobs for all workers: the key says one is scheduled (it lapses if its worker died)."""
    every = _janitor_every()
    if force or _redis().set("am:import-janitor:scheduled", "1", nx=True, ex=int(every.total_seconds()) * 3):
        if force:
            _redis().set("am:import-janitor:scheduled", "1", ex=int(every.total_seconds()) * 3)
        enqueue("imports", "imports.jobs.janitor_job", after=every, committed=True)  # the chain needs no row of anyone
