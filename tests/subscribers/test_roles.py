"""Roles and tenancy: who may open which page, and nobody sees another account."""

import pytest
from django.urls import reverse

from subscribers.models import Account, Membership, Role
from tests.conftest import verified_login

MANAGER_PAGES = ["dashboard"]


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", MANAGER_PAGES)
def test_an_uploader_gets_403_on_manager_pages(uploader_client, name):
    response = uploader_client.get(reverse(name))
    assert response.status_code == 403
    assert b"access" in response.content


@pytest.mark.django_db
def test_the_dashboard_counts_only_the_current_account(manager_client, account, other_account, make_subscriber):
    from subscribers.transitions import State

    make_subscriber(account, "+12025550173", State.OPTED_IN)
    make_subscriber(other_account, "+12025550174", State.OPTED_IN)
    make_subscriber(other_account, "+12025550175", State.OPTED_IN)
    response = manager_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["counts"]["opted_in"] == 1
    assert b"+12025550174" not in response.content


@pytest.mark.django_db
def test_a_user_of_several_accounts_picks_one(client, manager, other_account):
    Membership.objects.create(user=manager, account=other_account, role=Role.UPLOADER)
    verified_login(client, manager)
    assert client.get(reverse("dashboard")).url == reverse("pick_account")
    response = client.post(reverse("pick_account"), {"account": other_account.pk})
    assert response.status_code == 302
    # As an uploader of the other account, the dashboard is closed.
    assert client.get(reverse("dashboard")).status_code == 403


@pytest.mark.django_db
def test_picking_an_account_one_does_not_belong_to_is_refused(client, manager, other_account):
    Account.objects.create(slug="third", name="Third")
    verified_login(client, manager)
    response = client.post(reverse("pick_account"), {"account": other_account.pk})
    assert response.status_code == 200
    assert client.session.get("account_id") != other_account.pk


@pytest.mark.django_db
def test_a_session_pointing_at_a_lost_membership_is_not_trusted(client, manager, account, other_account):
    verified_login(client, manager)
    session = client.session
    session["account_id"] = other_account.pk
    session.save()
    response = client.get(reverse("dashboard"))
    # Falls back to the one account the user really has.
    assert response.status_code == 200
    assert response.context["request"].account == account


@pytest.mark.django_db
def test_the_home_page_sends_each_role_to_its_start(manager_client):
    assert manager_client.get(reverse("home")).url == reverse("dashboard")
