"""Running an import: read its file, compare and apply (or undo), and write stage, progress, counts and errors on
the run. The uploaded file is kept until the run reaches a final stage (or is held for a manager, its rows staged),
so that a run whose worker died can be run again from it. Its jobs (imports.jobs) only load the run and call this.
"""

import logging
import time
from pathlib import Path

from django.utils import timezone

from alertmanager import metrics
from alertmanager.jobqueue import Lease, connection
from imports import engine
from imports.models import FINAL_STAGES, ImportRun, Stage
from imports.readers import FileRejected

log = logging.getLogger(__name__)

ACTIVE = (Stage.READING, Stage.COMPARING, Stage.APPLYING)
STOPPED = (
    "The import stopped before it finished: the worker running it was stopped or crashed on every try. Nothing was "
    "changed; upload the file again."
)
FAILED = "The import failed because of an error on our side. Nothing was changed; try again or contact support."


def _redis():
    return connection("imports")


def lease_key(run_id: int) -> str:
    return f"am:import-run:{run_id}:lease"


def set_fields(run_id: int, **fields) -> None:
    ImportRun.objects.filter(pk=run_id).update(**fields)


def delete_file(run: ImportRun) -> None:
    if run.file_path:
        Path(run.file_path).unlink(missing_ok=True)
        set_fields(run.pk, file_path="")
        run.file_path = ""


def fail(run: ImportRun, message: str, **fields) -> None:
    set_fields(run.pk, stage=Stage.FAILED, error=message, finished_at=timezone.now(), expires_at=None, **fields)
    engine.discard(run)
    run.stage = Stage.FAILED
    metrics.IMPORT_RUNS.labels(outcome=Stage.FAILED).inc()


def delete_file_once_settled(run: ImportRun) -> None:
    """The file goes once the run is final, or held for a manager with its rows staged; before that it is what a
    retry reads again."""
    stage = ImportRun.objects.filter(pk=run.pk).values_list("stage", flat=True).first()
    if stage is None or stage in (*FINAL_STAGES, Stage.AWAITING_CONFIRMATION):
        delete_file(run)


def started(run_id: int) -> None:
    from imports.services import run_queued_key

    _redis().delete(run_queued_key(run_id))


def import_run(run: ImportRun, *, confirmed: bool, from_staged: bool) -> str:
    try:
        with Lease(lease_key(run.pk)) as lease:
            if lease.held_elsewhere():
                return "running on another worker"
            if confirmed or from_staged:
                if not engine.has_staged_rows(run):
                    fail(run, "The rows of this import are no longer kept. Upload the file again.")
                    return "failed"
                if not confirmed:
                    set_fields(run.pk, stage=Stage.COMPARING, started_at=timezone.now(), progress=0)
            else:
                engine.discard(run)  # rows an earlier try staged before its worker died
                _read(run)
                set_fields(run.pk, stage=Stage.COMPARING, progress=0)
            outcome = engine.compare_and_apply(run, confirmed=confirmed)
        run.refresh_from_db()
        metrics.import_finished(run)
        if outcome.stage == Stage.DONE:
            # The import has committed: its numbers' line types are looked up by jobs of their own, never
            # inside its transaction, so a slow or failing provider cannot slow or fail it.
            from lines.lookups import lookup_run_after_import

            lookup_run_after_import(import_run=run)
        return outcome.stage
    except FileRejected as exc:
        fail(run, str(exc))
        return "failed"
    except Exception:
        log.exception("import run %s failed", run.pk)
        fail(run, FAILED)
        raise
    finally:
        delete_file_once_settled(run)


def _read(run: ImportRun) -> None:
    set_fields(run.pk, stage=Stage.READING, started_at=timezone.now(), progress=0)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and done < total:
            return
        last[0] = now
        set_fields(run.pk, progress=min(99, int(100 * done / total)) if total else 0)

    rows = engine.read(run, run.file_path, progress)
    set_fields(run.pk, rows_read=rows, progress=100)


def import_undo(run: ImportRun) -> str:
    try:
        with Lease(lease_key(run.pk)) as lease:
            if lease.held_elsewhere():
                return "running on another worker"
            set_fields(run.pk, stage=Stage.APPLYING, started_at=timezone.now())
            stage = engine.undo(run).stage
        run.refresh_from_db()
        metrics.import_finished(run)
        return stage
    except Exception:
        log.exception("undo run %s failed", run.pk)
        fail(run, FAILED)
        raise
