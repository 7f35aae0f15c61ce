import pytest
from playwright.sync_api import expect

from api.models import ApiKey
from subscribers.models import Source, Subscriber
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_makes_a_key_their_system_uses_then_revokes_it(live_server, page, login, lakeside):
    login("manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    page.get_by_label("Name").fill("CIS nightly sync")
    page.get_by_role("button", name="Create key").click()

    expect(page.get_by_role("heading", name="Your new key")).to_be_visible()
    key = page.get_by_label("API key").input_value()
    assert key.startswith("amk_")
    screenshot(page, "api-key-created")

    auth = {"Authorization": f"Bearer {key}"}
    opted_in = page.request.post(
        f"{live_server.url}/api/v1/subscribers/(218)%20555-0142/opt-in", headers=auth, data={"tags": ["District 3"]}
    )
    assert opted_in.status == 200 and opted_in.json()["status"] == "opted_in"
    subscriber = Subscriber.objects.get(account=lakeside, phone="+12185550142")
    assert [t.name for t in subscriber.tags.all()] == ["District 3"]
    assert lakeside.opt_events.get().source == Source.API

    page.reload()
    expect(page.get_by_role("heading", name="Your new key")).to_have_count(0)
    assert key not in page.content()
    row = page.get_by_role("row", name="CIS nightly sync")
    expect(row).to_contain_text("Active")
    expect(row).not_to_contain_text("Never")  # last used just now
    row.get_by_role("link", name="Revoke…").click()
    page.get_by_role("button", name="Revoke the key").click()
    expect(page.get_by_text("requests that send it now get 401")).to_be_visible()
    expect(page.get_by_role("row", name="CIS nightly sync")).to_contain_text("Revoked")

    refused = page.request.get(f"{live_server.url}/api/v1/subscribers/2185550142", headers=auth)
    assert refused.status == 401 and refused.json()["error"] == "unauthorized"
    assert ApiKey.objects.get().revoked_at is not None


def test_the_api_docs_page_works_under_the_strict_content_security_policy(live_server, page):
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    outside = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(live_server.url) else None)

    page.goto(f"{live_server.url}/api/v1/docs")

    expect(page.get_by_role("heading", name="AlertManager ManageOptin API")).to_be_visible()
    operation = page.locator(".opblock-summary-path", has_text="/api/v1/subscribers/{phone}/opt-in")
    expect(operation).to_be_visible()
    operation.click()
    expect(page.get_by_text("+12025550173").first).to_be_visible()
    screenshot(page, "api-docs")
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    assert [url for url in outside if not url.startswith("data:")] == []
