"""RQ jobs of imports: thin — each loads its run and calls imports.running (or the janitor, imports.janitor)."""

from alertmanager.logs import job_context
from imports.janitor import janitor, janitor_pass
from imports.models import ImportRun, Stage
from imports.running import import_run, import_undo, started


def import_run_job(run_id: int, confirmed: bool = False, from_staged: bool = False) -> str:
    started(run_id)
    janitor()
    run = ImportRun.objects.select_related("configuration", "account").filter(pk=run_id).first()
    if run is None or run.stage in (Stage.DONE, Stage.FAILED, Stage.CANCELLED):
        return "nothing to do"
    if confirmed != (run.stage == Stage.APPLYING):
        return f"not runnable in stage {run.stage}"
    with job_context(import_run=run.pk, account=run.account.slug):
        return import_run(run, confirmed=confirmed, from_staged=from_staged)


def import_undo_job(run_id: int) -> str:
    started(run_id)
    janitor()
    run = ImportRun.objects.select_related("account").filter(pk=run_id, stage=Stage.QUEUED).first()
    if run is None:
        return "nothing to do"
    with job_context(import_run=run.pk, account=run.account.slug):
        return import_undo(run)


def janitor_job() -> dict:
    """The scheduled janitor: the retention purge (and the janitor), once per JANITOR_SECONDS, then its next run."""
    return janitor_pass()
