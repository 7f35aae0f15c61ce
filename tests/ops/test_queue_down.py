"""Redis unreachable: an upload, an API import, an SFTP drop, an alert and an export are refused with "the job
queue is unavailable, try again in a minute" (503 for the API), never a 500 and never an orphan run; a run whose
enqueue failed after its commit is queued by the janitor once Redis answers."""

import io
from datetime import timedelta

import asyncssh
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.urls import reverse

from alertmanager.jobqueue import QUEUE_DOWN
from imports import jobs
from imports import services as imports_services
from imports.models import ImportRun, RunSource, Stage
from messaging import alerts
from messaging.models import Alert
from subscribers import exports
from subscribers.selectors import SubscriberFilter
from subscribers.services import ServiceError
from tests.conftest import run_worker
from tests.ops import procs
from tests.sftpdrop.conftest import connect, run


@pytest.fixture
def redis_down(settings):
    """The job queue's Redis does not answer (nothing listens on its port); the rest of Redis is left alone."""
    working = settings.RQ_QUEUES
    dead = f"redis://127.0.0.1:{procs.free_port()}/0"
    settings.RQ_QUEUES = {name: {**config, "URL": dead} for name, config in working.items()}
    yield working
    settings.RQ_QUEUES = working


def _files(settings) -> list:
    return [p for p in settings.UPLOAD_DIR.rglob("*") if p.is_file()] if settings.UPLOAD_DIR.exists() else []


def test_an_upload_says_the_queue_is_unavailable_and_keeps_no_run_nor_file(manager_client, redis_down, settings):
    response = manager_client.post(
        reverse("imports:upload"),
        {"layout": "preformatted", "file": SimpleUploadedFile("list.csv", b"2025550173,D4\n")},
    )
    assert response.status_code == 200
    assert QUEUE_DOWN in response.content.decode()
    assert not ImportRun.objects.exists() and _files(settings) == []


def test_an_api_import_gets_503_with_the_reason(api, redis_down):
    response = api.client.post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("cis.csv", b"2025550173,D4\n")},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 503
    assert response.json() == {"error": "queue_unavailable", "detail": QUEUE_DOWN, "field": None}
    assert not ImportRun.objects.exists()


def test_an_sftp_drop_refuses_the_file(drop_server, credentials, redis_down, drop_settings):
    credential, password = credentials

    async def upload():
        async with connect(drop_server, credential.username, password) as conn:
            async with conn.start_sftp_client() as sftp:
                async with sftp.open("daily.csv", "wb") as handle:
                    await handle.write(b"Phone\n2025550143\n")

    with pytest.raises(asyncssh.SFTPFailure, match="job queue is unavailable"):
        run(upload())
    assert not ImportRun.objects.exists()


def test_an_alert_and_an_export_are_refused_before_anything_is_written(
    account, manager, manager_client, sms, sender, redis_down
):
    with pytest.raises(ServiceError) as refused:
        alerts.alert_create(account=account, body="Outage on Feeder A2.", target="everyone", tags=[], user=manager)
    assert refused.value.code == "queue_unavailable"
    page = manager_client.post(reverse("messaging:alert_new"), {"body": "Outage.", "target": "everyone"})
    assert page.status_code in (200, 302) and not Alert.objects.exists()
    with pytest.raises(ServiceError, match="job queue is unavailable"):
        exports.export_start(
            account=account, user=manager, fmt="csv", query=QueryDict(""), filters=SubscriberFilter(), expected=20_000
        )


@pytest.mark.django_db
def test_a_run_whose_enqueue_failed_after_commit_is_queued_by_the_janitor_when_redis_returns(
    account, settings, rq_queues, django_capture_on_commit_callbacks
):
    working = settings.RQ_QUEUES
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = imports_services.import_run_create(
            account=account, file=io.BytesIO(b"2025550173,D4\n"), file_name="a.csv", source=RunSource.CLI
        )
    settings.RQ_QUEUES = {name: {**c, "URL": f"redis://127.0.0.1:{procs.free_port()}/0"} for name, c in working.items()}
    for callback in callbacks:
        callback()  # Redis went away between the check and the commit: logged, no exception
    settings.RQ_QUEUES = working
    created.refresh_from_db()
    assert created.stage == Stage.QUEUED and created.enqueued_at is None
    ImportRun.objects.filter(pk=created.pk).update(created_at=created.created_at - timedelta(seconds=10))
    assert jobs.janitor()["enqueued"] == 1
    run_worker("imports")
    created.refresh_from_db()
    assert created.stage == Stage.DONE and created.counts["opted_in"] == 1 and created.enqueued_at is not None
