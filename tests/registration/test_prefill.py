"""A new campaign starts from the texts and keywords the account really sends."""

import pytest

from messaging.models import Alert, MessagingSettings
from registration.forms import CampaignForm
from registration.selectors import campaign_brand_names, campaign_initial
from tests.registration.conftest import campaign_post

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_prefills_the_replies_and_keywords_from_the_accounts_texts(verified_brand):
    account = verified_brand.account
    MessagingSettings.objects.create(
        account=account,
        welcome_text=f"{account.name}: outage alerts are on. Msg frequency varies. Msg&Data rates may apply. Reply HELP for help, STOP to opt out.",
        opt_out_text=f"{account.name}: you will get no more outage alerts.",
        help_text=f"{account.name}: outage alerts. Call (218) 555-0100. Reply STOP to opt out.",
        request_text="-",
        confirmation_text="-",
        opt_in_keywords=["outage", "lights"],
    )
    Alert.objects.create(account=account, body=f"{account.name}: power is out on Lake Road. Crews are on the way.")

    initial = campaign_initial(account=account, brand=verified_brand)

    assert initial["opt_in_message"].startswith(f"{account.name}: outage alerts are on.")
    assert initial["opt_out_message"] == f"{account.name}: you will get no more outage alerts."
    assert initial["help_message"] == f"{account.name}: outage alerts. Call (218) 555-0100. Reply STOP to opt out."
    assert initial["opt_in_keywords"] == "START, UNSTOP, OUTAGE, LIGHTS"
    assert initial["opt_out_keywords"].startswith("STOP, ")
    assert initial["sample_1"] == f"{account.name}: power is out on Lake Road. Crews are on the way."


def test_without_texts_yet_it_uses_the_default_texts_plus_the_support_contact(verified_brand):
    initial = campaign_initial(account=verified_brand.account, brand=verified_brand)

    assert "Msg&Data rates may apply. Reply HELP for help, STOP to opt out." in initial["opt_in_message"]
    assert initial["help_message"].endswith("Support: (218) 555-0134, help@lakeside-electric.example.")
    assert not MessagingSettings.objects.exists(), "reading the texts creates nothing"


def test_the_prefilled_campaign_meets_the_registry_rules(verified_brand):
    account = verified_brand.account
    form = CampaignForm(
        campaign_post(verified_brand), brand_names=campaign_brand_names(account=account, brand=verified_brand)
    )
    assert form.is_valid(), form.errors
