"""The registration and users pages: roles, tenancy, forms through the client, in-place status."""

import pytest
from django.urls import reverse

from registration import services
from registration.models import Brand, Campaign, RegistrationStatus, TextingNumber
from tests.conftest import run_worker
from tests.registration.conftest import campaign_post

pytestmark = pytest.mark.django_db


def test_a_manager_saves_the_brand_and_sees_it_pending(
    manager_client, account, brand_post, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = manager_client.post(reverse("registration:brand"), brand_post, follow=True)
    assert response.status_code == 200
    assert len(callbacks) == 1, "the registration job is queued once the brand is committed"
    brand = Brand.objects.get(account=account)
    assert brand.status == RegistrationStatus.PENDING
    assert brand.tax_id == "41-1234567" and brand.support_phone == "+12185550134"
    page = response.content.decode()
    assert 'data-status="pending"' in page
    assert "every 2s" in page, "the status polls while pending"


def test_bad_brand_input_is_shown_with_messages_and_nothing_is_lost(manager_client, account, brand_post):
    response = manager_client.post(reverse("registration:brand"), {**brand_post, "tax_id": "00-1234567"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "first two digits must be a prefix the IRS assigns" in page
    assert brand_post["legal_name"] in page
    assert not Brand.objects.exists()


def test_the_polled_status_stops_polling_once_the_registry_answered(manager_client, account):
    Brand.objects.create(
        account=account,
        legal_name="Lakeside",
        tax_id="41-1234567",
        entity_type="NON_PROFIT",
        street="1 Road",
        city="Brainerd",
        state="MN",
        postal_code="56401",
        website="https://l.example",
        support_email="a@l.example",
        support_phone="+12185550134",
        status=RegistrationStatus.PENDING,
    )
    url = reverse("registration:brand") + "?fragment=registration"
    pending = manager_client.get(url, headers={"HX-Request": "true"})
    assert pending.status_code == 200
    assert 'data-status="pending"' in pending.content.decode()
    assert "<html" not in pending.content.decode()

    Brand.objects.filter(account=account).update(
        status=RegistrationStatus.FAILED, failure_reason="Website unreachable."
    )
    answered = manager_client.get(url, headers={"HX-Request": "true"})
    assert answered.status_code == 286
    assert "Website unreachable." in answered.content.decode()
    assert "hx-trigger" not in answered.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_manager_defines_a_campaign_prefilled_and_submits_it(manager_client, verified_brand, rq_queues):
    new = manager_client.get(reverse("registration:campaign_new"))
    assert new.status_code == 200
    assert "Msg&amp;Data rates may apply. Reply HELP for help, STOP to opt out." in new.content.decode()

    data = campaign_post(verified_brand)
    response = manager_client.post(reverse("registration:campaign_new"), data)
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == reverse("registration:campaign", args=[campaign.pk])
    assert campaign.sample_messages == [data["sample_1"], data["sample_2"]]

    run_worker("default")
    page = manager_client.get(response.url).content.decode()
    assert 'data-status="verified"' in page


def test_a_campaign_needs_a_verified_brand(manager_client):
    response = manager_client.get(reverse("registration:campaign_new"))
    assert response.status_code == 302 and response.url == reverse("registration:brand")


def test_a_manager_assigns_numbers_on_the_users_page(manager_client, manager, account):
    users = reverse("registration:users")
    response = manager_client.post(users, {"user": manager.pk, "phone": "(218) 555-0101"}, follow=True)
    assert "(218) 555-0101 is assigned to manager, SMS-enabled." in response.content.decode()
    refused = manager_client.post(users, {"user": manager.pk, "phone": "+33 1 42 68 53 00"})
    assert refused.status_code == 200
    assert "United States or Canada only" in refused.content.decode()
    assert list(TextingNumber.objects.values_list("phone", flat=True)) == ["+12185550101"]


def test_enabling_another_number_asks_once_then_switches(manager_client, manager, account):
    first = services.texting_number_assign(account=account, user=manager, phone="2185550101")
    second = services.texting_number_assign(account=account, user=manager, phone="2185550102")
    url = reverse("registration:number_enable", args=[second.pk])

    question = manager_client.get(url)
    assert "Texting from (218) 555-0101 will be turned off." in question.content.decode()
    second.refresh_from_db()
    assert not second.sms_enabled, "asking changes nothing"

    response = manager_client.post(url, {"next": reverse("registration:brand")})
    assert response.status_code == 302 and response.url == reverse("registration:brand")
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.sms_enabled and not first.sms_enabled


def test_removing_a_numbers_texting_from_the_registration_page(manager_client, manager, account):
    number = services.texting_number_assign(account=account, user=manager, phone="2185550101")
    page = manager_client.get(reverse("registration:brand")).content.decode()
    assert "(218) 555-0101" in page
    response = manager_client.post(
        reverse("registration:number_disable", args=[number.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == reverse("registration:users"), "only a local next page"
    number.refresh_from_db()
    assert not number.sms_enabled


@pytest.mark.parametrize("name", ["brand", "campaigns", "campaign_new", "users"])
def test_an_uploader_gets_403(uploader_client, name):
    assert uploader_client.get(reverse(f"registration:{name}")).status_code == 403


def test_an_uploader_cannot_change_numbers(uploader_client, account, manager):
    number = services.texting_number_assign(account=account, user=manager, phone="2185550101")
    for name in ("number_enable", "number_disable", "number_remove"):
        assert uploader_client.post(reverse(f"registration:{name}", args=[number.pk])).status_code == 403
    assert TextingNumber.objects.get().sms_enabled


def test_another_accounts_campaigns_and_numbers_are_404(other_client, account, manager):
    campaign = Campaign.objects.create(
        account=account,
        use_case="CUSTOMER_CARE",
        description="x" * 40,
        message_flow="y" * 40,
        opt_in_keywords="START",
        opt_in_message="m" * 20,
        opt_out_keywords="STOP",
        opt_out_message="m" * 20,
        help_keywords="HELP",
        help_message="m" * 20,
    )
    number = services.texting_number_assign(account=account, user=manager, phone="2185550101")
    assert other_client.get(reverse("registration:campaign", args=[campaign.pk])).status_code == 404
    for name in ("number_enable", "number_disable", "number_remove"):
        assert other_client.post(reverse(f"registration:{name}", args=[number.pk])).status_code == 404
    assert TextingNumber.objects.get().sms_enabled


def test_the_users_page_lists_only_this_accounts_people(manager_client, other_manager):
    page = manager_client.get(reverse("registration:users")).content.decode()
    assert "manager" in page
    assert "other-manager" not in page
