import threading
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from messaging import gateway
from messaging.account_settings import messaging_settings_get
from messaging.models import Alert, OutboundMessage
from subscribers.models import Account, Membership, Role, Status, Subscriber
from subscribers.services import account_sender_add, tags_get_or_create
from tests.browser.conftest import screenshot
from tests.messaging.conftest import run_jobs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lakeside(settings):
    settings.SMS_GATEWAY = "memory"
    gateway.outbox.clear()
    account = Account.objects.create(slug="lakeside", name="Lakeside Electric Cooperative")
    account_sender_add(account=account, phone="73303")
    user = get_user_model().objects.create_user("manager", password="lakeside-demo")
    Membership.objects.create(user=user, account=account, role=Role.MANAGER)
    return account


def test_a_manager_sends_an_alert_to_one_tag_and_watches_it_go_out(live_server, page, login, lakeside, rq_queues):
    feeder, district = tags_get_or_create(account=lakeside, names=["Feeder A2", "District 3"])
    for i in range(12):
        status = Status.SUSPENDED if i == 11 else Status.OPTED_IN
        s = Subscriber.objects.create(account=lakeside, phone=f"+1218555{1000 + i}", status=status)
        on_feeder = i % 2 == 0 or i == 11  # six opted in, and one suspended
        s.tags.set([feeder] if on_feeder else [district])

    login("manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    page.get_by_role("link", name="New alert").click()
    page.get_by_label("Message").fill("Lakeside: outage on Feeder A2, crews on site, power back by 6 pm.")
    # The count is worked out by the page's script as the message is typed: wait for it.
    expect(page.locator("#alert-count")).to_contain_text("1 SMS segment")
    page.get_by_label("Numbers with any of the tags").check()
    page.get_by_label("Feeder A2").check()
    expect(page.locator("#alert-preview [data-count=reach]")).to_have_text("6")
    expect(page.locator("#alert-preview [data-count=blocked]")).to_have_text("1")
    page.get_by_role("button", name="Review before sending").click()
    screenshot(page, "alert-review")
    page.get_by_role("button", name="Send to 6 numbers").click()
    page.get_by_role("heading", name="Progress").wait_for()
    assert page.locator("[data-stage]").inner_text() in ("Queued", "Sending")

    run_jobs()  # the worker sends it while the page polls

    expect(page.locator("[data-stage=done]")).to_be_visible()
    expect(page.locator("[data-count=percent]")).to_have_text("100")
    log = page.locator("#delivery-log")
    assert log.get_by_text("Sent", exact=True).count() == 6
    assert log.get_by_text("Blocked", exact=True).count() == 1
    alert = Alert.objects.get()
    assert sorted(m.to for m in gateway.outbox) == sorted(
        OutboundMessage.objects.filter(alert=alert, status="sent").values_list("phone", flat=True)
    )
    screenshot(page, "alert-sent")


@pytest.fixture
def customer_site(tmp_path):
    """The utility's own website on another origin, serving whatever page the test writes."""
    server = HTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    server.root = tmp_path
    server.origin = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_widget_on_the_utilitys_own_page_makes_numbers_pending(live_server, page, lakeside, customer_site):
    config = messaging_settings_get(account=lakeside)
    config.widget_origins = [customer_site.origin]
    config.save()
    widget = f"{live_server.url}/widget/{config.widget_key}/"
    (customer_site.root / "index.html").write_text(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lakeside Co-op</title></head><body>
        <h1>Lakeside Electric Cooperative</h1>
        <iframe src="{widget}" title="Sign up for outage alerts" width="380" height="330"></iframe>
        <h2>Or sign up here</h2>
        <form method="post" action="{widget}subscribe/">
          <label>Mobile number <input type="tel" name="phone" required></label>
          <label><input type="checkbox" name="consent" value="on" required> I agree to receive outage alerts</label>
          <button type="submit">Sign up by form</button>
        </form></body></html>"""
    )
    page.goto(f"{customer_site.origin}/index.html")
    frame = page.frame_locator("iframe[title='Sign up for outage alerts']")
    frame.get_by_label("Mobile number").fill("(218) 555-1001")
    frame.get_by_label("I agree to receive outage alerts by text message at this number.").check()
    frame.get_by_role("button", name="Sign up").click()
    frame.get_by_role("heading", name="Check your phone").wait_for()
    screenshot(page, "widget-embedded")
    assert Subscriber.objects.get(account=lakeside, phone="+12185551001").status == Status.PENDING

    page.get_by_label("Mobile number").fill("218.555.1002")
    page.get_by_label("I agree to receive outage alerts").check()
    page.get_by_role("button", name="Sign up by form").click()
    page.get_by_role("heading", name="Check your phone").wait_for()
    assert Subscriber.objects.get(account=lakeside, phone="+12185551002").status == Status.PENDING
    assert sorted(m.to for m in gateway.outbox) == ["+12185551001", "+12185551002"]
