from dataclasses import dataclass
from typing import Protocol

from registration.models import Brand, Campaign, RegistrationStatus


class RegistryError(Exception):
    """The registry could not be asked (network, credentials) or refused the request outright."""


@dataclass(frozen=True)
class Verdict:
    status: str  # a final RegistrationStatus: verified, unverified or failed
    reason: str = ""

    def __post_init__(self):
        if self.status not in (RegistrationStatus.VERIFIED, RegistrationStatus.UNVERIFIED, RegistrationStatus.FAILED):
            raise ValueError(f"not a final registration status: {self.status!r}")


class RegistryClient(Protocol):
    """Submitting returns the registry's reference at once; the verdict comes later (None until then)."""

    def brand_submit(self, brand: Brand) -> str: ...

    def brand_verdict(self, reference: str) -> Verdict | None: ...

    def campaign_submit(self, campaign: Campaign, *, brand_reference: str) -> str: ...

    def campaign_verdict(self, reference: str) -> Verdict | None: ...


def brand_fields(brand: Brand) -> dict:
    return {field.name: getattr(brand, field.attname) for field in Brand._meta.concrete_fields}


def campaign_fields(campaign: Campaign) -> dict:
    return {field.name: getattr(campaign, field.attname) for field in Campaign._meta.concrete_fields}
