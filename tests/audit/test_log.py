"""The audit log: each kind of entry is written by the action itself (through its page where there is one), shown on
/audit/ to the account's managers and in its CSV, never to another account, and never changed or deleted."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from api.models import ApiKey
from audit.models import AuditEntry, Kind
from audit.services import audit_record
from imports.models import ImportRun, Stage
from messaging.alerts import alert_create
from people.services import login_lock_lift
from sftpdrop.models import SftpAddressBlock
from subscribers.models import Status, Tag
from subscribers.transitions import State
from tests.conftest import run_worker, verified_login
from tests.imports.pages import approved_configuration, on_commit, post_and_work, preformatted_csv, upload
from tests.people.conftest import enrolled, password_step


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, rq_queues):
    settings.UPLOAD_DIR = tmp_path / "uploads"


def _csv(client, query="") -> list[dict]:
    response = client.get(reverse("audit:export") + query)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _kinds(account) -> set[tuple[str, str]]:
    return set(AuditEntry.objects.filter(account=account).values_list("kind", "action"))


@pytest.mark.django_db
def test_logins_failures_and_locks_are_written_and_shown(client, account, manager, settings):
    settings.LOGIN_LOCKOUT_FAILURES = 2
    enrolled(manager)
    password_step(client, "manager", "wrong", REMOTE_ADDR="203.0.113.7")
    password_step(client, "manager", "wrong", REMOTE_ADDR="203.0.113.7")
    assert {(Kind.LOGIN_FAILED, "password"), (Kind.LOGIN_LOCKED, "username_locked")} <= _kinds(account)
    failed = AuditEntry.objects.filter(kind=Kind.LOGIN_FAILED).first()
    assert failed.ip == "203.0.113.7" and failed.actor_name == "manager"

    staff = get_user_model().objects.create_user("support", password="pw-for-tests-123", is_staff=True)
    from people.models import LoginLock

    login_lock_lift(lock=LoginLock.objects.get(), by=staff)
    verified_login(client, manager)
    page = client.get(reverse("audit:log")).content.decode()
    assert "Failed login as manager: wrong password" in page
    assert "Username manager locked" in page
    assert "lock on manager lifted" in page
    rows = _csv(client, "?kind=login_failed")
    assert {row["kind"] for row in rows} == {"login_failed"} and rows[0]["address"] == "203.0.113.7"


@pytest.mark.django_db
def test_every_managers_action_writes_its_entry(manager_client, account, manager, make_subscriber, settings):
    client = manager_client
    make_subscriber(account, "+12025550190", State.OPTED_IN, tags=["North"])
    # API keys
    client.post(reverse("api_keys"), {"name": "CIS sync"})
    key = ApiKey.objects.get()
    client.post(reverse("api_key_revoke", args=[key.pk]))
    # SFTP credentials
    client.post(reverse("sftpdrop:create"), {"public_key": ""})
    client.post(reverse("sftpdrop:rotate"), {"public_key": ""})
    client.post(reverse("sftpdrop:revoke"))
    # Configurations
    configuration = approved_configuration(account, manager)
    client.post(reverse("imports:config_retire", args=[configuration.pk]))
    # Imports: started and undone; one held by the guard and cancelled, one confirmed
    run = upload(client, preformatted_csv(["+12025550173,North", "+12025550174"]), name="north.csv")
    run_worker("imports")
    post_and_work(client, reverse("imports:run_undo", args=[run.pk]))
    make_subscriber(account, "+12025550180", State.OPTED_IN)
    held = upload(client, preformatted_csv(["+12025550180"]), name="suspend.csv", action="suspend")
    run_worker("imports")
    held.refresh_from_db()
    assert held.stage == Stage.AWAITING_CONFIRMATION
    client.post(reverse("imports:run_cancel", args=[held.pk]))
    held = upload(client, preformatted_csv(["+12025550180"]), name="suspend-again.csv", action="suspend")
    run_worker("imports")
    post_and_work(client, reverse("imports:run_confirm", args=[held.pk]))
    # Exports
    client.get(reverse("subscribers:export"), {"format": "csv", "status": Status.OPTED_IN})
    # Alerts
    from subscribers.services import account_sender_add

    account_sender_add(account=account, phone="73303")
    with on_commit():
        alert_create(account=account, body="Outage in North", target="any", tags=Tag.objects.filter(account=account),
                     user=manager)  # fmt: skip
    # Settings, people, passwords, second factor
    client.post(reverse("people_settings"), {"remember_device": "on"})
    client.post(reverse("people"), {"username": "clerk", "email": "", "role": "uploader", "how": "password"})
    client.post(
        reverse("password_change"),
        {
            "old_password": "pw-for-tests-123",
            "new_password1": "a-new-long-pass-42",
            "new_password2": "a-new-long-pass-42",
        },
    )
    verified_login(client, manager)
    client.post(reverse("security"), {"action": "backup_codes"})

    expected = {
        (Kind.API_KEY, "created"),
        (Kind.API_KEY, "revoked"),
        (Kind.SFTP_CREDENTIAL, "created"),
        (Kind.SFTP_CREDENTIAL, "rotated"),
        (Kind.SFTP_CREDENTIAL, "revoked"),
        (Kind.CONFIGURATION, "approved"),
        (Kind.CONFIGURATION, "retired"),
        (Kind.IMPORT, "started"),
        (Kind.IMPORT, "undone"),
        (Kind.IMPORT, "cancelled"),
        (Kind.IMPORT, "confirmed"),
        (Kind.EXPORT, "csv"),
        (Kind.ALERT, "sent"),
        (Kind.SETTINGS, "remember_device"),
        (Kind.PERSON, "added"),
        (Kind.PASSWORD, "changed"),
        (Kind.SECOND_FACTOR, "backup_codes_regenerated"),
    }
    assert expected - _kinds(account) == set()
    started = AuditEntry.objects.filter(kind=Kind.IMPORT, action="started").order_by("id").first()
    assert "“north.csv”" in started.summary and "Preformatted, opt in" in started.summary
    export = AuditEntry.objects.get(kind=Kind.EXPORT)
    assert export.details["rows"] == 1 and "status opted in" in export.summary
    alert = AuditEntry.objects.get(kind=Kind.ALERT)
    assert alert.details["count"] == 1 and alert.details["tags"] == ["North"]
    assert all(entry.actor == manager for entry in AuditEntry.objects.filter(kind__in=[k for k, _ in expected]))

    page = client.get(reverse("audit:log"), {"person": "manager"})
    assert page.status_code == 200
    shown = {row["kind"] for row in _csv(client)}
    assert {kind for kind, _ in expected} <= shown
    for kind, _ in expected:
        assert client.get(reverse("audit:log"), {"kind": kind}).context["page"].paginator.count >= 1


@pytest.mark.django_db
def test_a_lifted_sftp_block_and_support_admin_changes_are_written(client, account, manager, other_account):
    from django.utils import timezone

    from sftpdrop import services as sftp_services
    from sftpdrop.models import SftpLoginFailure

    support = get_user_model().objects.create_superuser("support", "s@example.com", "pw-for-tests-123")
    SftpLoginFailure.objects.create(account=account, username="am123", ip="198.51.100.9")
    block = SftpAddressBlock.objects.create(
        ip="198.51.100.9", blocked_until=timezone.now() + timezone.timedelta(hours=1), failures=4
    )
    sftp_services.address_block_lift(block=block, user=support)
    verified_login(client, support)
    client.post(
        reverse("admin:subscribers_account_change", args=[account.pk]),
        {"name": "Lakeside Electric Co-op", "slug": account.slug, "time_zone": account.time_zone,
         "created_at_0": "2026-01-01", "created_at_1": "00:00:00",
         "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"},
    )  # fmt: skip
    entries = AuditEntry.objects.filter(account=account)
    assert entries.filter(kind=Kind.SFTP_BLOCK_LIFTED, actor=support).exists()
    change = entries.get(kind=Kind.SUPPORT)
    assert change.actor_is_staff and "Name" in change.summary
    assert not AuditEntry.objects.filter(account=other_account).exists()
    verified_login(client, manager)
    page = client.get(reverse("audit:log")).content.decode()
    assert "SFTP block on 198.51.100.9 lifted" in page and "support" in page


@pytest.mark.django_db
def test_managers_see_only_their_account_and_uploaders_not_at_all(
    client, account, other_account, uploader, other_manager
):
    audit_record(kind=Kind.SETTINGS, action="x", summary="Riverbend secret change", account=other_account)
    audit_record(kind=Kind.SETTINGS, action="x", summary="Lakeside change", account=account)
    verified_login(client, other_manager)
    page = client.get(reverse("audit:log")).content.decode()
    assert "Riverbend secret change" in page and "Lakeside change" not in page
    assert all("Lakeside" not in row["summary"] for row in _csv(client))
    verified_login(client, uploader)
    assert client.get(reverse("audit:log")).status_code == 403
    assert client.get(reverse("audit:export")).status_code == 403


@pytest.mark.django_db
def test_dates_filter_in_the_accounts_time_zone(manager_client, account):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    chicago = ZoneInfo("America/Chicago")
    audit_record(kind=Kind.SETTINGS, action="x", summary="Today", account=account)
    AuditEntry.objects.create(account=account, kind=Kind.SETTINGS, action="x", summary="Evening of Dec 3",
                              created_at=datetime(2026, 12, 3, 23, 30, tzinfo=chicago))  # fmt: skip
    page = manager_client.get(reverse("audit:log"), {"date_from": "2026-12-03", "date_to": "2026-12-03"})
    assert "Evening of Dec 3" in page.content.decode()
    rows = _csv(manager_client, "?date_from=2026-12-03&date_to=2026-12-03")
    assert [row["summary"] for row in rows] == ["Evening of Dec 3"]
    assert rows[0]["time"].startswith("2026-12-03T23:30:00-06:00")
    bad = manager_client.get(reverse("audit:log"), {"date_from": "2026-12-04", "date_to": "2026-12-03"})
    assert bad.status_code == 200 and "is after" in bad.content.decode()


@pytest.mark.django_db
def test_entries_are_never_changed_or_deleted(account):
    entry = audit_record(kind=Kind.SETTINGS, action="x", summary="kept", account=account)
    with pytest.raises(TypeError):
        entry.summary = "changed"
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).update(summary="changed")
    assert AuditEntry.objects.get(pk=entry.pk).summary == "kept"


@pytest.mark.django_db
def test_support_reads_every_accounts_log_in_admin_but_cannot_change_it(client, account, other_account):
    from tests.people.conftest import PASSWORD

    support = get_user_model().objects.create_user("support", password=PASSWORD, is_staff=True)
    from django.contrib.auth.models import Group

    from people.support import SUPPORT_GROUP, support_group_ensure

    support_group_ensure()
    support.groups.add(Group.objects.get(name=SUPPORT_GROUP))
    one = audit_record(kind=Kind.SETTINGS, action="x", summary="Lakeside change", account=account)
    audit_record(kind=Kind.SETTINGS, action="x", summary="Riverbend change", account=other_account)
    verified_login(client, support)
    listing = client.get(reverse("admin:audit_auditentry_changelist")).content.decode()
    assert "Lakeside change" in listing and "Riverbend change" in listing
    assert client.post(reverse("admin:audit_auditentry_delete", args=[one.pk]), {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=one.pk).exists()
    assert ImportRun.objects.count() == 0


@pytest.mark.django_db
def test_text_settings_and_a_rotated_webhook_secret_are_written_without_their_values(manager_client, account, manager):
    from messaging.account_settings import messaging_settings_get
    from tests.messaging.test_pages import _form

    config = messaging_settings_get(account=account)
    manager_client.post(reverse("messaging:texts"), _form(config, webhook_url="https://cis.lakeside.example/hook"))
    manager_client.post(reverse("messaging:texts"), {"action": "rotate"})
    entries = list(AuditEntry.objects.filter(kind=Kind.SETTINGS, account=account).order_by("id"))
    assert len(entries) == 2 and all(e.actor == manager for e in entries)
    assert "webhook" in entries[0].summary.lower() and "cis.lakeside.example" not in entries[0].summary
    secret = messaging_settings_get(account=account).webhook_secret
    assert secret not in str(entries[1].details) and secret not in entries[1].summary
