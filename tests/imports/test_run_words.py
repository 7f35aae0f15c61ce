"""Issue 23, item 3: what the imports page and a run's page say about cancelled runs, undos and the guard."""

import pytest
from django.urls import reverse

from imports.models import ImportRun, Stage
from subscribers.transitions import State
from tests.imports.pages import post_and_work, preformatted_csv, upload_and_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, rq_queues):
    settings.UPLOAD_DIR = tmp_path / "uploads"


def _held(client, account, make_subscriber):
    for i in range(10):
        make_subscriber(account, f"+120255501{40 + i}", State.OPTED_IN)
    run = upload_and_run(client, preformatted_csv(["2025550140", "2025550141", "2025550142"]), action="suspend")
    assert run.stage == Stage.AWAITING_CONFIRMATION
    return run


def test_the_guard_says_how_many_numbers_and_what_share_it_would_stop(manager_client, account, make_subscriber):
    run = _held(manager_client, account, make_subscriber)
    page = manager_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert 'data-count="stops">3<' in page
    assert "of your 10 opted-in numbers" in page
    assert '<span data-count="stop-share">30%</span>' in page and "more than the 10%" in page


def test_a_cancelled_run_reads_cancelled_on_the_imports_page_not_its_would_be_figures(
    manager_client, account, make_subscriber
):
    run = _held(manager_client, account, make_subscriber)
    held_page = manager_client.get(reverse("imports:history")).content.decode()
    assert "Would be: " in held_page
    manager_client.post(reverse("imports:run_cancel", args=[run.pk]))
    page = manager_client.get(reverse("imports:history")).content.decode()
    assert "Cancelled: nothing changed" in page
    assert "3 suspended" not in page


def test_an_undo_run_says_it_reverts_the_import(manager_client, account):
    run = upload_and_run(manager_client, preformatted_csv(["2025550144,North"]))
    post_and_work(manager_client, reverse("imports:run_undo", args=[run.pk]))
    undo = ImportRun.objects.get(undo_of=run)
    page = manager_client.get(reverse("imports:run", args=[undo.pk])).content.decode()
    assert f"Reverts what import #{run.pk} changed" in page
    assert "Opt in (with tags) the numbers in the file" not in page
    history = manager_client.get(reverse("imports:history")).content.decode()
    assert f"Undo of import #{run.pk}" in history
