"""The list's htmx partial: searching, sorting and paging swap only the results; the whole page otherwise."""

import pytest
from django.urls import reverse

from subscribers.transitions import State
from subscribers.vocabulary import LIST_ACTIONS

pytestmark = pytest.mark.django_db

LIST = reverse("subscribers:list")


@pytest.fixture
def numbers(account, make_subscriber):
    for i in range(30):
        make_subscriber(account, f"+1218555{1000 + i}", State.OPTED_IN)


def test_a_boosted_page_link_gets_only_the_results(manager_client, numbers):
    response = manager_client.get(LIST, {"page": 2}, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.text.lstrip().startswith('<div id="results"')
    assert "<html" not in response.text


def test_going_back_to_a_page_htmx_forgot_gets_the_whole_page(manager_client, numbers):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    response = manager_client.get(LIST, {"page": 2}, headers=headers)
    assert "<html" in response.text and '<div id="results"' in response.text


def test_the_bulk_menu_offers_the_vocabularys_actions(manager_client, numbers):
    page = manager_client.get(LIST).text
    for action, words in LIST_ACTIONS.items():
        assert f'<option value="{action}">{words.label}</option>' in page
