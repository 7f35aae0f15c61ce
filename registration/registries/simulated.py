"""A campaign registry that runs here: it applies the registry's field rules, answers after
REGISTRATION_SIMULATED_DELAY seconds, and fails the field named by REGISTRATION_SIMULATED_FAIL_FIELD.

Submissions are kept in the cache (Redis), so the web process, the worker and the tests see the same
ones. Failing `tax_id` answers `unverified`, as the registry does when the EIN and legal name do not
match the IRS record; failing any other field answers `failed` with that field named in the reason.
"""

import time
import uuid

from django.conf import settings
from django.core.cache import cache

from registration import rules
from registration.models import Brand, Campaign, RegistrationStatus
from registration.registries.base import RegistryError, Verdict, brand_fields, campaign_fields
from registration.selectors import campaign_brand_names

_KEY = "registration:simulated:{}"
_KEEP_SECONDS = 7 * 24 * 3600


class SimulatedRegistry:
    def __init__(self, *, delay: float | None = None, fail_field: str | None = None):
        self.delay = settings.REGISTRATION_SIMULATED_DELAY if delay is None else delay
        self.fail_field = settings.REGISTRATION_SIMULATED_FAIL_FIELD if fail_field is None else fail_field

    def brand_submit(self, brand: Brand) -> str:
        fields = brand_fields(brand)
        problems = rules.brand_problems(fields)
        if self.fail_field == "tax_id":
            verdict = Verdict(
                RegistrationStatus.UNVERIFIED,
                f"The tax id {brand.tax_id} and the legal name “{brand.legal_name}” do not match the IRS record.",
            )
        else:
            verdict = self._verdict(problems, fields, Brand)
        return self._remember("BN", verdict)

    def brand_verdict(self, reference: str) -> Verdict | None:
        return self._recall(reference)

    def campaign_submit(self, campaign: Campaign, *, brand_reference: str) -> str:
        brand = self._recall(brand_reference)
        if brand is None or brand.status != RegistrationStatus.VERIFIED:
            raise RegistryError("The registry accepts campaigns only for a verified brand.")
        fields = campaign_fields(campaign)
        problems = rules.campaign_problems(
            fields, brand_names=campaign_brand_names(account=campaign.account, brand=campaign.account.brand)
        )
        return self._remember("CM", self._verdict(problems, fields, Campaign))

    def campaign_verdict(self, reference: str) -> Verdict | None:
        return self._recall(reference)

    def _verdict(self, problems: list[rules.Problem], fields: dict, model) -> Verdict:
        if problems:
            return Verdict(RegistrationStatus.FAILED, " ".join(problem.message for problem in problems))
        if self.fail_field and self.fail_field in fields:
            label = model._meta.get_field(self.fail_field).verbose_name
            return Verdict(
                RegistrationStatus.FAILED, f"{label.capitalize()}: the registry could not verify this value."
            )
        return Verdict(RegistrationStatus.VERIFIED)

    def _remember(self, prefix: str, verdict: Verdict) -> str:
        reference = f"SIM{prefix}{uuid.uuid4().hex[:12].upper()}"
        entry = {"answer_at": time.time() + self.delay, "status": str(verdict.status), "reason": verdict.reason}
        cache.set(_KEY.format(reference), entry, _KEEP_SECONDS)
        return reference

    def _recall(self, reference: str) -> Verdict | None:
        entry = cache.get(_KEY.format(reference))
        if entry is None:
            raise RegistryError(f"The registry has no submission {reference}.")
        if time.time() < entry["answer_at"]:
            return None
        return Verdict(entry["status"], entry["reason"])
