import pytest
from django.db import IntegrityError, transaction

from registration import services
from registration.models import TextingNumber
from registration.services import RegistrationError

pytestmark = pytest.mark.django_db


def _enabled(user):
    return list(TextingNumber.objects.filter(user=user, sms_enabled=True).values_list("phone", flat=True))


def test_it_makes_a_users_first_number_the_sms_enabled_one(account, manager):
    first = services.texting_number_assign(account=account, user=manager, phone="(218) 555-0101")
    second = services.texting_number_assign(account=account, user=manager, phone="218-555-0102")
    assert first.phone == "+12185550101" and first.sms_enabled
    assert not second.sms_enabled
    assert _enabled(manager) == ["+12185550101"]


def test_it_enables_one_number_and_turns_the_users_other_number_off(account, manager, uploader):
    first = services.texting_number_assign(account=account, user=manager, phone="2185550101")
    second = services.texting_number_assign(account=account, user=manager, phone="2185550102")
    someone_else = services.texting_number_assign(account=account, user=uploader, phone="2185550199")

    services.texting_number_enable(account=account, number_id=second.pk)

    assert _enabled(manager) == ["+12185550102"]
    first.refresh_from_db()
    someone_else.refresh_from_db()
    assert not first.sms_enabled
    assert someone_else.sms_enabled, "another user's number is not touched"


def test_it_lets_a_manager_remove_a_numbers_sms_capability_and_keeps_the_number(account, manager):
    number = services.texting_number_assign(account=account, user=manager, phone="2185550101")
    services.texting_number_disable(account=account, number_id=number.pk)
    number.refresh_from_db()
    assert not number.sms_enabled
    assert _enabled(manager) == []


def test_the_database_refuses_two_sms_enabled_numbers_for_one_user(account, manager):
    services.texting_number_assign(account=account, user=manager, phone="2185550101")
    with pytest.raises(IntegrityError), transaction.atomic():
        TextingNumber.objects.create(account=account, user=manager, phone="+12185550102", sms_enabled=True)


@pytest.mark.parametrize(
    "phone, message",
    [
        ("+44 20 7946 0958", "United States or Canada only"),
        ("+52 55 1234 5678", "United States or Canada only"),
        ("+1 787 555 0100", "United States or Canada only"),  # Puerto Rico shares +1 but is not served
        ("555-0101", "not a valid"),
        ("1-800-555-0199", "Toll-free"),
    ],
)
def test_it_refuses_numbers_outside_the_us_and_canada_with_a_reason(account, manager, phone, message):
    with pytest.raises(RegistrationError, match=message):
        services.texting_number_assign(account=account, user=manager, phone=phone)
    assert not TextingNumber.objects.exists()


def test_it_accepts_a_canadian_number(account, manager):
    number = services.texting_number_assign(account=account, user=manager, phone="+1 604 555 0123")
    assert number.phone == "+16045550123"


def test_it_refuses_a_number_already_assigned_in_the_account(account, manager, uploader):
    services.texting_number_assign(account=account, user=manager, phone="2185550101")
    with pytest.raises(RegistrationError, match="already assigned to manager"):
        services.texting_number_assign(account=account, user=uploader, phone="+12185550101")


def test_it_refuses_to_give_a_number_to_someone_outside_the_account(account, other_manager):
    with pytest.raises(RegistrationError, match="user of this account"):
        services.texting_number_assign(account=account, user=other_manager, phone="2185550101")


def test_it_never_touches_another_accounts_number(account, other_account, other_manager):
    theirs = services.texting_number_assign(account=other_account, user=other_manager, phone="2185550101")
    with pytest.raises(TextingNumber.DoesNotExist):
        services.texting_number_disable(account=account, number_id=theirs.pk)
    theirs.refresh_from_db()
    assert theirs.sms_enabled
