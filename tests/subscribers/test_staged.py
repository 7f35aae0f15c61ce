"""The list's set-based writer: states spelled in SQL from the transitions table, and an undo as a transition."""

import itertools

import pytest
from django.db import connection
from django.utils import timezone

from subscribers import sql, staged
from subscribers.models import OptedOutBy, OptEvent, Status, Subscriber
from subscribers.transitions import State

pytestmark = pytest.mark.django_db

A = "+12055550101"
B = "+12055550102"


def _select(expression: str, values: list[tuple]) -> list:
    """`expression` over columns a, b of the given rows, in their order."""
    rows = " UNION ALL ".join(
        f"SELECT {i} AS n, {sql.literal(a)} AS a, {sql.literal(b)} AS b" for i, (a, b) in enumerate(values)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression} FROM ({rows}) x ORDER BY n")
        return [value for (value,) in cursor.fetchall()]


def test_the_sql_reads_every_stored_status_and_opt_out_source_as_state_of_does():
    pairs = list(itertools.product(["", *Status.values], ["", *OptedOutBy.values]))
    read = _select(sql.state_of_sql("x.a", "x.b", missing="x.a = ''"), pairs)
    assert read == [State.of(status, by).value for status, by in pairs]


def test_the_sql_stores_every_state_as_state_status_and_opted_out_by_do():
    states = [(state.value, "") for state in State]
    assert _select(sql.status_of_sql("x.a"), states) == [state.status for state in State]
    assert _select(sql.opted_out_by_of_sql("x.a"), states) == [state.opted_out_by for state in State]


def _undone_table(rows: list[tuple]) -> str:
    """A table of the shape `staged.revert` reads: one row per undone opt event."""
    name = "imp_0_undone"
    json = "jsonb" if sql.is_postgres() else "text"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(
            f"CREATE TABLE {name} (phone text, subscriber_id bigint, old_state text, left_state text, "
            f"tags_added {json}, tags_removed {json}, ok integer)"
        )
        cursor.executemany(f"INSERT INTO {name} VALUES (%s, %s, %s, %s, '[]', '[]', %s)", rows)
    return name


def test_an_undo_puts_back_who_opted_a_number_out_and_leaves_numbers_changed_since(account):
    now = timezone.now()
    a = Subscriber.objects.create(account=account, phone=A, status=Status.OPTED_IN)
    b = Subscriber.objects.create(account=account, phone=B, status=Status.OPTED_IN)
    undone = _undone_table(
        [
            (A, a.pk, State.OUT_SUBSCRIBER.value, State.OPTED_IN.value, 1),
            # Changed since the run: not as the run left it, so not touched.
            (B, b.pk, State.OUT_CUSTOMER.value, State.OPTED_IN.value, 0),
        ]
    )
    staged.revert(undone, account_id=account.pk, run_id=None, user_id=None, now=now, note="Undo of import #1")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.opted_out_by) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)
    assert (b.status, b.opted_out_by) == (Status.OPTED_IN, "")
    event = OptEvent.objects.get(account=account, phone=A)
    assert (event.old_status, event.new_status, event.opted_out_by, event.note) == (
        Status.OPTED_IN,
        Status.OPTED_OUT,
        OptedOutBy.SUBSCRIBER,
        "Undo of import #1",
    )
    assert not OptEvent.objects.filter(phone=B).exists()
