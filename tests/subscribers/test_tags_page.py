"""Issue 23, item 14: empty tags can be removed, each tag's name is in its row once, and /favicon.ico answers."""

import re

import pytest
from django.urls import reverse

from subscribers.models import OptEvent, Tag
from subscribers.services import tags_get_or_create
from subscribers.transitions import State

pytestmark = pytest.mark.django_db


def test_the_tags_page_offers_to_remove_the_tags_no_number_carries(
    manager_client, account, other_account, make_subscriber
):
    make_subscriber(account, "+12185550101", State.OPTED_IN, tags=["North"])
    tags_get_or_create(account=account, names=["Old storm", "Gone"])
    tags_get_or_create(account=other_account, names=["Elsewhere"])
    page = manager_client.get(reverse("subscribers:tags")).content.decode()
    assert 'data-empty-tags="2"' in page and "Remove 2 empty tags" in page

    response = manager_client.post(reverse("subscribers:tags_remove_empty"), follow=True)
    assert "Removed 2 empty tags: Gone, Old storm." in response.content.decode()
    assert sorted(Tag.objects.filter(account=account).values_list("name", flat=True)) == ["North"]
    assert Tag.objects.filter(account=other_account, name="Elsewhere").exists()  # another account's: untouched
    assert not OptEvent.objects.filter(account=account, note__icontains="tag").exists()
    assert "data-empty-tags" not in manager_client.get(reverse("subscribers:tags")).content.decode()


def test_removing_empty_tags_needs_a_post(manager_client):
    assert manager_client.get(reverse("subscribers:tags_remove_empty")).status_code == 405


def test_each_tags_name_is_printed_once_in_its_row(manager_client, account, make_subscriber):
    make_subscriber(account, "+12185550101", State.OPTED_IN, tags=["Storm team"])
    page = manager_client.get(reverse("subscribers:tags")).content.decode()
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Storm team(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    text = re.sub(r"<[^>]+>", " ", row)
    assert text.count("Storm team") == 1
    assert 'aria-label="Rename, merge or delete Storm team"' in row


def test_favicon_ico_is_served_without_logging_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an icon file
