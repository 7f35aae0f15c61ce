"""Issue 23, item 1: the run's figures agree with its per-number rows, for every mode and action, and the results
page shows each figure once and numbers as everywhere else in the app."""

import pytest
from django.urls import reverse

from imports import selectors
from imports.models import Action, ImportResult, Mode
from subscribers.transitions import State

pytestmark = pytest.mark.django_db

COMBINATIONS = [(Mode.STANDARD, action) for action in Action.values] + [
    (mode, Action.OPT_IN) for mode in Mode.values if mode != Mode.STANDARD
]
FILE = "2185550101,North,Storm\n2185550102,North\n2185550103,Storm\n"


def _figures(run) -> dict:
    return {f.key: f.value for f in selectors.run_figures(run=run).outcomes}


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize(("mode", "action"), COMBINATIONS)
def test_the_tag_figures_count_the_numbers_whose_rows_list_tag_changes(
    account, make_subscriber, run_import, mode, action, dry_run
):
    # One number new, one opted in with a tag the file drops, one opted in that the file gives a tag.
    make_subscriber(account, "+12185550102", State.OPTED_IN, tags=["Old", "North"])
    make_subscriber(account, "+12185550103", State.OPTED_IN, tags=["Old"])
    make_subscriber(account, "+12185550199", State.OPTED_IN, tags=["Elsewhere"])
    run = run_import(account, FILE, mode=mode, action=action, dry_run=dry_run)

    rows = ImportResult.objects.filter(run=run)
    figures = _figures(run)
    assert figures["tags_added"] == sum(1 for r in rows if r.tags_added)
    assert figures["tags_removed"] == sum(1 for r in rows if r.tags_removed)
    for outcome in ("opted_in", "reactivated", "suspended", "opted_out", "unchanged"):
        assert figures[outcome] == rows.filter(outcome=outcome).count(), outcome


def test_a_new_number_given_tags_counts_under_given_tags(account, run_import):
    run = run_import(account, FILE)
    assert _figures(run)["tags_added"] == 3
    assert _figures(run)["opted_in"] == 3


def test_tag_management_counts_the_numbers_that_lost_tags(account, make_subscriber, run_import):
    make_subscriber(account, "+12185550102", State.OPTED_IN, tags=["Old", "North"])
    run = run_import(account, FILE, mode=Mode.APPEND_TAGS)
    assert _figures(run)["tags_removed"] == 1
    assert ImportResult.objects.get(run=run, phone="+12185550102").tags_removed == ["Old"]


def test_the_results_filter_given_tags_lists_the_new_numbers_tagged(account, manager_client, manager, run_import):
    run = run_import(account, FILE, started_by=manager)
    page = manager_client.get(reverse("imports:run", args=[run.pk]), {"outcome": "tags_added"}).content.decode()
    assert "(218) 555-0101" in page and "+12185550101" not in page


def test_each_figure_is_shown_once_to_the_eye(account, manager_client, manager, run_import):
    run = run_import(account, FILE, started_by=manager)
    page = manager_client.get(reverse("imports:run", args=[run.pk])).content.decode()
    assert 'class="facts outcome-figures visually-hidden"' in page
    assert "Given tags" in page
