import pytest

from subscribers import services
from subscribers.models import OptEvent, Source, Subscriber, Tag
from subscribers.services import Cause, InvalidPhone, TransitionRefused
from subscribers.transitions import Action, State
from tests.subscribers.cases import CASES, SOURCE_FOR

PHONE = "+12025550173"


def _state_of(account, phone):
    subscriber = Subscriber.objects.filter(account=account, phone=phone).first()
    return State.of(subscriber.status, subscriber.opted_out_by) if subscriber else State.NONE


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "start", "end", "expected"), CASES, ids=lambda v: getattr(v, "value", v))
def test_it_applies_every_transition_of_the_spec(account, make_subscriber, action, start, end, expected):
    make_subscriber(account, PHONE, start)
    events_before = OptEvent.objects.count()
    cause = Cause(source=SOURCE_FOR[action])
    if expected.startswith("refused:"):
        with pytest.raises(TransitionRefused) as refused:
            services.subscriber_apply(account=account, phone=PHONE, action=action, cause=cause)
        assert refused.value.code == expected.split(":", 1)[1]
        assert str(refused.value)  # a sentence for the person
        assert OptEvent.objects.count() == events_before
    else:
        result = services.subscriber_apply(account=account, phone=PHONE, action=action, cause=cause)
        assert result.outcome == expected
        assert result.new == end
        wrote_event = OptEvent.objects.count() - events_before
        assert wrote_event == (1 if start != end else 0)
    assert _state_of(account, PHONE) == end


@pytest.mark.django_db
@pytest.mark.parametrize("source", [Source.IMPORT, Source.API, Source.MANAGER, Source.SUPPORT])
def test_it_never_lets_the_utility_undo_an_owners_stop(account, source):
    services.subscriber_keyword_stop(account=account, phone=PHONE, message_sid="SM1")
    with pytest.raises(TransitionRefused) as refused:
        services.subscriber_opt_in(account=account, phone=PHONE, cause=Cause(source))
    assert refused.value.code == "opted_out"
    assert "double opt-in" in refused.value.detail


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "source"), [(Action.START, Source.IMPORT), (Action.CONFIRM, Source.API)])
def test_it_refuses_a_source_acting_as_the_phone_owner(account, action, source):
    with pytest.raises(ValueError):
        services.subscriber_apply(account=account, phone=PHONE, action=action, cause=Cause(source))
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_it_records_a_stop_from_an_unknown_number(account):
    result = services.subscriber_keyword_stop(account=account, phone="(202) 555-0173", message_sid="SM42")
    subscriber = Subscriber.objects.get(account=account, phone=PHONE)
    assert result.created
    assert (subscriber.status, subscriber.opted_out_by) == ("opted_out", "subscriber")
    event = OptEvent.objects.get(phone=PHONE)
    assert (event.old_status, event.new_status, event.source, event.message_sid) == ("", "opted_out", "keyword", "SM42")


@pytest.mark.django_db
def test_it_records_who_caused_a_change(account, manager):
    services.subscriber_opt_in(account=account, phone=PHONE, cause=Cause(Source.MANAGER, user=manager), tags=["North"])
    event = OptEvent.objects.get()
    assert event.user == manager
    assert event.source == "manager"
    assert event.tags_added == ["North"]
    assert event.new_status == "opted_in"


@pytest.mark.django_db
def test_it_matches_tags_case_insensitively_and_trims_them(account):
    services.subscriber_opt_in(
        account=account, phone=PHONE, cause=Cause(Source.API), tags=[" District 4 ", "district 4"]
    )
    services.subscriber_tags_update(
        account=account, phone=PHONE, cause=Cause(Source.API), add=["DISTRICT 4", "Feeder B2"]
    )
    assert Tag.objects.filter(account=account).count() == 2
    subscriber = Subscriber.objects.get(phone=PHONE)
    assert sorted(t.name for t in subscriber.tags.all()) == ["District 4", "Feeder B2"]
    event = OptEvent.objects.order_by("id").last()
    assert event.tags_added == ["Feeder B2"]


@pytest.mark.django_db
def test_it_sets_tags_exactly(account):
    services.subscriber_opt_in(account=account, phone=PHONE, cause=Cause(Source.API), tags=["A", "B"])
    result = services.subscriber_tags_update(
        account=account, phone=PHONE, cause=Cause(Source.API), add=["b", "C"], exact=True
    )
    assert result.tags_added == ["C"]
    assert result.tags_removed == ["A"]
    assert sorted(t.name for t in Subscriber.objects.get(phone=PHONE).tags.all()) == ["B", "C"]


@pytest.mark.django_db
def test_it_refuses_a_tag_longer_than_75_characters(account):
    with pytest.raises(services.InvalidTag):
        services.subscriber_opt_in(account=account, phone=PHONE, cause=Cause(Source.API), tags=["x" * 76])
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_a_refused_opt_in_leaves_tags_alone(account, make_subscriber):
    make_subscriber(account, PHONE, State.OUT_CUSTOMER, tags=["Old"])
    with pytest.raises(TransitionRefused):
        services.subscriber_opt_in(account=account, phone=PHONE, cause=Cause(Source.API), tags=["New"])
    assert [t.name for t in Subscriber.objects.get(phone=PHONE).tags.all()] == ["Old"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "reason"),
    [("", "blank"), ("555-201-3344", "invalid"), ("+44 20 7946 0958", "not_us_ca"), ("800-555-0199", "not_mobile")],
)
def test_it_refuses_a_bad_number_with_its_reason(account, value, reason):
    with pytest.raises(InvalidPhone) as refused:
        services.subscriber_opt_in(account=account, phone=value, cause=Cause(Source.MANAGER))
    assert refused.value.code == reason
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_deleting_never_forgets_an_owners_opt_out(account, make_subscriber):
    make_subscriber(account, PHONE, State.OUT_SUBSCRIBER, tags=["North"])
    services.subscriber_delete(account=account, phone=PHONE, cause=Cause(Source.MANAGER))
    subscriber = Subscriber.objects.get(phone=PHONE)
    assert subscriber.removed_at is not None
    assert not subscriber.tags.exists()
    assert not Subscriber.objects.listed().filter(phone=PHONE).exists()
    with pytest.raises(TransitionRefused):
        services.subscriber_opt_in(account=account, phone=PHONE, cause=Cause(Source.IMPORT))
    # The owner can still come back, and then the number is on the list again.
    services.subscriber_keyword_start(account=account, phone=PHONE)
    assert Subscriber.objects.listed().get(phone=PHONE).status == "opted_in"


@pytest.mark.django_db
def test_deleting_an_opted_in_number_removes_it_and_records_it(account, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN, tags=["North"])
    services.subscriber_delete(account=account, phone=PHONE, cause=Cause(Source.MANAGER))
    assert not Subscriber.objects.filter(phone=PHONE).exists()
    event = OptEvent.objects.get(phone=PHONE)
    assert (event.old_status, event.new_status, event.tags_removed) == ("opted_in", "", ["North"])


@pytest.mark.django_db
def test_a_change_in_one_account_never_touches_another(account, other_account, make_subscriber):
    make_subscriber(other_account, PHONE, State.OPTED_IN)
    services.subscriber_keyword_stop(account=account, phone=PHONE)
    assert Subscriber.objects.get(account=other_account, phone=PHONE).status == "opted_in"
    assert Subscriber.objects.get(account=account, phone=PHONE).status == "opted_out"


@pytest.mark.django_db(transaction=True)
def test_two_requests_opting_in_one_new_number_at_once_both_succeed():
    """Two API calls for a number the list does not have yet: the second waits for the first, then finds it."""
    import threading

    from django.db import connection, transaction

    from subscribers.models import Account

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has one writer at a time")
    account = Account.objects.create(slug="lakeside", name="Lakeside Electric Cooperative")
    phones = [f"+1205555{n:04d}" for n in range(200, 210)]
    outcomes, errors = [], []

    def opt_in(phone, barrier):
        try:
            barrier.wait()
            with transaction.atomic():
                result = services.subscriber_opt_in(
                    account=account, phone=phone, cause=Cause(Source.API), tags=["District 4"]
                )
            outcomes.append(result.created)
        except Exception as exc:  # the failure this test is about: an IntegrityError from the second insert
            errors.append(exc)
        finally:
            connection.close()

    for phone in phones:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=opt_in, args=(phone, barrier)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sorted(outcomes) == [False] * len(phones) + [True] * len(phones)
    assert Subscriber.objects.filter(account=account, phone__in=phones, status="opted_in").count() == len(phones)
