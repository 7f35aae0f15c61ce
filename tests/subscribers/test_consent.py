"""The consent record (issue 18 item 6): one number with events from every source — the widget, YES, an import,
the API, a manager, a STOP and a START texted — on its page, as CSV, as a printable page and through the API,
and the whole account's ledger as an export job."""

import csv
import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils.html import escape

from api import services as api_services
from imports import services as import_services
from imports.models import ImportRun, RunSource
from messaging import gateway
from messaging.account_settings import messaging_settings_get
from subscribers.models import OptEvent
from subscribers.services import Cause, account_sender_add, subscriber_opt_in
from tests.api.conftest import ApiClient
from tests.conftest import run_worker, verified_login
from tests.messaging.conftest import AUTH_TOKEN, SHORT_CODE, text_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+12025550173"
OTHER = "+12025550174"
SITE = "https://www.lakeside-coop.example"
PAGE = f"{SITE}/outages/sign-up"
SOURCES = ["widget", "double_opt_in", "import", "api", "manager", "keyword", "keyword"]


@pytest.fixture(autouse=True)
def sms(settings, tmp_path):
    settings.SMS_GATEWAY = "memory"
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.SMS_PUBLIC_URL = ""
    settings.SMS_VERIFY_SIGNATURES = True
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.MEDIA_ROOT = tmp_path / "media"
    gateway.outbox.clear()
    cache.clear()
    yield
    gateway.outbox.clear()


@pytest.fixture
def journey(client, account, manager, rq_queues, django_capture_on_commit_callbacks):
    """PHONE's whole life, each step through the real path a person or a system takes."""
    account_sender_add(account=account, phone=SHORT_CODE)
    config = messaging_settings_get(account=account)
    config.widget_origins = [SITE]
    config.save()
    key = config.widget_key

    form = client.get(f"/widget/{key}/", HTTP_REFERER=PAGE)  # the widget in an iframe on the utility's page
    assert f'name="page" value="{PAGE}"' in form.text
    signed_up = client.post(
        f"/widget/{key}/subscribe/", {"phone": "202-555-0173", "consent": "on", "page": PAGE},
        HTTP_ORIGIN=SITE, REMOTE_ADDR="203.0.113.9",
    )  # fmt: skip
    assert signed_up.status_code == 200
    text_in(client, "YES", PHONE, sid="SMyes000000000000000000000000001")

    with django_capture_on_commit_callbacks(execute=True):
        run = import_services.import_run_create(
            account=account, file=io.BytesIO(b"2025550173,District 4,=HYPERLINK(1)\n"), file_name="cis-export.csv",
            source=RunSource.SFTP,
        )  # fmt: skip
    run_worker("imports")

    api_key, token = api_services.api_key_create(account=account, name="CIS sync")
    api = ApiClient(client, token)
    assert api.post(f"/subscribers/{PHONE}/suspend").status_code == 200

    verified_login(client, manager)
    detail = reverse("subscribers:detail", args=[_pk(account)])
    assert client.post(detail + "reactivate/").status_code == 302

    text_in(client, "STOP", PHONE, sid="SMstop00000000000000000000000001")
    text_in(client, "START", PHONE, sid="SMstart0000000000000000000000001")
    subscriber_opt_in(account=account, phone=OTHER, cause=Cause("manager", user=manager))
    return {"run": ImportRun.objects.get(pk=run.pk), "api": api, "detail": detail, "config": config}


def _pk(account) -> int:
    from subscribers.models import Subscriber

    return Subscriber.objects.get(account=account, phone=PHONE).pk


def test_the_api_gives_every_event_and_text_of_the_number_newest_last(journey, account, manager):
    body = journey["api"].get(f"/subscribers/{PHONE}/consent").json()
    events, texts = body["events"], body["texts"]
    assert [e["source"] for e in events] == SOURCES
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    widget, yes, imported, api, by_manager, stop, start = events
    assert (widget["page_url"], widget["client_ip"], widget["channel"]) == (PAGE, "203.0.113.9", "Web widget")
    assert (widget["old_status"], widget["new_status"]) == ("", "pending")
    assert (yes["text_received"], yes["who"], yes["new_status"]) == ("YES", "The phone's owner", "opted_in")
    assert yes["channel"] == f"Text to {SHORT_CODE}"
    assert (imported["import_run"], imported["file_name"], imported["channel"]) == (
        journey["run"].pk, "cis-export.csv", "SFTP drop",
    )  # fmt: skip
    assert imported["tags_added"] == ["=HYPERLINK(1)", "District 4"]
    assert (api["who"], api["channel"], api["new_status"]) == ("API key CIS sync", "REST API", "suspended")
    assert (by_manager["who"], by_manager["channel"], by_manager["new_status"]) == ("manager", "The app", "opted_in")
    assert (stop["text_received"], stop["new_status"], stop["opted_out_by"]) == ("STOP", "opted_out", "subscriber")
    assert (start["text_received"], start["new_status"]) == ("START", "opted_in")
    config = journey["config"]
    assert [t["kind"] for t in texts] == ["request", "confirmation", "opt_out", "welcome"]
    assert [t["body"] for t in texts] == [
        config.request_text, config.confirmation_text, config.opt_out_text, config.welcome_text,
    ]  # fmt: skip
    assert all(t["status"] and t["sender"] == SHORT_CODE for t in texts)
    assert [t["at"] for t in texts] == sorted(t["at"] for t in texts)


def test_the_consent_record_is_the_accounts_own(journey, other_account, client):
    _, token = api_services.api_key_create(account=other_account, name="Theirs")
    theirs = ApiClient(client, token)
    response = theirs.get(f"/subscribers/{PHONE}/consent")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert journey["api"].get("/subscribers/2025550199/consent").status_code == 404
    assert journey["api"].get("/subscribers/12345/consent").status_code == 422


def test_the_number_page_shows_the_consent_record(journey, client):
    page = client.get(journey["detail"]).text
    assert "Consent record" in page and 'id="texts-sent"' in page
    assert PAGE in page and "Visitor address: 203.0.113.9" in page
    assert "Text received: “YES”" in page and "Text received: “STOP”" in page
    assert f"Import #{journey['run'].pk}: cis-export.csv" in page and "SFTP drop" in page
    assert "API key CIS sync" in page and "The app" in page
    assert journey["config"].opt_out_text in page and "Opt-out confirmation" in page
    assert reverse("subscribers:consent_csv", args=[_pk_of(journey)]) in page


def _pk_of(journey) -> int:
    return int(journey["detail"].rstrip("/").rsplit("/", 1)[1])


def test_the_csv_of_one_number_is_complete_in_time_order_and_formula_safe(journey, client, account):
    response = client.get(reverse("subscribers:consent_csv", args=[_pk_of(journey)]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:6] == ["Phone", "Time", "Record", "What", "Who", "How"]
    assert [r[2] for r in body].count("Opt event") == len(SOURCES) and [r[2] for r in body].count("Text sent") == 4
    assert {r[0] for r in body} == {"(202) 555-0173"}
    # A text comes right after the event that caused it: YES, then its confirmation.
    what = [r[3] for r in body]
    assert what.index("Double opt-in confirmation") == what.index("Pending → Opted in") + 1
    imported = next(r for r in body if r[7] == str(journey["run"].pk))
    assert imported[8] == "cis-export.csv" and imported[12] == "'=HYPERLINK(1); District 4"
    widget = next(r for r in body if r[6] == "Web widget")
    assert (widget[9], widget[10]) == (PAGE, "203.0.113.9")
    for row in body:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row


def test_the_printable_page_lists_events_and_texts_oldest_first(journey, client):
    response = client.get(reverse("subscribers:consent", args=[_pk_of(journey)]))
    assert response.status_code == 200
    page = response.text
    assert "Consent record of (202) 555-0173" in page and "Lakeside Electric Cooperative" in page
    assert page.index("Web widget") < page.index("SFTP drop") < page.index("Text received: “STOP”")
    assert page.index(escape(journey["config"].request_text)) < page.index(escape(journey["config"].opt_out_text))
    assert "Opt events (7)" in page and "Texts sent (4)" in page


def test_the_account_ledger_is_an_export_job_with_a_progress_page(journey, client, account, other_account):
    subscriber_opt_in(account=other_account, phone="+12025550188", cause=Cause("import"))
    started = client.post(reverse("subscribers:consent_ledger"))
    assert started.status_code == 302
    status_url = started.url
    page = client.get(status_url).text
    assert "Consent ledger" in page and "Waiting for a worker" in page
    run_worker("default")
    page = client.get(status_url).text
    assert "Your export is ready" in page and "rows (opt events and texts)" in page
    download = client.get(status_url + "download/")
    assert download.status_code == 200
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))[1:]
    assert len(rows) == OptEvent.objects.filter(account=account).count() + 4
    assert {r[0] for r in rows} == {"(202) 555-0173", "(202) 555-0174"}  # never another account's numbers
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # number by number
    assert any(cell == "'=HYPERLINK(1); District 4" for r in rows for cell in r)
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row
    from audit.models import AuditEntry

    assert AuditEntry.objects.filter(account=account, action="consent_ledger").exists()


def test_an_uploader_cannot_read_consent_records(journey, client, uploader):
    verified_login(client, uploader)
    assert client.get(reverse("subscribers:consent", args=[_pk_of(journey)])).status_code == 403
    assert client.get(reverse("subscribers:consent_csv", args=[_pk_of(journey)])).status_code == 403
    assert client.post(reverse("subscribers:consent_ledger")).status_code == 403
