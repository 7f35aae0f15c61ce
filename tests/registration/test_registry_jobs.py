"""Brand and campaign submissions through a real RQ worker and the simulated registry."""

import django_rq
import pytest

from registration import services
from registration.forms import BrandForm
from registration.models import Brand, Campaign, RegistrationStatus
from registration.services import RegistrationError
from tests.conftest import run_worker
from tests.registration.conftest import BRAND_POST, campaign_post

pytestmark = pytest.mark.django_db(transaction=True)


def _save_brand(account, **changes):
    form = BrandForm({**BRAND_POST, **changes})
    assert form.is_valid(), form.errors
    return services.brand_save(account=account, data=form.cleaned_data)


def test_it_keeps_the_brand_pending_until_a_worker_has_the_registry_verify_it(account, rq_queues):
    brand = _save_brand(account)
    assert brand.status == RegistrationStatus.PENDING
    assert django_rq.get_queue("default").count == 1

    run_worker("default")

    brand.refresh_from_db()
    assert brand.status == RegistrationStatus.VERIFIED
    assert brand.registry_reference.startswith("SIMBN")
    assert brand.failure_reason == ""
    assert brand.decided_at is not None


def test_it_records_the_registry_reason_when_it_fails_a_field(account, rq_queues, settings):
    settings.REGISTRATION_SIMULATED_FAIL_FIELD = "website"
    brand = _save_brand(account)

    run_worker("default")

    brand.refresh_from_db()
    assert brand.status == RegistrationStatus.FAILED
    assert brand.failure_reason == "Website: the registry could not verify this value."


def test_it_marks_the_brand_unverified_when_the_tax_id_does_not_match(account, rq_queues, settings):
    settings.REGISTRATION_SIMULATED_FAIL_FIELD = "tax_id"
    brand = _save_brand(account)

    run_worker("default")

    brand.refresh_from_db()
    assert brand.status == RegistrationStatus.UNVERIFIED
    assert "41-1234567" in brand.failure_reason


def test_it_waits_for_a_slow_registry_then_records_its_answer(account, rq_queues, settings):
    settings.REGISTRATION_SIMULATED_DELAY = 0.3
    brand = _save_brand(account)

    run_worker("default")

    brand.refresh_from_db()
    assert brand.status == RegistrationStatus.VERIFIED


def test_it_looks_again_later_when_the_registry_has_not_answered_in_time(account, rq_queues, settings):
    settings.REGISTRATION_SIMULATED_DELAY = 60
    settings.REGISTRATION_WAIT_SECONDS = 0
    brand = _save_brand(account)

    run_worker("default")

    brand.refresh_from_db()
    assert brand.status == RegistrationStatus.PENDING
    assert brand.registry_reference
    queue = django_rq.get_queue("default")
    scheduled = queue.scheduled_job_registry
    rechecks = [
        job
        for job in queue.job_class.fetch_many(scheduled.get_job_ids(), connection=queue.connection)
        if job is not None and job.func_name == "registration.jobs.brand_register"
    ]
    assert [job.args for job in rechecks] == [(brand.pk, 1)]
    for job in rechecks:
        scheduled.remove(job, delete_job=True)


def test_it_refuses_to_change_a_brand_while_the_registry_is_checking_it(account, rq_queues):
    _save_brand(account)
    with pytest.raises(RegistrationError):
        _save_brand(account, legal_name="Someone Else")
    assert Brand.objects.get(account=account).legal_name == BRAND_POST["legal_name"]


def test_it_ignores_the_answer_to_a_superseded_submission(account, rq_queues, settings):
    settings.REGISTRATION_SIMULATED_FAIL_FIELD = "website"
    brand = _save_brand(account)
    run_worker("default")
    settings.REGISTRATION_SIMULATED_FAIL_FIELD = ""
    _save_brand(account, website="https://lakeside.example")
    # The first attempt's job, run again late, must not overwrite the second's answer.
    django_rq.get_queue("default").enqueue("registration.jobs.brand_register", brand.pk, 1)

    run_worker("default")

    brand.refresh_from_db()
    assert brand.attempt == 2
    assert brand.status == RegistrationStatus.VERIFIED


def test_it_registers_a_campaign_of_a_verified_brand(verified_brand, rq_queues):
    campaign = services.campaign_save(account=verified_brand.account, data=_campaign_data(verified_brand))
    assert campaign.status == RegistrationStatus.PENDING

    run_worker("default")

    campaign.refresh_from_db()
    assert campaign.status == RegistrationStatus.VERIFIED
    assert campaign.registry_reference.startswith("SIMCM")


def test_it_records_why_the_registry_failed_a_campaign(verified_brand, rq_queues, settings):
    settings.REGISTRATION_SIMULATED_FAIL_FIELD = "message_flow"
    campaign = services.campaign_save(account=verified_brand.account, data=_campaign_data(verified_brand))

    run_worker("default")

    campaign.refresh_from_db()
    assert campaign.status == RegistrationStatus.FAILED
    assert campaign.failure_reason == "Message flow: the registry could not verify this value."


def test_it_refuses_a_campaign_without_a_verified_brand(account, rq_queues, settings):
    settings.REGISTRATION_SIMULATED_FAIL_FIELD = "website"
    brand = _save_brand(account)
    run_worker("default")
    brand.refresh_from_db()

    with pytest.raises(RegistrationError, match="verified brand"):
        services.campaign_save(account=account, data=_campaign_data(brand))
    assert not Campaign.objects.exists()


def _campaign_data(brand):
    from registration.forms import CampaignForm

    form = CampaignForm(campaign_post(brand), brand_names=(brand.legal_name,))
    assert form.is_valid(), form.errors
    return form.registration_data()
