"""The lookups run after the import's transaction has committed, in their own job: never inside it."""

import io

import pytest

from imports import services as import_services
from imports.models import RunSource, Stage
from lines.models import JobStage, LookupRun
from tests.conftest import run_worker
from tests.lines.carriers import Carrier

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_lookups_start_only_once_the_import_has_committed(account, rq_queues, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    run = import_services.import_run_create(
        account=account, file=io.BytesIO(b"+12025551001\n+12025551002\n"), file_name="list.csv", source=RunSource.CLI
    )
    run_worker("imports")
    run.refresh_from_db()
    assert run.stage == Stage.DONE
    run_worker("lookups")
    assert sorted(phone for phone, _ in Carrier.calls) == ["+12025551001", "+12025551002"]
    assert Carrier.seen_in_atomic == [False, False]  # no transaction open around a lookup
    assert LookupRun.objects.get(import_run=run).stage == JobStage.DONE
