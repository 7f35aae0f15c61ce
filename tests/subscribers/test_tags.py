"""The tags page: counts per tag, rename, merge and delete (recorded on every number)."""

import pytest
from django.urls import reverse

from subscribers.models import OptEvent, Tag
from subscribers.transitions import State

pytestmark = pytest.mark.django_db

TAGS = reverse("subscribers:tags")


@pytest.fixture
def tagged(account, make_subscriber):
    make_subscriber(account, "+12185550101", State.OPTED_IN, tags=["District 1", "Feeder A1"])
    make_subscriber(account, "+12185550102", State.OPTED_IN, tags=["District 1"])
    make_subscriber(account, "+12185550103", State.SUSPENDED, tags=["District 1", "Feeder A1"])
    make_subscriber(account, "+12185550104", State.OPTED_IN, tags=["Feeder A1"])


def _tag(account, name):
    return Tag.objects.get(account=account, name=name)


def _url(tag):
    return reverse("subscribers:tag", args=[tag.pk])


def test_it_lists_tags_with_their_opted_in_counts(manager_client, account, tagged):
    response = manager_client.get(TAGS)
    assert response.status_code == 200
    rows = {row.record.name: (row.record.opted_in, row.record.total) for row in response.context["table"].rows}
    assert rows == {"District 1": (2, 3), "Feeder A1": (2, 3)}


def test_the_counts_follow_a_change_at_once(manager_client, account, tagged):
    manager_client.get(TAGS)  # the figures are now cached
    from subscribers.services import Cause, subscriber_suspend

    subscriber_suspend(account=account, phone="+12185550101", cause=Cause("manager"))
    response = manager_client.get(TAGS)
    rows = {row.record.name: row.record.opted_in for row in response.context["table"].rows}
    assert rows == {"District 1": 1, "Feeder A1": 1}


def test_renaming_a_tag_keeps_its_numbers(manager_client, account, tagged):
    tag = _tag(account, "District 1")
    response = manager_client.post(_url(tag), {"op": "rename", "rename-name": "North district"})
    assert response.status_code == 302
    tag.refresh_from_db()
    assert tag.name == "North district" and tag.subscribers.count() == 3


def test_renaming_onto_an_existing_tag_suggests_a_merge(manager_client, account, tagged):
    tag = _tag(account, "District 1")
    response = manager_client.post(_url(tag), {"op": "rename", "rename-name": "feeder a1"})
    assert response.status_code == 200
    assert "There is already a tag “Feeder A1”: merge into it instead." in response.text
    tag.refresh_from_db()
    assert tag.name == "District 1"


def test_merging_moves_every_number_and_records_it(manager_client, account, manager, tagged):
    source, target = _tag(account, "District 1"), _tag(account, "Feeder A1")
    response = manager_client.post(_url(source), {"op": "merge", "merge-into": target.pk}, follow=True)
    assert "3 numbers now carry “Feeder A1”" in response.text, [m.message for m in response.context["messages"]]
    assert not Tag.objects.filter(pk=source.pk).exists()
    assert set(target.subscribers.values_list("phone", flat=True)) == {
        "+12185550101",
        "+12185550102",
        "+12185550103",
        "+12185550104",
    }
    moved = OptEvent.objects.get(phone="+12185550102")
    assert (moved.tags_added, moved.tags_removed, moved.user) == (["Feeder A1"], ["District 1"], manager)
    already = OptEvent.objects.get(phone="+12185550101")
    assert (already.tags_added, already.tags_removed) == ([], ["District 1"])
    assert not OptEvent.objects.filter(phone="+12185550104").exists()


def test_deleting_a_tag_asks_once_then_removes_it_from_every_number(manager_client, account, tagged):
    tag = _tag(account, "Feeder A1")
    ask = manager_client.post(_url(tag), {"op": "delete_ask"})
    assert "remove it from 3 numbers?" in ask.text
    assert Tag.objects.filter(pk=tag.pk).exists()
    done = manager_client.post(_url(tag), {"op": "delete", "confirmed": "1"}, follow=True)
    assert "Tag “Feeder A1” deleted and removed from 3 numbers." in done.text
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert OptEvent.objects.filter(tags_removed=["Feeder A1"]).count() == 3
    assert OptEvent.objects.filter(old_status="suspended", new_status="suspended").count() == 1


def test_another_accounts_tag_is_a_404(manager_client, other_account):
    theirs = Tag.objects.create(account=other_account, name="Theirs")
    assert manager_client.get(_url(theirs)).status_code == 404
    assert manager_client.post(_url(theirs), {"op": "delete", "confirmed": "1"}).status_code == 404
    assert Tag.objects.filter(pk=theirs.pk).exists()


def test_merging_into_another_accounts_tag_is_refused(manager_client, account, other_account, tagged):
    theirs = Tag.objects.create(account=other_account, name="Theirs")
    tag = _tag(account, "District 1")
    response = manager_client.post(_url(tag), {"op": "merge", "merge-into": theirs.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert Tag.objects.filter(pk=tag.pk).exists()


def test_the_tag_key_folds_exactly_as_sql_lower_does():
    from django.db import connection

    from subscribers.models import tag_key

    if connection.vendor != "postgresql":
        pytest.skip("SQLite's lower() folds ASCII only")
    names = ["Feeder A1", " District 4 ", "Straße", "STRASSE", "ΣΑΣ", "İstanbul", "ǅemal", "Ωhm", "KELVIN", "Énergie"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT lower(btrim(x)) FROM unnest(%s::text[]) WITH ORDINALITY AS t(x, n) ORDER BY n", [names])
        folded = [row[0] for row in cursor.fetchall()]
    assert [tag_key(name) for name in names] == folded
