"""Logging in: a password and then a second factor, for every role; codes that work once; the lockout."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEntry, Kind
from people.models import LockKind, LoginLock
from subscribers.models import Membership
from tests.conftest import verified_login
from tests.people.conftest import PASSWORD, enrolled, password_step, totp_now

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_password_alone_opens_no_page(client, manager):
    enrolled(manager)
    response = password_step(client, "manager")
    assert response.status_code == 302 and response.url.startswith(reverse("login_verify"))
    for path in ("/", "/dashboard/", "/numbers/", "/upload/", "/people/", "/audit/", "/account/security/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url.startswith(reverse("login_verify")), path
    htmx = client.get("/numbers/", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx["HX-Redirect"].startswith(reverse("login_verify"))


@pytest.mark.django_db
def test_a_first_login_enrols_an_authenticator_with_a_qr_code_and_shows_ten_backup_codes(client, uploader):
    response = password_step(client, "uploader")
    assert response.url.startswith(reverse("login_setup"))
    page = client.get(response.url)
    assert b"<svg" in page.content and b"data-manual-key" in page.content
    device = TOTPDevice.objects.get(user=uploader, confirmed=False)
    assert page.context["manual_key"].replace(" ", "") in device.config_url

    wrong = client.post(reverse("login_setup"), {"code": "000000" if totp_now(device) != "000000" else "111111"})
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    done = client.post(reverse("login_setup"), {"code": totp_now(device), "next": "/"})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/upload/").status_code == 200
    assert AuditEntry.objects.filter(kind=Kind.SECOND_FACTOR, action="enrolled", actor=uploader).exists()


@pytest.mark.django_db
def test_an_authenticator_code_works_once(client, manager):
    device = enrolled(manager)
    password_step(client, "manager")
    code = totp_now(device)
    response = client.post(reverse("login_verify"), {"code": code, "next": "/dashboard/"})
    assert response.status_code == 302 and response.url == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    client.post(reverse("logout"))

    password_step(client, "manager")
    again = client.post(reverse("login_verify"), {"code": code})
    assert again.status_code == 200
    assert "already used" in again.content.decode()
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.django_db
def test_a_backup_code_works_once(client, manager):
    from people.services import backup_codes_regenerate

    enrolled(manager)
    code = backup_codes_regenerate(user=manager)[3]
    password_step(client, "manager")
    response = client.post(reverse("login_verify"), {"code": code.upper()})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200
    client.post(reverse("logout"))

    password_step(client, "manager")
    assert client.post(reverse("login_verify"), {"code": code}).status_code == 200
    assert client.get("/dashboard/").status_code == 302
    assert AuditEntry.objects.filter(kind=Kind.LOGIN_OK, action="backup_code").count() == 1


@pytest.mark.django_db
def test_otp_backup_code_prints_one_code_that_lets_the_user_in_once(client, manager, capsys):
    enrolled(manager)
    call_command("otp_backup_code", "manager")
    code = capsys.readouterr().out.strip()
    assert code and "\n" not in code
    password_step(client, "manager")
    assert client.post(reverse("login_verify"), {"code": code}).status_code == 302
    client.post(reverse("logout"))
    password_step(client, "manager")
    assert client.post(reverse("login_verify"), {"code": code}).status_code == 200
    assert AuditEntry.objects.filter(kind=Kind.SECOND_FACTOR, action="backup_code_issued").exists()


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_username_even_against_the_right_one(client, manager):
    enrolled(manager)
    for _ in range(4):
        response = password_step(client, "manager", "wrong-password")
        assert response.status_code == 200 and "didn't match" in response.content.decode()
    locked = password_step(client, "Manager", "wrong-password")  # the count ignores case
    assert locked.status_code == 403 and "locked" in locked.content.decode()
    right = password_step(client, "manager")
    assert right.status_code == 403
    assert "This username is locked" in right.content.decode()
    assert "_auth_user_id" not in client.session
    assert LoginLock.objects.filter(kind=LockKind.USERNAME, subject="manager").count() == 1
    kinds = list(AuditEntry.objects.filter(account__isnull=False).values_list("kind", "action"))
    assert kinds.count((Kind.LOGIN_FAILED, "password")) == 5
    assert (Kind.LOGIN_LOCKED, "username_locked") in kinds and (Kind.LOGIN_LOCKED, "refused") in kinds


@pytest.mark.django_db
def test_wrong_second_factor_codes_count_towards_the_lock(client, manager):
    device = enrolled(manager)
    good = totp_now(device)
    for _ in range(5):
        password_step(client, "manager")
        client.post(reverse("login_verify"), {"code": "999999" if good != "999999" else "888888"})
    assert "_auth_user_id" not in client.session
    assert password_step(client, "manager").status_code == 403


@pytest.mark.django_db
def test_support_lifts_a_lock_in_admin_and_the_right_password_works_again(
    client, manager, support, django_capture_on_commit_callbacks
):
    enrolled(manager)
    for _ in range(5):
        password_step(client, "manager", "wrong-password")
    lock = LoginLock.objects.get(subject="manager")
    staff = verified_login(client.__class__(), support)
    changelist = staff.get(reverse("admin:people_loginlock_changelist"))
    assert changelist.status_code == 200 and b"manager" in changelist.content
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            reverse("admin:people_loginlock_changelist"), {"action": "lift_locks", "_selected_action": [lock.pk]}
        )
    lock.refresh_from_db()
    assert lock.lifted_by == support
    assert password_step(client, "manager").status_code == 302
    lifted = AuditEntry.objects.get(kind=Kind.LOCK_LIFTED)
    assert lifted.actor == support and lifted.account is not None


@pytest.mark.django_db
def test_an_address_with_twenty_failures_gets_429(client, settings, db):
    for n in range(settings.LOGIN_ADDRESS_FAILURES - 1):
        assert password_step(client, f"guess{n}", "x", REMOTE_ADDR="198.51.100.20").status_code == 200
    assert password_step(client, "guess-last", "x", REMOTE_ADDR="198.51.100.20").status_code == 429
    blocked = password_step(client, "someone-else", "x", REMOTE_ADDR="198.51.100.20")
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert password_step(client, "someone-else", "x", REMOTE_ADDR="198.51.100.21").status_code == 200


@pytest.mark.django_db
def test_a_spoofed_forwarded_header_does_not_escape_the_address_lock(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_ADDRESS_FAILURES = 3
    for n in range(3):
        # One proxy: the client is the last entry, whatever the client wrote before it.
        password_step(client, f"g{n}", "x", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.5")
    assert password_step(client, "g9", "x", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.5").status_code == 429


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_shared_by_another_web_process(client, manager, settings):
    """Five failures made by a second process (its own Django, its own connection) lock the username here too."""
    enrolled(manager)
    from django.db import connection

    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "alertmanager.settings",
    }
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "codes = [c.post('/login/', {'username': 'manager', 'password': 'nope'}).status_code for _ in range(5)]\n"
        "print(codes)\n"
    )
    if connection.vendor != "postgresql":
        pytest.skip("the second process needs a database both can reach")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("403]")
    assert password_step(client, "manager").status_code == 403


@pytest.mark.django_db
def test_admin_login_takes_no_password(client, support):
    enrolled(support)
    response = client.post("/admin/login/", {"username": "support", "password": PASSWORD})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_support_staff_need_the_second_factor_for_admin_too(client, support):
    device = enrolled(support)
    password_step(client, "support")
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith(reverse("login_verify"))
    client.post(reverse("login_verify"), {"code": totp_now(device)})
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_remembered_device_skips_the_code_only_where_the_account_allows_it(client, manager, account):
    from people.services import account_login_settings_update, second_factor_reset

    device = enrolled(manager)
    password_step(client, "manager")
    page = client.get(reverse("login_verify"))
    assert b"Remember this device" not in page.content
    account_login_settings_update(account=account, remember_device=True, by=manager)
    response = client.post(reverse("login_verify"), {"code": totp_now(device), "remember": "on"})
    assert response.cookies["am_device"].value
    client.post(reverse("logout"))

    assert password_step(client, "manager").url == reverse("home")
    assert client.get("/dashboard/").status_code == 200
    client.post(reverse("logout"))

    second_factor_reset(user=manager, by=manager, where="test")
    assert password_step(client, "manager").url.startswith(reverse("login_setup"))


@pytest.mark.django_db
def test_a_session_ends_after_the_idle_minutes(manager_client, settings):
    manager_client.get("/dashboard/")
    assert manager_client.session.get_expiry_age() == settings.SESSION_IDLE_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


@pytest.mark.django_db
def test_support_resets_a_second_factor_in_admin_and_it_is_recorded(manager, support, account):
    enrolled(manager)
    staff = verified_login(Client(), support)
    staff.post(
        reverse("admin:auth_user_changelist"), {"action": "reset_second_factor", "_selected_action": [manager.pk]}
    )
    assert not TOTPDevice.objects.filter(user=manager).exists()
    entry = AuditEntry.objects.get(kind=Kind.SECOND_FACTOR, action="reset")
    assert entry.account == account and entry.actor == support and entry.actor_is_staff
    assert password_step(Client(), "manager").url.startswith(reverse("login_setup"))


@pytest.mark.django_db
def test_support_cannot_take_over_a_superuser(support):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    device = enrolled(root)
    staff = verified_login(Client(), support)
    assert staff.get(reverse("admin:auth_user_password_change", args=[root.pk])).status_code == 403
    staff.post(reverse("admin:auth_user_changelist"), {"action": "reset_second_factor", "_selected_action": [root.pk]})
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    page = staff.get(reverse("admin:auth_user_change", args=[support.pk])).content.decode()
    assert 'name="is_superuser"' not in page


@pytest.mark.django_db
def test_support_changes_roles_in_admin_by_the_people_rules(support, manager, uploader, account):
    staff = verified_login(Client(), support)
    mine = Membership.objects.get(user=manager)
    theirs = Membership.objects.get(user=uploader)
    staff.post(reverse("admin:subscribers_membership_change", args=[theirs.pk]), {"role": "manager"})
    theirs.refresh_from_db()
    assert theirs.role == "manager"
    assert AuditEntry.objects.filter(kind=Kind.PERSON, action="role_changed", actor=support, account=account).exists()
    staff.post(reverse("admin:subscribers_membership_change", args=[theirs.pk]), {"role": "uploader"})
    staff.post(reverse("admin:subscribers_membership_change", args=[mine.pk]), {"role": "uploader"})
    mine.refresh_from_db()
    assert mine.role == "manager"  # the account's last manager stays one
    staff.post(reverse("admin:subscribers_membership_delete", args=[theirs.pk]), {"post": "yes"})
    uploader.refresh_from_db()
    assert not uploader.is_active
