import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "pw-for-tests-123"


def totp_now(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for `device` (optionally the next step's)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + steps_ahead * device.step
    return f"{totp.token():06d}"


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def password_step(client, username, password=PASSWORD, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


@pytest.fixture
def support(db):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from people.support import SUPPORT_GROUP, support_group_ensure

    support_group_ensure()
    user = get_user_model().objects.create_user("support", "support@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT_GROUP))
    return user
