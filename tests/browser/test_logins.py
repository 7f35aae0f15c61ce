"""The login journey in a real browser: a manager adds an uploader on the People page; the uploader logs in with the
first password, sets up an authenticator from the key on the page, keeps the backup codes and uploads a file."""

import base64

import pytest
from django_otp.oath import TOTP

from audit.models import AuditEntry, Kind
from imports.models import ImportRun, Stage
from tests.browser.conftest import screenshot
from tests.conftest import run_worker
from tests.imports.pages import preformatted_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, rq_queues):
    settings.UPLOAD_DIR = tmp_path / "uploads"


def _code_for(manual_key: str) -> str:
    key = base64.b32decode(manual_key.replace(" ", ""))
    return f"{TOTP(key).token():06d}"


def test_a_manager_adds_an_uploader_who_enrols_and_uploads(live_server, browser, page, login, lakeside, tmp_path):
    login("manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()  # the guide links there too
    page.get_by_label("Username", exact=True).fill("clerk")
    page.get_by_label("Email").fill("clerk@lakeside.example")
    page.get_by_label("Role", exact=True).select_option("uploader")
    page.get_by_label("Give them a first password, shown once").check()
    page.get_by_role("button", name="Add person").click()
    password = page.locator("[data-first-password]").inner_text()
    assert page.locator('[data-person="clerk"]').is_visible()
    screenshot(page, "people")

    other = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-US")
    try:
        clerk = other.new_page()
        clerk.goto(f"{live_server.url}/upload/")
        clerk.get_by_label("Username").fill("clerk")
        clerk.get_by_label("Password").fill(password)
        clerk.get_by_role("button", name="Log in").click()
        clerk.get_by_role("heading", name="Set up two-factor login").wait_for()
        assert clerk.locator(".qr svg").is_visible()
        screenshot(clerk, "two-factor-setup")
        key = clerk.locator("[data-manual-key]").inner_text()
        clerk.get_by_label("Code from the app").fill(_code_for(key))
        clerk.get_by_role("button", name="Turn on two-factor login").click()
        codes = clerk.locator("[data-backup-codes] li code")
        assert codes.count() == 10
        clerk.get_by_role("link", name="I have saved them, continue").click()

        clerk.get_by_role("heading", name="Upload a file").wait_for()
        assert clerk.get_by_role("link", name="People").count() == 0  # uploaders see only uploads
        numbers = tmp_path / "numbers.csv"
        numbers.write_bytes(preformatted_csv(["+12025550173,North"]))
        clerk.get_by_label("File", exact=True).set_input_files(str(numbers))
        clerk.get_by_role("button", name="Upload and import").click()
        clerk.wait_for_url("**/imports/*/")
        run_worker("imports")
        clerk.locator("[data-stage=done]").wait_for()
        assert ImportRun.objects.get().stage == Stage.DONE
    finally:
        other.close()

    page.goto(f"{live_server.url}/audit/")
    log = page.locator("[data-audit]").inner_text()
    assert "clerk added as uploader with a first password" in log
    assert "clerk set up an authenticator app" in log
    assert "numbers.csv" in log
    assert AuditEntry.objects.filter(kind=Kind.LOGIN_OK, actor_name="clerk").exists()
    screenshot(page, "audit-log")


def test_a_wrong_password_five_times_shows_the_lock(live_server, page, lakeside):
    for _ in range(5):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill("manager")
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Log in").click()
    assert "This username is locked" in page.locator("[data-locked]").inner_text()
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("lakeside-demo")
    page.get_by_role("button", name="Log in").click()
    assert page.locator("[data-locked]").is_visible()
