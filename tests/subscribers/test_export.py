"""Exports: CSV and XLSX of a filtered view, formula cells neutralised, large ones as an RQ job."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from alertmanager import tabular
from subscribers import exports
from subscribers.models import Tag
from subscribers.transitions import State
from tests.conftest import run_worker, verified_login

pytestmark = pytest.mark.django_db

EXPORT = reverse("subscribers:export")
NASTY = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1)", "-1+2", "\tTabbed", "\rReturn"]


@pytest.fixture
def numbers(account, make_subscriber):
    # Tags are trimmed, so tab and carriage return starts are tested on neutralise itself below.
    for n, nasty in enumerate(NASTY[:4]):
        make_subscriber(account, f"+1763555{1000 + n:04d}", State.OPTED_IN, tags=[nasty])
    make_subscriber(account, "+12185550102", State.SUSPENDED, tags=["District 1"])
    make_subscriber(account, "+12185550103", State.OUT_SUBSCRIBER)


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_it_exports_the_filtered_view_as_csv(manager_client, account, numbers, other_account, make_subscriber):
    make_subscriber(other_account, "+12185550199", State.OPTED_IN)
    response = manager_client.get(EXPORT, {"status": "suspended", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="lakeside-numbers-')
    rows = _csv_rows(response)
    assert rows[0] == exports.HEADER
    assert rows[1][:4] == ["(218) 555-0102", "Suspended", "", "District 1"]
    assert len(rows) == 2


def test_every_formula_like_cell_is_neutralised_in_csv(manager_client, numbers):
    rows = _csv_rows(manager_client.get(EXPORT, {"q": "763555", "format": "csv"}))
    assert sorted(row[3] for row in rows[1:]) == sorted("'" + nasty for nasty in NASTY[:4])
    for cell in (cell for row in rows for cell in row):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("value", NASTY)
def test_neutralise_prefixes_each_formula_start(value):
    assert tabular.neutralise(value) == "'" + value
    assert tabular.neutralise("District 1") == "District 1"


def test_xlsx_cells_are_strings_never_formulas(manager_client, account, make_subscriber):
    make_subscriber(account, "+12185550101", State.OPTED_IN, tags=["=1+1"])
    response = manager_client.get(EXPORT, {"format": "xlsx"})
    assert response["Content-Type"] == exports.CONTENT_TYPES["xlsx"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == exports.HEADER
    assert values[1][0] == "(218) 555-0101"
    assert values[1][3] == "'=1+1"
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row if cell.value is not None)


def test_a_large_export_runs_as_a_job_with_a_download_link(
    django_capture_on_commit_callbacks, manager_client, account, make_subscriber, monkeypatch, rq_queues
):
    monkeypatch.setattr(exports, "INLINE_MAX", 2)
    for n in range(5):
        make_subscriber(account, f"+1218555{3000 + n:04d}", State.OPTED_IN, tags=["Big"])
    tag = Tag.objects.get(account=account, name="Big")
    with django_capture_on_commit_callbacks(execute=True):  # django-rq enqueues once the request commits
        response = manager_client.get(EXPORT, {"tags": tag.pk, "format": "csv"})
    assert response.status_code == 302
    status_url = response.url
    waiting = manager_client.get(status_url)
    assert "Waiting for a worker" in waiting.text
    run_worker("default")
    polled = manager_client.get(status_url, headers={"HX-Request": "true"})
    assert polled.status_code == 286  # the fragment is final: htmx stops polling
    assert "Your export is ready: 5 numbers." in polled.text
    download = manager_client.get(status_url + "download/")
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 6 and rows[1][3] == "Big"


def test_another_account_cannot_open_an_export(
    django_capture_on_commit_callbacks,
    manager_client,
    account,
    make_subscriber,
    monkeypatch,
    rq_queues,
    other_manager,
    client,
):
    monkeypatch.setattr(exports, "INLINE_MAX", 0)
    make_subscriber(account, "+12185550101", State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        status_url = manager_client.get(EXPORT, {"format": "csv"}).url
    run_worker("default")
    verified_login(client, other_manager)
    assert client.get(status_url).status_code == 404
    assert client.get(status_url + "download/").status_code == 404
