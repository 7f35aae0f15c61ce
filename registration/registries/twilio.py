"""The campaign registry through Twilio: Trust Hub profiles for the brand, then A2P 10DLC registration.

A brand becomes, in order: the business's end user, its authorised representative and its address,
gathered in a secondary customer profile; an A2P messaging profile (trust product) pointing at it;
and finally a brand registration, whose status Twilio reports as the registry answers. A campaign
is a US A2P registration on the account's Messaging Service (TWILIO_MESSAGING_SERVICE_SID).

Needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN; a ready `twilio.rest.Client` can be passed instead.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from registration import rules
from registration.models import Brand, Campaign, EntityType, RegistrationStatus
from registration.registries.base import RegistryError, Verdict

# Twilio's published policy SIDs for these bundle types.
SECONDARY_CUSTOMER_PROFILE_POLICY = "RNdfbf3fae0e1107f8aded0e7cead80bf5"
A2P_MESSAGING_PROFILE_POLICY = "RNb0d4771c2c98518d916a3d4cd70a8f8b"

_BUSINESS_TYPE = {
    EntityType.PRIVATE_PROFIT: "Corporation",
    EntityType.PUBLIC_PROFIT: "Corporation",
    EntityType.NON_PROFIT: "Non-profit Corporation",
    EntityType.GOVERNMENT: "Government",
}
_COMPANY_TYPE = {
    EntityType.PRIVATE_PROFIT: "private",
    EntityType.PUBLIC_PROFIT: "public",
    EntityType.NON_PROFIT: "non-profit",
    EntityType.GOVERNMENT: "government",
}
_PENDING = {"PENDING", "IN_REVIEW", "IN_PROGRESS", "PENDING_REVIEW", "", None}


class TwilioRegistry:
    def __init__(self, client=None):
        if client is None:
            from twilio.rest import Client

            if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
                raise ImproperlyConfigured(
                    "REGISTRATION_REGISTRY=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
                )
            client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
        self.client = client

    # -- brand ------------------------------------------------------------------------------------

    def brand_submit(self, brand: Brand) -> str:
        with _registry_errors():
            hub = self.client.trusthub.v1
            first, _, last = brand.contact_name.strip().partition(" ")
            business = hub.end_users.create(
                friendly_name=f"{brand.legal_name} business information",
                type="customer_profile_business_information",
                attributes={
                    "business_name": brand.legal_name,
                    "business_identity": "direct_customer",
                    "business_type": _BUSINESS_TYPE[brand.entity_type],
                    "business_industry": brand.vertical,
                    "business_registration_identifier": "EIN",
                    "business_registration_number": brand.tax_id.replace("-", ""),
                    "business_regions_of_operation": "USA_AND_CANADA",
                    "website_url": brand.website,
                    "social_media_profile_urls": "",
                },
            )
            representative = hub.end_users.create(
                friendly_name=f"{brand.legal_name} representative",
                type="authorized_representative_1",
                attributes={
                    "first_name": first,
                    "last_name": last.strip(),
                    "email": brand.support_email,
                    "phone_number": brand.support_phone,
                    "business_title": brand.contact_title,
                    "job_position": "Other",
                },
            )
            address = self.client.addresses.create(
                customer_name=brand.legal_name,
                street=brand.street,
                city=brand.city,
                region=brand.state,
                postal_code=brand.postal_code,
                iso_country=brand.country,
            )
            document = hub.supporting_documents.create(
                friendly_name=f"{brand.legal_name} address",
                type="customer_profile_address",
                attributes={"address_sids": address.sid},
            )
            profile = hub.customer_profiles.create(
                friendly_name=brand.legal_name, email=brand.support_email, policy_sid=SECONDARY_CUSTOMER_PROFILE_POLICY
            )
            for sid in (business.sid, representative.sid, document.sid):
                hub.customer_profiles(profile.sid).customer_profiles_entity_assignments.create(object_sid=sid)
            _require_compliant(
                hub.customer_profiles(profile.sid).customer_profiles_evaluations.create(
                    policy_sid=SECONDARY_CUSTOMER_PROFILE_POLICY
                )
            )
            hub.customer_profiles(profile.sid).update(status="pending-review")

            messaging_profile = hub.end_users.create(
                friendly_name=f"{brand.legal_name} messaging profile",
                type="us_a2p_messaging_profile_information",
                attributes={
                    "company_type": _COMPANY_TYPE[brand.entity_type],
                    "brand_contact_email": brand.support_email,
                },
            )
            product = hub.trust_products.create(
                friendly_name=f"{brand.legal_name} A2P",
                email=brand.support_email,
                policy_sid=A2P_MESSAGING_PROFILE_POLICY,
            )
            for sid in (messaging_profile.sid, profile.sid):
                hub.trust_products(product.sid).trust_products_entity_assignments.create(object_sid=sid)
            _require_compliant(
                hub.trust_products(product.sid).trust_products_evaluations.create(
                    policy_sid=A2P_MESSAGING_PROFILE_POLICY
                )
            )
            hub.trust_products(product.sid).update(status="pending-review")

            registration = self.client.messaging.v1.brand_registrations.create(
                customer_profile_bundle_sid=profile.sid, a2p_profile_bundle_sid=product.sid
            )
        return registration.sid

    def brand_verdict(self, reference: str) -> Verdict | None:
        with _registry_errors():
            found = self.client.messaging.v1.brand_registrations(reference).fetch()
        if found.status == "FAILED":
            return Verdict(RegistrationStatus.FAILED, found.failure_reason or _errors_text(found.errors))
        if found.status == "APPROVED":
            if found.identity_status == "UNVERIFIED":
                feedback = ", ".join(found.brand_feedback or []) or "identity"
                return Verdict(RegistrationStatus.UNVERIFIED, f"The registry could not verify: {feedback}.")
            return Verdict(RegistrationStatus.VERIFIED)
        if found.status in _PENDING:
            return None
        return Verdict(RegistrationStatus.FAILED, f"The registry reports the brand as {found.status}.")

    # -- campaigns --------------------------------------------------------------------------------

    def _usa2p(self):
        if not settings.TWILIO_MESSAGING_SERVICE_SID:
            raise ImproperlyConfigured("Registering campaigns through Twilio needs TWILIO_MESSAGING_SERVICE_SID")
        return self.client.messaging.v1.services(settings.TWILIO_MESSAGING_SERVICE_SID)

    def campaign_submit(self, campaign: Campaign, *, brand_reference: str) -> str:
        service = self._usa2p()
        with _registry_errors():
            created = service.us_app_to_person.create(
                brand_registration_sid=brand_reference,
                description=campaign.description,
                message_flow=campaign.message_flow,
                message_samples=list(campaign.sample_messages),
                us_app_to_person_usecase=campaign.use_case,
                has_embedded_links=campaign.has_embedded_links,
                has_embedded_phone=campaign.has_embedded_phone,
                opt_in_message=campaign.opt_in_message,
                opt_out_message=campaign.opt_out_message,
                help_message=campaign.help_message,
                opt_in_keywords=rules.keywords_parse(campaign.opt_in_keywords),
                opt_out_keywords=rules.keywords_parse(campaign.opt_out_keywords),
                help_keywords=rules.keywords_parse(campaign.help_keywords),
            )
        return created.sid

    def campaign_verdict(self, reference: str) -> Verdict | None:
        service = self._usa2p()
        with _registry_errors():
            found = service.us_app_to_person(reference).fetch()
        if found.campaign_status == "VERIFIED":
            return Verdict(RegistrationStatus.VERIFIED)
        if found.campaign_status == "FAILED":
            return Verdict(RegistrationStatus.FAILED, _errors_text(found.errors))
        if found.campaign_status in _PENDING:
            return None
        return Verdict(RegistrationStatus.FAILED, f"The registry reports the campaign as {found.campaign_status}.")


class _registry_errors:
    """Twilio's exceptions become RegistryError, with Twilio's own message for the manager to read."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        from twilio.base.exceptions import TwilioException, TwilioRestException

        if isinstance(exc, TwilioRestException):
            raise RegistryError(f"Twilio answered {exc.status}: {exc.msg}") from exc
        if isinstance(exc, TwilioException):
            raise RegistryError(f"Twilio could not be reached: {exc}") from exc
        return False


def _require_compliant(evaluation) -> None:
    if evaluation.status != "compliant":
        problems = []
        for result in evaluation.results or []:
            for field in result.get("fields", []) if isinstance(result, dict) else []:
                if not field.get("passed", True):
                    problems.append(field.get("friendly_name") or field.get("object_field", "a field"))
        detail = ", ".join(problems) or "the profile is incomplete"
        raise RegistryError(f"Twilio's compliance check failed: {detail}.")


def _errors_text(errors) -> str:
    if not errors:
        return "The registry gave no reason."
    texts = []
    for error in errors:
        if isinstance(error, dict):
            texts.append(error.get("description") or error.get("message") or str(error))
        else:
            texts.append(str(error))
    return " ".join(texts)
