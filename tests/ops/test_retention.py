"""Retention: per-number results of runs older than IMPORT_RESULTS_KEEP_DAYS are purged in batches by the
janitor's job; the run's summary and every opt event stay, newer runs keep theirs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from imports import janitor, jobs
from imports.models import ImportResult, ImportRun, Stage
from subscribers.models import OptEvent


@pytest.mark.django_db
def test_old_results_are_purged_in_batches_and_the_summary_and_opt_events_stay(settings, account, run_import):
    settings.IMPORT_RESULTS_KEEP_DAYS = 400
    content = "".join(f"+1205{4000000 + i:07d},D{i % 3}\n" for i in range(250))
    old = run_import(account, content)
    recent = run_import(account, content.replace(",D", ",E"))
    assert old.stage == recent.stage == Stage.DONE
    ImportRun.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=401))
    counts, events = old.counts, OptEvent.objects.filter(account=account).count()
    assert ImportResult.objects.filter(run=old).count() == 250

    assert janitor.results_purge(batch=100, max_batches=2) == 200  # bounded per call: the next call goes on
    assert ImportResult.objects.filter(run=old).count() == 50
    assert janitor.results_purge(batch=100) == 50
    old.refresh_from_db()
    assert old.results_purged_at is not None and old.counts == counts
    assert ImportResult.objects.filter(run=recent).count() == 250
    assert OptEvent.objects.filter(account=account).count() == events
    assert janitor.results_purge(batch=100) == 0


@pytest.mark.django_db
def test_the_janitor_job_runs_once_per_period_and_purges(settings, account, run_import, rq_queues):
    import django_rq

    redis = django_rq.get_connection("imports")
    for key in redis.scan_iter("am:import-janitor:*"):
        redis.delete(key)
    settings.JANITOR_SECONDS = 30
    old = run_import(account, "+12054000001,D\n")
    ImportRun.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=500))
    first = jobs.janitor_job()
    second = jobs.janitor_job()
    assert first["purged"] == 1 and second == {"skipped": True}
    assert django_rq.get_queue("imports").scheduled_job_registry.count >= 1  # its next run is scheduled
