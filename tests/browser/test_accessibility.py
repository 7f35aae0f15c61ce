"""Issue 23, items 11 and 12: axe-core on every page a manager, an uploader and support staff open fails on any
serious or critical violation, and no page scrolls sideways on a 390 px wide phone."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.browser.a11y import PHONE_WIDTH, axe_violations, describe, sideways_scroll, widest_elements
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, tmp_path):
    """The demo account (manager, uploader, support), with an import, a configuration, an alert and a message."""
    settings.UPLOAD_DIR = tmp_path / "uploads"
    call_command("seed_demo", numbers=80)
    from imports.models import ImportConfiguration, ImportRun
    from messaging.models import Alert
    from subscribers.models import Account, Subscriber, Tag

    account = Account.objects.get(slug="lakeside")
    manager = account.memberships.get(role="manager").user
    configuration = ImportConfiguration.objects.create(
        account=account, name="Nightly CIS export", created_by=manager,
        field_map={"phone_columns": ["PrimaryPhone"], "tag_columns": ["District"], "header_row": 1},
    )  # fmt: skip
    alert = Alert.objects.create(account=account, body="Outage in District 4", fingerprint="x", created_by=manager,
                                 stage=Alert.Stage.DONE)  # fmt: skip
    return {
        "account": account,
        "run": ImportRun.objects.get(account=account),
        "subscriber": Subscriber.objects.filter(account=account).order_by("phone").first(),
        "tag": Tag.objects.filter(account=account).order_by("name").first(),
        "configuration": configuration,
        "alert": alert,
    }


def _manager_pages(demo) -> list[str]:
    return [
        reverse("dashboard"),
        reverse("subscribers:list"),
        reverse("subscribers:add"),
        reverse("subscribers:detail", args=[demo["subscriber"].pk]),
        reverse("subscribers:tags"),
        reverse("subscribers:tag", args=[demo["tag"].pk]),
        reverse("subscribers:usage"),
        reverse("imports:upload"),
        reverse("imports:history"),
        reverse("imports:run", args=[demo["run"].pk]),
        reverse("imports:run_undo", args=[demo["run"].pk]),
        reverse("imports:configs"),
        reverse("imports:config_new"),
        reverse("imports:config", args=[demo["configuration"].pk]),
        reverse("messaging:alerts"),
        reverse("messaging:alert_new"),
        reverse("messaging:alert", args=[demo["alert"].pk]),
        reverse("messaging:texts"),
        reverse("messaging:outbox"),
        reverse("lines:settings"),
        reverse("api_keys"),
        reverse("sftpdrop:credentials"),
        reverse("registration:brand"),
        reverse("registration:campaigns"),
        reverse("registration:users"),
        reverse("people"),
        reverse("audit:log"),
        reverse("security"),
    ]


def _uploader_pages(demo) -> list[str]:
    return [reverse("imports:upload"), reverse("imports:history"), reverse("security")]


def _support_pages(demo) -> list[str]:
    return [
        reverse("admin:index"),
        reverse("admin:subscribers_subscriber_changelist") + "?q=555",
        reverse("admin:subscribers_subscriber_change", args=[demo["subscriber"].pk]),
        reverse("admin:subscribers_account_changelist"),
        reverse("admin:imports_importconfiguration_changelist"),
        reverse("admin:imports_importconfiguration_change", args=[demo["configuration"].pk]),
        reverse("admin:subscribers_optevent_changelist"),
        reverse("admin:auth_user_changelist"),
    ]


PEOPLE = {"manager": _manager_pages, "uploader": _uploader_pages, "support": _support_pages}


def _check(page, url: str, problems: list[str]) -> None:
    violations = axe_violations(page)
    if violations:
        problems.append(f"{url} at {page.viewport_size['width']} px: {describe(violations)}")
    wider = sideways_scroll(page)
    if page.viewport_size["width"] == PHONE_WIDTH and wider > 0:
        problems.append(f"{url} scrolls sideways at {PHONE_WIDTH} px: {wider} px wider, {widest_elements(page)}")


@pytest.fixture
def open_context(browser):
    contexts = []

    def make(width: int):
        context = browser.new_context(
            viewport={"width": width, "height": 844 if width == PHONE_WIDTH else 900}, locale="en-US", bypass_csp=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("who", ["manager", "uploader", "support"])
@pytest.mark.parametrize("width", [1360, PHONE_WIDTH])
def test_every_page_passes_axe_and_fits_a_phone(live_server, demo, login, open_context, who, width):
    page = login(who, on=open_context(width))
    problems: list[str] = []
    _check(page, "after login", problems)
    for url in PEOPLE[who](demo):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, f"{who}: {url} answered {response.status}"
        page.wait_for_load_state("networkidle")
        _check(page, url, problems)
    assert not problems, "\n".join(problems)


def test_a_page_with_a_message_passes_axe(live_server, demo, login, open_context):
    from subscribers.services import tags_get_or_create

    tags_get_or_create(account=demo["account"], names=["Unused"])
    page = login("manager", on=open_context(PHONE_WIDTH))
    page.goto(f"{live_server.url}{reverse('subscribers:tags')}")
    page.get_by_role("button", name="Remove 1 empty tag").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".messages li").count() == 1
    assert axe_violations(page) == []
    assert sideways_scroll(page) <= 0


def test_screenshots_at_phone_width(live_server, demo, login, open_context):
    page = login("manager", on=open_context(PHONE_WIDTH))
    page.goto(f"{live_server.url}{reverse('dashboard')}")
    assert page.locator("#first-steps").is_visible()
    screenshot(page, "dashboard-390")
    page.goto(f"{live_server.url}{reverse('imports:run', args=[demo['run'].pk])}")
    assert page.locator("svg.chart").first.is_visible()
    screenshot(page, "import-results-390")
    page.goto(f"{live_server.url}{reverse('subscribers:list')}")
    screenshot(page, "numbers-list-390")
    assert sideways_scroll(page) <= 0
