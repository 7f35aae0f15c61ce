"""What every reader shares: the file and row types, the limits and refusals that are not one format's own.

It imports nothing of the package, so that each format's module can use it without a cycle.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field


class FileRejected(Exception):
    """The file cannot be read at all. ``str(exc)`` is a sentence a non-programmer understands and says what to do
    (e.g. "This is an old Excel .xls file. Open it in Excel and save it as .xlsx or CSV, then upload it again.")."""


@dataclass
class FileInfo:
    format: str  # "csv" or "xlsx"
    encoding: str | None = None  # "utf-8", "utf-8-sig", "cp1252" (or "utf-16" with a BOM) for csv
    delimiter: str | None = None  # one of , ; \t |
    sheet: str | None = None  # xlsx sheet name used
    sheets: list[str] = field(default_factory=list)  # xlsx worksheet names, in workbook order


@dataclass(slots=True)
class Row:
    number: int  # 1-based: the sheet's row number r= for xlsx; for csv the record number, counting the header
    cells: list  # str for text; int for integer-valued numbers; float for other numbers; None for empty
    problem: str | None = None  # set when this row cannot be used; cells is [] then


ProgressCallback = Callable[[int, int], None]

# --- limits ------------------------------------------------------------------------------------------------------

MAX_CELL_CHARS = 10_000
CHUNK = 256 * 1024
PROGRESS_EVERY = 50_000

UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

# --- messages ----------------------------------------------------------------------------------------------------

THEN_UPLOAD = "then upload it again."
SAVE_AS = f"Open it in Excel and save it as .xlsx or CSV, {THEN_UPLOAD}"
LONG_CELL = f"A cell in this row is longer than {MAX_CELL_CHARS:,} characters."


def not_a_spreadsheet(what: str | None = None) -> FileRejected:
    it_is = f" (it is {what})" if what else ""
    return FileRejected(
        f"This file is not a spreadsheet or CSV file{it_is}. "
        "Upload the customer list as an Excel workbook (.xlsx) or a CSV file."
    )
