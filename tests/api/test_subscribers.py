"""The number endpoints: read, list, change status and tags, each through the status service."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscribers import services
from subscribers.models import OptEvent, Source, Status, Subscriber
from subscribers.services import Cause
from subscribers.transitions import State
from tests.api.conftest import assert_error

PHONE = "+12025550173"
SHAPES = ["+12025550173", "(202) 555-0173", "202.555.0173", "202-555-0173", "2025550173", "12025550173",
          "1-202-555-0173", "+1 202 555 0173", " 2025550173 "]  # fmt: skip


def test_it_reads_a_numbers_status_and_tags(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN, tags=["District 4", "Feeder B2"])

    response = api.get(f"/subscribers/{PHONE}")

    assert response.status_code == 200
    body = response.json()
    assert body["phone"] == PHONE
    assert body["status"] == "opted_in"
    assert body["opted_out_by"] is None
    assert body["tags"] == ["District 4", "Feeder B2"]
    assert body["first_seen"] and body["status_changed"]


def test_a_read_is_one_query_once_the_key_is_known(api, account, make_subscriber, django_assert_num_queries):
    make_subscriber(account, PHONE, State.OPTED_IN, tags=["District 4", "feeder B2", "Alpha"])
    api.get(f"/subscribers/{PHONE}")  # the key read from the database and its use recorded

    with django_assert_num_queries(1):
        body = api.get(f"/subscribers/{PHONE}").json()
    assert body["tags"] == ["Alpha", "District 4", "feeder B2"]


@pytest.mark.parametrize("shape", SHAPES)
def test_it_accepts_a_number_in_any_shape_the_spec_accepts(api, account, make_subscriber, shape):
    make_subscriber(account, PHONE, State.SUSPENDED)
    from urllib.parse import quote

    response = api.get(f"/subscribers/{quote(shape)}")
    assert response.status_code == 200, response.content
    assert response.json()["phone"] == PHONE


def test_it_tells_who_opted_a_number_out(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OUT_SUBSCRIBER)
    body = api.get(f"/subscribers/{PHONE}").json()
    assert (body["status"], body["opted_out_by"]) == ("opted_out", "subscriber")


def test_it_answers_404_for_a_number_the_account_does_not_have(api):
    assert_error(api.get(f"/subscribers/{PHONE}"), 404, "not_found", "phone")


def test_it_answers_404_for_another_accounts_number_and_changes_nothing(api, other_account, make_subscriber):
    make_subscriber(other_account, PHONE, State.OPTED_IN, tags=["Riverbend"])

    assert_error(api.get(f"/subscribers/{PHONE}"), 404, "not_found")
    assert api.get("/subscribers").json()["items"] == []
    assert_error(api.post(f"/subscribers/{PHONE}/suspend"), 404, "not_found")
    assert_error(api.put(f"/subscribers/{PHONE}/tags", {"tags": []}), 404, "not_found")
    assert_error(api.delete(f"/subscribers/{PHONE}/tags/Riverbend"), 404, "not_found")
    # Opting in creates the number in the caller's own account; the other account's stays as it was.
    assert api.post(f"/subscribers/{PHONE}/opt-out").status_code == 200
    theirs = Subscriber.objects.get(account=other_account, phone=PHONE)
    assert theirs.status == Status.OPTED_IN
    assert [t.name for t in theirs.tags.all()] == ["Riverbend"]


@pytest.mark.parametrize(
    ("value", "code"),
    [("12345", "invalid"), ("+442079460958", "not_us_ca"), ("8005550199", "not_mobile"), ("5.552E+09", "invalid")],
)
def test_it_answers_422_with_the_reason_for_a_number_it_cannot_accept(api, value, code):
    from urllib.parse import quote

    assert_error(api.get(f"/subscribers/{quote(value)}"), 422, code, "phone")
    assert_error(api.post(f"/subscribers/{quote(value)}/opt-in"), 422, code, "phone")
    assert not Subscriber.objects.exists()


def test_it_opts_in_a_new_number_with_tags_and_records_the_api_as_the_source(api, account, api_key):
    response = api.post("/subscribers/(202)%20555-0173/opt-in", {"tags": ["District 4", " district 4 ", ""]})

    assert response.status_code == 200
    body = response.json()
    assert body["phone"] == PHONE
    assert (body["status"], body["outcome"], body["is_new"]) == ("opted_in", "opted_in", True)
    assert body["tags"] == ["District 4"] and body["tags_added"] == ["District 4"]
    event = OptEvent.objects.get(account=account, phone=PHONE)
    assert (event.source, event.old_status, event.new_status) == (Source.API, "", "opted_in")
    assert api_key.name in event.note


def test_an_opt_in_without_a_body_works_too(api):
    response = api.post(f"/subscribers/{PHONE}/opt-in")
    assert response.status_code == 200
    assert response.json()["tags"] == []


def test_opting_in_a_suspended_number_reactivates_it(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.SUSPENDED, tags=["A"])
    body = api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["B"]}).json()
    assert (body["status"], body["outcome"], body["is_new"]) == ("opted_in", "reactivated", False)
    assert body["tags"] == ["A", "B"] and body["tags_added"] == ["B"]


def test_opting_in_an_opted_in_number_changes_nothing(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN)
    body = api.post(f"/subscribers/{PHONE}/opt-in").json()
    assert body["outcome"] == "unchanged"
    assert not OptEvent.objects.exists()


@pytest.mark.parametrize("state", [State.OUT_SUBSCRIBER, State.OUT_CUSTOMER])
@pytest.mark.parametrize("action", ["opt-in", "reactivate"])
def test_it_answers_409_when_asked_to_undo_an_opt_out(api, account, make_subscriber, state, action):
    make_subscriber(account, PHONE, state, tags=["A"])

    body = assert_error(api.post(f"/subscribers/{PHONE}/{action}", {"tags": ["B"]}), 409, "opted_out", "phone")

    assert "double opt-in" in body["detail"]
    subscriber = Subscriber.objects.get(account=account, phone=PHONE)
    assert State.of(subscriber.status, subscriber.opted_out_by) is state
    assert [t.name for t in subscriber.tags.all()] == ["A"]
    assert not OptEvent.objects.exists()


@pytest.mark.parametrize("action", ["suspend", "reactivate"])
def test_it_answers_409_for_a_number_waiting_to_confirm(api, account, make_subscriber, action):
    make_subscriber(account, PHONE, State.PENDING)
    assert_error(api.post(f"/subscribers/{PHONE}/{action}"), 409, "pending", "phone")
    assert Subscriber.objects.get(phone=PHONE).status == Status.PENDING


@pytest.mark.parametrize("action", ["suspend", "reactivate"])
def test_it_answers_404_when_suspending_or_reactivating_an_unknown_number(api, action):
    assert_error(api.post(f"/subscribers/{PHONE}/{action}"), 404, "not_found", "phone")
    assert not Subscriber.objects.exists()


def test_it_suspends_and_reactivates_a_number(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN)

    suspended = api.post(f"/subscribers/{PHONE}/suspend").json()
    assert (suspended["status"], suspended["outcome"]) == ("suspended", "suspended")
    reactivated = api.post(f"/subscribers/{PHONE}/reactivate").json()
    assert (reactivated["status"], reactivated["outcome"]) == ("opted_in", "reactivated")
    assert list(OptEvent.objects.order_by("id").values_list("new_status", "source")) == [
        ("suspended", "api"),
        ("opted_in", "api"),
    ]


def test_it_opts_a_number_out_for_good(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN)

    body = api.post(f"/subscribers/{PHONE}/opt-out").json()

    assert (body["status"], body["opted_out_by"], body["outcome"]) == ("opted_out", "customer", "opted_out")
    assert_error(api.post(f"/subscribers/{PHONE}/opt-in"), 409, "opted_out")


def test_opting_out_a_number_the_account_never_had_keeps_it_blocked(api, account):
    body = api.post(f"/subscribers/{PHONE}/opt-out").json()
    # Recorded to block it, but never billed as new (issue 18 item 7).
    assert (body["status"], body["is_new"]) == ("opted_out", False)
    assert Subscriber.objects.get(account=account, phone=PHONE).opted_out_by == "customer"


def test_a_number_deleted_in_the_app_is_not_found_but_stays_blocked(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OUT_SUBSCRIBER)
    services.subscriber_delete(account=account, phone=PHONE, cause=Cause(Source.MANAGER))

    assert_error(api.get(f"/subscribers/{PHONE}"), 404, "not_found")
    assert_error(api.post(f"/subscribers/{PHONE}/opt-in"), 409, "opted_out")


@pytest.fixture
def texting(account, settings):
    """The account can text (a short code), through the memory gateway: the outside world faked."""
    from messaging import gateway

    settings.SMS_GATEWAY = "memory"
    gateway.outbox.clear()
    services.account_sender_add(account=account, phone="73303")
    yield gateway.outbox
    gateway.outbox.clear()


def test_a_double_opt_in_request_makes_a_new_number_pending_and_texts_it(
    api, account, texting, django_capture_on_commit_callbacks
):
    from messaging.account_settings import messaging_settings_get

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/subscribers/{PHONE}/double-opt-in", {"tags": ["District 4"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["outcome"], body["is_new"], body["tags"]) == (
        "pending",
        "pending",
        True,
        ["District 4"],
    )
    assert [(m.to, m.body) for m in texting] == [(PHONE, messaging_settings_get(account=account).request_text)]
    event = OptEvent.objects.get(phone=PHONE)
    assert (event.source, event.new_status) == (Source.API, Status.PENDING)


def test_a_double_opt_in_request_is_how_the_api_brings_back_an_opted_out_number(
    api, account, texting, make_subscriber, django_capture_on_commit_callbacks
):
    make_subscriber(account, PHONE, State.OUT_SUBSCRIBER)
    with django_capture_on_commit_callbacks(execute=True):
        body = api.post(f"/subscribers/{PHONE}/double-opt-in").json()
    assert (body["status"], body["opted_out_by"], body["outcome"]) == ("opted_out", "subscriber", "unchanged")
    assert [m.to for m in texting] == [PHONE]  # the request went; YES from the phone will opt it in
    from messaging.models import OptInRequest

    assert OptInRequest.objects.get(phone=PHONE).state == "open"


def test_a_double_opt_in_request_to_an_opted_in_number_is_a_conflict_and_sends_nothing(
    api, account, texting, make_subscriber, django_capture_on_commit_callbacks
):
    make_subscriber(account, PHONE, State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        assert_error(api.post(f"/subscribers/{PHONE}/double-opt-in"), 409, "already_opted_in")
    assert texting == []


def test_a_double_opt_in_request_without_a_sender_number_is_a_conflict_and_changes_nothing(api, account):
    body = assert_error(api.post(f"/subscribers/{PHONE}/double-opt-in"), 409, "no_sender")
    assert "sender number" in body["detail"]
    assert not Subscriber.objects.filter(phone=PHONE).exists()


def test_it_sets_a_numbers_tags_exactly(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.SUSPENDED, tags=["A", "B"])

    body = api.put(f"/subscribers/{PHONE}/tags", {"tags": ["b", "C"]}).json()

    assert body["status"] == "suspended" and body["outcome"] == "unchanged"
    assert body["tags"] == ["B", "C"]
    assert (body["tags_added"], body["tags_removed"]) == (["C"], ["A"])
    event = OptEvent.objects.get()
    assert (event.tags_added, event.tags_removed, event.source) == (["C"], ["A"], "api")


def test_it_clears_a_numbers_tags(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN, tags=["A", "B"])
    assert api.put(f"/subscribers/{PHONE}/tags", {"tags": []}).json()["tags"] == []


def test_it_adds_and_removes_one_tag(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN, tags=["A"])

    added = api.post(f"/subscribers/{PHONE}/tags/District%204").json()
    assert added["tags"] == ["A", "District 4"] and added["tags_added"] == ["District 4"]
    removed = api.delete(f"/subscribers/{PHONE}/tags/district%204").json()
    assert removed["tags"] == ["A"] and removed["tags_removed"] == ["District 4"]
    again = api.delete(f"/subscribers/{PHONE}/tags/district%204").json()
    assert again["tags_removed"] == []
    assert OptEvent.objects.count() == 2


def test_it_answers_422_for_a_tag_that_is_too_long_or_has_control_characters(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN)
    assert_error(api.put(f"/subscribers/{PHONE}/tags", {"tags": ["x" * 76]}), 422, "validation_error", "tags.0")
    assert_error(api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["a\x00b"]}), 422, "validation_error", "tags.0")
    assert_error(api.post(f"/subscribers/{PHONE}/tags/a%00b"), 422, "invalid_tag", "tag")
    assert_error(api.post(f"/subscribers/{PHONE}/tags/%20"), 422, "blank", "tag")
    assert_error(api.put(f"/subscribers/{PHONE}/tags", {"tags": "A"}), 422, "validation_error", "tags")
    assert_error(api.put(f"/subscribers/{PHONE}/tags", {}), 422, "validation_error", "tags")
    assert not OptEvent.objects.exists()


def test_it_answers_400_for_a_body_that_is_not_json(api):
    response = api.client.post(
        f"/api/v1/subscribers/{PHONE}/opt-in",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    body = assert_error(response, 400, "bad_request")
    assert "JSON object" in body["detail"]
    assert not Subscriber.objects.exists()


def test_unknown_addresses_and_methods_answer_in_json(api):
    assert_error(api.get("/nowhere"), 404, "not_found")
    assert_error(api.client.get("/api/v2/subscribers"), 404, "not_found")
    response = api.delete(f"/subscribers/{PHONE}/opt-in")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


def _page(api, **params):
    response = api.get("/subscribers", params)
    assert response.status_code == 200, response.content
    return response.json()


def _phones(count, start=2025550100):
    return [f"+1{start + n}" for n in range(count)]


def test_it_lists_numbers_a_page_at_a_time(api, account, make_subscriber):
    phones = _phones(7)
    for phone in phones:
        make_subscriber(account, phone, State.OPTED_IN)

    seen, cursor, pages = [], None, 0
    while True:
        body = _page(api, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [item["phone"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert body["next"] is None
            break
        assert body["next"].startswith("http://testserver/api/v1/subscribers?") and "limit=3" in body["next"]
    assert seen == phones and pages == 3


def test_pages_neither_repeat_nor_skip_numbers_while_the_list_changes(api, account, make_subscriber):
    phones = _phones(6)
    for phone in phones:
        make_subscriber(account, phone, State.OPTED_IN)

    first = _page(api, limit=3)
    # Meanwhile: a number before the cursor is deleted and one is added before it; one after it is added.
    services.subscriber_delete(account=account, phone=phones[0], cause=Cause(Source.MANAGER))
    make_subscriber(account, "+12025550099", State.OPTED_IN)
    make_subscriber(account, "+12025550150", State.OPTED_IN)
    second = _page(api, limit=3, cursor=first["next_cursor"])
    third = _page(api, limit=3, cursor=second["next_cursor"])

    assert [i["phone"] for i in first["items"]] == phones[:3]
    assert [i["phone"] for i in second["items"] + third["items"]] == phones[3:] + ["+12025550150"]


def test_it_filters_the_list_by_status_tag_and_digits(api, account, make_subscriber):
    make_subscriber(account, "+12025550101", State.OPTED_IN, tags=["District 4"])
    make_subscriber(account, "+12025550102", State.SUSPENDED, tags=["District 4"])
    make_subscriber(account, "+16125550103", State.OPTED_IN, tags=["District 5"])
    make_subscriber(account, "+16125550104", State.OUT_SUBSCRIBER)

    def phones(**params):
        return [item["phone"] for item in _page(api, **params)["items"]]

    assert phones(status="opted_in") == ["+12025550101", "+16125550103"]
    assert phones(tag="district 4") == ["+12025550101", "+12025550102"]
    assert phones(tag="district 4", status="suspended") == ["+12025550102"]
    assert phones(q="612") == ["+16125550103", "+16125550104"]
    assert phones(q="(612) 555-01") == ["+16125550103", "+16125550104"]
    assert phones(tag="No such tag") == []
    assert len(phones()) == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "gone"}, "status"), ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "x"}, "limit")],
)
def test_it_answers_422_for_bad_list_parameters(api, params, field):
    assert_error(api.get("/subscribers", params), 422, "validation_error", field)


@pytest.mark.parametrize("cursor", ["nonsense", "cDp4", "!!!", "cDorMTIwMjU1NTAxMDA"])
def test_it_answers_422_for_a_cursor_it_did_not_give_out(api, cursor):
    if cursor == "cDorMTIwMjU1NTAxMDA":
        assert _page(api, cursor=cursor)["items"] == []  # a real cursor, past the end
        return
    assert_error(api.get("/subscribers", {"cursor": cursor}), 422, "invalid_cursor", "cursor")


def test_an_opt_in_reads_the_number_with_its_tags_in_one_query(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.SUSPENDED, tags=["District 4"])
    services.tags_get_or_create(account=account, names=["Feeder B2"])
    api.get(f"/subscribers/{PHONE}")  # the key read from the database and its use recorded

    with CaptureQueriesContext(connection) as queries:
        body = api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["feeder b2"]}).json()

    assert (body["status"], body["tags"], body["tags_added"]) == (
        "opted_in",
        ["District 4", "Feeder B2"],
        ["Feeder B2"],
    )
    statements = [q["sql"].split()[0] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # The tag, the number with its tags (locked), its new status, its new tag, the opt event.
    assert statements == ["SELECT", "SELECT", "UPDATE", "INSERT", "INSERT"]
