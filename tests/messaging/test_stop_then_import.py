"""A STOP from a number the account has never seen blocks it from any later import."""

import io

import pytest

from subscribers import services as status_service
from subscribers.models import OptedOutBy, Source, Status, Subscriber
from subscribers.services import Cause, TransitionRefused
from subscribers.transitions import Action, Outcome, State, refused_states, states_that
from tests.conftest import run_worker
from tests.messaging.conftest import text_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+12025550173"


def test_the_rules_never_let_an_import_opt_in_a_number_that_texted_stop(client, account, sender):
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


@pytest.mark.parametrize("mode", ["standard", "append", "append_hard"])
def test_a_stop_from_an_unknown_number_then_an_import_that_contains_it_stays_opted_out(
    client, account, sender, rq_queues, settings, tmp_path, mode
):
    from imports.models import ImportResult, RunSource
    from imports.services import import_run_create

    settings.UPLOAD_DIR = tmp_path / "uploads"
    text_in(client, "STOP", PHONE)
    csv = b"(202) 555-0173,District 1\n202-555-0174,District 1\n"
    run = import_run_create(account=account, file=io.BytesIO(csv), file_name="cis.csv", source=RunSource.CLI, mode=mode)
    run_worker("imports")
    run.refresh_from_db()
    assert run.stage == "done"
    stopped = Subscriber.objects.get(account=account, phone=PHONE)
    assert (stopped.status, stopped.opted_out_by) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)
    assert not stopped.tags.exists()
    result = ImportResult.objects.get(run=run, phone=PHONE)
    assert (result.outcome, result.reason) == ("rejected", "opted_out")
    assert Subscriber.objects.get(account=account, phone="+12025550174").status == Status.OPTED_IN
