"""Rows written as CSV or XLSX for people to open in a spreadsheet: exports, consent records, import results.

Every cell goes through `neutralise`, the one guard against cells a spreadsheet would run as a formula (OWASP
"CSV injection"), and XLSX cells are always written as strings. Rows are taken from an iterator and written in
batches, so an export of millions of rows streams in constant memory.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from itertools import batched
from pathlib import Path

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# A number the app normalised itself is data, not a formula, and stays readable as +1...
_E164 = re.compile(r"^\+1\d{10}$")
# Rows written per chunk of a download: one chunk per row would cost more than the rows themselves.
BATCH = 2000
# How often, in rows, a background export reports its progress.
PROGRESS_EVERY = 10_000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel reads a CSV as UTF-8 (accented tags, names) only when it starts with this.
_BOM = "\ufeff"

Progress = Callable[[int], None] | None


def neutralise(value, *, keep_e164: bool = False) -> str:
    """The text of a cell, with a leading apostrophe when a spreadsheet would read it as a formula.

    None is an empty cell and a list is its items joined by "; ". With `keep_e164`, a whole E.164 number is left
    as it is: the import's downloads show numbers as the app normalised them."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not (keep_e164 and _E164.match(text)):
        return "'" + text
    return text


class _Counted:
    """The rows, counted as they are taken, with `progress(n)` told every PROGRESS_EVERY rows."""

    def __init__(self, rows: Iterable, progress: Progress):
        self.rows, self.progress, self.n = rows, progress, 0

    def __iter__(self):
        for row in self.rows:
            yield row
            self.n += 1
            if self.progress and self.n % PROGRESS_EVERY == 0:
                self.progress(self.n)


def csv_chunks(header: list[str], rows: Iterable, *, bom: bool = True, keep_e164: bool = False) -> Iterator[str]:
    """The CSV text of the header and the rows, in chunks of BATCH rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if bom:
        buffer.write(_BOM)
    writer.writerow(header)
    for batch in batched(rows, BATCH):
        writer.writerows([[neutralise(v, keep_e164=keep_e164) for v in row] for row in batch])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def csv_response(file_name: str, header: list[str], rows: Iterable, **options) -> StreamingHttpResponse:
    """A download of the rows as CSV, streamed; `options` as for csv_chunks."""
    response = StreamingHttpResponse(csv_chunks(header, rows, **options), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def write_csv(path: Path, header: list[str], rows: Iterable, *, progress: Progress = None) -> int:
    """Write the rows to a CSV file; the number of rows written. `progress(n)` is told every PROGRESS_EVERY rows."""
    counted = _Counted(rows, progress)
    with path.open("w", newline="", encoding="utf-8") as out:
        for chunk in csv_chunks(header, counted):
            out.write(chunk)
    return counted.n


def write_xlsx(target, header: list[str], rows: Iterable, *, sheet: str, progress: Progress = None) -> int:
    """Write the rows to an XLSX workbook of one sheet (a path or a file object); the number of rows written.

    openpyxl's write-only mode keeps memory constant however many rows there are."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(header)
    counted = _Counted(rows, progress)
    for row in counted:
        cells = []
        for value in row:
            cell = WriteOnlyCell(worksheet, value=neutralise(value))
            cell.data_type = "s"  # never a formula, whatever the text
            cells.append(cell)
        worksheet.append(cells)
    workbook.save(target)
    return counted.n


def xlsx_bytes(header: list[str], rows: Iterable, *, sheet: str) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, header, rows, sheet=sheet)
    return buffer.getvalue()
