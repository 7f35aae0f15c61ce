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
