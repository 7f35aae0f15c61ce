"""The dashboard's figures and chart, and the usage page (new numbers per month, downloadable)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from subscribers.models import OptEvent, Source
from subscribers.services import Cause, subscriber_delete, subscriber_keyword_stop, subscriber_opt_in

pytestmark = pytest.mark.django_db


def _opt_in(account, phone, when=None, tags=()):
    subscriber_opt_in(account=account, phone=phone, cause=Cause(Source.IMPORT), tags=tags)
    if when is not None:
        OptEvent.objects.filter(account=account, phone=phone).update(created_at=when)


def test_the_dashboard_shows_counts_chart_tags_imports_and_new_numbers(manager_client, account, other_account):
    from imports.models import ImportRun

    _opt_in(account, "+12185550101", tags=["District 1"])
    _opt_in(account, "+12185550102", tags=["District 1"])
    subscriber_keyword_stop(account=account, phone="+12185550102")
    _opt_in(other_account, "+12185550103")
    ImportRun.objects.create(account=account, file_name="cis-export-march.csv", new_numbers=2)
    ImportRun.objects.create(account=other_account, file_name="theirs.csv")
    response = manager_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["counts"]["opted_in"] == 1
    assert response.context["counts"]["opted_out"] == 1
    assert response.context["new_this_month"] == 2
    today = response.context["days"][-1]
    assert (today.opted_in, today.opted_out) == (2, 1)
    assert len(response.context["days"]) == 90
    assert '<svg class="chart"' in response.text
    assert "cis-export-march.csv" in response.text and "theirs.csv" not in response.text
    assert [t.name for t in response.context["top_tags"]] == ["District 1"]


def test_a_number_counts_as_new_once_even_when_deleted_and_added_again(account):
    from subscribers import selectors

    _opt_in(account, "+12185550101", when=timezone.now() - timedelta(days=70))
    subscriber_delete(account=account, phone="+12185550101", cause=Cause(Source.MANAGER))
    _opt_in(account, "+12185550101")
    _opt_in(account, "+12185550102")
    start = selectors.month_start(account)
    assert selectors.new_numbers_since(account=account, since=start) == 1
    months = selectors.new_numbers_by_month(account=account)
    assert sum(m.new_numbers for m in months) == 2


def test_the_usage_page_lists_new_numbers_per_month_and_downloads(manager_client, account):
    _opt_in(account, "+12185550101", when=timezone.now() - timedelta(days=62))
    _opt_in(account, "+12185550102")
    _opt_in(account, "+12185550103")
    response = manager_client.get(reverse("subscribers:usage"))
    assert response.status_code == 200
    months = response.context["months"]
    assert [m.new_numbers for m in months][0] == 2
    assert sum(m.new_numbers for m in months) == 3
    csv_response = manager_client.get(reverse("subscribers:usage"), {"format": "csv"})
    lines = csv_response.content.decode().strip().splitlines()
    assert lines[0] == "Month,New numbers"
    assert lines[1].endswith(",2")


def test_an_uploader_cannot_see_the_usage_or_export(uploader_client):
    assert uploader_client.get(reverse("subscribers:usage")).status_code == 403
    assert uploader_client.get(reverse("subscribers:export")).status_code == 403
    assert uploader_client.get(reverse("subscribers:tags")).status_code == 403


def test_slow_figures_are_served_from_their_last_value_while_a_job_updates_them(
    manager_client, account, monkeypatch, rq_queues, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from subscribers import selectors
    from tests.conftest import run_worker

    cache.delete(f"figures:{account.pk}:refreshing")
    monkeypatch.setattr(selectors, "SLOW_FIGURE_SECONDS", -1.0)  # as on an account of a million numbers
    _opt_in(account, "+12185550101")
    assert manager_client.get(reverse("dashboard")).context["counts"]["opted_in"] == 1
    _opt_in(account, "+12185550102")
    with django_capture_on_commit_callbacks(execute=True):
        stale = manager_client.get(reverse("dashboard"))
    assert stale.status_code == 200
    assert stale.context["counts"]["opted_in"] == 1  # the previous figure, without waiting
    run_worker("default")
    fresh = manager_client.get(reverse("dashboard"))
    assert fresh.context["counts"]["opted_in"] == 2


def test_forgetting_the_figures_drops_their_last_values_too(manager_client, account, monkeypatch):
    from django.core.cache import cache

    from subscribers import selectors

    cache.delete(f"figures:{account.pk}:refreshing")
    monkeypatch.setattr(selectors, "SLOW_FIGURE_SECONDS", -1.0)
    _opt_in(account, "+12185550101")
    assert manager_client.get(reverse("dashboard")).context["counts"]["opted_in"] == 1
    _opt_in(account, "+12185550102")
    selectors.figures_forget(account=account)
    # Without its last value a slow figure cannot be served stale: the page computes it.
    assert manager_client.get(reverse("dashboard")).context["counts"]["opted_in"] == 2


def test_opt_outs_of_numbers_never_seen_are_recorded_but_never_new(manager_client, account):
    from subscribers import selectors
    from subscribers.services import subscriber_keyword_start, subscriber_opt_out

    stop = subscriber_keyword_stop(account=account, phone="+12185550101")  # a STOP from a stranger
    out = subscriber_opt_out(account=account, phone="+12185550102", cause=Cause(Source.API))
    assert (stop.created, stop.is_new, out.created, out.is_new) == (True, False, True, False)
    start = selectors.month_start(account)
    assert selectors.new_numbers_since(account=account, since=start) == 0
    page = manager_client.get(reverse("subscribers:usage"))
    assert "What “new” means" in page.text and "is never new" in page.text
    assert sum(m.new_numbers for m in page.context["months"]) == 0
    assert manager_client.get(reverse("dashboard")).context["new_this_month"] == 0

    # Its owner opting in is the first time it is opted in: new then, once.
    back = subscriber_keyword_start(account=account, phone="+12185550101")
    assert back.is_new
    assert selectors.new_numbers_since(account=account, since=start) == 1
    again = subscriber_keyword_stop(account=account, phone="+12185550101")
    assert not again.is_new
    assert not subscriber_keyword_start(account=account, phone="+12185550101").is_new
    assert selectors.new_numbers_since(account=account, since=start) == 1
    assert _opt_in(account, "+12185550104") is None
    assert selectors.new_numbers_since(account=account, since=start) == 2
