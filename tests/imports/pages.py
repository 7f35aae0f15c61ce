"""Files and steps the tests of the import pages share: CIS-style exports as a customer's billing system makes
them, and uploading one through the page."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.urls import reverse

from imports.models import ImportRun
from tests.conftest import run_worker, verified_login

CIS_HEADER = ["AccountNo", "Name", "PrimaryPhone", "MobilePhone", "District", "Rate", "Cycle"]
CIS_ROWS = [
    ["1001", "Ada Byron", "(202) 555-0144", "202.555.0145", "North", "Residential", "C1"],
    ["1002", "Zoë Ramírez", "202-555-0146", "", "South", "Commercial", "C2"],
    ["1003", "Alan Turing", "not a phone", "+1 202 555 0147", "North", '=HYPERLINK("x")', "C1"],
    ["1004", "Edsger Dijkstra", "", "", "East", "Residential", "C3"],
    ["1005", "Barbara Liskov", "800-555-0100", "2025550148", "West", "Residential", "C2"],
]


def cis_csv(rows=CIS_ROWS, header=CIS_HEADER, delimiter=",") -> bytes:
    lines = [delimiter.join(header)] + [delimiter.join(cell.replace(",", " ") for cell in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def cis_xlsx(rows=CIS_ROWS, header=CIS_HEADER, sheet="Customers") -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def preformatted_csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def uploaded(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def upload(client, content: bytes, name="numbers.csv", **fields) -> ImportRun:
    """Upload a file through the FileUploader and return the run it started (not yet run by a worker)."""
    data = {"layout": "preformatted", "action": "opt_in", **fields, "file": uploaded(name, content)}
    before = set(ImportRun.objects.values_list("pk", flat=True))
    with on_commit():
        response = client.post(reverse("imports:upload"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    run = ImportRun.objects.exclude(pk__in=before).get()
    assert response.url == reverse("imports:run", args=[run.pk])
    return run


def upload_and_run(client, content: bytes, **kwargs) -> ImportRun:
    run = upload(client, content, **kwargs)
    run_worker("imports")
    run.refresh_from_db()
    return run


def approved_configuration(account, manager, *, name="Nightly CIS export", mode="append", tag_columns=("District",)):
    from imports import services
    from imports.fieldmap import FieldMap

    configuration = services.configuration_save(
        account=account,
        user=manager,
        name=name,
        field_map=FieldMap.load(
            {"phone_columns": ["PrimaryPhone", "MobilePhone"], "tag_columns": list(tag_columns), "header_row": 1}
        ),
        mode=mode,
    )
    return services.configuration_approve(configuration=configuration, user=manager)


def on_commit():
    """Run what a request enqueued on commit, as it would be outside the test's transaction."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def post_and_work(client, url, data=None):
    with on_commit():
        response = client.post(url, data or {})
    run_worker("imports")
    return response


def client_for(user) -> Client:
    client = Client()
    verified_login(client, user)
    return client
