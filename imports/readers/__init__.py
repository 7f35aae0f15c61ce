"""Read an uploaded customer file (CSV/TXT or XLSX) row by row, deciding the format by content, never by name.

Utilities upload CIS/billing exports of 100,000 to over a million rows, so everything here streams: a CSV is
decoded line by line, an XLSX is unzipped and scanned part by part. Anything that is not a readable CSV or
XLSX is refused with :class:`FileRejected`, whose message tells a clerk what to do. Rows that cannot be used
are still yielded, with ``problem`` set, so one bad row never sinks a whole file.

This module is the whole interface; behind it ``sniffing`` decides what kind of file it is (and a text file's
encoding and delimiter), ``text`` reads CSV/TXT, ``xlsx`` reads a workbook's sheet, and ``common`` holds what they
share.

Pure Python (no Django) so it can be used by the web app, the worker and the command line alike.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Generator, Iterator
from itertools import islice

from imports.readers import sniffing, text, xlsx
from imports.readers.common import FileInfo, FileRejected, ProgressCallback, Row

__all__ = ["FileInfo", "FileRejected", "Row", "column_letter", "detect", "preview", "read_rows"]

MAX_ROWS = 2_000_000
MAX_XLSX_BYTES = 2 * 1024**3  # total unzipped size of the parts of one XLSX that we read


def _too_many_rows(max_rows: int) -> FileRejected:
    return FileRejected(
        f"This file has more than {max_rows:,} rows, more than can be imported at once. "
        f"Split it into files of at most {max_rows:,} rows and upload them one at a time."
    )


def detect(
    path: str | os.PathLike,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    max_bytes: int = MAX_XLSX_BYTES,
) -> FileInfo:
    """Decide how to read the file from its content. ``encoding``/``delimiter`` override the CSV sniffing,
    ``sheet`` picks an XLSX worksheet by name. Raises :class:`FileRejected`."""
    if delimiter is not None and len(delimiter) != 1:
        raise ValueError(f"delimiter must be one character, not {delimiter!r}")
    if encoding is not None:
        codecs.lookup(encoding)  # LookupError for a name Python does not know: a programming error
    kind, head = sniffing.sniff(path)
    if kind == "zip":
        return xlsx.workbook_info(path, sheet, max_bytes)
    return sniffing.text_info(path, head, encoding, delimiter)


def read_rows(
    path: str | os.PathLike,
    info: FileInfo,
    *,
    max_rows: int = MAX_ROWS,
    progress: ProgressCallback | None = None,
    max_bytes: int = MAX_XLSX_BYTES,
) -> Iterator[Row]:
    """Yield the file's rows as :class:`Row`. Rows with no data at all are skipped (their numbers are not).

    ``progress(bytes_done, bytes_total)`` is called every ~50,000 rows and once at the end. More than ``max_rows``
    rows, or (XLSX) more than ``max_bytes`` unzipped, raises :class:`FileRejected` while reading."""
    if info.format == "xlsx":
        rows = xlsx.xlsx_rows(path, info.sheet, progress, max_bytes)
    elif info.format == "csv":
        rows = text.csv_rows(path, info.encoding or "utf-8", info.delimiter or ",", progress)
    else:
        raise ValueError(f"unknown format {info.format!r}")
    return _counted(rows, max_rows)


def preview(path: str | os.PathLike, info: FileInfo, *, rows: int = 20) -> list[Row]:
    """The first ``rows`` rows, for a configuration page."""
    reader = read_rows(path, info)
    try:
        return list(islice(reader, rows))
    finally:
        reader.close()  # releases the file now rather than whenever the generator is collected


def column_letter(index0: int) -> str:
    """Excel's name for a 0-based column index: 0 -> "A", 25 -> "Z", 26 -> "AA"."""
    if index0 < 0:
        raise ValueError("column index must be >= 0")
    letters = ""
    n = index0 + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _counted(rows: Generator[Row], max_rows: int) -> Iterator[Row]:
    try:
        for count, row in enumerate(rows, 1):
            if count > max_rows:
                raise _too_many_rows(max_rows)
            yield row
    finally:
        rows.close()  # closing the outer generator early must release the file now
