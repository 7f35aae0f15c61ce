"""The API shows what the carriers say about a number: `line_type` and `unreachable`."""

import pytest

from lines.models import LineType, NumberLine
from subscribers.transitions import State

pytestmark = pytest.mark.django_db


def test_a_number_shows_its_line_type(api, account, make_subscriber):
    make_subscriber(account, "+12025550110", State.OPTED_IN)
    make_subscriber(account, "+12025550111", State.OPTED_IN)
    NumberLine.objects.create(account=account, phone="+12025550110", line_type=LineType.LANDLINE)
    body = api.get("/subscribers/2025550110").json()
    assert (body["line_type"], body["unreachable"]) == ("landline", False)
    # Never looked up: unknown.
    assert api.get("/subscribers/+12025550111").json()["line_type"] == "unknown"


def test_the_list_shows_each_numbers_line_type(api, account, other_account, make_subscriber):
    make_subscriber(account, "+12025550121", State.OPTED_IN)
    make_subscriber(account, "+12025550122", State.OPTED_IN)
    NumberLine.objects.create(
        account=account, phone="+12025550122", line_type=LineType.MOBILE, unreachable_since="2026-11-02T00:00Z"
    )
    # Another account's line for the same number says nothing about this one's.
    NumberLine.objects.create(account=other_account, phone="+12025550121", line_type=LineType.VOIP)
    items = api.get("/subscribers").json()["items"]
    assert [(i["phone"], i["line_type"], i["unreachable"]) for i in items] == [
        ("+12025550121", "unknown", False),
        ("+12025550122", "mobile", True),
    ]
