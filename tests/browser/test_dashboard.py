import pytest
from django.core.management import call_command

from subscribers.models import Status, Subscriber
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_demo_manager_logs_in_and_sees_the_dashboard_counts(live_server, page, login):
    call_command("seed_demo", numbers=300)
    opted_in = Subscriber.objects.listed().filter(status=Status.OPTED_IN).count()

    login("manager")

    assert page.get_by_role("heading", name="Dashboard").is_visible()
    shown = page.locator("[data-count=opted_in]").inner_text()
    assert int(shown.replace(",", "")) == opted_in
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").is_visible()
    screenshot(page, "dashboard")
