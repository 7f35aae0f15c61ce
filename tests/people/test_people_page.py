"""The People page: a manager adds managers and uploaders, changes roles, deactivates, resets passwords and second
factors, within their own account only."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry, Kind
from people.models import Invitation
from subscribers.models import Membership, Role
from tests.people.conftest import PASSWORD, enrolled, password_step

User = get_user_model()


def _add(client, username, role="uploader", how="password", email=""):
    return client.post(reverse("people"), {"username": username, "email": email, "role": role, "how": how})


@pytest.mark.django_db
def test_a_manager_adds_an_uploader_with_a_first_password_who_then_enrols_and_sees_uploads_only(
    manager_client, account
):
    response = _add(manager_client, "clerk")
    assert response.status_code == 200
    password = response.context["shown"]["password"]
    assert password and password.encode() in response.content
    assert Membership.objects.get(user__username="clerk", account=account).role == Role.UPLOADER

    clerk = Client()
    step = password_step(clerk, "clerk", password)
    assert step.url.startswith(reverse("login_setup"))
    assert clerk.get("/upload/").status_code == 302  # not before the second factor
    assert AuditEntry.objects.filter(kind=Kind.PERSON, action="added", account=account).exists()


@pytest.mark.django_db
def test_an_invitation_link_sets_a_password_once_within_72_hours(manager_client, account):
    client = Client()
    response = _add(manager_client, "newmanager", role="manager", how="invite", email="n@example.com")
    link = response.context["shown"]["link"]
    path = link[link.index("/login/invitation/") :]
    user = User.objects.get(username="newmanager")
    assert not user.has_usable_password()

    page = client.get(path)
    assert page.status_code == 200 and b"Welcome to Lakeside" in page.content
    weak = client.post(path, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200 and b"too short" in weak.content  # Django's validators stay on
    done = client.post(path, {"new_password1": "river-lantern-93", "new_password2": "river-lantern-93"})
    assert done.status_code == 302
    assert client.get(path).status_code == 404
    assert password_step(client, "newmanager", "river-lantern-93").url.startswith(reverse("login_setup"))
    assert AuditEntry.objects.filter(kind=Kind.PASSWORD, action="invitation").exists()


@pytest.mark.django_db
def test_an_expired_invitation_is_refused(manager_client):
    client = Client()
    response = _add(manager_client, "late", how="invite")
    link = response.context["shown"]["link"]
    Invitation.objects.update(expires_at=timezone.now())
    assert client.get(link[link.index("/login/") :]).status_code == 404


@pytest.mark.django_db
def test_someone_with_a_login_elsewhere_keeps_one_login(manager_client, other_manager, account):
    response = _add(manager_client, "other-manager", role="uploader")
    assert response.status_code == 302
    assert Membership.objects.filter(user=other_manager).count() == 2
    assert User.objects.filter(username="other-manager").count() == 1
    again = _add(manager_client, "other-manager")
    assert "already a member" in again.content.decode()


@pytest.mark.django_db
def test_roles_change_but_the_last_manager_stays(manager_client, manager, uploader, account):
    member = Membership.objects.get(user=uploader)
    manager_client.post(reverse("person_action", args=[member.pk]), {"action": "role", "role": "manager"})
    member.refresh_from_db()
    assert member.role == Role.MANAGER
    manager_client.post(reverse("person_action", args=[member.pk]), {"action": "role", "role": "uploader"})
    mine = Membership.objects.get(user=manager)
    response = manager_client.post(
        reverse("person_action", args=[mine.pk]), {"action": "role", "role": "uploader"}, follow=True
    )
    assert "at least one manager" in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.MANAGER
    entry = AuditEntry.objects.get(kind=Kind.PERSON, action="role_changed", details__to="manager")
    assert "uploader → manager" in entry.summary


@pytest.mark.django_db
def test_deactivating_someone_ends_their_access(manager_client, uploader):
    client = Client()
    enrolled(uploader)
    member = Membership.objects.get(user=uploader)
    manager_client.post(reverse("person_action", args=[member.pk]), {"action": "deactivate"})
    uploader.refresh_from_db()
    assert not uploader.is_active and not Membership.objects.filter(pk=member.pk).exists()
    assert password_step(client, "uploader").status_code == 200  # refused like a wrong password
    assert AuditEntry.objects.filter(kind=Kind.PERSON, action="deactivated").exists()


@pytest.mark.django_db
def test_a_manager_resets_a_password_and_a_second_factor(manager_client, uploader):
    client = Client()
    device = enrolled(uploader)
    member = Membership.objects.get(user=uploader)
    response = manager_client.post(reverse("person_action", args=[member.pk]), {"action": "password"})
    password = response.context["password"]["password"]
    assert password_step(client, "uploader", PASSWORD).status_code == 200
    assert password_step(client, "uploader", password).url.startswith(reverse("login_verify"))

    manager_client.post(reverse("person_action", args=[member.pk]), {"action": "second_factor"})
    assert not type(device).objects.filter(pk=device.pk).exists()
    assert password_step(Client(), "uploader", password).url.startswith(reverse("login_setup"))
    assert {"password_reset"} <= set(AuditEntry.objects.filter(kind=Kind.PERSON).values_list("action", flat=True))
    assert AuditEntry.objects.filter(kind=Kind.SECOND_FACTOR, action="reset").exists()


@pytest.mark.django_db
def test_someone_who_also_works_for_another_account_is_reset_only_by_support(manager_client, other_manager, account):
    Membership.objects.create(user=other_manager, account=account, role=Role.UPLOADER)
    member = Membership.objects.get(user=other_manager, account=account)
    response = manager_client.post(reverse("person_action", args=[member.pk]), {"action": "password"}, follow=True)
    assert "only be reset by support staff" in response.content.decode()
    other_manager.refresh_from_db()
    assert other_manager.check_password(PASSWORD)


@pytest.mark.django_db
def test_a_manager_cannot_touch_another_accounts_people(manager_client, other_manager):
    theirs = Membership.objects.get(user=other_manager)
    for action in ("deactivate", "password", "second_factor"):
        assert manager_client.post(reverse("person_action", args=[theirs.pk]), {"action": action}).status_code == 404
    other_manager.refresh_from_db()
    assert other_manager.is_active


@pytest.mark.django_db
def test_uploaders_get_403_on_people(uploader_client):
    assert uploader_client.get(reverse("people")).status_code == 403


@pytest.mark.django_db
def test_every_user_changes_their_own_password(uploader_client, uploader):
    response = uploader_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "harbour-candle-71", "new_password2": "harbour-candle-71"},
    )
    assert response.status_code == 302
    uploader.refresh_from_db()
    assert uploader.check_password("harbour-candle-71")
    # This session goes on (still verified); every other session of the user ends with the old password.
    assert uploader_client.get(reverse("security")).status_code == 200
    assert AuditEntry.objects.filter(kind=Kind.PASSWORD, action="changed", actor=uploader).exists()


@pytest.mark.django_db
def test_password_reset_by_email_where_email_is_configured(client, uploader, settings, mailoutbox):
    settings.PASSWORD_RESET_BY_EMAIL = False
    assert client.get(reverse("password_reset")).status_code == 404
    settings.PASSWORD_RESET_BY_EMAIL = True
    uploader.email = "clerk@lakeside.example"
    uploader.save()
    client.post(reverse("password_reset"), {"email": "clerk@lakeside.example"})
    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/login/reset/" in line)
    path = link[link.index("/login/reset/") :]
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "meadow-copper-58", "new_password2": "meadow-copper-58"}
    )
    assert done.status_code == 302
    uploader.refresh_from_db()
    assert uploader.check_password("meadow-copper-58")
    assert AuditEntry.objects.filter(kind=Kind.PASSWORD, action="reset_by_email").exists()
