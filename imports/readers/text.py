"""Read a CSV/TXT file row by row, decoded line by line as it streams.

A row that cannot be used (a NUL byte, a line or cell too long, a quote that is never closed) is still yielded,
with ``problem`` set, and the rows after it read as usual.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator

from imports.readers.common import LONG_CELL, MAX_CELL_CHARS, PROGRESS_EVERY, ProgressCallback, Row

_CSV_LINE_CHARS = 4 * 1024**2  # a physical line longer than this is skipped, not read into memory
_CSV_RECORD_LINES = 1_000  # a quoted cell spanning more lines than this is an unclosed quote
_CSV_RECORD_CHARS = 4 * 1024**2

# The csv module refuses fields over its limit (default 128 KiB) with an error that loses the row; our own
# per-line and per-record caps bound memory, so let it accept anything up to those and judge lengths ourselves.
csv.field_size_limit(max(csv.field_size_limit(), 2 * (_CSV_LINE_CHARS + _CSV_RECORD_CHARS)))

_NUL_ROW = "This row contains a NUL byte."
_LONG_LINE = f"This row is longer than {_CSV_LINE_CHARS:,} characters."
_UNCLOSED_QUOTE = 'This row has a quote mark (") that is never closed, so it could not be read.'
_BAD_CSV_ROW = "This row could not be read as CSV."


class _RunawayQuote(Exception):
    """Raised into csv.reader when a quoted cell has swallowed too many lines (or the rest of the file)."""


class _Lines:
    """Feeds csv.reader one physical line at a time and notes what it saw, so each record can be judged.

    csv.reader asks for another line before a record is complete only while inside a quoted cell, so
    lines already taken for the current record tell us a quote is open."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self._stream = stream
        self._pushback: list[str] = []
        self.record: list[str] = []
        self.chars = 0
        self.nul = False
        self.too_long = False

    def start_record(self) -> None:
        self.record = []
        self.chars = 0
        self.nul = False
        self.too_long = False

    def replay_after_first(self) -> None:
        """After a runaway quote, read again every line but the first: they are rows of their own."""
        self._pushback.extend(reversed(self.record[1:]))

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.record and (len(self.record) >= _CSV_RECORD_LINES or self.chars >= _CSV_RECORD_CHARS):
            raise _RunawayQuote
        if self._pushback:
            line = self._pushback.pop()
        else:
            line = self._stream.readline(_CSV_LINE_CHARS)
            if not line:
                if self.record:
                    raise _RunawayQuote  # the file ended inside a quoted cell
                raise StopIteration
            if len(line) == _CSV_LINE_CHARS and line[-1] not in "\r\n":
                line = self._skip_rest_of_line()
        if "\x00" in line:
            self.nul = True
            line = line.replace("\x00", "")  # csv.reader rejects NUL in some Python versions
        self.record.append(line)
        self.chars += len(line)
        return line

    def _skip_rest_of_line(self) -> str:
        self.too_long = True
        while True:
            piece = self._stream.readline(_CSV_LINE_CHARS)
            if not piece or piece[-1] in "\r\n":
                return "\n"


def csv_rows(
    path: str | os.PathLike, encoding: str, delimiter: str, progress: ProgressCallback | None
) -> Iterator[Row]:
    codecs.lookup(encoding)  # before opening, so a bad name cannot leak the file handle
    total = os.path.getsize(path)
    # errors="replace": a stray byte in another encoding becomes U+FFFD instead of stopping the import.
    with io.TextIOWrapper(open(path, "rb"), encoding=encoding, errors="replace", newline="") as text:
        lines = _Lines(text)
        reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
        number = 0
        while True:
            lines.start_record()
            try:
                fields = next(reader)
            except StopIteration:
                break
            except _RunawayQuote:
                number += 1
                lines.replay_after_first()
                yield Row(number, [], _UNCLOSED_QUOTE)
                continue
            except csv.Error:
                number += 1
                yield Row(number, [], _BAD_CSV_ROW)
                continue
            number += 1
            if progress is not None and number % PROGRESS_EVERY == 0:
                progress(min(text.buffer.tell(), total), total)
            if lines.nul:
                yield Row(number, [], _NUL_ROW)
            elif lines.too_long:
                yield Row(number, [], _LONG_LINE)
            elif lines.chars > MAX_CELL_CHARS and max(map(len, fields), default=0) > MAX_CELL_CHARS:
                yield Row(number, [], LONG_CELL)
            elif any(fields):
                if number == 1 and fields[0].startswith("\ufeff"):
                    fields[0] = fields[0][1:]  # a BOM left by an explicit "utf-8" choice
                yield Row(number, [f or None for f in fields])
        if progress is not None:
            progress(total, total)
