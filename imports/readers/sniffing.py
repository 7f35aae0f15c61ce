"""What kind of file an upload is, by its content: an XLSX (a zip), a CSV/TXT, or something to refuse; and for text,
its encoding and delimiter.

Refusals name what the file is instead (an old .xls, a password-protected workbook, HTML or Excel 2003 XML saved
as .xls, a PDF, a program, an image, an empty file), so that a clerk knows what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections import Counter
from itertools import islice

from imports.readers.common import (
    CHUNK,
    SAVE_AS,
    THEN_UPLOAD,
    UTF8_BOM,
    UTF16_BOMS,
    FileInfo,
    FileRejected,
    not_a_spreadsheet,
)

_HEAD_BYTES = 64 * 1024  # magic numbers, binary test, delimiter sniffing
_BINARY_SAMPLE = 8 * 1024
_ENCODING_SAMPLE = 1024**2
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_RECORDS = 200

_EMPTY = "The file is empty. Check that you picked the right file, then upload it again."
_XLS = f"This is an old Excel .xls file. {SAVE_AS}"
_ENCRYPTED = (
    "This Excel file is protected with a password, so it cannot be read. Open it in Excel, remove the password, "
    f"save it as .xlsx, {THEN_UPLOAD}"
)
_HTML = f"This file is a web page (HTML), not a real spreadsheet, even if its name ends in .xls. {SAVE_AS}"
_XML2003 = f"This is an Excel 2003 XML spreadsheet. {SAVE_AS}"

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# Magic numbers of common non-spreadsheet files, with what to call them in the message.
_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"\x7fELF", "a program"),
    (b"\x89PNG\r\n\x1a\n", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF87a", "an image"),
    (b"GIF89a", "an image"),
    (b"II*\x00", "an image"),
    (b"MM\x00*", "an image"),
    (b"\x1f\x8b", "a compressed archive"),
    (b"7z\xbc\xaf\x27\x1c", "a compressed archive"),
    (b"Rar!\x1a\x07", "a compressed archive"),
    (b"{\\rtf", "a Word document"),
)
# C0 control bytes that plain text may legitimately contain.
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\v\x1a\x1b")
_BINARY_TABLE = bytes(0 if b >= 0x20 or b in _TEXT_CONTROLS else 1 for b in range(256))


def sniff(path: str | os.PathLike) -> tuple[str, bytes]:
    """('zip' or 'text', the file's first bytes), or raise FileRejected naming what the file is instead."""
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
        return _kind_of(head, f), head


def _kind_of(head: bytes, f: io.BufferedReader) -> str:
    """'zip' or 'text', or raise FileRejected naming what the file is instead."""
    if not head:
        raise FileRejected(_EMPTY)
    if head.startswith(_OLE2):
        raise FileRejected(_ENCRYPTED if _is_encrypted_ooxml(f) else _XLS)
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise not_a_spreadsheet(what)
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"AVI ", b"WAVE"):
        raise not_a_spreadsheet("a media file")
    if head.startswith(UTF16_BOMS):
        return "text"  # every other character is NUL in UTF-16: not a sign of binary here
    sample = head[:_BINARY_SAMPLE]
    controls = sum(sample.translate(_BINARY_TABLE))
    # A CSV may carry the odd NUL byte (flagged per row); executables, images and archives are full of them.
    if controls >= 8 and controls * 20 > len(sample):
        raise not_a_spreadsheet("a program" if head.startswith(b"MZ") else None)
    return "text"


def _is_encrypted_ooxml(f: io.BufferedReader) -> bool:
    """A password-protected .xlsx is an OLE2 container too; its directory names an EncryptedPackage stream."""
    marker = "EncryptedPackage".encode("utf-16-le")
    f.seek(0)
    start = f.read(_ENCODING_SAMPLE)
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(max(len(start), size - _ENCODING_SAMPLE))
    return marker in start or marker in f.read()


def text_info(path: str | os.PathLike, head: bytes, encoding: str | None, delimiter: str | None) -> FileInfo:
    if _is_blank(path, head):
        raise FileRejected(_EMPTY)
    _refuse_markup(head)
    if encoding is None:
        encoding = _sniff_encoding(path, head)
    sample = head.decode(encoding, errors="replace")
    if delimiter is None:
        delimiter = _sniff_delimiter(sample, truncated=len(head) == _HEAD_BYTES)
    return FileInfo(format="csv", encoding=encoding, delimiter=delimiter)


def _is_blank(path: str | os.PathLike, head: bytes) -> bool:
    """True when the whole file is only whitespace (and perhaps a BOM); reads past the head only while blank."""
    utf16 = head.startswith(UTF16_BOMS)

    def has_text(data: bytes) -> bool:
        return bool((data.replace(b"\x00", b"") if utf16 else data).strip())

    if has_text(head[2:] if utf16 else head.removeprefix(UTF8_BOM)):
        return False
    with open(path, "rb") as f:
        f.seek(len(head))
        while chunk := f.read(CHUNK):
            if has_text(chunk):
                return False
    return True


def _refuse_markup(head: bytes) -> None:
    """Some billing systems save an HTML table or Excel 2003 XML and call it .xls; neither is a CSV."""
    start = head[:2048].removeprefix(UTF8_BOM).lstrip().lower()
    if not start.startswith(b"<"):
        return
    if b"urn:schemas-microsoft-com:office:spreadsheet" in head.lower():
        raise FileRejected(_XML2003)
    if start.startswith((b"<html", b"<!doctype html", b"<table")) or b"<html" in start:
        raise FileRejected(_HTML)
    if start.startswith(b"<?xml"):
        raise not_a_spreadsheet("an XML document")


def _sniff_encoding(path: str | os.PathLike, head: bytes) -> str:
    if head.startswith(UTF8_BOM):
        return "utf-8-sig"
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    with open(path, "rb") as f:
        sample = f.read(_ENCODING_SAMPLE)
    try:
        # final=False: the sample may end in the middle of a multi-byte character
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _sniff_delimiter(sample: str, *, truncated: bool) -> str:
    """The delimiter giving the most consistent column count above one; among those consistent on 90% of the
    sampled records, the one giving the most columns (a decimal comma in a ;-file must not win). Else ","."""
    sample = sample.lstrip("\ufeff")
    best, best_key = ",", None
    for delimiter in _DELIMITERS:
        if delimiter not in sample:
            continue
        try:
            records = [
                r for r in islice(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), _SNIFF_RECORDS) if r
            ]
        except csv.Error:
            continue
        if truncated and len(records) > 1:
            records.pop()  # probably cut short by the end of the sample
        if not records:
            continue
        width, hits = Counter(len(r) for r in records).most_common(1)[0]
        if width < 2:
            continue
        consistency = hits / len(records)
        key = (1, width, consistency) if consistency >= 0.9 else (0, consistency, width)
        if best_key is None or key > best_key:
            best, best_key = delimiter, key
    return best
