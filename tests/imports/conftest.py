import io

import pytest
from django.conf import settings

from imports import services
from imports.models import ImportRun, RunSource
from subscribers.models import OptEvent, Subscriber
from tests.conftest import run_worker


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


@pytest.fixture
def run_import(rq_queues, django_capture_on_commit_callbacks):
    """Start an import as the web upload would, then let a real RQ worker (burst mode) run it."""

    def run(account, content: bytes | str, *, name="list.csv", work=True, **kwargs) -> ImportRun:
        data = content.encode() if isinstance(content, str) else content
        with django_capture_on_commit_callbacks(execute=True):
            created = services.import_run_create(
                account=account,
                file=io.BytesIO(data),
                file_name=name,
                source=kwargs.pop("source", RunSource.CLI),
                **kwargs,
            )
        if work:
            run_worker("imports")
            created.refresh_from_db()
        return created

    return run


@pytest.fixture
def work(rq_queues, django_capture_on_commit_callbacks):
    """Run what a service enqueued (confirm, undo) through a real worker."""

    def do(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = call(*args, **kwargs)
        run_worker("imports")
        return result

    return do


def snapshot(account) -> dict:
    """Everything an import may change in an account, to compare before and after."""
    numbers = {
        s.phone: (s.status, s.opted_out_by, s.removed_at, tuple(sorted(t.name for t in s.tags.all())))
        for s in Subscriber.objects.filter(account=account).prefetch_related("tags")
    }
    return {"numbers": numbers, "events": OptEvent.objects.filter(account=account).count()}


def uploads_left() -> list:
    folder = settings.UPLOAD_DIR
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
