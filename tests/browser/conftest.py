"""Browser tests: Playwright driving Debian's Chromium against the live test server.

Never a browser that Playwright downloads: the executable is /usr/bin/chromium (CHROMIUM overrides).
Without it these tests are skipped, unless REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required for browser tests but {CHROMIUM} does not exist")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def login(page, live_server):
    """`login(username, password)`: both steps, as a person does: the password, then a second factor. The user gets
    an authenticator if they have none, and a fresh backup code (single-use) is typed as the code, so a test may log
    the same user in several times; `on=` another page logs in there. The journey through enrolment itself is
    tests/browser/test_logins.py."""
    default_page = page

    def do_login(username: str, password: str = "lakeside-demo", *, on=None):
        from django.contrib.auth import get_user_model
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from people.services import backup_code_issue

        user = get_user_model().objects.get(username=username)
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
        code = backup_code_issue(user=user, by_name="browser test")
        page = on or default_page
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state("networkidle")
        return page

    return do_login


@pytest.fixture
def lakeside():
    """An account with one manager, who logs in with `login("manager")`. Tests that need numbers on the list
    define their own."""
    from django.contrib.auth import get_user_model

    from subscribers.models import Account, Membership, Role

    account = Account.objects.create(slug="lakeside", name="Lakeside Electric Cooperative")
    user = get_user_model().objects.create_user("manager", password="lakeside-demo")
    Membership.objects.create(user=user, account=account, role=Role.MANAGER)
    return account


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
