import pytest

from registration.forms import BrandForm, CampaignForm
from registration.rules import CARRIER_WORDS
from tests.registration.conftest import BRAND_POST

pytestmark = pytest.mark.django_db

BRAND = "Lakeside Electric Cooperative"


def _campaign(**changes):
    data = {
        "use_case": "PUBLIC_SERVICE_ANNOUNCEMENT",
        "description": f"{BRAND} texts its members about power outages in their area and when power is back.",
        "message_flow": "Members text JOIN to our number or sign up on our website, then confirm with YES.",
        "sample_1": f"{BRAND}: An outage is affecting your area. Crews are on the way.",
        "opt_in_keywords": "JOIN, START",
        "opt_in_message": f"{BRAND}: you are signed up for outage alerts. {CARRIER_WORDS}",
        "opt_out_keywords": "STOP, QUIT",
        "opt_out_message": f"{BRAND}: you are unsubscribed and will get no more messages.",
        "help_keywords": "HELP",
        "help_message": f"{BRAND}: for help call (218) 555-0134. {CARRIER_WORDS}",
    }
    data.update(changes)
    return CampaignForm(data, brand_names=(BRAND,))


def test_it_accepts_a_complete_brand_and_formats_the_ein_and_phone():
    form = BrandForm({**BRAND_POST, "tax_id": "411234567", "support_phone": "218.555.0134"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["tax_id"] == "41-1234567"
    assert form.cleaned_data["support_phone"] == "+12185550134"


@pytest.mark.parametrize("ein", ["12-345678", "1234567890", "AB-1234567", "00-1234567", "07-1234567", "96-1234567"])
def test_it_refuses_an_ein_of_the_wrong_shape_or_an_unassigned_prefix(ein):
    form = BrandForm({**BRAND_POST, "tax_id": ein})
    assert not form.is_valid()
    assert "EIN" in form.errors["tax_id"][0]


def test_it_refuses_a_support_phone_outside_the_us_and_canada():
    form = BrandForm({**BRAND_POST, "support_phone": "+44 20 7946 0958"})
    assert not form.is_valid()
    assert form.errors["support_phone"] == ["Texting numbers can be enabled for the United States or Canada only."]


def test_it_requires_every_brand_field_and_a_full_website_address():
    form = BrandForm({**BRAND_POST, "legal_name": "", "website": "ftp://lakeside.example", "support_email": "nope"})
    assert not form.is_valid()
    assert set(form.errors) == {"legal_name", "website", "support_email"}


def test_it_accepts_a_campaign_that_meets_the_registry_rules():
    form = _campaign()
    assert form.is_valid(), form.errors
    data = form.registration_data()
    assert data["sample_messages"] == [f"{BRAND}: An outage is affecting your area. Crews are on the way."]
    assert data["opt_out_keywords"] == "STOP, QUIT"


def test_it_refuses_a_description_and_message_flow_shorter_than_40_characters():
    form = _campaign(description="Outage texts.", message_flow="Web form.")
    assert not form.is_valid()
    assert "at least 40 characters" in form.errors["description"][0]
    assert "at least 40 characters" in form.errors["message_flow"][0]


def test_it_refuses_an_opt_in_reply_without_the_carrier_required_words():
    form = _campaign(opt_in_message=f"{BRAND}: welcome to our outage alerts, glad to have you.")
    assert not form.is_valid()
    messages = " ".join(form.errors["opt_in_message"])
    assert "Msg&Data rates may apply" in messages
    assert "HELP" in messages and "STOP" in messages


def test_it_requires_stop_among_opt_out_keywords_and_help_among_help_keywords():
    form = _campaign(opt_out_keywords="QUIT, END", help_keywords="INFO")
    assert not form.is_valid()
    assert form.errors["opt_out_keywords"] == ["Opt-out keywords must include STOP."]
    assert form.errors["help_keywords"] == ["Help keywords must include HELP."]


def test_it_refuses_keywords_that_are_not_single_words():
    form = _campaign(opt_in_keywords="JOIN NOW, START")
    assert not form.is_valid()
    assert "JOIN NOW" in form.errors["opt_in_keywords"][0]


def test_it_requires_the_brand_name_in_the_replies_and_a_support_contact_in_help():
    form = _campaign(
        help_message=f"Outage alerts. {CARRIER_WORDS}", opt_out_message="You are unsubscribed, no more messages."
    )
    assert not form.is_valid()
    assert any(BRAND in error for error in form.errors["opt_out_message"])
    assert any(BRAND in error for error in form.errors["help_message"])


def test_it_checks_the_length_of_every_sample_message_and_allows_at_most_five():
    form = _campaign(sample_2="Too short.", sample_5="x" * 1025)
    assert not form.is_valid()
    assert "at least 20 characters" in form.errors["sample_2"][0]
    assert "at most 1024 characters" in form.errors["sample_5"][0]


def test_it_requires_a_first_sample_message_that_names_the_brand():
    assert "sample_1" in _campaign(sample_1="").errors
    form = _campaign(sample_1="An outage is affecting your area. Crews are on the way.")
    assert any(BRAND in error for error in form.errors["sample_1"])
