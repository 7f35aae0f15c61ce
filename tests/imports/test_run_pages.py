"""A run's page: progress that updates in place and stops, the diff as chart, figures and a table, the CSV, the
guard's confirm and cancel, and undo."""

import csv
import io

import pytest
from django.urls import reverse

from imports import selectors
from imports.models import ImportResult, ImportRun, ResultOutcome, Stage
from subscribers.models import Status, Subscriber
from subscribers.transitions import State
from tests.conftest import run_worker
from tests.imports.pages import client_for, post_and_work, preformatted_csv, upload, upload_and_run

pytestmark = pytest.mark.django_db

FILE = preformatted_csv(
    [
        "Phone,Tag,Tag",
        '(202) 555-0144,North,=HYPERLINK("http://x")',
        "202.555.0145,South",
        "202.555.0145,East",
        "not a phone,North",
        ",North",
        "800-555-0100,North",
    ]
)
HTMX_POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "run-status"}
HTMX_TABLE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results-table"}


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, rq_queues):
    settings.UPLOAD_DIR = tmp_path / "uploads"


def test_the_progress_fragment_polls_while_the_run_works_and_stops_when_it_ends(uploader_client):
    run = upload(uploader_client, FILE)
    url = reverse("imports:run", args=[run.pk])

    page = uploader_client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in page and "<progress" in page
    assert '<meta http-equiv="refresh"' in page  # without JavaScript the page reloads itself

    waiting = uploader_client.get(url, **HTMX_POLL)
    assert waiting.status_code == 200
    fragment = waiting.content.decode()
    assert fragment.lstrip().startswith('<section id="run-status"') and "<html" not in fragment
    assert 'data-stage="queued"' in fragment

    run_worker("imports")
    finished = uploader_client.get(url, **HTMX_POLL)
    assert finished.status_code == 286  # htmx stops polling
    fragment = finished.content.decode()
    assert 'hx-trigger="every 1s"' not in fragment
    assert 'data-stage="done"' in fragment
    assert 'id="results-table"' in fragment


def test_the_results_show_counts_per_outcome_as_chart_and_figures(uploader_client):
    run = upload_and_run(uploader_client, FILE)
    assert run.stage == Stage.DONE
    response = uploader_client.get(reverse("imports:run", args=[run.pk]))
    figures = {f.key: f.value for f in response.context["figures"].outcomes}
    assert figures["opted_in"] == 2
    assert figures["duplicate"] == 1
    assert figures["rejected"] == 3
    page = response.content.decode()
    assert '<svg class="chart"' in page and 'class="bar bar-opted_in"' in page
    assert 'data-count="new">2<' in page
    assert 'data-count="rejected_not_mobile">1<' in page
    assert "cannot receive texts" in page


def test_the_results_table_filters_to_rejected_rows_with_row_numbers_and_reasons(uploader_client):
    run = upload_and_run(uploader_client, FILE)
    url = reverse("imports:run", args=[run.pk])
    response = uploader_client.get(url, {"outcome": "rejected"})
    rows = list(response.context["table"].paginated_rows)
    assert [r.record.row_number for r in rows] == [5, 6, 7]
    assert {r.record.outcome for r in rows} == {ResultOutcome.REJECTED}
    page = response.content.decode()
    assert "The phone cell is empty." in page
    assert "not a valid US or Canadian phone number" in page
    assert "not a phone" in page  # the cell as the file had it


def test_the_results_table_is_searchable_by_number_and_swaps_in_place(uploader_client):
    run = upload_and_run(uploader_client, FILE)
    url = reverse("imports:run", args=[run.pk])
    response = uploader_client.get(url, {"number": "555-0144"}, **HTMX_TABLE)
    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="results-table"')
    assert "(202) 555-0144" in fragment and "(202) 555-0145" not in fragment


def test_the_results_table_is_paginated(uploader_client, monkeypatch):
    monkeypatch.setattr("imports.views.RESULTS_PER_PAGE", 2)
    run = upload_and_run(uploader_client, FILE)
    url = reverse("imports:run", args=[run.pk])
    first = uploader_client.get(url).context["table"]
    assert len(list(first.paginated_rows)) == 2 and first.paginator.num_pages == 3
    # The page counts from the run's figures rather than the database: they must agree, filter by filter.
    assert first.paginator.count == ImportResult.objects.filter(run=run).count() == 6
    for outcome in ("rejected", "opted_in", "duplicate", "new"):
        table = uploader_client.get(url, {"outcome": outcome}).context["table"]
        assert table.paginator.count == len(list(selectors.run_results(run=run, outcome=outcome))), outcome
    third = uploader_client.get(url, {"page": 3}).context["table"]
    assert len(list(third.paginated_rows)) == 2


def test_the_results_download_as_csv_that_a_spreadsheet_cannot_run(uploader_client):
    run = upload_and_run(uploader_client, FILE)
    response = uploader_client.get(reverse("imports:run_csv", args=[run.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Row", "Number", "What happened"]
    by_phone = {row[1]: row for row in rows[1:] if row[1]}
    assert by_phone["+12025550144"][2] == "Opted in"  # our own E.164 numbers stay as they are
    assert "'=HYPERLINK" in by_phone["+12025550144"][4]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "@", "-")), row
    assert any(row[7] == "The phone cell is empty." for row in rows[1:])


def test_the_guard_holds_a_large_suspension_for_a_manager_who_confirms_it(
    client, account, manager, uploader, make_subscriber
):
    for i in range(10):
        make_subscriber(account, f"+120255501{40 + i}", State.OPTED_IN)
    as_uploader, as_manager = client_for(uploader), client_for(manager)
    run = upload_and_run(as_uploader, preformatted_csv(["2025550140", "2025550141"]), action="suspend")
    assert run.stage == Stage.AWAITING_CONFIRMATION
    url = reverse("imports:run", args=[run.pk])

    page = as_uploader.get(url).content.decode()
    assert "waits for a manager" in page and "has to confirm it" in page
    assert "Confirm: apply these changes" not in page
    assert as_uploader.post(reverse("imports:run_confirm", args=[run.pk])).status_code == 403
    assert 'data-count="suspended">2<' in page  # what it would do

    dashboard = as_manager.get(reverse("dashboard")).content.decode()
    assert "An import waits for a manager." in dashboard
    assert reverse("imports:run", args=[run.pk]) in dashboard and "would stop 2 numbers" in dashboard

    page = as_manager.get(url).content.decode()
    assert "Confirm: apply these changes" in page and "Cancel the import" in page
    response = post_and_work(as_manager, reverse("imports:run_confirm", args=[run.pk]))
    assert response.status_code == 302 and response.url == url
    run.refresh_from_db()
    assert run.stage == Stage.DONE
    assert Subscriber.objects.filter(account=account, status=Status.SUSPENDED).count() == 2
    assert "An import waits" not in as_manager.get(reverse("dashboard")).content.decode()


def test_an_opt_out_file_is_never_held_by_the_guard(manager_client, account, make_subscriber):
    for i in range(10):
        make_subscriber(account, f"+120255501{40 + i}", State.OPTED_IN)
    # Eight of ten opted-in numbers: far past the guard's share, but each is a revocation to honour at once.
    phones = [f"20255501{40 + i}" for i in range(8)]
    run = upload_and_run(manager_client, preformatted_csv(phones), action="opt_out")
    assert run.stage == Stage.DONE
    assert run.counts["opted_out"] == 8
    assert Subscriber.objects.filter(account=account, status=Status.OPTED_OUT, opted_out_by="customer").count() == 8
    assert "An import waits" not in manager_client.get(reverse("dashboard")).content.decode()


def test_a_manager_cancels_a_held_import_and_nothing_changes(manager_client, account, make_subscriber):
    for i in range(10):
        make_subscriber(account, f"+120255501{40 + i}", State.OPTED_IN)
    run = upload_and_run(manager_client, preformatted_csv(["2025550140", "2025550141"]), action="suspend")
    assert run.stage == Stage.AWAITING_CONFIRMATION
    response = manager_client.post(reverse("imports:run_cancel", args=[run.pk]), follow=True)
    assert "Cancelled. Nothing was changed." in response.content.decode()
    run.refresh_from_db()
    assert run.stage == Stage.CANCELLED
    assert Subscriber.objects.filter(account=account, status=Status.OPTED_IN).count() == 10


def test_a_manager_undoes_a_finished_import_after_seeing_what_the_undo_will_do(
    manager_client, account, make_subscriber
):
    make_subscriber(account, "+12025550144", State.SUSPENDED)
    run = upload_and_run(manager_client, preformatted_csv(["2025550144,North", "2025550145,South"]))
    assert run.stage == Stage.DONE
    url = reverse("imports:run_undo", args=[run.pk])
    assert "Undo this import" in manager_client.get(reverse("imports:run", args=[run.pk])).content.decode()

    preview = manager_client.get(url)
    assert preview.status_code == 200
    assert dict(preview.context["figures"]) == {
        "Numbers put back as they were before the import": 1,
        "Numbers the import added, taken off the list again": 1,
        "Numbers that changed again since, left as they are": 0,
    }
    assert not ImportRun.objects.filter(undo_of=run).exists()  # looking changes nothing

    response = post_and_work(manager_client, url)
    undo = ImportRun.objects.get(undo_of=run)
    assert response.url == reverse("imports:run", args=[undo.pk])
    undo.refresh_from_db()
    assert undo.stage == Stage.DONE
    assert Subscriber.objects.get(account=account, phone="+12025550144").status == Status.SUSPENDED
    assert not Subscriber.objects.listed().filter(account=account, phone="+12025550145").exists()
    page = manager_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert "Undo this import" not in page and f"Import #{undo.pk}" in page


def test_an_uploader_cannot_undo(uploader_client):
    run = upload_and_run(uploader_client, preformatted_csv(["2025550144"]))
    assert "Undo this import" not in uploader_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert uploader_client.get(reverse("imports:run_undo", args=[run.pk])).status_code == 403
    assert uploader_client.post(reverse("imports:run_undo", args=[run.pk])).status_code == 403
    assert not ImportRun.objects.filter(undo_of=run).exists()


def test_a_failed_run_says_why_in_plain_words(uploader_client):
    run = upload_and_run(uploader_client, preformatted_csv(["2025550144"]))
    ImportRun.objects.filter(pk=run.pk).update(stage=Stage.FAILED, error="The file could not be read.")
    page = uploader_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert "The import failed." in page and "The file could not be read." in page
