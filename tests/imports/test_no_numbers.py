"""Issue 23, item 6: a run that finds no phone number says so, and says which row it took as a header."""

import pytest
from django.urls import reverse

from imports.models import Stage
from tests.imports.pages import upload_and_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, rq_queues):
    settings.UPLOAD_DIR = tmp_path / "uploads"


def test_a_txt_file_whose_only_line_is_a_word_says_no_number_was_found_and_names_the_header(uploader_client):
    run = upload_and_run(uploader_client, b"hello\n", name="hello.txt")
    assert run.stage == Stage.DONE
    page = uploader_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert "No phone number was found in this file." in page
    assert "Its first row, “hello”, was taken as a header" in page


def test_a_file_of_numbers_gets_no_such_warning(uploader_client):
    run = upload_and_run(uploader_client, b"Phone\n2185550101\n", name="list.txt")
    page = uploader_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert 'data-warning="no-numbers"' not in page
    assert run.counts["numbers"] == 1 and run.counts["header"] == "Phone"


def test_a_file_of_only_bad_numbers_says_no_number_was_found_without_a_header(uploader_client):
    run = upload_and_run(uploader_client, b"12\n34\n", name="list.csv")
    page = uploader_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert "No phone number was found in this file." in page
    assert "taken as a header" not in page


def test_the_command_line_report_and_the_api_show_only_figures_when_a_header_was_kept(account, tmp_path):
    import io

    from django.core.management import call_command
    from django.test import RequestFactory

    from api.import_endpoints import _run_data
    from imports.models import ImportRun

    path = tmp_path / "list.csv"
    path.write_text("Phone,Tag\n2185550101,North\n")
    out = io.StringIO()
    call_command("import_file", account.slug, str(path), "--sync", stdout=out)
    assert "opted_in" in out.getvalue() and "Phone, Tag" not in out.getvalue()
    run = ImportRun.objects.get(account=account)
    assert run.counts["header"] == "Phone, Tag"
    counts = _run_data(RequestFactory().get("/"), run)["counts"]
    assert counts["opted_in"] == 1 and all(isinstance(value, int) for value in counts.values())
