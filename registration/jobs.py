"""RQ jobs: thin, they take a row's id and the submission attempt they were queued for."""

from registration import services
from registration.models import Brand, Campaign

_CRASHED = "Registration stopped unexpectedly before the registry answered; save again to resubmit."


def brand_register(brand_id: int, attempt: int) -> None:
    done = False
    try:
        services.brand_register(brand_id=brand_id, attempt=attempt)
        done = True
    finally:
        if not done:
            services.registration_fail_stuck(model=Brand, pk=brand_id, attempt=attempt, reason=_CRASHED)


def campaign_register(campaign_id: int, attempt: int) -> None:
    done = False
    try:
        services.campaign_register(campaign_id=campaign_id, attempt=attempt)
        done = True
    finally:
        if not done:
            services.registration_fail_stuck(model=Campaign, pk=campaign_id, attempt=attempt, reason=_CRASHED)
