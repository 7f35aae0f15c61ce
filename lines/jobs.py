"""RQ jobs of lines: thin, they take an id and call the service."""

from lines import lookups, reassigned
from lines.models import JobStage, LookupRun, ReassignedCheckRun


def lookup_batch_job(run_id: int) -> str:
    try:
        return lookups.lookup_batch(run_id=run_id)
    except Exception as exc:
        LookupRun.objects.filter(pk=run_id).update(stage=JobStage.FAILED, error=str(exc)[:1000])
        raise


def reassigned_check_job(check_id: int) -> str:
    try:
        return reassigned.reassigned_check(check_id=check_id)
    except Exception as exc:
        ReassignedCheckRun.objects.filter(pk=check_id).update(stage=JobStage.FAILED, error=str(exc)[:1000])
        raise


def reassigned_monthly_job() -> int:
    """Every account's monthly check, then the next month's run of this job."""
    try:
        return reassigned.reassigned_checks_start_all()
    finally:
        reassigned.schedule_next_month()
