"""A STOP from a number the account has never seen blocks it from any later import."""

import pytest

from subscribers import services as status_service
from subscribers.models import OptedOutBy, Source, Status, Subscriber
from subscribers.services import Cause, TransitionRefused
from subscribers.transitions import Action, Outcome, State, refused_states, states_that
from tests.messaging.conftest import text_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+12025550173"


def test_a_stop_from_an_unknown_number_then_an_import_that_contains_it_stays_opted_out(client, account, sender):
    text_in(client, "STOP", PHONE)
    subscriber = Subscriber.objects.get(account=account, phone=PHONE)
    state = State.of(subscriber.status, subscriber.opted_out_by)
    assert state is State.OUT_SUBSCRIBER

    # The import engine selects with the same table, set-based: this state is never opted in or reactivated.
    assert state in refused_states(Action.OPT_IN)
    assert state not in states_that(Action.OPT_IN, Outcome.OPTED_IN)
    assert state not in states_that(Action.REACTIVATE, Outcome.REACTIVATED)
    # And one number at a time, as an import source.
    with pytest.raises(TransitionRefused) as refused:
        status_service.subscriber_opt_in(account=account, phone=PHONE, cause=Cause(Source.IMPORT), tags=["District 1"])
    assert refused.value.code == "opted_out"
    subscriber.refresh_from_db()
    assert (subscriber.status, subscriber.opted_out_by) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)
    assert not subscriber.tags.exists()
