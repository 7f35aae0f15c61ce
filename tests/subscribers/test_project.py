"""The project itself: production settings, the security headers, management commands, admin."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from subscribers.models import Account, Membership, OptEvent, SenderNumber, Subscriber
from subscribers.transitions import State
from tests.conftest import verified_login

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_values():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x7!kq2-production-like-secret-key-with-enough-length-and-variety-0193",
        "ALLOWED_HOSTS": "alerts.example.com",
    }
    # The browser tests allow sync ORM calls beside Playwright's event loop; production never does.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "", "ALLOWED_HOSTS": "alerts.example.com"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy(manager_client):
    response = manager_client.get(reverse("dashboard"))
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self' 'nonce-" in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.django_db
def test_create_account_and_add_user(capsys):
    call_command("create_account", "northfield", "--name", "Northfield Gas", "--sender", "+12185550142")
    call_command("add_user", "clerk", "--account", "northfield", "--role", "uploader", "--password", "s3cret-pass!")
    account = Account.objects.get(slug="northfield")
    assert account.name == "Northfield Gas"
    assert SenderNumber.objects.get(account=account).number == "+12185550142"
    membership = Membership.objects.get(account=account)
    assert (membership.user.username, membership.role) == ("clerk", "uploader")
    assert membership.user.check_password("s3cret-pass!")


@pytest.mark.django_db
def test_add_user_to_an_unknown_account_fails_clearly():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No account"):
        call_command("add_user", "clerk", "--account", "nowhere", "--role", "manager")


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo", numbers=120)
    account = Account.objects.get(slug="lakeside")
    numbers = Subscriber.objects.filter(account=account).count()
    events = OptEvent.objects.filter(account=account).count()
    statuses = set(Subscriber.objects.filter(account=account).values_list("status", flat=True))
    call_command("seed_demo", numbers=120)
    assert Subscriber.objects.filter(account=account).count() == numbers
    assert OptEvent.objects.filter(account=account).count() == events
    assert statuses == {"pending", "opted_in", "suspended", "opted_out"}
    assert numbers == 120
    assert get_user_model().objects.get(username="support").is_staff


@pytest.mark.django_db
def test_support_staff_change_a_status_in_admin_through_the_service(client, account, make_subscriber):
    support = get_user_model().objects.create_superuser("support", "s@example.com", "pw-for-tests-123")
    make_subscriber(account, "+12025550173", State.OPTED_IN)
    make_subscriber(account, "+12025550174", State.OUT_SUBSCRIBER)
    verified_login(client, support)
    ids = list(Subscriber.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("admin:subscribers_subscriber_changelist"),
        {"action": "support_suspend", "_selected_action": ids},
        follow=True,
    )
    assert response.status_code == 200
    assert Subscriber.objects.get(phone="+12025550173").status == "suspended"
    event = OptEvent.objects.get(phone="+12025550173")
    assert (event.source, event.user) == ("support", support)
    # Support cannot opt an owner's opt-out back in either.
    client.post(
        reverse("admin:subscribers_subscriber_changelist"),
        {"action": "support_opt_in", "_selected_action": ids},
        follow=True,
    )
    assert Subscriber.objects.get(phone="+12025550174").status == "opted_out"


@pytest.mark.django_db
def test_support_admin_searches_by_phone_and_keeps_opt_events_read_only(client, account, make_subscriber):
    support = get_user_model().objects.create_superuser("support", "s@example.com", "pw-for-tests-123")
    verified_login(client, support)
    make_subscriber(account, "+12025550173", State.OPTED_IN)
    response = client.get(reverse("admin:subscribers_subscriber_changelist"), {"q": "5550173"})
    assert b"+12025550173" in response.content
    assert client.get(reverse("admin:subscribers_optevent_add")).status_code == 403


@pytest.mark.django_db
def test_an_account_member_who_is_not_staff_cannot_use_admin(manager_client):
    response = manager_client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "/admin/login/" in response.url


@pytest.mark.django_db
def test_support_staff_deleting_a_tag_in_admin_record_its_removal_on_each_number(client, account, make_subscriber):
    from subscribers.models import SubscriberTag, Tag

    support = get_user_model().objects.create_superuser("support", "s@example.com", "pw-for-tests-123")
    make_subscriber(account, "+12025550173", State.OPTED_IN, tags=["Feeder A1", "North"])
    make_subscriber(account, "+12025550174", State.SUSPENDED, tags=["Feeder A1"])
    make_subscriber(account, "+12025550175", State.OPTED_IN, tags=["North"])
    verified_login(client, support)
    feeder = Tag.objects.get(account=account, name="Feeder A1")

    response = client.post(reverse("admin:subscribers_tag_delete", args=[feeder.pk]), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Tag.objects.filter(pk=feeder.pk).exists()
    events = OptEvent.objects.filter(account=account).order_by("phone")
    assert [(e.phone, e.tags_removed, e.source, e.user) for e in events] == [
        ("+12025550173", ["Feeder A1"], "support", support),
        ("+12025550174", ["Feeder A1"], "support", support),
    ]
    assert SubscriberTag.objects.filter(subscriber__account=account).count() == 2

    # The bulk action of the change list goes the same way.
    north = Tag.objects.get(account=account, name="North")
    client.post(
        reverse("admin:subscribers_tag_changelist"),
        {"action": "delete_selected", "_selected_action": [north.pk], "post": "yes"},
        follow=True,
    )
    assert not Tag.objects.filter(account=account).exists()
    assert OptEvent.objects.filter(account=account, tags_removed=["North"], source="support").count() == 2
