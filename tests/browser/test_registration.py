import re

import pytest
from playwright.sync_api import expect

from registration.models import Brand, RegistrationStatus
from tests.browser.conftest import screenshot
from tests.conftest import run_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def simulated_registry(settings):
    settings.REGISTRATION_REGISTRY = "simulated"
    settings.REGISTRATION_SIMULATED_DELAY = 0.5
    settings.REGISTRATION_SIMULATED_FAIL_FIELD = ""
    settings.REGISTRATION_POLL_SECONDS = 0.1


def test_a_manager_registers_the_brand_and_sees_it_verified_without_reloading(
    live_server, page, login, manager, rq_queues, simulated_registry
):
    login("manager", "pw-for-tests-123")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Registration").click()
    expect(page.get_by_role("heading", name="Text registration")).to_be_visible()
    expect(page.locator("[data-status]")).to_have_text("Draft")

    page.get_by_label("Legal name").fill("Lakeside Electric Cooperative")
    page.get_by_label("Tax id (EIN)").fill("41-1234567")
    page.get_by_label("Entity type").select_option(label="Non-profit (co-operatives included)")
    page.get_by_label("Vertical").select_option(label="Energy and utilities")
    page.get_by_label("Website").fill("https://lakeside-electric.example")
    page.get_by_label("Street").fill("400 Lake Road")
    page.get_by_label("City").fill("Brainerd")
    page.get_by_label("State or province").fill("MN")
    page.get_by_label("Postal code").fill("56401")
    page.get_by_label("Country").select_option("US")
    page.get_by_label("Contact name").fill("Dana Lindqvist")
    page.get_by_label("Contact's job title").fill("Member services manager")
    page.get_by_label("Support email").fill("help@lakeside-electric.example")
    page.get_by_label("Support phone").fill("(218) 555-0134")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status").filter(has_text="Submitted to the campaign registry")).to_be_visible()
    expect(page.locator("[data-status]")).to_have_text("Pending")
    expect(page.get_by_label("Legal name")).to_be_disabled()
    assert Brand.objects.get().status == RegistrationStatus.PENDING
    screenshot(page, "registration-pending")
    # A mark on this document: a reload would wipe it.
    page.evaluate("document.body.dataset.sameDocument = 'yes'")

    run_worker("default")

    expect(page.locator("[data-status]")).to_have_text("Verified", timeout=20_000)
    assert page.evaluate("document.body.dataset.sameDocument") == "yes"
    expect(page.get_by_role("button", name="Save and resubmit")).to_be_enabled()
    expect(page.get_by_text(re.compile(r"Registry reference"))).to_be_visible()
    expect(page.get_by_role("link", name="define a new one")).to_be_visible()
    screenshot(page, "registration-verified")

    page.get_by_role("link", name="define a new one").click()
    expect(page.get_by_label("Opt-in reply")).to_contain_text(
        "Msg&Data rates may apply. Reply HELP for help, STOP to opt out."
    )
    screenshot(page, "registration-campaign-new")
    page.get_by_role("button", name="Submit to the registry").click()
    expect(page.locator("[data-status]")).to_have_text("Pending")
    run_worker("default")
    expect(page.locator("[data-status]")).to_have_text("Verified", timeout=20_000)


def test_a_manager_gives_a_user_two_numbers_and_switches_texting_after_one_question(live_server, page, login, manager):
    login("manager", "pw-for-tests-123")
    page.goto(f"{live_server.url}/users/")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()

    for number in ("(218) 555-0101", "218-555-0102"):
        page.get_by_label("User").select_option(label="manager")
        page.get_by_label("Phone number").fill(number)
        page.get_by_role("button", name="Assign number").click()
    page.get_by_label("Phone number").fill("+44 20 7946 0958")
    page.get_by_label("User").select_option(label="manager")
    page.get_by_role("button", name="Assign number").click()
    expect(page.get_by_text("Texting numbers can be enabled for the United States or Canada only.")).to_be_visible()

    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    numbers = page.locator("#numbers")
    second = numbers.get_by_role("row").filter(has_text="(218) 555-0102")
    second.get_by_role("link", name="Enable texting").click()

    expect(second.get_by_text("SMS-enabled")).to_be_visible()
    expect(numbers.get_by_role("row").filter(has_text="(218) 555-0101").get_by_text("Not texting")).to_be_visible()
    assert len(questions) == 1 and "(218) 555-0102" in questions[0]
    people = page.get_by_role("region", name="People in Lakeside Electric Cooperative")
    expect(people.get_by_role("row").filter(has_text="manager")).to_contain_text("(218) 555-0102")
    screenshot(page, "registration-users")
