"""Hostile and messy files through the whole import: spreadsheets as Excel saves them, and files built to hurt."""

import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from imports import services
from imports.models import ImportResult, ImportRun, Stage
from subscribers.models import Subscriber
from tests.imports.conftest import uploads_left
from tests.imports.test_readers import (
    BILLION_LAUGHS,
    MAIN_NS,
    build_xlsx,
    raw_zip,
    sheet_xml,
    small_parts,
    whitespace_sheet,
)

pytestmark = pytest.mark.django_db


def test_excel_numeric_cells_exponents_extensions_and_other_countries(account, tmp_path, run_import):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (
        ["Phone", "Tag"],
        [2055550100, "North"],  # a number cell
        [2055550101.0, "North"],  # a float cell
        ["2055550102.0", "North"],  # a number exported as text
        ["5.552E+09", "North"],  # the spreadsheet rounded the digits away
        ["205-555-0103 ext. 4", "North"],
        ["+44 20 7946 0958", "North"],
        [None, "North"],
    ):
        sheet.append(row)
    path = tmp_path / "list.xlsx"
    book.save(path)
    run = run_import(account, path.read_bytes(), name="list.xlsx")
    assert run.stage == Stage.DONE, run.error
    assert sorted(Subscriber.objects.filter(account=account).values_list("phone", flat=True)) == [
        "+12055550100",
        "+12055550101",
        "+12055550102",
    ]
    reasons = dict(ImportResult.objects.filter(run=run, outcome="rejected").values_list("row_number", "reason"))
    assert reasons == {5: "invalid", 6: "not_mobile", 7: "not_us_ca", 8: "blank"}


def test_an_xlsx_zip_bomb_is_refused_at_upload(account, tmp_path, run_import):
    bomb = raw_zip(tmp_path / "customers.xlsx", [*small_parts(), ("xl/worksheets/sheet1.xml", *whitespace_sheet(1024))])
    with pytest.raises(services.ImportRefused, match="zip bomb"):
        run_import(account, bomb.read_bytes(), name="customers.xlsx")
    assert uploads_left() == [] and not ImportRun.objects.exists()


def test_xml_entity_expansion_is_refused(account, tmp_path, run_import):
    shared = BILLION_LAUGHS + f'<sst xmlns="{MAIN_NS}"><si><t>&lol9;</t></si></sst>'
    path = build_xlsx(
        tmp_path / "lol.xlsx", {"S": sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')}, shared_strings=shared
    )
    run = run_import(account, path.read_bytes(), name="lol.xlsx")
    assert run.stage == Stage.FAILED and "entity" in run.error
    assert uploads_left() == []


def test_a_sheet_claiming_a_million_rows_imports_the_three_it_has(account, tmp_path, run_import):
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>205555010{i}</v></c></row>' for i in (1, 2, 3))
    path = build_xlsx(tmp_path / "dim.xlsx", {"S": sheet_xml(rows, dimension="A1:Z1000000")})
    run = run_import(account, path.read_bytes(), name="dim.xlsx")
    assert run.stage == Stage.DONE and run.rows_read == 3 and run.counts["opted_in"] == 3


def test_windows_1252_semicolons_and_a_bom(account, run_import):
    run_import(account, "Téléphone;Quartier\n2055550100;Côte Nord\n".encode("cp1252"), name="export.txt")
    run = run_import(account, "\ufeffPhone|Area\n2055550101|Côte Nord\n".encode(), name="export.csv")
    assert run.stage == Stage.DONE
    assert set(Subscriber.objects.get(phone="+12055550100").tags.values_list("name", flat=True)) == {"Côte Nord"}
    assert set(Subscriber.objects.get(phone="+12055550101").tags.values_list("name", flat=True)) == {"Côte Nord"}


def test_a_row_with_a_tag_over_75_characters_is_rejected_with_the_reason(account, run_import):
    run = run_import(account, f"2055550100,{'x' * 76}\n2055550101,ok\n")
    rejected = ImportResult.objects.get(run=run, outcome="rejected")
    assert (rejected.row_number, rejected.reason) == (1, "tag_too_long")
    assert "75" in rejected.reason_text
    assert run.counts["opted_in"] == 1


def test_the_command_line_imports_and_prints_json(account, tmp_path, rq_queues, capsys):
    path = tmp_path / "list.csv"
    path.write_text("2055550100,North\nnonsense\n")
    call_command("import_file", account.slug, str(path), "--sync", "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["stage"] == "done"
    assert printed["counts"]["opted_in"] == 1 and printed["counts"]["rejected_invalid"] == 1
    run = ImportRun.objects.get(pk=printed["run"])
    assert run.source == "cli"


def test_the_command_line_exits_non_zero_when_the_file_is_refused(account, tmp_path, rq_queues):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(CommandError, match=".xls"):
        call_command("import_file", account.slug, str(path), "--sync")


def test_tags_with_quotes_backslashes_braces_commas_and_tabs_arrive_intact(account, run_import):
    odd = ['say "hi"', "back\\slash", "{braces}", "comma, inside", "tab\there", "semi;colon"]
    line = "2055550100," + ",".join('"' + tag.replace('"', '""') + '"' for tag in odd)
    run = run_import(account, line + "\n")
    assert run.stage == Stage.DONE, run.error
    assert set(Subscriber.objects.get(phone="+12055550100").tags.values_list("name", flat=True)) == set(odd)
