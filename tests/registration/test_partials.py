"""The registration pages' htmx partials: an htmx request gets only the part it swaps, any other the whole page."""

import pytest
from django.urls import reverse

from registration import services
from registration.models import Brand, Campaign, RegistrationStatus
from tests.registration.conftest import campaign_post

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _pending_brand(account) -> Brand:
    return Brand.objects.create(
        account=account, legal_name="Lakeside", tax_id="41-1234567", entity_type="NON_PROFIT", street="1 Road",
        city="Brainerd", state="MN", postal_code="56401", website="https://l.example", support_email="a@l.example",
        support_phone="+12185550134", status=RegistrationStatus.PENDING,
    )  # fmt: skip


def test_the_brand_page_polls_its_status_alone_and_is_whole_without_htmx(manager_client, account):
    _pending_brand(account)
    url = reverse("registration:brand")
    polled = manager_client.get(url, headers={**HTMX, "HX-Target": "brand-registration"})
    assert polled.status_code == 200
    assert '<div id="brand-registration"' in polled.text
    assert "<html" not in polled.text and 'id="numbers"' not in polled.text
    whole = manager_client.get(url)
    assert "<html" in whole.text and 'id="brand-registration"' in whole.text and 'id="numbers"' in whole.text


def test_removing_a_number_from_the_brand_page_swaps_only_the_numbers_card(manager_client, account, manager):
    number = services.texting_number_assign(account=account, user=manager, phone="(218) 555-0101")
    url = reverse("registration:number_disable", args=[number.pk]) + "?next=" + reverse("registration:brand")
    response = manager_client.post(url, headers={**HTMX, "HX-Target": "numbers"}, follow=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="numbers"')
    assert "No number is SMS-enabled yet." in response.text
    assert "<html" not in response.text


def test_the_campaign_list_swaps_alone_and_stops_polling_once_none_is_pending(manager_client, account):
    url = reverse("registration:campaigns")
    polled = manager_client.get(url, headers=HTMX)
    assert polled.status_code == 286
    assert polled.text.lstrip().startswith('<div id="campaigns"') and "<html" not in polled.text
    assert "<html" in manager_client.get(url).text


@pytest.mark.django_db(transaction=True)
def test_a_campaigns_page_polls_its_registration_alone(manager_client, verified_brand):
    manager_client.post(reverse("registration:campaign_new"), campaign_post(verified_brand))
    campaign = Campaign.objects.get()
    url = reverse("registration:campaign", args=[campaign.pk])
    polled = manager_client.get(url, headers={**HTMX, "HX-Target": "campaign-registration"})
    assert polled.text.lstrip().startswith('<section class="card" id="campaign-registration"')
    assert "<html" not in polled.text
    assert "<html" in manager_client.get(url).text


def test_the_users_page_swaps_only_its_numbers_after_an_action(manager_client, account, manager):
    number = services.texting_number_assign(account=account, user=manager, phone="(218) 555-0101")
    url = reverse("registration:number_disable", args=[number.pk])
    response = manager_client.post(url, headers={**HTMX, "HX-Target": "numbers"}, follow=True)
    assert response.text.lstrip().startswith('<div id="numbers">')
    assert "Enable texting" in response.text and "<html" not in response.text
    assert "<html" in manager_client.get(reverse("registration:users")).text
