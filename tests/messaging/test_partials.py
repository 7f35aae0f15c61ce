"""The alert page's htmx partials: the polled progress, the delivery log, and the whole page without htmx."""

import pytest
from django.urls import reverse

from messaging import alerts
from subscribers.transitions import State

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_alerts_page_answers_htmx_with_the_part_it_swaps(
    manager_client, account, sender, make_subscriber, rq_queues
):
    make_subscriber(account, "+12025551000", State.OPTED_IN)
    alert = alerts.alert_create(account=account, body="Outage on Feeder A2.", target="everyone", tags=[], user=None)
    url = reverse("messaging:alert", args=[alert.pk])
    progress = manager_client.get(url, headers={"HX-Request": "true", "HX-Target": "alert-progress"})
    assert progress.text.lstrip().startswith('<section class="card" id="alert-progress"')
    assert "<html" not in progress.text and "delivery-log" not in progress.text
    log = manager_client.get(url, headers={"HX-Request": "true", "HX-Target": "delivery-log"})
    assert log.text.lstrip().startswith('<div class="table-wrap" tabindex="0" id="delivery-log">')
    assert "alert-progress" not in log.text
    whole = manager_client.get(url)
    assert "<html" in whole.text and 'id="alert-progress"' in whole.text and 'id="delivery-log"' in whole.text
