"""ALP configuration setup: from a sample file to an approved configuration uploaders can use."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse

from imports.models import ImportConfiguration, ImportRun, Stage
from subscribers.models import Subscriber
from tests.conftest import run_worker
from tests.imports.pages import cis_csv, cis_xlsx, client_for, on_commit, uploaded

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, rq_queues):
    settings.UPLOAD_DIR = tmp_path / "uploads"


def _files_left(settings) -> list[Path]:
    directory = Path(settings.UPLOAD_DIR)
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def _sample(client, content: bytes, name="cis-export.csv", **fields) -> str:
    response = client.post(
        reverse("imports:config_new"), {"name": "Nightly CIS export", **fields, "sample": uploaded(name, content)}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    return response.url


def _save(client, columns_url, **fields):
    data = {
        "name": "Nightly CIS export",
        "header_row": "1",
        "phone_columns": ["PrimaryPhone", "MobilePhone"],
        "tag_columns": ["District", "Rate", "Cycle"],
        "mode": "append_soft",
        "save": "1",
        **fields,
    }
    with on_commit():
        return client.post(columns_url, data)


def test_a_manager_sets_up_tests_and_approves_a_configuration_from_a_sample(
    manager_client, account, uploader, settings
):
    assert manager_client.get(reverse("imports:config_new")).status_code == 200
    columns_url = _sample(manager_client, cis_csv())
    assert len(_files_left(settings)) == 1  # the sample waits while the columns are picked

    page = manager_client.get(columns_url).content.decode()
    for header in ("AccountNo", "PrimaryPhone", "MobilePhone", "District", "Rate", "Cycle"):
        assert header in page
    assert 'data-detected="delimiter">comma<' in page
    assert 'data-detected="encoding">cp1252<' in page
    assert "Ada Byron" in page  # its first rows
    assert "C · PrimaryPhone" in page  # columns by letter and header
    assert "Opted-in numbers missing from the file will be suspended." in page

    response = _save(manager_client, columns_url)
    configuration = ImportConfiguration.objects.get(account=account)
    assert response.status_code == 302 and response.url == reverse("imports:config", args=[configuration.pk])
    assert configuration.field_map["phone_columns"] == ["PrimaryPhone", "MobilePhone"]
    assert configuration.field_map["tag_columns"] == ["District", "Rate", "Cycle"]
    assert configuration.mode == "append_soft" and not configuration.is_approved
    test_run = ImportRun.objects.get(configuration=configuration)
    assert test_run.dry_run

    run_worker("imports")
    test_run.refresh_from_db()
    assert test_run.stage == Stage.DONE
    assert not _files_left(settings), "the sample file is deleted once the test has read it"
    assert not Subscriber.objects.filter(account=account).exists(), "a test changes nothing"

    page = manager_client.get(reverse("imports:config", args=[configuration.pk])).content.decode()
    assert "The Preformatted file it turns into" in page
    assert "+12025550144" in page and "Residential" in page
    assert "What it would change on your list" in page
    assert "Approve version 1" in page

    download = manager_client.get(reverse("imports:run_preformatted", args=[test_run.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Phone", "Tags"]
    by_phone = {row[0]: row[1:] for row in rows[1:]}
    assert sorted(by_phone["+12025550144"]) == ["C1", "North", "Residential"]
    assert sorted(by_phone["+12025550145"]) == ["C1", "North", "Residential"]  # the second phone column, same tags
    assert any(tag.startswith("'=HYPERLINK") for tag in by_phone["+12025550147"])  # formula-safe
    assert "+18005550100" not in by_phone

    as_uploader = client_for(uploader)
    assert "Nightly CIS export" not in as_uploader.get(reverse("imports:upload")).content.decode()
    response = manager_client.post(reverse("imports:config_approve", args=[configuration.pk]), follow=True)
    assert "is approved" in response.content.decode()
    configuration.refresh_from_db()
    assert configuration.is_approved
    assert "Nightly CIS export" in as_uploader.get(reverse("imports:upload")).content.decode()


def test_a_sample_workbook_shows_its_sheet_and_its_columns(manager_client, settings):
    columns_url = _sample(manager_client, cis_xlsx(sheet="Customers"), name="export.xlsx")
    page = manager_client.get(columns_url).content.decode()
    assert 'data-detected="sheet">Customers' in page
    assert "D · MobilePhone" in page


def test_reading_the_sample_without_a_header_names_columns_by_letter(manager_client):
    columns_url = _sample(manager_client, cis_csv())
    response = manager_client.post(columns_url, {"name": "Nightly CIS export", "header_row": "0", "reread": "1"})
    assert response.status_code == 200
    labels = [label for _, label in response.context["form"].fields["phone_columns"].choices]
    assert labels[:3] == ["Column A", "Column B", "Column C"]
    assert "AccountNo" in response.content.decode()  # the header is now shown as a row


def test_a_configuration_needs_a_phone_column(manager_client, account):
    columns_url = _sample(manager_client, cis_csv())
    response = _save(manager_client, columns_url, phone_columns=[])
    assert response.status_code == 200
    assert "Pick at least one phone column." in response.content.decode()
    assert not ImportConfiguration.objects.exists()


def test_an_unreadable_sample_is_refused_with_what_to_do(manager_client, settings):
    response = manager_client.post(
        reverse("imports:config_new"),
        {"name": "Old export", "sample": uploaded("export.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)},
    )
    assert response.status_code == 200
    assert "old Excel .xls file" in response.content.decode()
    assert not _files_left(settings)


def test_a_sample_past_the_upload_limit_is_refused(manager_client, settings):
    settings.MAX_UPLOAD_BYTES = 500
    response = manager_client.post(
        reverse("imports:config_new"), {"name": "Big", "sample": uploaded("big.csv", cis_csv() * 10)}
    )
    assert response.status_code == 413
    assert "the largest file you can upload is 500" in response.content.decode()
    assert not _files_left(settings)


def test_a_name_already_taken_is_refused(manager_client, account, manager):
    from tests.imports.pages import approved_configuration

    approved_configuration(account, manager, name="Nightly CIS export")
    response = manager_client.post(
        reverse("imports:config_new"), {"name": "nightly cis export", "sample": uploaded("a.csv", cis_csv())}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_editing_an_approved_configuration_drops_its_approval(manager_client, account, manager, uploader):
    from tests.imports.pages import approved_configuration

    configuration = approved_configuration(account, manager)
    url = reverse("imports:config_edit", args=[configuration.pk])
    assert 'value="PrimaryPhone, MobilePhone"' in manager_client.get(url).content.decode()
    response = manager_client.post(
        url,
        {
            "name": configuration.name,
            "phone_columns": "PrimaryPhone",
            "tag_columns": "District, Cycle",
            "mode": "append_hard",
            "header_row": "1",
        },
        follow=True,
    )
    assert "Saved as version 2" in response.content.decode()
    configuration.refresh_from_db()
    assert configuration.version == 2 and not configuration.is_approved
    assert configuration.field_map["tag_columns"] == ["District", "Cycle"]
    assert configuration.mode == "append_hard"
    assert configuration.name not in client_for(uploader).get(reverse("imports:upload")).content.decode()


def test_an_edit_that_makes_no_sense_is_refused_with_a_sentence(manager_client, account, manager):
    from tests.imports.pages import approved_configuration

    configuration = approved_configuration(account, manager)
    response = manager_client.post(
        reverse("imports:config_edit", args=[configuration.pk]),
        {"name": configuration.name, "phone_columns": "PrimaryPhone", "mode": "append", "header_row": "0"},
    )
    assert response.status_code == 200
    assert "name columns by letter" in response.content.decode()
    configuration.refresh_from_db()
    assert configuration.version == 1 and configuration.is_approved


def test_testing_an_existing_configuration_with_a_new_sample(manager_client, account, manager, settings):
    from tests.imports.pages import approved_configuration

    configuration = approved_configuration(account, manager)
    response = manager_client.post(
        reverse("imports:config_sample", args=[configuration.pk]), {"sample": uploaded("b.csv", cis_csv())}
    )
    assert response.status_code == 302
    page = manager_client.get(response.url).content.decode()
    assert re.search(r'name="phone_columns" value="PrimaryPhone"[^>]* checked', page)  # starts from what it has
    response = _save(manager_client, response.url, mode="append")
    assert response.status_code == 302
    run_worker("imports")
    configuration.refresh_from_db()
    assert configuration.version == 2
    assert ImportRun.objects.get(configuration=configuration).configuration_version == 2
    assert not _files_left(settings)


def test_a_retired_configuration_is_no_longer_offered(manager_client, account, manager, uploader):
    from tests.imports.pages import approved_configuration

    configuration = approved_configuration(account, manager)
    response = manager_client.post(reverse("imports:config_retire", args=[configuration.pk]), follow=True)
    assert "is retired" in response.content.decode()
    assert configuration.name not in client_for(uploader).get(reverse("imports:upload")).content.decode()
    page = manager_client.get(reverse("imports:configs")).content.decode()
    assert "Retired" in page


def test_the_configuration_list_shows_each_with_its_mode_in_plain_words(manager_client, account, manager):
    from tests.imports.pages import approved_configuration

    approved_configuration(account, manager, name="Nightly CIS export", mode="append_hard")
    page = manager_client.get(reverse("imports:configs")).content.decode()
    assert "Nightly CIS export" in page and "Approved" in page
    assert "will be opted out" in page


def test_the_name_of_a_retired_configuration_is_refused_with_a_sentence_not_a_500(manager_client, account, manager):
    from imports import services
    from tests.imports.pages import approved_configuration

    retired = approved_configuration(account, manager, name="Old CIS export")
    services.configuration_retire(configuration=retired, user=manager)
    other = approved_configuration(account, manager, name="Nightly CIS export")

    response = manager_client.post(
        reverse("imports:config_new"), {"name": "Old CIS export", "sample": uploaded("a.csv", cis_csv())}
    )
    assert response.status_code == 200
    assert "retired configuration called “Old CIS export” already exists" in response.content.decode()

    response = manager_client.post(
        reverse("imports:config_edit", args=[other.pk]),
        {"name": "Old CIS export", "phone_columns": "PrimaryPhone", "mode": "append", "header_row": "1"},
    )
    assert response.status_code == 200
    assert "retired configuration called “Old CIS export” already exists" in response.content.decode()
    other.refresh_from_db()
    assert other.name == "Nightly CIS export" and other.version == 1


def test_saving_a_sample_under_a_name_retired_meanwhile_is_refused_on_the_columns_page(
    manager_client, account, manager
):
    from imports import services
    from tests.imports.pages import approved_configuration

    columns_url = _sample(manager_client, cis_csv())
    retired = approved_configuration(account, manager, name="Nightly CIS export")
    services.configuration_retire(configuration=retired, user=manager)
    response = _save(manager_client, columns_url)
    assert response.status_code == 200
    assert "retired ones keep their names" in response.content.decode()
    assert ImportConfiguration.objects.filter(account=account).count() == 1


def test_the_preformatted_file_of_a_soft_opt_out_test_lists_the_samples_rows_not_the_accounts_numbers(
    manager_client, account, make_subscriber
):
    # Issue 23, item 2: the numbers a soft opt-out would suspend were listed, tagless, before the sample's rows.
    from subscribers.transitions import State

    for i in range(30):
        make_subscriber(account, f"+1612555{i:04d}", State.OPTED_IN, tags=["Old"])
    columns_url = _sample(manager_client, cis_csv())
    _save(manager_client, columns_url)
    configuration = ImportConfiguration.objects.get(account=account)
    test_run = ImportRun.objects.get(configuration=configuration)
    run_worker("imports")
    test_run.refresh_from_db()
    assert test_run.counts["suspended"] == 30  # what it would change still says so

    page = manager_client.get(reverse("imports:config", args=[configuration.pk])).content.decode()
    preview = page.split('id="preformatted-heading"')[1].split("</table>")[0]
    assert "+1612555" not in preview and "(612) 555" not in preview
    assert "(202) 555-0144" in preview or "+12025550144" in preview

    download = manager_client.get(reverse("imports:run_preformatted", args=[test_run.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows[1][0] in ("+12025550144", "+12025550145")  # the sample's first row (two phones) comes first
    assert not any(row[0].startswith("+1612555") for row in rows[1:])
