"""The Twilio registry backend, built on Twilio's own client; only Twilio's HTTP API is played here."""

import json
import re

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from registration import services
from registration.models import Brand, Campaign, RegistrationStatus
from registration.registries import RegistryError, get_registry
from registration.registries.twilio import (
    A2P_MESSAGING_PROFILE_POLICY,
    SECONDARY_CUSTOMER_PROFILE_POLICY,
    TwilioRegistry,
)
from tests.conftest import run_worker
from tests.registration.conftest import BRAND_POST

ACCOUNT_SID = "AC" + "0" * 32


class TwilioApi(HttpClient):
    """Twilio's REST API as its documentation describes the answers: routes by method and path."""

    def __init__(
        self, brand_status="APPROVED", identity_status="VERIFIED", campaign_status="VERIFIED", evaluation="compliant"
    ):
        super().__init__(logger=None, is_async=False)
        self.brand_status = brand_status
        self.identity_status = identity_status
        self.campaign_status = campaign_status
        self.evaluation = evaluation
        self.calls = []
        self._serial = 0

    def _sid(self, prefix):
        self._serial += 1
        return f"{prefix}{self._serial:032d}"

    def request(
        self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        path = re.sub(r"^https://[^/]+", "", uri)
        self.calls.append((method, path, dict(data or {})))
        body = self._answer(method, path, data or {})
        if body is None:
            return Response(404, json.dumps({"code": 20404, "message": f"no route {method} {path}", "status": 404}))
        if isinstance(body, tuple):
            return Response(body[0], json.dumps(body[1]))
        return Response(201 if method == "POST" else 200, json.dumps(body))

    def _answer(self, method, path, data):
        if method == "POST" and path == "/v1/EndUsers":
            return {"sid": self._sid("IT"), "type": data["Type"]}
        if method == "POST" and path.endswith("/Addresses.json"):
            return {"sid": self._sid("AD"), "customer_name": data["CustomerName"]}
        if method == "POST" and path == "/v1/SupportingDocuments":
            return {"sid": self._sid("RD")}
        if method == "POST" and path in ("/v1/CustomerProfiles", "/v1/TrustProducts"):
            return {"sid": self._sid("BU"), "status": "draft"}
        if method == "POST" and path.endswith("/EntityAssignments"):
            return {"sid": self._sid("BV"), "object_sid": data["ObjectSid"]}
        if method == "POST" and path.endswith("/Evaluations"):
            results = (
                []
                if self.evaluation == "compliant"
                else [{"fields": [{"friendly_name": "Business registration number", "passed": False}]}]
            )
            return {"sid": self._sid("EL"), "status": self.evaluation, "results": results}
        if method == "POST" and re.fullmatch(r"/v1/(CustomerProfiles|TrustProducts)/BU\d+", path):
            return {"sid": path.rsplit("/", 1)[1], "status": data["Status"]}
        if method == "POST" and path == "/v1/a2p/BrandRegistrations":
            return {"sid": self._sid("BN"), "status": "PENDING"}
        if method == "GET" and path.startswith("/v1/a2p/BrandRegistrations/"):
            return {
                "sid": path.rsplit("/", 1)[1],
                "status": self.brand_status,
                "identity_status": self.identity_status,
                "brand_feedback": ["TAX_ID"] if self.identity_status == "UNVERIFIED" else None,
                "failure_reason": "Tax id does not match" if self.brand_status == "FAILED" else None,
            }
        if method == "POST" and path.endswith("/Compliance/Usa2p"):
            if data["BrandRegistrationSid"].startswith("BN"):
                return {"sid": self._sid("QE"), "campaign_status": "IN_PROGRESS"}
            return (400, {"code": 21711, "message": "Brand registration not found", "status": 400})
        if method == "GET" and "/Compliance/Usa2p/" in path:
            return {
                "sid": path.rsplit("/", 1)[1],
                "campaign_status": self.campaign_status,
                "errors": [{"description": "Sample messages must identify the brand."}]
                if self.campaign_status == "FAILED"
                else [],
            }
        return None


def _registry(api):
    return TwilioRegistry(client=Client(ACCOUNT_SID, "token", http_client=api))


class FakeApiTwilioRegistry(TwilioRegistry):
    """The Twilio backend as the worker loads it by class path, talking to the played API."""

    api = TwilioApi()

    def __init__(self):
        super().__init__(client=Client(ACCOUNT_SID, "token", http_client=self.api))


@pytest.fixture
def brand(account):
    fields = {**BRAND_POST, "support_phone": "+12185550134"}
    return Brand.objects.create(account=account, status=RegistrationStatus.PENDING, **fields)


@pytest.mark.django_db
def test_it_builds_the_trust_hub_profiles_then_registers_the_brand(brand):
    api = TwilioApi()
    reference = _registry(api).brand_submit(brand)

    assert reference.startswith("BN")
    paths = [path for _, path, _ in api.calls]
    assert paths[-1] == "/v1/a2p/BrandRegistrations"
    business = api.calls[0][2]
    assert business["Type"] == "customer_profile_business_information"
    attributes = json.loads(business["Attributes"])
    assert attributes["business_name"] == "Lakeside Electric Cooperative"
    assert attributes["business_registration_number"] == "411234567"
    assert attributes["business_type"] == "Non-profit Corporation"
    representative = json.loads(api.calls[1][2]["Attributes"])
    assert (representative["first_name"], representative["last_name"]) == ("Dana", "Lindqvist")
    policies = {data.get("PolicySid") for _, _, data in api.calls}
    assert {SECONDARY_CUSTOMER_PROFILE_POLICY, A2P_MESSAGING_PROFILE_POLICY} <= policies
    submitted = [
        data for _, path, data in api.calls if re.fullmatch(r"/v1/(CustomerProfiles|TrustProducts)/BU\d+", path)
    ]
    assert [data["Status"] for data in submitted] == ["pending-review", "pending-review"]
    assert sum(path.endswith("/EntityAssignments") for path in paths) == 5


@pytest.mark.django_db
def test_it_stops_with_twilios_reasons_when_the_profile_is_not_compliant(brand):
    with pytest.raises(RegistryError, match="Business registration number"):
        _registry(TwilioApi(evaluation="noncompliant")).brand_submit(brand)


@pytest.mark.parametrize(
    "api, status, reason",
    [
        (TwilioApi(brand_status="PENDING"), None, None),
        (TwilioApi(brand_status="IN_REVIEW"), None, None),
        (TwilioApi(), RegistrationStatus.VERIFIED, ""),
        (
            TwilioApi(identity_status="UNVERIFIED"),
            RegistrationStatus.UNVERIFIED,
            "The registry could not verify: TAX_ID.",
        ),
        (TwilioApi(brand_status="FAILED"), RegistrationStatus.FAILED, "Tax id does not match"),
    ],
)
def test_it_reads_the_brand_status_twilio_reports(api, status, reason):
    verdict = _registry(api).brand_verdict("BN" + "1" * 32)
    if status is None:
        assert verdict is None
    else:
        assert (verdict.status, verdict.reason) == (status, reason)


def test_it_turns_a_twilio_error_into_a_registry_error(settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    with pytest.raises(RegistryError, match="Twilio answered 400: .*Brand registration not found"):
        _registry(TwilioApi()).campaign_submit(_campaign_stub(), brand_reference="XX123")


def test_it_reads_the_campaign_status_and_errors(settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    assert _registry(TwilioApi(campaign_status="IN_PROGRESS")).campaign_verdict("QE1") is None
    assert _registry(TwilioApi()).campaign_verdict("QE1").status == RegistrationStatus.VERIFIED
    failed = _registry(TwilioApi(campaign_status="FAILED")).campaign_verdict("QE1")
    assert (failed.status, failed.reason) == (RegistrationStatus.FAILED, "Sample messages must identify the brand.")


def test_it_refuses_to_start_without_credentials(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.REGISTRATION_REGISTRY = "twilio"
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(ImproperlyConfigured):
        get_registry()


@pytest.mark.django_db(transaction=True)
def test_a_brand_and_campaign_go_through_the_worker_with_the_twilio_backend(account, rq_queues, settings):
    from registration.forms import BrandForm, CampaignForm
    from registration.selectors import campaign_brand_names
    from tests.registration.conftest import campaign_post

    settings.REGISTRATION_REGISTRY = "tests.registration.test_twilio.FakeApiTwilioRegistry"
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    form = BrandForm(BRAND_POST)
    assert form.is_valid(), form.errors
    brand = services.brand_save(account=account, data=form.cleaned_data)
    run_worker("default")
    brand.refresh_from_db()
    assert brand.status == RegistrationStatus.VERIFIED
    assert brand.registry_reference.startswith("BN")

    campaign_form = CampaignForm(campaign_post(brand), brand_names=campaign_brand_names(account=account, brand=brand))
    assert campaign_form.is_valid(), campaign_form.errors
    campaign = services.campaign_save(account=account, data=campaign_form.registration_data())
    run_worker("default")
    campaign.refresh_from_db()
    assert campaign.status == RegistrationStatus.VERIFIED
    assert campaign.registry_reference.startswith("QE")


def _campaign_stub():
    return Campaign(
        use_case="PUBLIC_SERVICE_ANNOUNCEMENT",
        description="d" * 40,
        message_flow="f" * 40,
        sample_messages=["Lakeside: an outage in your area."],
        opt_in_keywords="START",
        opt_in_message="m" * 20,
        opt_out_keywords="STOP",
        opt_out_message="m" * 20,
        help_keywords="HELP",
        help_message="m" * 20,
    )
