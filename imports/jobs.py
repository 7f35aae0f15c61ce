"""RQ jobs of imports: thin — they take a run's id, call the engine, and write stage, progress, counts and
errors on the run. The uploaded file is deleted as soon as it has been read, whatever happens.

A worker that is killed cannot clean up after itself, so each job holds a lease in Redis that a thread
renews; the janitor (run when a job starts and every few minutes by the scheduler) fails runs whose lease
has lapsed, and removes files and staging tables nobody owns.
"""

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import django_rq
from django.conf import settings
from django.utils import timezone

from imports import engine
from imports.models import ImportRun, Stage
from imports.readers import FileRejected

log = logging.getLogger(__name__)

JANITOR_EVERY = timedelta(minutes=5)
ACTIVE = (Stage.READING, Stage.COMPARING, Stage.APPLYING)
_STOPPED = (
    "The import stopped before it finished (the worker running it was stopped or crashed). Nothing was changed; "
    "upload the file again."
)
_FAILED = "The import failed because of an error on our side. Nothing was changed; try again or contact support."


def _redis():
    return django_rq.get_connection("imports")


def _lease_key(run_id: int) -> str:
    return f"am:import-run:{run_id}:lease"


class _Lease:
    """Says "a worker is on this run" for as long as the process lives, even inside a long SQL statement."""

    def __init__(self, run_id: int):
        self.key = _lease_key(run_id)
        self.redis = _redis()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._renew, daemon=True)

    def __enter__(self):
        self.seconds = settings.IMPORT_LEASE_SECONDS
        self.redis.set(self.key, "1", ex=self.seconds)
        self.thread.start()
        return self

    def _renew(self):
        while not self.stop.wait(self.seconds / 3):
            try:
                self.redis.set(self.key, "1", ex=self.seconds)
            except Exception:  # a Redis hiccup must not kill the import; the next renewal tries again
                log.warning("could not renew the lease of %s", self.key)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)
        self.redis.delete(self.key)


def _set(run_id: int, **fields) -> None:
    ImportRun.objects.filter(pk=run_id).update(**fields)


def _delete_file(run: ImportRun) -> None:
    if run.file_path:
        Path(run.file_path).unlink(missing_ok=True)
        _set(run.pk, file_path="")
        run.file_path = ""


def _fail(run: ImportRun, message: str) -> None:
    _set(run.pk, stage=Stage.FAILED, error=message, finished_at=timezone.now(), expires_at=None)
    engine.discard(run)


def import_run_job(run_id: int, confirmed: bool = False) -> str:
    janitor()
    run = ImportRun.objects.select_related("configuration").filter(pk=run_id).first()
    if run is None or run.stage in (Stage.DONE, Stage.FAILED, Stage.CANCELLED):
        return "nothing to do"
    if confirmed != (run.stage == Stage.APPLYING):
        return f"not runnable in stage {run.stage}"
    try:
        with _Lease(run.pk):
            if not confirmed:
                _read(run)
                _set(run.pk, stage=Stage.COMPARING, progress=0)
            else:
                if not engine.has_staged_rows(run):
                    _fail(run, "The rows of this import are no longer kept. Upload the file again.")
                    return "failed"
            outcome = engine.compare_and_apply(run, confirmed=confirmed)
        if outcome.stage == Stage.DONE:
            # The import has committed: its numbers' line types are looked up by jobs of their own, never
            # inside its transaction, so a slow or failing provider cannot slow or fail it.
            from lines.lookups import lookup_run_after_import

            lookup_run_after_import(import_run=run)
        return outcome.stage
    except FileRejected as exc:
        _fail(run, str(exc))
        return "failed"
    except Exception:
        log.exception("import run %s failed", run_id)
        _fail(run, _FAILED)
        raise
    finally:
        _delete_file(run)


def _read(run: ImportRun) -> None:
    _set(run.pk, stage=Stage.READING, started_at=timezone.now(), progress=0)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and done < total:
            return
        last[0] = now
        _set(run.pk, progress=min(99, int(100 * done / total)) if total else 0)

    try:
        rows = engine.read(run, run.file_path, progress)
    finally:
        _delete_file(run)  # read, or unreadable: either way the file goes now (SPEC §4.3)
    _set(run.pk, rows_read=rows, progress=100)


def import_undo_job(run_id: int) -> str:
    janitor()
    run = ImportRun.objects.filter(pk=run_id, stage=Stage.QUEUED).first()
    if run is None:
        return "nothing to do"
    try:
        with _Lease(run.pk):
            _set(run.pk, stage=Stage.APPLYING, started_at=timezone.now())
            return engine.undo(run).stage
    except Exception:
        log.exception("undo run %s failed", run_id)
        _fail(run, _FAILED)
        raise


def janitor() -> dict:
    """Fail runs whose worker died, expire held runs, and delete upload files and staging tables nobody owns."""
    from imports.services import import_run_expire_held

    redis = _redis()
    stale = 0
    grace = timezone.now() - timedelta(seconds=settings.IMPORT_LEASE_SECONDS * 2)
    for run in ImportRun.objects.filter(stage__in=ACTIVE, started_at__lt=grace):
        if not redis.exists(_lease_key(run.pk)):
            updated = ImportRun.objects.filter(pk=run.pk, stage=run.stage).update(
                stage=Stage.FAILED, error=_STOPPED, finished_at=timezone.now()
            )
            if updated:
                stale += 1
                engine.discard(run)
                _delete_file(run)
    expired = import_run_expire_held()
    orphans = _remove_orphan_files()
    return {"stale": stale, "expired": expired, "orphan_files": orphans}


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


def janitor_job() -> dict:
    """The periodic janitor: runs, then schedules its next run."""
    try:
        return janitor()
    finally:
        django_rq.get_queue("imports").enqueue_in(JANITOR_EVERY, janitor_job)
