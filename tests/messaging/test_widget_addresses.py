"""The widget's per-visitor limit counts the address the trusted proxies saw (TRUSTED_PROXY_COUNT), so a header the
visitor writes does not reset it."""

import pytest
from django.test import RequestFactory

from alertmanager.clientip import client_ip
from messaging.account_settings import messaging_settings_get
from tests.messaging.conftest import sent_to

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "https://www.lakeside-coop.example"
PHONES = [f"+1202555017{n}" for n in range(1, 8)]


@pytest.fixture
def widget_key(account):
    config = messaging_settings_get(account=account)
    config.widget_origins = [SITE]
    config.save()
    return config.widget_key


def _sign_up(client, key, phone, **headers):
    return client.post(
        f"/widget/{key}/subscribe/", {"phone": phone, "consent": "on"}, HTTP_ORIGIN=SITE, **headers
    ).status_code


def test_without_a_proxy_a_forwarded_header_is_ignored(client, account, sender, widget_key, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.WIDGET_LIMIT_PER_IP_PER_HOUR = 2
    codes = [
        _sign_up(client, widget_key, phone, REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        for n, phone in enumerate(PHONES)
    ]
    assert codes == [200, 200, 429, 429, 429, 429, 429]
    assert sent_to(PHONES[6]) == []


def test_behind_one_proxy_only_the_address_it_added_counts(client, account, sender, widget_key, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.WIDGET_LIMIT_PER_IP_PER_HOUR = 2
    codes = [
        # The visitor writes the first entry; the proxy appends the address it was reached from.
        _sign_up(
            client, widget_key, phone, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.60"
        )
        for n, phone in enumerate(PHONES)
    ]
    assert codes == [200, 200, 429, 429, 429, 429, 429]
    # Another visitor behind the same proxy is counted apart: not everyone shares the proxy's address.
    assert _sign_up(client, widget_key, PHONES[6], REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.61") == 200


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.2"),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        (2, "198.51.100.1, 203.0.113.9, 10.1.1.1", "203.0.113.9"),
        (2, "203.0.113.9", "203.0.113.9"),  # shorter than the proxies: the leftmost is all there is
        (1, "", "10.0.0.2"),
    ],
)
def test_the_client_address_is_counted_from_the_right(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
