import pytest

from registration import services
from registration.models import Brand
from tests.conftest import run_worker

BRAND_POST = {
    "legal_name": "Lakeside Electric Cooperative",
    "tax_id": "41-1234567",
    "entity_type": "NON_PROFIT",
    "vertical": "ENERGY",
    "street": "400 Lake Road",
    "city": "Brainerd",
    "state": "MN",
    "postal_code": "56401",
    "country": "US",
    "website": "https://lakeside-electric.example",
    "contact_name": "Dana Lindqvist",
    "contact_title": "Member services manager",
    "support_email": "help@lakeside-electric.example",
    "support_phone": "(218) 555-0134",
}


@pytest.fixture(autouse=True)
def quick_registry(settings):
    """The simulated registry answers at once, unless a test asks for a delay."""
    settings.REGISTRATION_REGISTRY = "simulated"
    settings.REGISTRATION_SIMULATED_DELAY = 0
    settings.REGISTRATION_SIMULATED_FAIL_FIELD = ""
    settings.REGISTRATION_POLL_SECONDS = 0.05
    settings.REGISTRATION_WAIT_SECONDS = 30
    return settings


@pytest.fixture
def brand_post():
    return dict(BRAND_POST)


@pytest.fixture
def verified_brand(account, rq_queues):
    """A brand the simulated registry really verified, through the job."""
    from registration.forms import BrandForm

    form = BrandForm(BRAND_POST)
    assert form.is_valid(), form.errors
    brand = services.brand_save(account=account, data=form.cleaned_data)
    run_worker("default")
    brand.refresh_from_db()
    assert brand.status == "verified"
    return brand


def campaign_post(brand: Brand, **changes) -> dict:
    from registration.selectors import campaign_initial

    data = campaign_initial(account=brand.account, brand=brand)
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}
