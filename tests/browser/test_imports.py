"""The two journeys of the import pages, in a real browser: an uploader imports a CIS export and reads the
results; a manager sets up an ALP configuration from a sample workbook and approves it."""

import csv
import io

import pytest

from imports.models import ImportConfiguration, ImportRun, Stage
from tests.browser.conftest import screenshot
from tests.conftest import run_worker
from tests.imports.pages import approved_configuration, cis_csv, cis_xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-123"


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, rq_queues):
    settings.UPLOAD_DIR = tmp_path / "uploads"


def test_an_uploader_imports_a_cis_export_watches_it_run_and_filters_the_rejected_rows(
    live_server, page, login, account, manager, uploader, tmp_path
):
    configuration = approved_configuration(account, manager, tag_columns=("District", "Rate"))
    export = tmp_path / "cis-export.csv"
    export.write_bytes(cis_csv())

    login("uploader", PASSWORD)
    assert page.get_by_role("heading", name="Upload a file").is_visible()
    page.get_by_label("File", exact=True).set_input_files(str(export))
    page.get_by_label(configuration.name, exact=True).check()
    assert page.get_by_text("Numbers missing from the file are left alone").first.is_visible()
    screenshot(page, "upload")
    page.get_by_role("button", name="Upload and import").click()

    page.wait_for_url("**/imports/*/")
    assert page.locator("progress").is_visible()
    assert page.locator("[data-stage=queued]").is_visible()
    run_worker("imports")
    page.locator("[data-stage=done]").wait_for()  # the page polls and swaps in the results by itself
    run = ImportRun.objects.get()
    assert run.stage == Stage.DONE and run.configuration == configuration
    assert page.locator("progress").count() == 0
    assert page.locator("svg.chart").is_visible()
    assert page.locator('dd[data-count="opted_in"]').inner_text().startswith(str(run.counts["opted_in"]))

    page.get_by_label("What happened").select_option("rejected")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**outcome=rejected**")
    rows = page.locator("#results-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == run.counts["rejected"]
    table = page.locator("#results-table").inner_text()
    assert "The phone cell is empty." in table
    assert "cannot receive texts" in table
    assert "Opted in" not in table
    screenshot(page, "import-results")


def test_a_manager_sets_up_an_alp_configuration_from_a_sample_workbook_and_the_uploader_uses_it(
    live_server, browser, page, login, account, manager, uploader, tmp_path
):
    sample = tmp_path / "cis-export.xlsx"
    sample.write_bytes(cis_xlsx(sheet="Customers"))

    login("manager", PASSWORD)
    page.goto(f"{live_server.url}/configurations/")
    page.get_by_role("link", name="New configuration").click()
    page.get_by_label("Name").fill("Nightly CIS export")
    page.get_by_label("Sample file").set_input_files(str(sample))
    page.get_by_role("button", name="Show its columns").click()

    assert page.locator("[data-detected=sheet]").inner_text().startswith("Customers")
    assert page.get_by_role("cell", name="Ada Byron").is_visible()
    phones = page.get_by_role("group", name="Phone column(s)")
    phones.get_by_label("C · PrimaryPhone").check()
    phones.get_by_label("D · MobilePhone").check()
    tags = page.get_by_role("group", name="Tag column(s)")
    for column in ("E · District", "F · Rate", "G · Cycle"):
        tags.get_by_label(column).check()
    page.get_by_label("Append with soft opt-out", exact=True).check()
    screenshot(page, "configuration-columns")
    page.get_by_role("button", name="Save and test the sample").click()

    configuration = ImportConfiguration.objects.get()
    page.wait_for_url(f"**/configurations/{configuration.pk}/")
    run_worker("imports")
    page.get_by_role("heading", name="The Preformatted file it turns into").wait_for()
    preformatted = page.locator("table.preformatted").inner_text()
    assert "+12025550144" in preformatted and "+12025550145" in preformatted and "Residential" in preformatted
    screenshot(page, "configuration-test")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the Preformatted file (CSV)").click()
    rows = list(csv.reader(io.StringIO(open(download_info.value.path(), encoding="utf-8-sig").read())))
    assert rows[0] == ["Phone", "Tags"]
    assert {row[0] for row in rows[1:]} >= {"+12025550144", "+12025550145", "+12025550146", "+12025550147"}

    page.get_by_role("button", name="Approve version 1").click()
    assert page.get_by_text("is approved").is_visible()
    configuration.refresh_from_db()
    assert configuration.is_approved

    other = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-US")
    try:
        clerk = other.new_page()
        login("uploader", PASSWORD, on=clerk)
        clerk.get_by_role("heading", name="Upload a file").wait_for()
        option = clerk.get_by_label("Nightly CIS export", exact=True)
        assert option.is_visible()
        assert clerk.get_by_text("Opted-in numbers missing from the file will be suspended.").is_visible()
    finally:
        other.close()
