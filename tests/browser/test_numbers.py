"""The list of numbers in a real browser: search as you type, filters, a bulk suspend, adding a number."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from subscribers.models import Account, Membership, Role, Status, Subscriber
from subscribers.services import Cause, subscriber_opt_in, subscriber_suspend
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "lakeside-demo"
NUMBERS = [
    ("+12185550134", ["District 1", "Feeder A1"]),
    ("+12185550135", ["District 1"]),
    ("+12185550299", ["District 1", "Medical priority"]),
    ("+16125550142", ["District 2", "Feeder A1"]),
    ("+16125550143", ["District 2"]),
    ("+17155550111", ["District 2", "Medical priority"]),
    ("+19525550100", ["District 3"]),
]


@pytest.fixture
def lakeside():
    account = Account.objects.create(slug="lakeside", name="Lakeside Electric Cooperative", time_zone="America/Chicago")
    user = get_user_model().objects.create_user(username="manager", password=PASSWORD)
    Membership.objects.create(user=user, account=account, role=Role.MANAGER)
    for phone, tags in NUMBERS:
        subscriber_opt_in(account=account, phone=phone, cause=Cause("import"), tags=tags)
    subscriber_suspend(account=account, phone="+16125550143", cause=Cause("import"))
    return account


def _rows(page):
    return page.locator("#numbers tbody tr[data-phone]")


def test_searching_as_you_type_narrows_the_table(live_server, page, login, lakeside):
    login("manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Numbers").click()
    expect(page.get_by_role("heading", name="Numbers")).to_be_visible()
    expect(_rows(page)).to_have_count(7)
    screenshot(page, "numbers-list")

    search = page.get_by_label("Search numbers")
    search.press_sequentially("(218) 55", delay=40)
    expect(_rows(page)).to_have_count(3)
    search.press_sequentially("5-01", delay=40)
    expect(_rows(page)).to_have_count(2)
    expect(page.locator("[data-count=matching]")).to_have_text(re.compile(r"2 numbers match"))
    # The view is in the address bar: it can be bookmarked and shared.
    expect(page).to_have_url(re.compile(r"q=(\(|%28)218(\)|%29)"))
    page.reload()
    expect(_rows(page)).to_have_count(2)


def test_filtering_by_tag_and_status(live_server, page, login, lakeside):
    login("manager")
    page.goto(f"{live_server.url}/numbers/")
    page.get_by_label("Tags", exact=True).select_option(label="District 2")
    expect(_rows(page)).to_have_count(3)
    page.get_by_label("Status", exact=True).select_option(label="Suspended")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_have_attribute("data-phone", "+16125550143")
    page.get_by_label("Status", exact=True).select_option(label="Any status")
    page.get_by_label("Tags", exact=True).select_option(label=["Feeder A1", "Medical priority"])
    page.get_by_label("all of these tags").check()
    expect(_rows(page)).to_have_count(0)
    page.get_by_label("any of these tags").check()
    expect(_rows(page)).to_have_count(4)


def test_a_bulk_suspend_of_a_filtered_selection_asks_for_confirmation(live_server, page, login, lakeside):
    login("manager")
    page.goto(f"{live_server.url}/numbers/")
    page.get_by_label("Tags", exact=True).select_option(label="District 1")
    expect(_rows(page)).to_have_count(3)
    page.get_by_label("With", exact=True).select_option(label="Suspend")
    page.get_by_label(re.compile("all 3 numbers matching the filter")).check()
    page.get_by_role("button", name="Apply…").click()

    expect(page.get_by_role("heading", name="Suspend 3 numbers?")).to_be_visible()
    assert Subscriber.objects.filter(status=Status.SUSPENDED).count() == 1  # nothing changed yet
    page.get_by_role("button", name="Yes, suspend 3 numbers").click()

    expect(page.get_by_text("3 numbers suspended.")).to_be_visible()
    suspended = set(Subscriber.objects.filter(status=Status.SUSPENDED).values_list("phone", flat=True))
    assert suspended == {"+12185550134", "+12185550135", "+12185550299", "+16125550143"}
    # Back on the same filtered view.
    expect(_rows(page)).to_have_count(3)
    expect(page.locator("#numbers .badge-suspended")).to_have_count(3)


def test_adding_a_number_with_tags_shows_it_in_the_list(live_server, page, login, lakeside):
    login("manager")
    page.goto(f"{live_server.url}/numbers/")
    page.get_by_role("link", name="Add a number").click()
    page.get_by_label("Phone number").fill("555-0100")
    page.get_by_label("Tags").fill("District 3, Storm list")
    page.get_by_role("button", name="Add the number", exact=True).click()
    expect(page.get_by_text("This is not a valid US or Canadian phone number.")).to_be_visible()

    page.get_by_label("Phone number").fill("(763) 555-0188")
    page.get_by_role("button", name="Add the number", exact=True).click()
    expect(page.get_by_role("heading", name="(763) 555-0188")).to_be_visible()
    expect(page.get_by_text("is opted in and will receive alerts")).to_be_visible()

    page.get_by_role("link", name="Numbers").first.click()
    page.get_by_label("Search numbers").fill("7635550188")
    expect(_rows(page)).to_have_count(1)
    row = _rows(page).first
    expect(row).to_contain_text("(763) 555-0188")
    expect(row).to_contain_text("Storm list")
    expect(row).to_contain_text("Opted in")
