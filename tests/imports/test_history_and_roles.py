"""Import history, and who may see which run: an uploader their own runs only, nobody another account's."""

import pytest
from django.urls import reverse

from imports.models import ImportRun, RunSource, Stage
from tests.imports.pages import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(account, other_account, manager, uploader, other_manager):
    mine = ImportRun.objects.create(
        account=account, started_by=uploader, file_name="mine.csv", stage=Stage.DONE, counts={"opted_in": 3, "new": 2}
    )
    theirs = ImportRun.objects.create(
        account=account, started_by=manager, file_name="managers.csv", stage=Stage.DONE, source=RunSource.WEB
    )
    sftp = ImportRun.objects.create(account=account, file_name="nightly.csv", source=RunSource.SFTP, stage=Stage.QUEUED)
    elsewhere = ImportRun.objects.create(account=other_account, started_by=other_manager, file_name="other.csv")
    return {"mine": mine, "theirs": theirs, "sftp": sftp, "elsewhere": elsewhere}


def _listed(response) -> set[str]:
    return {row.record.file_name for row in response.context["table"].paginated_rows}


def test_a_manager_sees_every_run_of_the_account_and_no_other(manager_client, runs):
    response = manager_client.get(reverse("imports:history"))
    assert response.status_code == 200
    assert _listed(response) == {"mine.csv", "managers.csv", "nightly.csv"}
    page = response.content.decode()
    assert "SFTP" in page and "3 opted in (2 new)" in page and "uploader" in page


def test_an_uploader_sees_only_the_runs_they_started(uploader_client, runs):
    response = uploader_client.get(reverse("imports:history"))
    assert response.status_code == 200
    assert _listed(response) == {"mine.csv"}


def test_an_uploader_opens_their_own_results_and_gets_403_on_anyone_elses(uploader_client, runs):
    for name in ("imports:run", "imports:run_csv", "imports:run_preformatted"):
        assert uploader_client.get(reverse(name, args=[runs["mine"].pk])).status_code == 200
        assert uploader_client.get(reverse(name, args=[runs["theirs"].pk])).status_code == 403
        assert uploader_client.get(reverse(name, args=[runs["sftp"].pk])).status_code == 403


def test_another_accounts_run_is_not_found_whatever_the_role(manager_client, runs):
    for name in ("imports:run", "imports:run_csv", "imports:run_preformatted", "imports:run_undo"):
        assert manager_client.get(reverse(name, args=[runs["elsewhere"].pk])).status_code == 404
    for name in ("imports:run_confirm", "imports:run_cancel", "imports:run_undo"):
        assert manager_client.post(reverse(name, args=[runs["elsewhere"].pk])).status_code == 404


def test_an_uploader_cannot_confirm_or_cancel(uploader_client, runs):
    mine = runs["mine"]
    ImportRun.objects.filter(pk=mine.pk).update(stage=Stage.AWAITING_CONFIRMATION)
    for name in ("imports:run_confirm", "imports:run_cancel"):
        assert uploader_client.post(reverse(name, args=[mine.pk])).status_code == 403
    mine.refresh_from_db()
    assert mine.stage == Stage.AWAITING_CONFIRMATION


def test_an_uploader_gets_403_on_every_configuration_page(uploader_client, account, manager):
    from tests.imports.pages import approved_configuration

    configuration = approved_configuration(account, manager)
    for name in ("imports:configs", "imports:config_new"):
        assert uploader_client.get(reverse(name)).status_code == 403
    for name in ("imports:config", "imports:config_edit", "imports:config_sample"):
        assert uploader_client.get(reverse(name, args=[configuration.pk])).status_code == 403
    for name in ("imports:config_approve", "imports:config_retire"):
        assert uploader_client.post(reverse(name, args=[configuration.pk])).status_code == 403
    assert uploader_client.get(reverse("imports:config_columns", args=["x" * 32])).status_code == 403


def test_another_accounts_configuration_is_not_found(account, manager, other_manager):
    from tests.imports.pages import approved_configuration

    configuration = approved_configuration(account, manager)
    client = client_for(other_manager)
    for name in ("imports:config", "imports:config_edit", "imports:config_sample"):
        assert client.get(reverse(name, args=[configuration.pk])).status_code == 404
    for name in ("imports:config_approve", "imports:config_retire"):
        assert client.post(reverse(name, args=[configuration.pk])).status_code == 404
    configuration.refresh_from_db()
    assert configuration.is_approved


def test_the_uploader_menu_shows_upload_and_imports_only(uploader_client):
    page = uploader_client.get(reverse("imports:upload")).content.decode()
    assert f'href="{reverse("imports:upload")}"' in page
    assert f'href="{reverse("imports:history")}"' in page
    assert f'href="{reverse("imports:configs")}"' not in page


def test_an_uploader_lands_on_the_uploader_after_logging_in(uploader_client):
    response = uploader_client.get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("imports:upload")
