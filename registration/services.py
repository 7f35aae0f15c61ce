"""Registration rules: submitting a brand or campaign to the registry, recording its verdict, and
the numbers users text from (one SMS-enabled number per user at a time)."""

import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alertmanager.jobqueue import enqueue
from registration.models import Brand, Campaign, RegistrationStatus, TextingNumber
from registration.registries import RegistryError, Verdict, get_registry
from subscribers import phones
from subscribers.models import Account, Membership

QUEUE = "default"


class RegistrationError(Exception):
    """A change the rules refuse; str(exc) is a sentence for a person, `field` the form field it is about."""

    def __init__(self, detail: str, field: str | None = None):
        super().__init__(detail)
        self.field = field


# ----------------------------------------------------------------------------------------------
# Brand and campaigns


def _submission_start(registration) -> None:
    registration.status = RegistrationStatus.PENDING
    registration.failure_reason = ""
    registration.registry_reference = ""
    registration.attempt += 1
    registration.submitted_at = timezone.now()
    registration.decided_at = None
    registration.updated_at = registration.submitted_at


# The jobs by their path: registration.jobs calls this module, which names them without importing them (no
# import cycle; RQ imports the path when a worker runs the job).
_BRAND_JOB = "registration.jobs.brand_register"
_CAMPAIGN_JOB = "registration.jobs.campaign_register"


def _enqueue_on_commit(job: str, registration) -> None:
    pk, attempt = registration.pk, registration.attempt
    enqueue(QUEUE, job, pk, attempt)


@transaction.atomic
def brand_save(*, account: Account, data: dict) -> Brand:
    """Store the brand's details and submit them to the registry (asynchronously)."""
    brand = Brand.objects.select_for_update().filter(account=account).first() or Brand(account=account)
    if brand.is_pending:
        raise RegistrationError("The registry is still checking the brand; wait for its answer before changing it.")
    for name, value in data.items():
        setattr(brand, name, value)
    _submission_start(brand)
    brand.save()
    _enqueue_on_commit(_BRAND_JOB, brand)
    return brand


@transaction.atomic
def campaign_save(*, account: Account, data: dict, campaign: Campaign | None = None) -> Campaign:
    """Create or change a campaign and submit it; the registry takes campaigns of a verified brand only."""
    brand = Brand.objects.filter(account=account).first()
    if brand is None or brand.status != RegistrationStatus.VERIFIED:
        raise RegistrationError("Register the brand first: a campaign needs a verified brand.")
    if campaign is None:
        campaign = Campaign(account=account)
    else:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk, account=account)
        if campaign.is_pending:
            raise RegistrationError("The registry is still checking this campaign; wait for its answer.")
    for name, value in data.items():
        setattr(campaign, name, value)
    _submission_start(campaign)
    campaign.save()
    _enqueue_on_commit(_CAMPAIGN_JOB, campaign)
    return campaign


def brand_register(*, brand_id: int, attempt: int) -> None:
    """The job's work: submit the brand if not yet done, then wait for the registry's verdict."""
    registry = get_registry()
    _register(
        Brand,
        brand_id,
        attempt,
        submit=registry.brand_submit,
        verdict_of=registry.brand_verdict,
        recheck=_BRAND_JOB,
    )


def campaign_register(*, campaign_id: int, attempt: int) -> None:
    registry = get_registry()

    def submit(campaign: Campaign) -> str:
        return registry.campaign_submit(campaign, brand_reference=campaign.account.brand.registry_reference)

    _register(
        Campaign,
        campaign_id,
        attempt,
        submit=submit,
        verdict_of=registry.campaign_verdict,
        recheck=_CAMPAIGN_JOB,
    )


def _current(model, pk: int, attempt: int):
    """The row if this attempt is still the one waiting for an answer; None if it was superseded."""
    registration = model.objects.select_related("account").filter(pk=pk).first()
    if registration is None or registration.attempt != attempt or not registration.is_pending:
        return None
    return registration


def _register(model, pk: int, attempt: int, *, submit, verdict_of, recheck: str) -> None:
    registration = _current(model, pk, attempt)
    if registration is None:
        return
    try:
        reference = registration.registry_reference
        if not reference:
            reference = submit(registration)
            model.objects.filter(pk=pk, attempt=attempt).update(registry_reference=reference)
        verdict = _wait_for_verdict(lambda: verdict_of(reference))
    except RegistryError as exc:
        verdict = Verdict(RegistrationStatus.FAILED, f"The registry refused the submission: {exc}")
    if verdict is None:
        # Still undecided after a reasonable wait: look again later rather than hold a worker.
        enqueue(QUEUE, recheck, pk, attempt, after=timedelta(seconds=settings.REGISTRATION_RECHECK_SECONDS))
        return
    _decide(model, pk, attempt, verdict)


def _wait_for_verdict(ask: Callable[[], Verdict | None]) -> Verdict | None:
    deadline = time.monotonic() + settings.REGISTRATION_WAIT_SECONDS
    while True:
        verdict = ask()
        if verdict is not None or time.monotonic() >= deadline:
            return verdict
        time.sleep(settings.REGISTRATION_POLL_SECONDS)


@transaction.atomic
def _decide(model, pk: int, attempt: int, verdict: Verdict) -> None:
    registration = model.objects.select_for_update().filter(pk=pk).first()
    if registration is None or registration.attempt != attempt or not registration.is_pending:
        return
    registration.status = verdict.status
    registration.failure_reason = verdict.reason
    registration.decided_at = timezone.now()
    registration.save(update_fields=["status", "failure_reason", "decided_at"])


def registration_fail_stuck(*, model, pk: int, attempt: int, reason: str) -> None:
    """A job that crashed leaves the row pending forever otherwise; the job calls this from `finally`."""
    _decide(model, pk, attempt, Verdict(RegistrationStatus.FAILED, reason))


# ----------------------------------------------------------------------------------------------
# Numbers users text from

NUMBER_REASON_TEXT = {
    "blank": "Enter a phone number.",
    "invalid": "This is not a valid US or Canadian phone number.",
    "not_us_ca": "Texting numbers can be enabled for the United States or Canada only.",
    "not_mobile": "Toll-free, premium-rate and pager numbers, and numbers with an extension, cannot be used here.",
}


def texting_number_parse(value: str) -> str:
    """The number as E.164, or RegistrationError saying why not (US and Canada only)."""
    result = phones.normalise(value)
    if not result.ok:
        raise RegistrationError(NUMBER_REASON_TEXT[result.reason], field="phone")
    return result.e164


@transaction.atomic
def texting_number_assign(*, account: Account, user, phone: str) -> TextingNumber:
    """Give `user` a number; their first number is the SMS-enabled one."""
    e164 = texting_number_parse(phone)
    if not Membership.objects.filter(account=account, user=user).exists():
        raise RegistrationError("Choose a user of this account.", field="user")
    taken = TextingNumber.objects.filter(account=account, phone=e164).select_related("user").first()
    if taken is not None:
        raise RegistrationError(
            f"{phones.format_national(e164)} is already assigned to {taken.user.get_username()}.", field="phone"
        )
    # Lock the user's numbers so two assignments at once cannot both become "the first".
    held = list(TextingNumber.objects.select_for_update().filter(account=account, user=user))
    return TextingNumber.objects.create(account=account, user=user, phone=e164, sms_enabled=not held)


@transaction.atomic
def texting_number_enable(*, account: Account, number_id: int) -> TextingNumber:
    """Make this the user's SMS-enabled number; their other numbers stop being SMS-enabled."""
    number = TextingNumber.objects.select_for_update().get(pk=number_id, account=account)
    TextingNumber.objects.filter(account=account, user_id=number.user_id, sms_enabled=True).exclude(
        pk=number.pk
    ).update(sms_enabled=False)
    if not number.sms_enabled:
        number.sms_enabled = True
        number.save(update_fields=["sms_enabled"])
    return number


@transaction.atomic
def texting_number_disable(*, account: Account, number_id: int) -> TextingNumber:
    number = TextingNumber.objects.select_for_update().get(pk=number_id, account=account)
    if number.sms_enabled:
        number.sms_enabled = False
        number.save(update_fields=["sms_enabled"])
    return number


@transaction.atomic
def texting_number_remove(*, account: Account, number_id: int) -> None:
    TextingNumber.objects.filter(pk=number_id, account=account).delete()
