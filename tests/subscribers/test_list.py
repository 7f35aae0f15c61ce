"""The list of numbers: search, filters, sorting, paging, and that it shows only the account's numbers."""

import pytest
from django.urls import reverse

from subscribers.models import Tag
from subscribers.transitions import State

pytestmark = pytest.mark.django_db

LIST = reverse("subscribers:list")


@pytest.fixture
def numbers(account, make_subscriber):
    make_subscriber(account, "+12185550134", State.OPTED_IN, tags=["District 1", "Feeder A1"])
    make_subscriber(account, "+12185550199", State.SUSPENDED, tags=["District 1"])
    make_subscriber(account, "+16125550142", State.OPTED_IN, tags=["Feeder A1"])
    make_subscriber(account, "+17155550111", State.OUT_SUBSCRIBER)
    make_subscriber(account, "+19525550100", State.PENDING, tags=["District 2"])


def _phones(response) -> list[str]:
    return [row.record.phone for row in response.context["table"].paginated_rows]


def _tag(account, name):
    return Tag.objects.get(account=account, name=name).pk


def test_it_lists_the_accounts_numbers_formatted_for_reading(manager_client, numbers):
    response = manager_client.get(LIST)
    assert response.status_code == 200
    assert _phones(response) == ["+12185550134", "+12185550199", "+16125550142", "+17155550111", "+19525550100"]
    assert "(218) 555-0134" in response.text
    assert response.context["count"] == 5


def test_it_never_shows_another_accounts_numbers(manager_client, numbers, other_account, make_subscriber):
    make_subscriber(other_account, "+12185550177", State.OPTED_IN)
    response = manager_client.get(LIST + "?q=2185550177")
    assert _phones(response) == []
    assert "555-0177" not in response.text


@pytest.mark.parametrize(
    "typed", ["0134", "555-0134", "(218) 555-0134", "218.555.0134", "+1 218 555 0134", "1-218-555-0134"]
)
def test_it_finds_a_number_by_any_part_typed_with_any_punctuation(manager_client, numbers, typed):
    response = manager_client.get(LIST, {"q": typed})
    assert _phones(response) == ["+12185550134"]


def test_a_search_with_the_area_code_in_brackets_is_a_prefix(manager_client, numbers):
    response = manager_client.get(LIST, {"q": "(218)"})
    assert _phones(response) == ["+12185550134", "+12185550199"]


def test_a_search_with_no_digits_finds_nothing_rather_than_everything(manager_client, numbers):
    response = manager_client.get(LIST, {"q": "abc"})
    assert _phones(response) == []
    assert "No numbers match." in response.text


def test_it_filters_by_status(manager_client, numbers):
    response = manager_client.get(LIST, {"status": "opted_in"})
    assert _phones(response) == ["+12185550134", "+16125550142"]


def test_it_filters_by_any_of_several_tags(manager_client, account, numbers):
    response = manager_client.get(LIST, {"tags": [_tag(account, "District 2"), _tag(account, "Feeder A1")]})
    assert _phones(response) == ["+12185550134", "+16125550142", "+19525550100"]


def test_it_filters_by_all_of_several_tags(manager_client, account, numbers):
    tags = [_tag(account, "District 1"), _tag(account, "Feeder A1")]
    response = manager_client.get(LIST, {"tags": tags, "match": "all"})
    assert _phones(response) == ["+12185550134"]


def test_tag_status_and_search_filters_combine(manager_client, account, numbers):
    response = manager_client.get(LIST, {"tags": [_tag(account, "District 1")], "status": "suspended", "q": "218"})
    assert _phones(response) == ["+12185550199"]
    assert response.context["count"] == 1


def test_a_tag_of_another_account_in_the_link_is_ignored_not_an_error(manager_client, numbers, other_account):
    foreign = Tag.objects.create(account=other_account, name="Theirs")
    response = manager_client.get(LIST, {"tags": [foreign.pk]})
    assert response.status_code == 200
    assert len(_phones(response)) == 5


def test_it_sorts_by_last_change(manager_client, account, numbers):
    from subscribers.models import Subscriber

    Subscriber.objects.filter(phone="+17155550111").update(status_changed="2030-01-01T00:00:00Z")
    response = manager_client.get(LIST, {"sort": "-status_changed"})
    assert _phones(response)[0] == "+17155550111"


def test_it_pages_without_counting_everything(manager_client, account, make_subscriber):
    for n in range(30):
        make_subscriber(account, f"+1218555{1000 + n:04d}", State.OPTED_IN)
    first = manager_client.get(LIST)
    assert len(_phones(first)) == 25
    assert "Next ›" in first.text
    second = manager_client.get(LIST, {"page": 2})
    assert len(_phones(second)) == 5
    assert set(_phones(first)).isdisjoint(_phones(second))


def test_htmx_requests_get_only_the_results_fragment(manager_client, numbers):
    response = manager_client.get(LIST, {"q": "0134"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert '<div id="results"' in response.text
    assert "<html" not in response.text
    assert "(218) 555-0134" in response.text


def test_the_filters_are_kept_in_the_export_and_bulk_links(manager_client, numbers):
    response = manager_client.get(LIST, {"q": "218", "status": "opted_in"})
    assert 'action="/numbers/bulk/?q=218&amp;status=opted_in"' in response.text
    assert "/numbers/export/?q=218&amp;status=opted_in&amp;format=csv" in response.text


def test_a_broad_filter_shows_a_capped_count(manager_client, account, make_subscriber, monkeypatch):
    from subscribers import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for n in range(5):
        make_subscriber(account, f"+1218555{2000 + n:04d}", State.OPTED_IN)
    response = manager_client.get(LIST, {"q": "555"})
    assert response.context["count_exact"] is False
    assert "More than 3 numbers match" in response.text
