"""The PostgreSQL backend with parameters bound on the server: Django's batches fit one statement's limit."""

import pytest
from django.db import connection

from subscribers.models import Account, Subscriber, SubscriberTag, Tag

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql" or not connection.settings_dict["OPTIONS"].get("server_side_binding"),
    reason="needs PostgreSQL with server-side binding",
)


def test_it_cuts_batches_to_the_parameters_a_statement_may_carry():
    assert connection.ops.bulk_batch_size(["subscriber"], range(100_000)) == 65_535
    assert connection.ops.bulk_batch_size(["phone", "status", "account"], range(100_000)) == 21_845
    assert connection.ops.bulk_batch_size([], range(10)) == 10


def test_an_account_of_more_numbers_than_a_statement_has_parameters_can_be_deleted(db):
    account = Account.objects.create(slug="big", name="Big Electric")
    tag = Tag.objects.create(account=account, name="District 1")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscribers_subscriber (account_id, phone, status, opted_out_by, first_seen, status_changed) "
            "SELECT %s, '+1205' || lpad(n::text, 7, '0'), 'opted_in', '', now(), now() "
            "FROM generate_series(2000000, 2070000) n",
            [account.pk],
        )
        cursor.execute(
            "INSERT INTO subscribers_subscribertag (subscriber_id, tag_id) "
            "SELECT id, %s FROM subscribers_subscriber WHERE account_id = %s",
            [tag.pk, account.pk],
        )

    account.delete()  # the numbers' tags go in batches of 65,535, not in one statement of 70,001 parameters

    assert not Subscriber.objects.filter(account_id=account.pk).exists()
    assert not SubscriberTag.objects.filter(tag_id=tag.pk).exists()
