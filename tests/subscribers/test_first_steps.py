"""Issue 23, items 5, 10 and 13: the dashboard's first-run guide, the warning while texts are unregistered, and
figures that say what they count."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from imports.models import ImportRun
from messaging.models import Alert
from registration.models import Brand, Campaign, RegistrationStatus
from subscribers.models import Account, Membership, OptEvent, Role, Source
from subscribers.transitions import State

pytestmark = pytest.mark.django_db


def _steps(page: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'data-step="(\w+)" data-done="(true|false)"', page))


def _verified_registration(account):
    brand = Brand.objects.create(
        account=account, legal_name="Lakeside Electric Cooperative", tax_id="12-3456789", entity_type="NON_PROFIT",
        street="1 Main St", city="Duluth", state="MN", postal_code="55802", website="https://lakeside.example",
        status=RegistrationStatus.VERIFIED,
    )  # fmt: skip
    Campaign.objects.create(account=account, use_case="PUBLIC_SERVICE_ANNOUNCEMENT", description="Outages",
                            message_flow="Keyword", opt_in_keywords="JOIN", status=RegistrationStatus.VERIFIED)  # fmt: skip
    return brand


def test_a_new_account_sees_four_first_steps_none_done(manager_client):
    page = manager_client.get(reverse("dashboard")).content.decode()
    assert "First steps" in page
    assert _steps(page) == {"registration": "false", "list": "false", "uploader": "false", "test_alert": "false"}
    assert reverse("people") in page  # the invite step links to People, not a form of its own


def test_each_step_is_ticked_when_done(manager_client, account, uploader, make_subscriber):
    make_subscriber(account, "+12185550101", State.OPTED_IN)
    page = manager_client.get(reverse("dashboard")).content.decode()
    assert _steps(page) == {"registration": "false", "list": "true", "uploader": "true", "test_alert": "false"}


def test_the_guide_goes_once_every_step_is_done(manager_client, account, manager, uploader, make_subscriber):
    make_subscriber(account, "+12185550101", State.OPTED_IN)
    _verified_registration(account)
    Alert.objects.create(account=account, body="Test", fingerprint="x", created_by=manager)
    assert "First steps" not in manager_client.get(reverse("dashboard")).content.decode()


def test_a_manager_dismisses_the_guide_for_the_account(manager_client, account):
    response = manager_client.post(reverse("guide_dismiss"), follow=True)
    assert response.status_code == 200
    assert "First steps" not in response.content.decode()
    account.refresh_from_db()
    assert account.guide_dismissed_at is not None
    assert manager_client.get(reverse("guide_dismiss")).status_code == 405


def test_an_uploader_cannot_dismiss_the_guide(uploader_client, account):
    assert uploader_client.post(reverse("guide_dismiss")).status_code == 403
    account.refresh_from_db()
    assert account.guide_dismissed_at is None


def test_the_dashboard_and_the_alert_form_warn_while_texts_are_unregistered(manager_client, account):
    for url in (reverse("dashboard"), reverse("messaging:alert_new")):
        page = manager_client.get(url).content.decode()
        assert 'data-warning="unregistered"' in page and "Your brand is not registered." in page
    brand = _verified_registration(account)
    Campaign.objects.filter(account=account).update(status=RegistrationStatus.PENDING)
    assert (
        "No campaign of yours is verified yet." in manager_client.get(reverse("messaging:alert_new")).content.decode()
    )
    Campaign.objects.filter(account=account).update(status=RegistrationStatus.VERIFIED)
    brand.refresh_from_db()
    for url in (reverse("dashboard"), reverse("messaging:alert_new")):
        assert 'data-warning="unregistered"' not in manager_client.get(url).content.decode()


def test_the_chart_legend_says_it_counts_changes_not_numbers(manager_client):
    page = manager_client.get(reverse("dashboard")).content.decode()
    assert "counted each time they happened" in page
    assert "Opt-ins:" in page and "Opt-outs:" in page


def test_the_chart_bars_are_green_and_red_as_the_legend_says():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text()
    # `svg.chart .bar` (blue) outranks a plain `.chart .bar-in`: the colours must be at least as specific.
    assert "svg.chart .bar-in { fill: var(--ok); }" in css
    assert "svg.chart .bar-out { fill: var(--bad); }" in css


def test_the_demo_imports_its_list_as_a_real_import_that_the_dashboard_lists(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    call_command("seed_demo", numbers=60)
    account = Account.objects.get(slug="lakeside")
    run = ImportRun.objects.get(account=account)
    assert run.stage == "done" and run.counts["opted_in"] > 40
    imported = OptEvent.objects.filter(account=account, source=Source.IMPORT)
    assert imported.exists() and not imported.filter(import_run__isnull=True).exists()
    manager = Membership.objects.get(account=account, role=Role.MANAGER).user
    from django.test import Client

    from tests.conftest import verified_login

    page = verified_login(Client(), manager).get(reverse("dashboard")).content.decode()
    assert "No imports yet" not in page and "lakeside-cis-export.csv" in page
