"""/metrics: off without METRICS_TOKEN, 401 without the right bearer token, and after an import, an alert, a STOP
and a failed login it shows every series operators need."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from messaging import alerts
from tests.conftest import run_worker
from tests.messaging.conftest import text_in

TOKEN = "scrape-token-for-tests-0123456789"


def _value(text: str, name: str, **labels) -> float:
    """The value of one series in the exposition text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_endpoint_is_off_without_a_token_and_refuses_a_wrong_one(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_after_an_import_an_alert_a_stop_and_a_failed_login_the_series_are_there(
    client, api, settings, account, manager, sms, sender, rq_queues, django_capture_on_commit_callbacks
):
    settings.METRICS_TOKEN = TOKEN
    scrape = lambda: client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()  # noqa: E731
    before = scrape()

    with django_capture_on_commit_callbacks(execute=True):
        started = api.client.post(
            "/api/v1/imports",
            {"file": SimpleUploadedFile("cis.csv", b"2025550173,D4\n2025550174,D4\n2025550175,D5\nnope,D1\n")},
            headers={"Authorization": f"Bearer {api.token}"},
        )
    assert started.status_code == 202
    depth = scrape()
    assert _value(depth, "alertmanager_queue_depth", queue="imports") == 1
    assert _value(depth, "alertmanager_queue_oldest_job_age_seconds", queue="imports") >= 0
    run_worker("imports")
    alert = alerts.alert_create(account=account, body="Outage on Feeder A2.", target="everyone", tags=[], user=None)
    run_worker("default")
    text_in(client, "STOP", "+12025550173")
    client.post(reverse("login"), {"username": "manager", "password": "not-the-password"})

    after = scrape()
    grew = lambda name, **labels: _value(after, name, **labels) - _value(before, name, **labels)  # noqa: E731
    assert grew("alertmanager_import_runs_total", outcome="done") == 1
    assert grew("alertmanager_import_rows_total", outcome="opted_in") == 3
    assert grew("alertmanager_import_rows_total", outcome="rejected") == 1
    assert grew("alertmanager_import_duration_seconds_count") == 1
    assert grew("alertmanager_import_rows_per_second_count") == 1
    alert.refresh_from_db()
    assert alert.sent_count == 3 and grew("alertmanager_texts_total", result="sent") == 3
    assert grew("alertmanager_inbound_keywords_total", kind="stop") == 1
    assert grew("alertmanager_api_calls_total", status="202") == 1
    assert grew("alertmanager_failed_logins_total", step="password") == 1
    assert grew("alertmanager_http_requests_total", view="api:import_create", method="POST", status="202") == 1
    assert grew("alertmanager_http_requests_total", view="login", method="POST", status="200") == 1
    assert _value(after, "alertmanager_queue_depth", queue="imports") == 0
    assert 'alertmanager_queue_workers{queue="default"}' in after
