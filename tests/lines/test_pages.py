"""The pages: a number's line, the list's filter and export, the dashboard's list health, the run page's
lookups, the Line types settings page."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from lines.models import JobStage, LineEvent, LineEventKind, LineSettings, LineType, LookupRun, NumberLine
from subscribers.transitions import State

pytestmark = pytest.mark.django_db


@pytest.fixture
def lines(account, make_subscriber):
    made = {}
    for phone, line_type in (
        ("+12025550101", LineType.MOBILE),
        ("+12025550110", LineType.LANDLINE),
        ("+12025550119", LineType.VOIP),
        ("+12025550102", None),
    ):
        made[phone] = make_subscriber(account, phone, State.OPTED_IN)
        if line_type:
            NumberLine.objects.create(
                account=account, phone=phone, line_type=line_type, checked_at=timezone.now(), checked_by="twilio",
                carrier="Verizon Wireless" if line_type == "mobile" else "",
            )  # fmt: skip
    NumberLine.objects.filter(phone="+12025550119").update(unreachable_since=timezone.now())
    return made


def test_the_number_page_shows_its_line(manager_client, lines):
    page = manager_client.get(reverse("subscribers:detail", args=[lines["+12025550101"].pk])).content.decode()
    assert 'data-line-type="mobile"' in page
    assert "by twilio (Verizon Wireless)" in page
    landline = manager_client.get(reverse("subscribers:detail", args=[lines["+12025550110"].pk])).content.decode()
    assert "blocked from alerts (your setting for landlines)" in landline
    never = manager_client.get(reverse("subscribers:detail", args=[lines["+12025550102"].pk])).content.decode()
    assert 'data-line-type="unknown"' in never and "not yet" in never


def test_the_list_filters_by_line_type(manager_client, lines, other_account, make_subscriber):
    make_subscriber(other_account, "+12025550130", State.OPTED_IN)
    NumberLine.objects.create(account=other_account, phone="+12025550130", line_type=LineType.LANDLINE)

    def listed(line_type):
        page = manager_client.get(reverse("subscribers:list"), {"line_type": line_type}).content.decode()
        return sorted(p for p in ("(202) 555-0101", "(202) 555-0110", "(202) 555-0119", "(202) 555-0102",
                                  "(202) 555-0130") if p in page)  # fmt: skip

    assert listed("landline") == ["(202) 555-0110"]
    assert listed("mobile") == ["(202) 555-0101"]
    assert listed("unknown") == ["(202) 555-0102"]
    assert listed("unreachable") == ["(202) 555-0119"]
    assert len(listed("")) == 4
    assert manager_client.get(reverse("subscribers:list"), {"line_type": "fax"}).status_code == 200


def test_the_export_has_the_line_type(manager_client, lines):
    response = manager_client.get(reverse("subscribers:export"), {"format": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = {row[0]: row for row in csv.reader(io.StringIO(body))}
    assert rows["Phone"][-2:] == ["Line type", "Unreachable"]
    assert rows["(202) 555-0110"][-2:] == ["Landline", ""]
    assert rows["(202) 555-0119"][-2:] == ["VoIP", "yes"]
    assert rows["(202) 555-0102"][-2:] == ["Unknown", ""]


def test_the_dashboard_shows_list_health(manager_client, account, lines):
    LineEvent.objects.create(account=account, phone="+12025550111", kind=LineEventKind.REASSIGNED)
    LookupRun.objects.create(account=account, provider="twilio", stage=JobStage.RUNNING, total=500, done=120)
    page = manager_client.get(reverse("dashboard")).content.decode()
    assert 'data-lookups-pending="380"' in page
    assert "List health" in page
    for name, value in (("mobile", 1), ("landline", 1), ("voip", 1), ("unknown", 1), ("unreachable", 1),
                        ("reassigned_month", 1)):  # fmt: skip
        assert f'data-count="{name}">{value}<' in page
    assert "<svg" in page


def test_the_run_page_shows_the_lookups_of_the_import(manager_client, account):
    from imports.models import ImportRun

    run = ImportRun.objects.create(account=account, stage="done", file_name="list.csv", finished_at=timezone.now())
    LookupRun.objects.create(account=account, import_run=run, provider="simulated", stage=JobStage.RUNNING,
                             total=10_000, done=2_500)  # fmt: skip
    page = " ".join(manager_client.get(reverse("imports:run", args=[run.pk])).content.decode().split())
    assert "Line-type lookups after this import (simulated): 2,500 of 10,000 done, 7,500 pending." in page


def test_a_manager_sets_what_a_landline_means(manager_client, account, lines):
    page = manager_client.get(reverse("lines:settings"))
    assert page.status_code == 200
    assert b"Keep on the list, block from alerts" in page.content
    response = manager_client.post(reverse("lines:settings"), {"landline_policy": "flag"})
    assert response.status_code == 302
    assert LineSettings.objects.get(account=account).landline_policy == "flag"
    bad = manager_client.post(reverse("lines:settings"), {"landline_policy": "shred"})
    assert bad.status_code == 200 and b"Select a valid choice" in bad.content
    assert LineSettings.objects.get(account=account).landline_policy == "flag"


def test_a_manager_starts_the_lookups_by_hand(manager_client, account, lines, rq_queues):
    response = manager_client.post(reverse("lines:lookup_start"), follow=True)
    assert b"Looking up the numbers that need it" in response.content
    assert LookupRun.objects.filter(account=account, stage=JobStage.QUEUED).count() == 1
    again = manager_client.post(reverse("lines:lookup_start"), follow=True)
    assert b"already under way" in again.content
    assert LookupRun.objects.filter(account=account).count() == 1


def test_uploaders_and_other_accounts_cannot_reach_these_pages(uploader_client, lines):
    assert uploader_client.get(reverse("lines:settings")).status_code == 403
    assert uploader_client.post(reverse("lines:clear_unreachable", args=[lines["+12025550119"].pk])).status_code == 403


def test_another_account_cannot_clear_a_flag(other_client, lines):
    response = other_client.post(reverse("lines:clear_unreachable", args=[lines["+12025550119"].pk]))
    assert response.status_code == 404
    assert NumberLine.objects.get(phone="+12025550119").unreachable


def test_the_usage_page_counts_lookups(manager_client, account, other_account):
    from datetime import date

    from lines.models import LookupUsage

    LookupUsage.objects.create(account=account, month=date(2026, 11, 1), provider="twilio", lookups=10_000)
    LookupUsage.objects.create(account=other_account, month=date(2026, 11, 1), provider="twilio", lookups=7)
    page = manager_client.get(reverse("subscribers:usage")).content.decode()
    assert 'data-lookups="2026-11">10,000<' in page
    assert ">7<" not in page
