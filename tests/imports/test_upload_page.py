"""The FileUploader page: pick a file and a layout, submit, and the upload becomes an import run."""

from pathlib import Path

import pytest
from django.urls import reverse

from imports.models import ImportRun, Stage
from subscribers.models import Status, Subscriber
from tests.conftest import verified_login
from tests.imports.pages import approved_configuration, cis_csv, preformatted_csv, upload_and_run, uploaded

pytestmark = pytest.mark.django_db

PREFORMATTED = preformatted_csv(["Phone,Tag", "(202) 555-0144,North", "202.555.0145,South", "not a phone,North"])


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, rq_queues):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


def _files_left(settings) -> list[Path]:
    directory = Path(settings.UPLOAD_DIR)
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def test_it_offers_preformatted_and_only_the_approved_configurations(uploader_client, account, manager):
    from imports import services
    from imports.fieldmap import FieldMap

    approved_configuration(account, manager, name="Nightly CIS export", mode="append_soft")
    services.configuration_save(
        account=account,
        user=manager,
        name="Draft export",
        field_map=FieldMap.load({"phone_columns": ["A"]}),
        mode="append",
    )
    response = uploader_client.get(reverse("imports:upload"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Preformatted" in page
    assert "Nightly CIS export" in page
    assert "Opted-in numbers missing from the file will be suspended." in page
    assert "Draft export" not in page
    assert 'type="file"' in page and 'for="id_file"' in page


def test_an_uploader_imports_a_preformatted_file_and_lands_on_its_results(uploader_client, account, uploader, settings):
    run = upload_and_run(uploader_client, PREFORMATTED)
    assert run.stage == Stage.DONE
    assert run.started_by == uploader
    assert set(Subscriber.objects.filter(account=account).values_list("phone", "status")) == {
        ("+12025550144", Status.OPTED_IN),
        ("+12025550145", Status.OPTED_IN),
    }
    response = uploader_client.get(reverse("imports:run", args=[run.pk]))
    assert response.status_code == 200
    assert response.context["figures"].outcomes[0].value == 2
    assert b'data-count="opted_in">2' in response.content
    assert b'data-count="rejected">1' in response.content
    assert not _files_left(settings), "the uploaded file must be deleted once the job has read it"


def test_it_applies_the_chosen_preformatted_action(manager_client, account, make_subscriber):
    from subscribers.transitions import State

    for i in range(10, 30):  # one number of twenty-one stays under the guard's share
        make_subscriber(account, f"+120255501{i}", State.OPTED_IN)
    make_subscriber(account, "+12025550144", State.OPTED_IN)
    run = upload_and_run(manager_client, preformatted_csv(["2025550144"]), action="suspend")
    assert run.stage == Stage.DONE
    assert Subscriber.objects.get(account=account, phone="+12025550144").status == Status.SUSPENDED


def test_a_preview_only_upload_shows_the_diff_and_changes_nothing(uploader_client, account):
    run = upload_and_run(uploader_client, PREFORMATTED, dry_run="on")
    assert run.dry_run and run.stage == Stage.DONE
    assert not Subscriber.objects.filter(account=account).exists()
    page = uploader_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert "Preview only" in page and "Nothing was changed" in page
    assert "What it would change" in page


def test_an_uploader_imports_with_an_approved_configuration(uploader_client, account, manager):
    configuration = approved_configuration(account, manager)
    run = upload_and_run(uploader_client, cis_csv(), name="cis.csv", layout=f"config-{configuration.pk}")
    assert run.stage == Stage.DONE
    assert run.configuration == configuration
    phones = set(Subscriber.objects.filter(account=account).values_list("phone", flat=True))
    assert {"+12025550144", "+12025550145", "+12025550146", "+12025550147", "+12025550148"} <= phones
    page = uploader_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert "Nightly CIS export" in page


def test_a_configuration_that_lost_its_approval_is_refused(uploader_client, account, manager):
    from imports import services
    from imports.fieldmap import FieldMap

    configuration = approved_configuration(account, manager)
    services.configuration_save(
        account=account,
        user=manager,
        name=configuration.name,
        field_map=FieldMap.load({"phone_columns": ["PrimaryPhone"]}),
        mode="append",
        configuration=configuration,
    )
    response = uploader_client.post(
        reverse("imports:upload"), {"layout": f"config-{configuration.pk}", "file": uploaded("cis.csv", cis_csv())}
    )
    assert response.status_code == 200
    assert "no longer approved" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_an_unreadable_file_is_refused_at_once_with_what_to_do(uploader_client, settings):
    response = uploader_client.post(
        reverse("imports:upload"), {"layout": "preformatted", "file": uploaded("list.xls", b"%PDF-1.4 not a sheet")}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "not a spreadsheet or CSV file" in page and "a PDF document" in page
    assert not ImportRun.objects.exists()
    assert not _files_left(settings)


def test_it_asks_for_a_file_when_none_was_chosen(uploader_client):
    response = uploader_client.post(reverse("imports:upload"), {"layout": "preformatted"})
    assert response.status_code == 200
    assert "Choose the file to upload." in response.content.decode()


def test_a_file_past_the_upload_limit_is_refused_with_a_clear_message(uploader_client, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    response = uploader_client.post(
        reverse("imports:upload"), {"layout": "preformatted", "file": uploaded("big.csv", b"2025550144\n" * 500)}
    )
    assert response.status_code == 413
    page = response.content.decode()
    assert "the largest file you can upload is 1000" in page
    assert "Split it into smaller files" in page
    assert not ImportRun.objects.exists()
    assert not _files_left(settings)


def test_a_request_far_past_the_limit_is_refused_before_its_body_is_read(uploader_client, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    response = uploader_client.post(
        reverse("imports:upload"), {"layout": "preformatted", "file": uploaded("huge.csv", b"2025550144\n" * 20_000)}
    )
    assert response.status_code == 413
    page = response.content.decode()
    assert "the largest file you can upload is 1000" in page
    assert "Upload a file" in page  # the page itself, not a bare error
    assert not ImportRun.objects.exists()


def test_a_body_refused_by_djangos_own_limits_gets_a_message_too(uploader_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = uploader_client.post(
        reverse("imports:upload"),
        {"layout": "preformatted", "note": "x" * 5000, "file": uploaded("list.csv", PREFORMATTED)},
    )
    assert response.status_code == 413
    assert "too much data at once" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_the_upload_is_protected_from_forgery(uploader, account):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    verified_login(client, uploader)
    response = client.post(
        reverse("imports:upload"), {"layout": "preformatted", "file": uploaded("a.csv", PREFORMATTED)}
    )
    assert response.status_code == 403
    assert not ImportRun.objects.exists()
