"""imports.readers: CSV/XLSX decided by content, streamed, and refusing what is not a spreadsheet."""

import csv
import io
import re
import struct
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports.readers import FileInfo, FileRejected, Row, column_letter, detect, preview, read_rows, xlsx

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MACRO_CT = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


# --- helpers -----------------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return path


def read_all(path: Path, **kwargs) -> list[Row]:
    return list(read_rows(path, detect(path), **kwargs))


def cells_of(path: Path) -> list[list]:
    return [row.cells for row in read_all(path)]


def sheet_xml(
    rows: str, *, dimension: str = "", head: str = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'{head}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">{dim}<sheetData>{rows}</sheetData></worksheet>'


def sst_xml(items: list[str]) -> str:
    body = "".join(f"<si><t>{escape(s)}</t></si>" for s in items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="{MAIN_NS}" count="{len(items)}" uniqueCount="{len(items)}">{body}</sst>'


def build_xlsx(
    path: Path,
    sheets: dict[str, str],
    *,
    shared_strings: str | None = None,
    content_type: str = SHEET_CT,
    extra: dict[str, bytes | str] | None = None,
    hidden: tuple[str, ...] = (),
) -> Path:
    """A minimal workbook written by hand, so the XML is exactly what the test says."""
    entries = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"{' state="hidden"' if name in hidden else ""}/>'
        for i, name in enumerate(sheets, 1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    if shared_strings is not None:
        rels += f'<Relationship Id="rIdS" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{content_type}"/></Types>',
        )
        zf.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
            f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/workbook.xml", f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>{entries}</sheets></workbook>'
        )
        zf.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PKG_REL_NS}">{rels}</Relationships>')
        for i, xml in enumerate(sheets.values(), 1):
            zf.writestr(f"xl/worksheets/sheet{i}.xml", xml)
        if shared_strings is not None:
            zf.writestr("xl/sharedStrings.xml", shared_strings)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def raw_zip(path: Path, members: list[tuple[str, list[bytes], int, int]]) -> Path:
    """A zip written byte by byte from already deflated data: (name, deflate chunks, crc32, declared size).
    Lets a test build a multi-gigabyte member in a second, or declare sizes that lie."""
    central = []
    with open(path, "wb") as f:
        for name, chunks, crc, size in members:
            encoded = name.encode()
            offset = f.tell()
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, 0, size, len(encoded), 0) + encoded)
            compressed = 0
            for chunk in chunks:
                f.write(chunk)
                compressed += len(chunk)
            end = f.tell()
            f.seek(offset + 18)
            f.write(struct.pack("<I", compressed))
            f.seek(end)
            central.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    20,
                    20,
                    0,
                    8,
                    0,
                    0,
                    crc,
                    compressed,
                    size,
                    len(encoded),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + encoded
            )
        start = f.tell()
        for entry in central:
            f.write(entry)
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), f.tell() - start, start, 0))
    return path


def deflated(data: bytes) -> tuple[list[bytes], int, int]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return [compressor.compress(data) + compressor.flush()], zlib.crc32(data), len(data)


def small_parts(sheet_target: str = "worksheets/sheet1.xml") -> list[tuple[str, list[bytes], int, int]]:
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Override PartName="/xl/workbook.xml" ContentType="{SHEET_CT}"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets><sheet name="Bomb" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="{sheet_target}"/></Relationships>',
    }
    return [(name, *deflated(text.encode())) for name, text in parts.items()]


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


CUSTOMERS = [
    ["Account", "Name", "Phone", "Tags"],
    ["1001", "Ana Lima", "(217) 555-0101", "outage"],
    ["1002", "Bob Stone", "217-555-0102", "billing"],
]


# --- CSV: delimiters, encodings, quoting -------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_it_sniffs_each_delimiter(tmp_path, delimiter):
    path = write(tmp_path, "customers.txt", csv_text(CUSTOMERS, delimiter))

    info = detect(path)

    assert (info.format, info.delimiter, info.encoding) == ("csv", delimiter, "utf-8")
    assert cells_of(path) == CUSTOMERS


def test_it_sniffs_semicolons_even_with_decimal_commas(tmp_path):
    rows = [["Account", "Balance", "Deposit", "Phone"]] + [
        [str(i), f"{i},50", f"{i},25", "2175550101"] for i in range(30)
    ]
    path = write(tmp_path, "eu.csv", csv_text(rows, ";"))

    assert detect(path).delimiter == ";"
    assert cells_of(path)[1] == ["0", "0,50", "0,25", "2175550101"]


def test_it_falls_back_to_commas_for_a_single_column(tmp_path):
    path = write(tmp_path, "phones.csv", "Phone\n2175550101\n2175550102\n")

    info = detect(path)

    assert info.delimiter == ","
    assert cells_of(path) == [["Phone"], ["2175550101"], ["2175550102"]]


def test_it_reads_utf8(tmp_path):
    path = write(tmp_path, "u.csv", "City,Name\nMontréal,Café Ōsaka\n")

    assert detect(path).encoding == "utf-8"
    assert cells_of(path) == [["City", "Name"], ["Montréal", "Café Ōsaka"]]


def test_it_reads_utf8_with_a_bom_and_drops_the_bom(tmp_path):
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + "Phone,City\n2175550101,Montréal\n".encode())

    info = detect(path)

    assert info.encoding == "utf-8-sig"
    assert cells_of(path) == [["Phone", "City"], ["2175550101", "Montréal"]]


def test_it_drops_a_bom_even_when_utf8_is_forced(tmp_path):
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbfPhone\n2175550101\n")

    rows = list(read_rows(path, detect(path, encoding="utf-8")))

    assert rows[0].cells == ["Phone"]


def test_it_reads_windows_1252(tmp_path):
    path = write(tmp_path, "legacy.csv", b"City;Name\r\nMontr\xe9al;Caf\xe9 \x93Chez Nous\x94\r\n")

    info = detect(path)

    assert (info.encoding, info.delimiter) == ("cp1252", ";")
    assert cells_of(path) == [["City", "Name"], ["Montréal", "Café “Chez Nous”"]]


def test_a_stray_byte_after_the_sample_never_crashes_a_utf8_file(tmp_path):
    body = "Phone,City\n" + "2175550101,Springfield\n" * 60_000  # > the 1 MB encoding sample
    path = write(tmp_path, "late.csv", body.encode() + b"2175550102,Caf\xe9\n")

    info = detect(path)
    rows = list(read_rows(path, info))

    assert info.encoding == "utf-8"
    assert rows[-1].cells == ["2175550102", "Caf\ufffd"]


def test_it_reads_utf16_text_saved_by_excel(tmp_path):
    path = write(tmp_path, "unicode.txt", "Phone\tCity\r\n2175550101\tMontréal\r\n".encode("utf-16"))

    info = detect(path)

    assert (info.encoding, info.delimiter) == ("utf-16", "\t")
    assert cells_of(path) == [["Phone", "City"], ["2175550101", "Montréal"]]


def test_quoted_cells_may_hold_newlines_delimiters_and_quotes(tmp_path):
    path = write(
        tmp_path,
        "q.csv",
        'Name,Address,Phone\r\n"Lima, Ana","12 Main St\r\nApt 4","say ""hi"""\r\nBob,Elm St,2175550102\r\n',
    )

    rows = read_all(path)

    assert [r.cells for r in rows] == [
        ["Name", "Address", "Phone"],
        ["Lima, Ana", "12 Main St\r\nApt 4", 'say "hi"'],
        ["Bob", "Elm St", "2175550102"],
    ]
    assert [r.number for r in rows] == [1, 2, 3]  # records, not physical lines


def test_empty_csv_cells_are_none_and_blank_lines_are_skipped_but_counted(tmp_path):
    path = write(tmp_path, "gaps.csv", "Phone,Tag\n2175550101,\n\n,,\n2175550103,x\n")

    rows = read_all(path)

    assert [(r.number, r.cells) for r in rows] == [
        (1, ["Phone", "Tag"]),
        (2, ["2175550101", None]),
        (5, ["2175550103", "x"]),
    ]


def test_a_nul_byte_flags_its_row_and_the_next_rows_still_read(tmp_path):
    path = write(tmp_path, "nul.csv", b"Phone,Name\n2175550101,Ana\n21755\x0050102,Bob\n2175550103,Cy\n")

    rows = read_all(path)

    assert rows[2] == Row(3, [], "This row contains a NUL byte.")
    assert [r.cells for r in rows if r.problem is None] == [
        ["Phone", "Name"],
        ["2175550101", "Ana"],
        ["2175550103", "Cy"],
    ]


def test_a_one_megabyte_cell_flags_its_row_and_the_next_rows_still_read(tmp_path):
    path = write(tmp_path, "big.csv", "Phone,Notes\n2175550101," + "x" * 1_000_000 + "\n2175550102,ok\n")

    rows = read_all(path)

    assert rows[1] == Row(2, [], "A cell in this row is longer than 10,000 characters.")
    assert rows[2] == Row(3, ["2175550102", "ok"])


def test_a_cell_just_at_the_limit_is_fine(tmp_path):
    path = write(tmp_path, "edge.csv", "Notes\n" + "y" * 10_000 + "\n")

    assert read_all(path)[1].cells == ["y" * 10_000]


def test_a_line_too_long_to_hold_is_skipped_without_reading_it_into_memory(tmp_path):
    path = write(tmp_path, "huge.csv", "Phone\n" + "9" * (5 * 1024**2) + "\n2175550102\n")

    rows = read_all(path)

    assert rows[1].number == 2 and rows[1].problem.startswith("This row is longer than")
    assert rows[2] == Row(3, ["2175550102"])


def test_an_unclosed_quote_flags_one_row_and_the_rest_still_read(tmp_path):
    lines = ["Phone,Name", '2175550101,"Ana'] + [f"21755501{i:02d},Name{i}" for i in range(2, 40)]
    path = write(tmp_path, "quote.csv", "\n".join(lines) + "\n")

    rows = list(read_rows(path, FileInfo("csv", "utf-8", ",")))

    assert rows[1] == Row(2, [], 'This row has a quote mark (") that is never closed, so it could not be read.')
    assert rows[2] == Row(3, ["2175550102", "Name2"])
    assert rows[-1] == Row(40, ["2175550139", "Name39"])


def test_an_unclosed_quote_swallowing_thousands_of_lines_is_cut_short(tmp_path):
    lines = ["Phone,Name", '2175550101,"Ana'] + [f"{2175550000 + i},N{i}" for i in range(5_000)]
    path = write(tmp_path, "runaway.csv", "\n".join(lines) + "\n")

    rows = read_all(path)

    assert rows[1].problem.startswith("This row has a quote mark")
    assert len(rows) == 2 + 5_000
    assert rows[-1].cells == [str(2175550000 + 4_999), "N4999"]


def test_csv_reading_streams_with_flat_memory(tmp_path):
    path = tmp_path / "many.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        for i in range(5_000):
            writer.writerow([2175550000 + i, f"Customer {i}", "note " * 800])
    size = path.stat().st_size
    info = detect(path)

    tracemalloc.start()
    try:
        count = sum(1 for _ in read_rows(path, info))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 5_000
    assert size > 20_000_000 and peak < 1_000_000, (size, peak)


csv_cell = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00\ufeff"), max_size=20
)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(st.lists(csv_cell, min_size=1, max_size=5), min_size=1, max_size=15),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_any_csv_reads_back_what_csv_writer_wrote(rows, delimiter, encoding):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.csv"
        path.write_bytes(csv_text(rows, delimiter).encode(encoding))

        got = [(r.number, r.cells) for r in read_rows(path, FileInfo("csv", encoding, delimiter))]

    assert got == [(n, [c or None for c in row]) for n, row in enumerate(rows, 1) if any(row)]


# --- refusals by content -----------------------------------------------------------------------------------------


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(FileRejected, match="^The file is empty"):
        detect(write(tmp_path, "customers.csv", b""))


@pytest.mark.parametrize(
    "content", [b"   \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n\n"], ids=["whitespace", "bom", "bom+blank"]
)
def test_a_file_of_only_whitespace_or_a_bom_is_refused_as_empty(tmp_path, content):
    with pytest.raises(FileRejected, match="^The file is empty"):
        detect(write(tmp_path, "customers.csv", content))


def test_an_old_xls_is_refused_with_what_to_do(tmp_path):
    path = write(tmp_path, "customers.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000)

    with pytest.raises(FileRejected) as exc:
        detect(path)

    assert (
        str(exc.value)
        == "This is an old Excel .xls file. Open it in Excel and save it as .xlsx or CSV, then upload it again."
    )


def test_a_password_protected_workbook_is_called_that(tmp_path):
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 600
    path = write(tmp_path, "customers.xlsx", body)

    with pytest.raises(FileRejected, match="protected with a password"):
        detect(path)


def test_an_ods_spreadsheet_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "customers.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")

    with pytest.raises(FileRejected, match=r"OpenDocument spreadsheet \(\.ods\)\. .*save it as \.xlsx or CSV"):
        detect(path)


def test_a_macro_workbook_is_refused_by_its_content_type(tmp_path):
    path = build_xlsx(tmp_path / "customers.xlsx", {"Sheet1": sheet_xml("")}, content_type=MACRO_CT)

    with pytest.raises(FileRejected, match=r"contains macros \(\.xlsm\).*plain Excel workbook \(\.xlsx\)"):
        detect(path)


def test_a_macro_workbook_is_refused_by_its_vba_project(tmp_path):
    path = build_xlsx(tmp_path / "customers.xlsx", {"Sheet1": sheet_xml("")}, extra={"xl/vbaProject.bin": b"\x00" * 64})

    with pytest.raises(FileRejected, match="contains macros"):
        detect(path)


def test_a_binary_workbook_is_refused(tmp_path):
    path = build_xlsx(
        tmp_path / "customers.xlsx",
        {"Sheet1": sheet_xml("")},
        content_type="application/vnd.ms-excel.sheet.binary.macroEnabled.main",
    )

    with pytest.raises(FileRejected, match=r"binary workbook \(\.xlsb\)"):
        detect(path)


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 2000
        + b"This program cannot be run in DOS mode",
        b"\x7fELF\x02\x01\x01" + b"\x00" * 2000,
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        bytes(range(256)) * 40,
    ],
    ids=["windows-exe", "elf", "pdf", "png", "random-binary"],
)
def test_a_renamed_program_image_or_binary_file_is_not_a_spreadsheet(tmp_path, content):
    path = write(tmp_path, "customers.csv", content)

    with pytest.raises(FileRejected, match=r"^This file is not a spreadsheet or CSV file.*Upload the customer list as"):
        detect(path)


def test_a_zip_that_is_not_a_workbook_is_not_a_spreadsheet(tmp_path):
    path = tmp_path / "customers.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("customers.csv", "Phone\n2175550101\n")

    with pytest.raises(FileRejected, match="not a spreadsheet or CSV file"):
        detect(path)


def test_an_html_table_named_xls_is_refused(tmp_path):
    path = write(tmp_path, "export.xls", "<html><body><table><tr><td>2175550101</td></tr></table></body></html>")

    with pytest.raises(FileRejected, match=r"web page \(HTML\)"):
        detect(path)


def test_a_damaged_xlsx_is_refused(tmp_path):
    good = build_xlsx(tmp_path / "good.xlsx", {"Sheet1": sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>')})
    path = write(tmp_path, "customers.xlsx", good.read_bytes()[:200])

    with pytest.raises(FileRejected, match="damaged"):
        detect(path)


def test_a_csv_named_xlsx_reads_as_csv(tmp_path):
    path = write(tmp_path, "customers.xlsx", csv_text(CUSTOMERS))

    assert detect(path).format == "csv"
    assert cells_of(path) == CUSTOMERS


def test_an_xlsx_named_csv_reads_as_xlsx(tmp_path):
    path = build_xlsx(
        tmp_path / "customers.csv",
        {"Data": sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>Phone</t></is></c></row>')},
    )

    info = detect(path)

    assert (info.format, info.sheet, info.sheets) == ("xlsx", "Data", ["Data"])
    assert cells_of(path) == [["Phone"]]


# --- XLSX: values --------------------------------------------------------------------------------------------------


def test_xlsx_written_by_openpyxl(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    ws.append(["Account", "Phone", "Balance", "Scientific", "Name", "Tag"])
    ws.append([1001, 5552013344.0, 12.5, 5.552e09, "Ana Lima", None])
    ws.append([1002, 2175550102, -3.25, None, None, "outage"])
    ws.append([1003, "217-555-0103", 0.1])
    ws["H5"] = "far right"  # row 4 empty, missing columns on row 5
    path = tmp_path / "customers.xlsx"
    wb.save(path)

    rows = read_all(path)

    assert [r.number for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].cells == ["Account", "Phone", "Balance", "Scientific", "Name", "Tag"]
    assert rows[1].cells[:5] == [1001, 5552013344, 12.5, 5552000000, "Ana Lima"]
    assert type(rows[1].cells[1]) is int  # 5552013344.0 keeps every digit as an int
    assert rows[2].cells == [1002, 2175550102, -3.25, None, None, "outage"]
    assert rows[3].cells == [1003, "217-555-0103", 0.1]
    assert rows[4].cells == [None] * 7 + ["far right"]


def test_numbers_written_in_exponent_form_stay_floats(tmp_path):
    rows = '<row r="1"><c r="A1"><v>5.552E+09</v></c><c r="B1"><v>5552013344.0</v></c><c r="C1"><v>-7</v></c><c r="D1"><v>1E-3</v></c></row>'
    path = build_xlsx(tmp_path / "n.xlsx", {"S": sheet_xml(rows)})

    [row] = read_all(path)

    assert row.cells == [5552000000.0, 5552013344, -7, 0.001]
    assert [type(v) for v in row.cells] == [float, int, int, float]


def test_inline_strings_rich_text_shared_strings_and_cell_types(tmp_path):
    shared = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN_NS}" count="4" uniqueCount="4">'
        "<si><t>plain &amp; simple</t></si>"
        '<si><r><rPr><b/><color rgb="FFFF0000"/></rPr><t>Mont</t></r><r><t xml:space="preserve">réal </t></r>'
        '<rPh sb="0" eb="1"><t>PHONETIC</t></rPh></si>'
        "<si><t/></si>"
        "<si><t>line1\r\nline2</t></si>"
        "</sst>"
    )
    rows = (
        '<row r="1" spans="1:9">'
        '<c r="A1" t="s"><v>0</v></c>'
        '<c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="inlineStr"><is><t>inline &lt;text&gt;</t></is></c>'
        '<c r="D1" t="inlineStr"><is><r><t>rich </t></r><r><rPr><i/></rPr><t>inline</t></r></is></c>'
        '<c r="E1" t="str"><f>A1&amp;"!"</f><v>formula text</v></c>'
        '<c r="F1" t="b"><v>1</v></c>'
        '<c r="G1" t="e"><v>#N/A</v></c>'
        '<c r="H1" t="s"><v>2</v></c>'
        '<c r="I1" t="s"><v>3</v></c>'
        "</row>"
    )
    path = build_xlsx(tmp_path / "types.xlsx", {"S": sheet_xml(rows)}, shared_strings=shared)

    [row] = read_all(path)

    assert row.cells == [
        "plain & simple",
        "Montréal ",
        "inline <text>",
        "rich inline",
        "formula text",
        "TRUE",
        None,
        None,
        "line1\nline2",
    ]


def test_missing_and_skipped_cell_references(tmp_path):
    rows = (
        '<row r="1"><c><v>1</v></c><c><v>2</v></c><c r="E1"><v>5</v></c><c><v>6</v></c></row>'
        '<row><c r="B2" t="inlineStr"><is><t>no row number</t></is></c></row>'
        '<row r="10"><c r="C10"><v>3</v></c></row>'
    )
    path = build_xlsx(tmp_path / "refs.xlsx", {"S": sheet_xml(rows)})

    rows = read_all(path)

    assert [(r.number, r.cells) for r in rows] == [
        (1, [1, 2, None, None, 5, 6]),
        (2, [None, "no row number"]),
        (10, [None, None, 3]),
    ]


def test_a_sheet_claiming_a_million_rows_yields_the_three_it_has(tmp_path):
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="Z{i}"><v>{i * 10}</v></c></row>' for i in (1, 2, 3))
    path = build_xlsx(tmp_path / "dim.xlsx", {"S": sheet_xml(rows, dimension="A1:Z1000000")})

    rows = read_all(path)

    assert [(r.number, r.cells[0], r.cells[25]) for r in rows] == [(1, 1, 10), (2, 2, 20), (3, 3, 30)]


def test_blank_and_formatting_only_rows_are_skipped(tmp_path):
    rows = '<row r="1"><c r="A1"><v>1</v></c></row><row r="2" ht="30" customHeight="1"/><row r="3"><c r="A3" s="4"/></row><row r="4"><c r="A4"><v>4</v></c></row>'
    path = build_xlsx(tmp_path / "blank.xlsx", {"S": sheet_xml(rows)})

    assert [(r.number, r.cells) for r in read_all(path)] == [(1, [1]), (4, [4])]


def test_bad_cells_flag_their_row_only(tmp_path):
    shared = sst_xml(["ok", "z" * 10_001])
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>1</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>99</v></c></row>'
        '<row r="4"><c r="A4" t="inlineStr"><is><t>' + "w" * 10_001 + "</t></is></c></row>"
        '<row r="5"><c r="ZZZ5"><v>1</v></c></row>'
        '<row r="6"><c r="A6" t="s"><v>0</v></c></row>'
    )
    path = build_xlsx(tmp_path / "bad.xlsx", {"S": sheet_xml(rows)}, shared_strings=shared)

    rows = read_all(path)

    assert [(r.number, r.problem) for r in rows] == [
        (1, None),
        (2, "A cell in this row is longer than 10,000 characters."),
        (3, "This row refers to text that is missing from the file."),
        (4, "A cell in this row is longer than 10,000 characters."),
        (5, "This row has cells beyond column XFD, the last column Excel allows."),
        (6, None),
    ]
    assert all(r.cells == [] for r in rows if r.problem)


def test_sheet_xml_in_unusual_but_valid_shapes_reads_the_same(tmp_path):
    """Prefixed names, comments, pretty-printing and single quotes go through the XML parser, not the fast
    scanner; the rows must come out the same."""
    plain = '<row r="1"><c r="A1" t="inlineStr"><is><t>Phone</t></is></c><c r="B1"><v>2175550101</v></c></row><row r="2"><c r="A2"><v>7</v></c></row>'
    shapes = {
        "prefixed": f'<x:worksheet xmlns:x="{MAIN_NS}"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Phone</x:t></x:is></x:c><x:c r="B1"><x:v>2175550101</x:v></x:c></x:row>'
        '<x:row r="2"><x:c r="A2"><x:v>7</x:v></x:c></x:row></x:sheetData></x:worksheet>',
        "pretty": sheet_xml(
            "\n  <row r='1'>\n    <c r='A1' t='inlineStr'>\n      <is><t>Phone</t></is>\n    </c>\n"
            "    <c r='B1'>\n      <v>2175550101</v>\n    </c>\n  </row>\n  <row r='2'>\n    <c r='A2'><v>7</v></c>\n  </row>\n"
        ),
        "comment-late": sheet_xml(plain.replace('<row r="2">', '<!-- exported by CIS --><row r="2">')),
        "cdata": sheet_xml(plain.replace("<t>Phone</t>", "<t><![CDATA[Phone]]></t>")),
        "utf16": sheet_xml(plain, head='<?xml version="1.0" encoding="UTF-16"?>\n'),
    }
    for name, xml in shapes.items():
        data = xml.encode("utf-16") if name == "utf16" else xml.encode()
        path = build_xlsx(tmp_path / f"{name}.xlsx", {"S": data})
        assert cells_of(path) == [["Phone", 2175550101], [7]], name


def test_excel_shaped_sheets_never_need_the_xml_parser(tmp_path, monkeypatch):
    """The fast scanner must carry Excel's own output; were it to fall back, a million rows would take twice as long."""
    shared = sst_xml(["Phone", "Name", "Ana & Bob"])
    rows = (
        '<row r="1" spans="1:3" x14ac:dyDescent="0.25"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        + "".join(
            f'<row r="{i}" spans="1:3"><c r="A{i}"><v>{2175550000 + i}</v></c><c r="B{i}" s="2" t="s"><v>2</v></c>'
            f'<c r="C{i}" s="3"><f>A{i}*2</f><v>{i}.5</v></c></row>'
            for i in range(2, 2_000)
        )
    )
    path = build_xlsx(tmp_path / "excel.xlsx", {"S": sheet_xml(rows)}, shared_strings=shared)

    def no_xml_parser(handler):
        raise AssertionError("the XML parser was used")

    monkeypatch.setattr(xlsx, "_expat", no_xml_parser)
    rows = read_all(path)

    assert len(rows) == 1_999
    assert rows[-1] == Row(1_999, [2175551999, "Ana & Bob", 1999.5])


def test_xml_the_scanner_cannot_handle_midway_restarts_in_the_parser_without_repeating_rows(tmp_path):
    rows = [
        f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}" t="inlineStr"><is><t>n{i}</t></is></c></row>'
        for i in range(1, 20_001)
    ]
    rows.insert(15_000, "<!-- a comment well past the first chunk -->")
    path = build_xlsx(tmp_path / "late.xlsx", {"S": sheet_xml("".join(rows))})

    numbers = [r.number for r in read_all(path)]

    assert numbers == list(range(1, 20_001))


def test_shared_strings_with_comments_or_prefixes_are_read_by_the_parser(tmp_path):
    shared = (
        f'<?xml version="1.0"?><!-- written by a CIS --><x:sst xmlns:x="{MAIN_NS}">'
        "<x:si><x:t>first</x:t></x:si><x:si><x:r><x:t>sec</x:t></x:r><x:r><x:t>ond</x:t></x:r></x:si></x:sst>"
    )
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    path = build_xlsx(tmp_path / "sst.xlsx", {"S": sheet_xml(rows)}, shared_strings=shared)

    assert cells_of(path) == [["first", "second"]]


def test_absurd_numbers_do_not_crash(tmp_path):
    digits = "9" * 5_000
    rows = (
        f'<row r="1"><c r="A1"><v>{digits}</v></c><c r="B1" t="s"><v>{digits}</v></c></row>'
        f'<row r="{digits}"><c r="A2"><v>1</v></c></row>'
    )
    path = build_xlsx(tmp_path / "absurd.xlsx", {"S": sheet_xml(rows)}, shared_strings=sst_xml(["x"]))

    rows = read_all(path)

    assert rows[0] == Row(1, [], "This row refers to text that is missing from the file.")
    assert rows[1] == Row(2, [1])


@st.composite
def sheet_models(draw):
    text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Cn"]), max_size=12) | st.sampled_from(
        ["&", "<tag>", "a & b", " padded ", "Montréal", "]]>", "x\ny"]
    )
    value = st.none() | st.integers(-(10**12), 10**12) | text | st.floats(-1e6, 1e6).filter(lambda f: f != int(f))
    return draw(st.lists(st.lists(value, max_size=6), min_size=1, max_size=8))


def _expected(model: list[list]) -> list[tuple[int, list]]:
    """Cells up to the last one written (an empty string is written, and reads as None); blank rows skipped."""
    out = []
    for number, row in enumerate(model, 1):
        written = [i for i, v in enumerate(row) if v is not None]
        cells = [v if v != "" else None for v in row[: written[-1] + 1]] if written else []
        if any(v is not None for v in cells):
            out.append((number, cells))
    return out


def _render(model: list[list], style: str) -> tuple[str, str | None]:
    """The model as sheet XML the way Excel writes it (shared strings), or in shapes the fast scanner leaves to
    the XML parser: pretty-printed inline strings (row by row), the same with prefixed names (whole sheet)."""
    strings: list[str] = []
    rows = []
    for number, row in enumerate(model, 1):
        cells = []
        for col, value in enumerate(row):
            ref = f"{column_letter(col)}{number}"
            if value is None:
                continue
            if isinstance(value, str):
                if style == "excel":
                    strings.append(value)
                    cells.append(f'<c r="{ref}" s="1" t="s"><v>{len(strings) - 1}</v></c>')
                else:
                    cells.append(
                        f'\n  <c r="{ref}" t="inlineStr">\n    <is><t xml:space="preserve">{escape(value)}</t></is>\n  </c>'
                    )
            else:
                cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
        rows.append(f'<row r="{number}" spans="1:6">{"".join(cells)}</row>')
    shared = None
    if style == "excel":
        items = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
        shared = f'<sst xmlns="{MAIN_NS}">{items}</sst>'
    sheet = sheet_xml("".join(rows))
    if style == "prefixed":
        sheet = re.sub(r"<(/?)(worksheet|sheetData|row|c|is|t|v)\b", r"<\1x:\2", sheet).replace("xmlns=", "xmlns:x=")
    return sheet, shared


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=sheet_models())
def test_any_sheet_reads_back_the_same_through_both_parsers(model):
    expected = _expected(model)
    with tempfile.TemporaryDirectory() as folder:
        for style in ("excel", "pretty", "prefixed"):
            sheet, shared = _render(model, style)
            path = build_xlsx(Path(folder) / f"{style}.xlsx", {"S": sheet}, shared_strings=shared)
            assert [(r.number, r.cells) for r in read_all(path)] == expected, style


# --- XLSX: sheets, limits, progress ------------------------------------------------------------------------------


def test_a_sheet_is_chosen_by_name_and_the_first_visible_one_by_default(tmp_path):
    sheets = {
        "Lookup": sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>hidden</t></is></c></row>'),
        "Customers": sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>customers</t></is></c></row>'),
        "Notes": sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>notes</t></is></c></row>'),
    }
    path = build_xlsx(tmp_path / "book.xlsx", sheets, hidden=("Lookup",))

    default = detect(path)
    chosen = detect(path, sheet="Notes")

    assert default.sheets == ["Lookup", "Customers", "Notes"]
    assert default.sheet == "Customers" and cells_of(path) == [["customers"]]
    assert chosen.sheet == "Notes" and [r.cells for r in read_rows(path, chosen)] == [["notes"]]
    assert [r.cells for r in read_rows(path, FileInfo("xlsx", sheet="Lookup"))] == [["hidden"]]


def test_an_unknown_sheet_name_is_refused_naming_the_sheets(tmp_path):
    path = build_xlsx(tmp_path / "book.xlsx", {"Customers": sheet_xml(""), "Notes": sheet_xml("")})

    with pytest.raises(FileRejected) as exc:
        detect(path, sheet="Customer list")

    assert (
        str(exc.value)
        == 'This workbook has no sheet named "Customer list". Its sheets are: "Customers", "Notes". Pick one of those.'
    )


def test_more_rows_than_max_rows_is_refused_saying_the_limit(tmp_path):
    xlsx = build_xlsx(
        tmp_path / "rows.xlsx",
        {"S": sheet_xml("".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, 12)))},
    )
    text = write(tmp_path, "rows.csv", "".join(f"{i}\n" for i in range(1, 12)))

    for path in (xlsx, text):
        assert len(read_all(path, max_rows=11)) == 11
        with pytest.raises(FileRejected, match="more than 10 rows.*at most 10 rows"):
            read_all(path, max_rows=10)


def test_progress_is_reported_while_reading(tmp_path):
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{2175550000 + i}</v></c></row>' for i in range(1, 120_001))
    xlsx = build_xlsx(tmp_path / "p.xlsx", {"S": sheet_xml(rows)})
    text = write(tmp_path, "p.csv", "".join(f"{2175550000 + i}\n" for i in range(120_000)))

    for path in (xlsx, text):
        calls: list[tuple[int, int]] = []

        def record(done: int, total: int, calls: list = calls) -> None:
            calls.append((done, total))

        count = sum(1 for _ in read_rows(path, detect(path), progress=record))
        assert count == 120_000
        totals = {total for _, total in calls}
        assert len(totals) == 1 and len(calls) >= 3, calls  # at 50,000, 100,000 and the end
        dones = [done for done, _ in calls]
        assert dones == sorted(dones) and dones[-1] == totals.pop() and 0 < dones[1] < dones[-1]


def test_preview_returns_the_first_rows(tmp_path):
    path = write(tmp_path, "p.csv", "".join(f"{i},x\n" for i in range(100)))

    rows = preview(path, detect(path), rows=5)

    assert [r.cells[0] for r in rows] == ["0", "1", "2", "3", "4"]


def test_xlsx_reading_streams_with_bounded_memory(tmp_path):
    # Long cells keep the test quick under tracemalloc and make any rows held back show in the peak at once.
    path = tmp_path / "big.xlsx"
    body = "".join(
        f'<row r="{i}"><c r="A{i}"><v>{2175550000 + i}</v></c><c r="B{i}" t="inlineStr"><is><t>{"note " * 800}</t></is></c></row>'
        for i in range(1, 4_001)
    )
    build_xlsx(path, {"S": sheet_xml(body)})
    unzipped = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    info = detect(path)

    tracemalloc.start()
    try:
        count = sum(1 for _ in read_rows(path, info))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 4_000
    assert unzipped > 16_000_000 and peak < 4_000_000, (unzipped, peak)


# --- XLSX: attacks -------------------------------------------------------------------------------------------------


def whitespace_sheet(mebibytes: int, *, with_crc: bool = True) -> tuple[list[bytes], int, int]:
    """Deflated sheet XML holding ``mebibytes`` of whitespace in sheetData (deflate's best ratio is ~1000:1).
    After a full flush each 1 MiB block compresses to the same bytes, so gigabytes take a second to build."""
    head = f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode()
    tail = b"</sheetData></worksheet>"
    block = b" " * 1024**2
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    packed_block = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(tail) + compressor.flush()
    crc = 0
    if with_crc:
        crc = zlib.crc32(head)
        for _ in range(mebibytes):
            crc = zlib.crc32(block, crc)
        crc = zlib.crc32(tail, crc)
    return [first, *[packed_block] * mebibytes, last], crc, len(head) + mebibytes * len(block) + len(tail)


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """A workbook whose sheet is ~3 GB of whitespace deflated to ~3 MB."""
    sheet = ("xl/worksheets/sheet1.xml", *whitespace_sheet(3 * 1024))
    return raw_zip(tmp_path_factory.mktemp("bomb") / "customers.xlsx", [*small_parts(), sheet])


def test_an_xlsx_zip_bomb_is_refused_quickly_with_little_memory(zip_bomb):
    assert zip_bomb.stat().st_size < 5_000_000
    assert zipfile.ZipFile(zip_bomb).getinfo("xl/worksheets/sheet1.xml").file_size > 3 * 10**9

    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(FileRejected, match="zip bomb") as at_detect:
            detect(zip_bomb)
        with pytest.raises(FileRejected, match="zip bomb"):
            list(read_rows(zip_bomb, FileInfo("xlsx")))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert time.monotonic() - started < 5
    assert peak < 20_000_000
    assert "not read" in str(at_detect.value)


def test_a_zip_bomb_is_stopped_while_inflating_even_if_its_directory_lies(tmp_path):
    """The directory claims 1 KB; zipfile stops there and the checksum gives the lie away."""
    chunks, crc, _ = whitespace_sheet(3 * 1024, with_crc=False)
    path = raw_zip(tmp_path / "liar.xlsx", [*small_parts(), ("xl/worksheets/sheet1.xml", chunks, crc, 1024)])

    started = time.monotonic()
    with pytest.raises(FileRejected, match="damaged"):
        read_all(path)
    assert time.monotonic() - started < 2


def test_the_unzipped_size_budget_is_enforced(tmp_path):
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, 5_000))
    path = build_xlsx(tmp_path / "b.xlsx", {"S": sheet_xml(rows)})

    assert len(list(read_rows(path, detect(path), max_bytes=10_000_000))) == 4_999
    with pytest.raises(FileRejected, match="unpacks to an unreasonable amount of data"):
        list(read_rows(path, FileInfo("xlsx"), max_bytes=100_000))


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10)
    )
    + "]>\n"
)


def test_billion_laughs_in_shared_strings_is_refused(tmp_path):
    shared = BILLION_LAUGHS + f'<sst xmlns="{MAIN_NS}"><si><t>&lol9;</t></si></sst>'
    path = build_xlsx(
        tmp_path / "lol.xlsx", {"S": sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')}, shared_strings=shared
    )

    started = time.monotonic()
    with pytest.raises(FileRejected, match="XML entity declarations"):
        read_all(path)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("part", ["sheet", "workbook"])
def test_entity_declarations_anywhere_in_the_workbook_are_refused(tmp_path, part):
    sheet = sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>', head=BILLION_LAUGHS)
    path = build_xlsx(tmp_path / "lol.xlsx", {"S": sheet if part == "sheet" else sheet_xml("")})
    if part == "workbook":
        with zipfile.ZipFile(path) as zf:
            parts = {i.filename: zf.read(i) for i in zf.infolist()}
        parts["xl/workbook.xml"] = BILLION_LAUGHS.encode() + parts["xl/workbook.xml"]
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in parts.items():
                zf.writestr(name, data)

    with pytest.raises(FileRejected, match="XML entity declarations"):
        read_all(path)


# --- small things --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (51, "AZ"), (701, "ZZ"), (702, "AAA"), (16383, "XFD")]
)
def test_column_letter(index, letters):
    assert column_letter(index) == letters
    assert xlsx._column(letters.encode()) == index


def test_column_letter_refuses_negative_indexes():
    with pytest.raises(ValueError):
        column_letter(-1)


@pytest.mark.parametrize(
    "read_and_check",
    [test_inline_strings_rich_text_shared_strings_and_cell_types, test_bad_cells_flag_their_row_only],
)
def test_a_large_shared_strings_table_is_kept_packed_and_reads_the_same(read_and_check, tmp_path, monkeypatch):
    """Above PACK_STRINGS_ABOVE the table is one buffer of texts: empty, too long, rich, non-ASCII and missing
    texts must come out as from the list."""
    monkeypatch.setattr(xlsx, "PACK_STRINGS_ABOVE", 0)
    tables = []

    class Recorded(xlsx._PackedStrings):
        def __init__(self):
            super().__init__()
            tables.append(self)

    monkeypatch.setattr(xlsx, "_PackedStrings", Recorded)

    read_and_check(tmp_path)

    assert tables and len(tables[0]) >= 2
