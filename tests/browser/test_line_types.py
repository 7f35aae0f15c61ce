import pytest

from lines.models import NumberLine
from subscribers.transitions import State
from tests.browser.conftest import screenshot
from tests.conftest import run_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_looks_up_the_list_finds_the_landline_and_clears_an_unreachable_flag(
    live_server, page, login, lakeside, make_subscriber, settings, rq_queues
):
    settings.LINE_TYPE_LOOKUP = "simulated"
    settings.LINE_TYPE_SIMULATED_DELAY = 0
    for phone in ("+12025550101", "+12025550110", "+12025550119", "+12025550104"):
        make_subscriber(lakeside, phone, State.OPTED_IN)

    login("manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Line types").click()
    page.get_by_role("button", name="Look up the numbers that need it now").click()
    assert page.get_by_text("Looking up the numbers that need it").is_visible()
    run_worker("lookups")  # the carrier's answers, as a worker would fetch them

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    health = page.locator("#list-health")
    assert health.locator("[data-count=landline]").inner_text() == "1"
    assert health.locator("[data-count=mobile]").inner_text() == "2"
    assert health.locator("[data-count=voip]").inner_text() == "1"
    screenshot(page, "list-health")

    health.get_by_role("link", name="Landline").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("link", name="(202) 555-0110").is_visible()
    assert page.get_by_role("link", name="(202) 555-0101").count() == 0

    NumberLine.objects.filter(phone="+12025550101").update(unreachable_since="2026-12-01T00:00Z")
    page.goto(f"{live_server.url}/numbers/?line_type=unreachable")
    page.get_by_role("link", name="(202) 555-0101").click()
    line = page.locator("#line")
    line.wait_for()
    assert line.get_by_text("Unreachable", exact=True).is_visible()
    screenshot(page, "number-line")
    line.get_by_role("button", name="Clear the unreachable flag").click()
    page.get_by_text("is no longer flagged unreachable").wait_for()
    assert not NumberLine.objects.get(phone="+12025550101").unreachable
