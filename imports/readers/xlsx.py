"""Read an XLSX worksheet row by row, streamed straight out of the zip, part by part.

The workbook's structure (``_Book``) says which parts hold the sheets and the shared strings, and refuses zips
that are not plain workbooks. Every unzipped byte is charged to a budget (``_Budget``), so a zip bomb is stopped
while it inflates. A fast scanner reads the XML that Excel, openpyxl, XlsxWriter and LibreOffice write; anything
else goes to expat with defusedxml's protections, which reads any valid sheet.
"""

from __future__ import annotations

import os
import posixpath
import pyexpat
import re
import zipfile
import zlib
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from imports.readers.common import (
    CHUNK,
    LONG_CELL,
    MAX_CELL_CHARS,
    PROGRESS_EVERY,
    SAVE_AS,
    THEN_UPLOAD,
    UTF8_BOM,
    UTF16_BOMS,
    FileInfo,
    FileRejected,
    ProgressCallback,
    Row,
    not_a_spreadsheet,
)

_MAX_RATIO = 200  # a sheet compresses 5-20:1; a part inflating more than this is a zip bomb ...
_RATIO_MIN_BYTES = 10 * 1024**2  # ... once it is big enough to matter
_MAX_COLUMNS = 16_384  # Excel's last column, XFD
_SMALL_PART_BYTES = 64 * 1024**2  # workbook.xml, relationships, content types
_FAST_BUFFER_BYTES = 4 * 1024**2  # far above any real row or string; bigger ones go to the XML parser

_XLSM = (
    "This Excel file contains macros (.xlsm). Open it in Excel and save it as a plain Excel workbook (.xlsx) "
    f"or CSV, {THEN_UPLOAD}"
)
_XLSB = f"This is an Excel binary workbook (.xlsb). {SAVE_AS}"
_ODS = (
    "This is an OpenDocument spreadsheet (.ods). Open it in LibreOffice or Excel and save it as .xlsx or CSV, "
    f"{THEN_UPLOAD}"
)
_DAMAGED = f"This Excel file is damaged or incomplete and cannot be read. Open it in Excel, save it again as .xlsx, {THEN_UPLOAD}"
_XML_FORBIDDEN = (
    "This Excel file contains XML entity declarations, which real spreadsheets never have and which are used to "
    f"attack servers, so it was not read. Open it in Excel, save it again as .xlsx, {THEN_UPLOAD}"
)
_NO_SHEETS = f"This Excel file has no worksheets to read. Check that you picked the right file, {THEN_UPLOAD}"
_UNSUPPORTED_XML = (
    f"This Excel file is saved in an unusual text encoding. Open it in Excel, save it again as .xlsx, {THEN_UPLOAD}"
)
_BAD_SHARED_STRING = "This row refers to text that is missing from the file."
_TOO_MANY_COLUMNS = "This row has cells beyond column XFD, the last column Excel allows."


def _zip_bomb(limit: int) -> FileRejected:
    return FileRejected(
        f"This Excel file unpacks to an unreasonable amount of data (more than {limit // 1024**2:,} MB, or more "
        f'than {_MAX_RATIO} times its packed size). That is how a "zip bomb" attack looks, so it was not read. '
        "If it is a genuine export, save it as CSV and upload that instead."
    )


def workbook_info(path: str | os.PathLike, sheet: str | None, max_bytes: int) -> FileInfo:
    """The workbook's worksheets and the one to read (``sheet`` by name, else the first a person would see),
    refused up front when the zip's own directory announces more than ``max_bytes`` unzipped."""
    with _open_zip(path) as zf:
        book = _Book(zf, _Budget(max_bytes))
        name, sheet_info = book.worksheet(sheet)
        book.budget.check_declared(i for i in (book.shared_strings, sheet_info) if i is not None)
        return FileInfo(format="xlsx", sheet=name, sheets=[n for n, _ in book.sheets])


def xlsx_rows(
    path: str | os.PathLike, sheet: str | None, progress: ProgressCallback | None, max_bytes: int
) -> Iterator[Row]:
    with _open_zip(path) as zf:
        budget = _Budget(max_bytes)
        book = _Book(zf, budget)
        _, sheet_info = book.worksheet(sheet)
        strings_info = book.shared_strings
        budget.check_declared(i for i in (strings_info, sheet_info) if i is not None)
        total = sheet_info.file_size + (strings_info.file_size if strings_info is not None else 0)
        strings = _shared_strings(zf, strings_info, budget) if strings_info is not None else []
        if progress is not None:
            progress(budget.done(strings_info), total)
        rows = _sheet_rows(lambda: budget.chunks(zf, sheet_info), strings)
        try:
            for count, (number, cells, problem) in enumerate(rows, 1):
                if problem is not None:
                    yield Row(number, [], problem)
                elif cells and cells.count(None) != len(cells):
                    yield Row(number, cells)
                if progress is not None and count % PROGRESS_EVERY == 0:
                    progress(budget.done(strings_info, sheet_info), total)
        finally:
            rows.close()
        if progress is not None:
            progress(total, total)


# --- the zip container -------------------------------------------------------------------------------------------


def _open_zip(path: str | os.PathLike) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise FileRejected(_DAMAGED)


class _Budget:
    """Counts unzipped bytes across the parts of one workbook, so a zip bomb is stopped while it inflates."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._charged: dict[str, int] = {}

    def check_declared(self, infos: Iterable[zipfile.ZipInfo]) -> None:
        """Refuse before reading anything when the zip's own directory already announces a bomb."""
        total = self.used
        for info in infos:
            total += max(0, info.file_size - self._charged.get(info.filename, 0))
            if info.file_size > _RATIO_MIN_BYTES and info.file_size > _MAX_RATIO * max(info.compress_size, 1):
                raise _zip_bomb(self.limit)
        if total > self.limit:
            raise _zip_bomb(self.limit)

    def chunks(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int | None = None) -> Iterator[bytes]:
        """The part's bytes in chunks, charged as they are unzipped. Reading a part again (a second, slower
        pass) is not charged twice."""
        self.check_declared([info])
        done = 0
        try:
            with zf.open(info) as part:
                while True:
                    try:
                        chunk = part.read(CHUNK)
                    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError):
                        raise FileRejected(_DAMAGED)
                    if not chunk:
                        return
                    done += len(chunk)
                    charged = self._charged.get(info.filename, 0)
                    if done > charged:
                        self.used += done - charged
                        self._charged[info.filename] = done
                    if self.used > self.limit or (limit is not None and done > limit):
                        raise _zip_bomb(self.limit)
                    if done > _RATIO_MIN_BYTES and done > _MAX_RATIO * max(info.compress_size, 1):
                        raise _zip_bomb(self.limit)
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError):
            raise FileRejected(_DAMAGED)  # e.g. an encrypted member or an unknown compression method

    def done(self, *infos: zipfile.ZipInfo | None) -> int:
        return sum(self._charged.get(i.filename, 0) for i in infos if i is not None)


_REL_OFFICE_DOCUMENT = "/officeDocument"
_REL_WORKSHEET = "/worksheet"
_REL_SHARED_STRINGS = "/sharedStrings"


class _Book:
    """The workbook's structure: which parts hold which sheets and the shared strings. Refuses zips that are
    not plain workbooks (ODS, macro workbooks, XLSB, Word files, ...)."""

    def __init__(self, zf: zipfile.ZipFile, budget: _Budget) -> None:
        self.zf = zf
        self.budget = budget
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            self._members.setdefault(info.filename.replace("\\", "/").lstrip("/").lower(), info)
        self._refuse_other_zips()
        main = self._main_part()
        sheet_targets, self.shared_strings = self._relationships(main)
        self.sheets: list[tuple[str, zipfile.ZipInfo]] = []
        self._hidden: set[str] = set()
        root = self._xml(main)
        for element in root.iter():
            if _local_tag(element.tag) != "sheet":
                continue
            name = element.get("name")
            rel_id = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
            member = self.member(sheet_targets.get(rel_id, ""))
            if name is None or member is None:
                continue  # chart sheets, dialog sheets and dangling references hold no rows
            self.sheets.append((name, member))
            if element.get("state") in ("hidden", "veryHidden"):
                self._hidden.add(name)
        if not self.sheets:
            raise FileRejected(_NO_SHEETS)

    def member(self, name: str | None) -> zipfile.ZipInfo | None:
        if not name:
            return None
        return self._members.get(name.lstrip("/").lower())

    def worksheet(self, name: str | None) -> tuple[str, zipfile.ZipInfo]:
        """The named sheet, or else the first one a person opening the file would see."""
        if name is None:
            visible = [s for s in self.sheets if s[0] not in self._hidden]
            return (visible or self.sheets)[0]
        for wanted in (name, name.strip().casefold()):
            for sheet_name, info in self.sheets:
                if sheet_name == wanted or sheet_name.strip().casefold() == wanted:
                    return sheet_name, info
        names = ", ".join(f'"{n}"' for n, _ in self.sheets)
        raise FileRejected(f'This workbook has no sheet named "{name}". Its sheets are: {names}. Pick one of those.')

    def _refuse_other_zips(self) -> None:
        mimetype = self.member("mimetype")
        if mimetype is not None:
            kind = self._read(mimetype, 1024).strip()
            if kind.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
                raise FileRejected(_ODS)
            if kind.startswith(b"application/vnd.oasis.opendocument"):
                raise not_a_spreadsheet("an OpenDocument file")
        if self.member("[Content_Types].xml") is None:
            raise not_a_spreadsheet("a ZIP archive")
        types = [
            (element.get("ContentType") or "").lower()
            for element in self._xml("[Content_Types].xml").iter()
            if _local_tag(element.tag) in ("Default", "Override")
        ]
        names = self._members.keys()
        if any(".sheet.binary." in t for t in types) or "xl/workbook.bin" in names:
            raise FileRejected(_XLSB)
        if any("macroenabled" in t for t in types) or any(n.endswith("vbaproject.bin") for n in names):
            raise FileRejected(_XLSM)
        if not any("spreadsheetml" in t for t in types):
            if any("wordprocessingml" in t for t in types):
                raise not_a_spreadsheet("a Word document")
            if any("presentationml" in t for t in types):
                raise not_a_spreadsheet("a PowerPoint file")

    def _main_part(self) -> str:
        if self.member("_rels/.rels") is not None:
            for rel_type, target in self._rels("_rels/.rels", "").values():
                if rel_type.endswith(_REL_OFFICE_DOCUMENT) and self.member(target) is not None:
                    return target
        if self.member("xl/workbook.xml") is not None:
            return "xl/workbook.xml"
        raise not_a_spreadsheet("a ZIP archive")

    def _relationships(self, main: str) -> tuple[dict[str, str], zipfile.ZipInfo | None]:
        folder, base = posixpath.split(main)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        rels = self._rels(rels_name, folder) if self.member(rels_name) is not None else {}
        sheets = {rid: target for rid, (rel_type, target) in rels.items() if rel_type.endswith(_REL_WORKSHEET)}
        shared = next((t for rel_type, t in rels.values() if rel_type.endswith(_REL_SHARED_STRINGS)), None)
        return sheets, self.member(shared) or self.member(posixpath.join(folder, "sharedStrings.xml"))

    def _rels(self, name: str, folder: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, part name), targets resolved against ``folder``."""
        out = {}
        for element in self._xml(name).iter():
            if _local_tag(element.tag) != "Relationship" or element.get("TargetMode") == "External":
                continue
            target = element.get("Target") or ""
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[element.get("Id") or ""] = (element.get("Type") or "", path)
        return out

    def _read(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        return b"".join(self.budget.chunks(self.zf, info, limit))

    def _xml(self, name: str) -> Element:
        info = self.member(name)
        if info is None:
            raise FileRejected(_DAMAGED)
        data = self._read(info, _SMALL_PART_BYTES)
        try:
            return SafeET.fromstring(data, forbid_dtd=True)
        except defusedxml.DefusedXmlException:
            raise FileRejected(_XML_FORBIDDEN)
        except (ParseError, ValueError):
            raise FileRejected(_DAMAGED)


def _local_tag(tag: str) -> str:
    return tag.rpartition("}")[2]


# --- reading the XML ---------------------------------------------------------------------------------------------


class _NotSimple(Exception):
    """The fast scanner met XML it does not handle (comments, prefixes, odd encodings...): use the XML parser."""


# Predefined and numeric character references; anything else would need a DTD, which is refused.
_ENTITY = re.compile(r"&(?:#([0-9]+)|#x([0-9a-fA-F]+)|(amp|lt|gt|quot|apos));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _entity(match: re.Match) -> str:
    dec, hexa, name = match.groups()
    if name:
        return _NAMED[name]
    try:
        return chr(int(dec) if dec else int(hexa, 16))
    except (ValueError, OverflowError):
        return "\ufffd"


def _xml_text(raw: bytes) -> str:
    """Character data as an XML parser would report it: decoded, line ends normalised, references resolved."""
    text = raw.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    return text


_CONTAINERS = {
    name: re.compile(rb"<(\w+:)?" + name + rb"(?:\s+[\w:.-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>")
    for name in (b"sheetData", b"sst")
}
_XML_DECL = re.compile(rb"\s*<\?xml\b([^>]*)\?>")
_ENCODING_ATTR = re.compile(rb"encoding\s*=\s*[\"']([\w.:-]+)")


def _fast_regions(chunks: Iterator[bytes], name: bytes, end: bytes) -> Iterator[bytes]:
    """The content of the container element (sheetData, sst) in pieces of whole items: each piece ends with
    an ``end`` tag (</row>, </si>), except the last, which ends where the container does.

    This only works because markup cannot hide in text (a literal "<" in text is escaped), so it refuses
    (with _NotSimple) anything that could: comments, CDATA, processing instructions, DOCTYPE, prefixed
    names, non-UTF-8 documents. Those go to the XML parser instead."""
    container = _CONTAINERS[name]
    buf = b""
    while (match := container.search(buf)) is None:
        chunk = next(chunks, b"")
        if not chunk or len(buf) > _FAST_BUFFER_BYTES:
            raise _NotSimple
        buf += chunk
    head = buf[: match.start()].removeprefix(UTF8_BOM)
    if head.startswith(UTF16_BOMS) or b"<!" in head or match.group(1):
        raise _NotSimple
    declaration = _XML_DECL.match(head)
    if declaration is not None:
        encoding = _ENCODING_ATTR.search(declaration.group(1))
        if encoding is not None and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
            raise _NotSimple
        head = head[declaration.end() :]
    if b"<?" in head:
        raise _NotSimple
    if match.group(2):  # <sheetData/>
        return
    close = b"</" + name + b">"
    buf = buf[match.end() :]
    while True:
        if b"<!" in buf or b"<?" in buf:
            raise _NotSimple
        stop = buf.find(close)
        if stop >= 0:
            yield buf[:stop]
            return
        cut = buf.rfind(end)
        if cut >= 0:
            cut += len(end)
            yield buf[:cut]
            buf = buf[cut:]
        elif len(buf) > _FAST_BUFFER_BYTES:
            raise _NotSimple
        chunk = next(chunks, b"")
        if not chunk:
            raise _NotSimple  # the document ends early: let the XML parser say so
        buf += chunk


def _expat(handler: _StringsHandler | _SheetHandler) -> pyexpat.XMLParserType:
    """An expat parser with defusedxml's protections: any DOCTYPE (hence any entity declaration, the
    billion-laughs attack) or external reference is refused. Names are matched by local part ourselves."""
    parser = pyexpat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartDoctypeDeclHandler = _forbid_dtd
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_entity
    parser.ExternalEntityRefHandler = _forbid_external
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data
    return parser


def _forbid_dtd(name: str, sysid: str | None, pubid: str | None, *_: object) -> None:
    raise defusedxml.DTDForbidden(name, sysid, pubid)


def _forbid_entity(name: str, *_: object) -> None:
    raise defusedxml.EntitiesForbidden(name, None, None, None, None, None)


def _forbid_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> None:
    raise defusedxml.ExternalReferenceForbidden(context, base, sysid, pubid)


def _parse(parser: pyexpat.XMLParserType, data: bytes, final: bool) -> None:
    try:
        parser.Parse(data, final)
    except defusedxml.DefusedXmlException:
        raise FileRejected(_XML_FORBIDDEN)
    except pyexpat.ExpatError as exc:
        if exc.code in (
            pyexpat.errors.codes[pyexpat.errors.XML_ERROR_UNKNOWN_ENCODING],
            pyexpat.errors.codes[pyexpat.errors.XML_ERROR_INCORRECT_ENCODING],
        ):
            raise FileRejected(_UNSUPPORTED_XML)
        raise FileRejected(_DAMAGED)


_LOCAL_NAMES: dict[str, str] = {}


def _local(name: str) -> str:
    local = _LOCAL_NAMES.get(name)
    if local is None:
        local = name.rpartition(":")[2]
        if len(_LOCAL_NAMES) < 4096:  # element names come from the upload: never let them grow a cache for good
            _LOCAL_NAMES[name] = local
    return local


class _TooLong:
    """Marks a shared string longer than MAX_CELL_CHARS, so a cell using it flags its row."""


_TOO_LONG = _TooLong()
_MISSING = object()  # a shared-string index past the end of the table


# --- shared strings ---

# A shared-strings part larger than this (as declared; it only chooses the table's shape) is kept packed: Excel
# stores every distinct text of a sheet once there, and a million-row export has millions (account numbers,
# names, e-mails), which as Python strings took 320 MB for 4.9 million of them.
PACK_STRINGS_ABOVE = 32 * 1024**2
# The most of a shared-strings part that is held, counted as the part's own bytes (texts and their markup): the
# reader must keep the whole table while it reads the sheet, and a part that inflates only 96:1 passes the zip-bomb
# checks yet can unpack to gigabytes. Past this the file is refused, with a way out. The million-row export of
# docs/benchmarks.md has a 139 MB part; 256 MB of it keeps a worker near 400 MB at most.
MAX_SHARED_STRINGS_BYTES = 256 * 1024**2


def _strings_too_big() -> FileRejected:
    return FileRejected(
        "This Excel file holds more distinct texts than can be read at once (its table of texts is over "
        f"{MAX_SHARED_STRINGS_BYTES // 1024**2:,} MB). Save the sheet as CSV and upload that instead: a CSV of "
        "any size can be read, or split the workbook into smaller files."
    )


class _PackedStrings:
    """A shared-strings table as one UTF-8 buffer and the end offset of each text: about a third of the memory of
    a list of strings, for 0.2 µs more per cell read. Indexes like the list it replaces: a text, None for an
    empty one, _TOO_LONG, or IndexError past the end."""

    __slots__ = ("_data", "_ends", "_too_long")

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("Q")
        self._too_long: set[int] = set()

    def extend(self, texts: list) -> None:
        data, ends = self._data, self._ends
        for text in texts:
            if text is _TOO_LONG:
                self._too_long.add(len(ends))
            elif text:
                data += text.encode("utf-8", "surrogatepass")
            ends.append(len(data))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int):
        ends = self._ends
        end = ends[index]
        start = ends[index - 1] if index else 0
        if start == end:
            return _TOO_LONG if index in self._too_long else None
        return self._data[start:end].decode("utf-8", "surrogatepass")


class _StringsHandler:
    """Collects <si> items for the XML-parser path: rich-text runs concatenated, phonetic hints (rPh) left out."""

    def __init__(self) -> None:
        self.strings: list[str | None | _TooLong] = []
        self._parts: list[str] = []
        self._size = 0
        self._held = 0  # texts kept so far, and a tag's worth per item, as the fast path counts them
        self._collect = False
        self._phonetic = 0

    def start(self, name: str, attrs: dict) -> None:
        tag = _local(name)
        if tag == "si":
            self._parts, self._size = [], 0
        elif tag == "t":
            self._collect = not self._phonetic
        elif tag == "rPh":
            self._phonetic += 1

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag == "t":
            self._collect = False
        elif tag == "rPh":
            self._phonetic -= 1
        elif tag == "si":
            self.strings.append(_TOO_LONG if self._size > MAX_CELL_CHARS else ("".join(self._parts) or None))
            self._held += min(self._size, MAX_CELL_CHARS) + 16
            if self._held > MAX_SHARED_STRINGS_BYTES:
                raise _strings_too_big()

    def data(self, text: str) -> None:
        if self._collect:
            self._size += len(text)
            if self._size <= MAX_CELL_CHARS:
                self._parts.append(text)


_SI = re.compile(rb"<si>(?:<t(?: xml:space=\"preserve\")?>([^<]*)</t>|<t(?: xml:space=\"preserve\")?/>)?</si>")


def _shared_strings(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> list | _PackedStrings:
    chunks = budget.chunks(zf, info)
    try:
        return _fast_shared_strings(chunks, _PackedStrings() if info.file_size > PACK_STRINGS_ABOVE else [])
    except _NotSimple:
        pass
    finally:
        chunks.close()
    handler = _StringsHandler()
    parser = _expat(handler)
    chunks = budget.chunks(zf, info)
    try:
        for chunk in chunks:
            _parse(parser, chunk, False)
        _parse(parser, b"", True)
    finally:
        chunks.close()
    return handler.strings


def _fast_shared_strings(chunks: Iterator[bytes], strings: list | _PackedStrings) -> list | _PackedStrings:
    held = 0
    for region in _fast_regions(chunks, b"sst", b"</si>"):
        held += len(region)
        if held > MAX_SHARED_STRINGS_BYTES:
            raise _strings_too_big()
        found = _SI.findall(region)
        # Only <si> starts with "<si" in this part, so equal counts mean every item was a plain one.
        if len(found) != region.count(b"<si"):
            strings.extend(_strings_fragment(region))
            continue
        if b"&" in region or b"\r" in region:
            texts = [_xml_text(raw) for raw in found]
        else:
            texts = [raw.decode("utf-8", "replace") for raw in found]
        if found and max(map(len, found)) > MAX_CELL_CHARS:  # bytes >= characters: a cheap first test
            texts = [_TOO_LONG if len(t) > MAX_CELL_CHARS else t for t in texts]
        strings.extend([t or None for t in texts])
    return strings


def _strings_fragment(fragment: bytes) -> list:
    handler = _StringsHandler()
    parser = _expat(handler)
    try:
        parser.Parse(b"<_>" + fragment + b"</_>", True)
    except pyexpat.ExpatError:
        raise _NotSimple
    return handler.strings


# --- sheet rows ---

_PLAIN_INT_B = re.compile(rb"[+-]?[0-9]+(?:\.0*)?")
_PLAIN_INT_S = re.compile(r"[+-]?[0-9]+(?:\.0*)?")


def _row_number(ref: str | bytes | None, last: int) -> int:
    """The row's r= number, or the one after the previous row when it has none (or an absurd one)."""
    return int(ref) if ref and len(ref) <= 9 and ref.isdigit() else last + 1


def _number(text: bytes | str) -> int | float | str:
    """A numeric cell's value. Plain integral decimals ("5552013344", "5552013344.0") become int, so phone
    numbers and account numbers keep every digit; exponent forms ("5.552E+09") stay float, since their
    missing digits are a sign of a number already rounded for display."""
    text = text.strip()
    # int() refuses more than 4,300 digits; no genuine cell comes anywhere near 100
    if len(text) <= 100 and (_PLAIN_INT_B if isinstance(text, bytes) else _PLAIN_INT_S).fullmatch(text):
        return int(text.split(b"." if isinstance(text, bytes) else ".", 1)[0])
    try:
        return float(text)
    except ValueError:
        return _as_text(text)


def _as_text(text: bytes | str) -> str:
    return _xml_text(text) if isinstance(text, bytes) else text


def _cell_value(cell_type: str | None, text: str | None, strings: list) -> tuple[object, str | None]:
    """(value, problem) of one cell from its type attribute and text (the <v>, or the <is> text for inlineStr)."""
    if not text:
        return None, None
    if cell_type is None or cell_type == "n":
        return _number(text), None
    if cell_type == "s":
        try:
            index = int(text)
            value = strings[index] if index >= 0 else _MISSING
        except (ValueError, IndexError):
            value = _MISSING
        if value is _MISSING:
            return None, _BAD_SHARED_STRING
        return (None, LONG_CELL) if value is _TOO_LONG else (value, None)
    if cell_type == "b":
        return ("TRUE" if text.strip() in ("1", "true") else "FALSE"), None
    if cell_type == "e":
        return None, None  # #N/A, #REF! and friends carry no phone or tag
    # inlineStr, str (a formula's text), d (ISO date) and anything unknown: keep the text
    return (None, LONG_CELL) if len(text) > MAX_CELL_CHARS else (text, None)


_COLUMNS: dict[bytes, int] = {}  # only valid columns are cached, so it stays within Excel's 16,384


def _column(letters: bytes) -> int:
    """0-based index of upper-case column letters; -1 when they are not a column Excel can have."""
    index = _COLUMNS.get(letters)
    if index is None:
        index = 0
        for code in letters:
            if not 65 <= code <= 90:
                return -1
            index = index * 26 + code - 64
        index -= 1
        if not 0 <= index < _MAX_COLUMNS:
            return -1
        _COLUMNS[letters] = index
    return index


def _place(cells: list, col: int, value: object) -> None:
    if col > len(cells):
        cells.extend([None] * (col - len(cells)))
    if col == len(cells):
        cells.append(value)
    else:
        cells[col] = value  # a repeated reference: the later cell wins, as in Excel's own reading


RawRow = tuple[int, list, str | None]


class _SheetHandler:
    """Rows of a worksheet for the XML-parser path (any valid sheet XML: prefixes, comments, pretty-printing)."""

    def __init__(self, strings: list, last_number: int = 0, in_data: bool = False) -> None:
        self.strings = strings
        self.rows: list[RawRow] = []
        self.last_number = last_number
        self._in_data = in_data
        self._cells: list | None = None
        self._problem: str | None = None
        self._next_col = 0
        self._col = 0
        self._type: str | None = None
        self._parts: list[str] = []
        self._size = 0
        self._collect = False
        self._inline = False
        self._phonetic = 0

    def start(self, name: str, attrs: dict) -> None:
        tag = _local(name)
        if self._cells is None:
            if tag == "row" and self._in_data:
                self.last_number = _row_number(attrs.get("r"), self.last_number)
                self._cells, self._problem, self._next_col = [], None, 0
            elif tag == "sheetData":
                self._in_data = True
        elif tag == "c":
            self._col = col = self._column(attrs.get("r"))
            self._next_col = col + 1
            self._type = attrs.get("t")
            self._parts, self._size, self._collect, self._inline = [], 0, False, False
        elif tag == "v":
            self._collect = not self._inline
        elif tag == "is":
            self._inline = True
            self._parts, self._size = [], 0
        elif tag == "t":
            self._collect = self._inline and not self._phonetic
        elif tag == "rPh":
            self._phonetic += 1

    def end(self, name: str) -> None:
        tag = _local(name)
        if self._cells is None:
            if tag == "sheetData":
                self._in_data = False
        elif tag == "c":
            self._collect = False
            if self._col >= _MAX_COLUMNS:
                self._problem = _TOO_MANY_COLUMNS
                return
            if self._size > MAX_CELL_CHARS:
                self._problem = LONG_CELL
                return
            cell_type = self._type
            if self._inline and cell_type is None:
                cell_type = "inlineStr"
            value, problem = _cell_value(cell_type, "".join(self._parts), self.strings)
            if problem is not None:
                self._problem = problem
            _place(self._cells, self._col, value)
        elif tag in ("v", "t"):
            self._collect = False
        elif tag == "rPh":
            self._phonetic -= 1
        elif tag == "row":
            self.rows.append((self.last_number, self._cells, self._problem))
            self._cells = None

    def data(self, text: str) -> None:
        if self._collect:
            self._size += len(text)
            if self._size <= MAX_CELL_CHARS:
                self._parts.append(text)

    def _column(self, ref: str | None) -> int:
        """The cell's column from r= ("C5"), or the one after the previous cell when r= is missing or unusable;
        _MAX_COLUMNS for letters past XFD, which flags the row."""
        letters = (ref or "").rstrip("0123456789").upper().encode("ascii", "replace")
        if not letters:
            return self._next_col
        col = _column(letters)
        if col >= 0:
            return col
        return _MAX_COLUMNS if letters.isalpha() else self._next_col


def _sheet_rows(open_chunks: Callable[[], Generator[bytes]], strings: list) -> Iterator[RawRow]:
    """All row elements of the sheet, blank ones included (so both paths count alike). The fast scanner
    does the work; if it meets XML it does not handle, the XML parser starts over and skips what was sent."""
    sent = 0
    chunks = open_chunks()
    try:
        for row in _fast_sheet_rows(chunks, strings):
            sent += 1
            yield row
        return
    except _NotSimple:
        pass
    finally:
        chunks.close()
    handler = _SheetHandler(strings)
    parser = _expat(handler)
    seen = 0
    chunks = open_chunks()
    try:
        for chunk in chunks:
            _parse(parser, chunk, False)
            for row in handler.rows:
                seen += 1
                if seen > sent:
                    yield row
            handler.rows = []
        _parse(parser, b"", True)
    finally:
        chunks.close()
    for row in handler.rows:
        seen += 1
        if seen > sent:
            yield row


_ATTRS = rb"((?: [\w:.-]+=\"[^\"]*\")*)"
_ROW_OPEN = re.compile(rb"\s*<row(?: r=\"([0-9]+)\")?" + _ATTRS + rb"\s*(/?)>")
# One cell the way Excel, openpyxl, XlsxWriter and LibreOffice write it: r, s, t in that order, then
# optionally a formula, a value, or a plain inline string. Anything else goes to the XML parser.
_CELL = re.compile(
    rb"<c(?: r=\"([A-Z]{1,3})[0-9]+\")?(?: s=\"[0-9]+\")?(?: t=\"(\w+)\")?" + _ATTRS + rb"\s*"
    rb"(?:/>|>"
    rb"(?:<f(?: [\w:.-]+=\"[^\"]*\")*\s*/>|<f(?: [\w:.-]+=\"[^\"]*\")*\s*>[^<]*</f>)?"
    rb"(?:<v>([^<]*)</v>|<v/>)?"
    rb"(?:<is><t(?: xml:space=\"preserve\")?>([^<]*)</t></is>)?"
    rb"</c>)"
)


def _fast_sheet_rows(chunks: Iterator[bytes], strings: list) -> Iterator[RawRow]:
    last = [0]
    for region in _fast_regions(chunks, b"sheetData", b"</row>"):
        pieces = region.split(b"</row>")
        tail = pieces.pop()  # b"" unless the sheet's data ends here
        for piece in pieces:
            before = last[0]
            row = _fast_row(piece, strings, last)
            if row is None:
                last[0] = before
                yield from _rows_fragment(piece + b"</row>", strings, last)
            else:
                yield from row
        if tail.strip():
            yield from _rows_fragment(tail, strings, last)


def _rows_fragment(fragment: bytes, strings: list, last: list[int]) -> list[RawRow]:
    handler = _SheetHandler(strings, last[0], in_data=True)
    parser = _expat(handler)
    try:
        parser.Parse(b"<_>" + fragment + b"</_>", True)
    except pyexpat.ExpatError:
        raise _NotSimple
    last[0] = handler.last_number
    return handler.rows


def _fast_row(piece: bytes, strings: list, last: list[int]) -> list[RawRow] | None:
    """The row(s) in the text before one </row>, or None when it needs the XML parser. ``last`` carries the
    previous row number, for rows without r=."""
    out: list[RawRow] = []
    pos = 0
    while True:
        match = _ROW_OPEN.match(piece, pos)
        if match is None:
            return None
        ref, extra, empty = match.groups()
        if extra and b" r=" in extra:
            return None
        number = last[0] = _row_number(ref, last[0])
        pos = match.end()
        if not empty:
            break
        out.append((number, [], None))  # <row r="7"/>: formatting only
    found = _CELL.findall(piece, pos)
    # A cell the pattern cannot read would be skipped silently: every "<c" must be one of the matches (rich
    # text brings <color>/<charset> along, which fails this too, as it should).
    if len(found) != piece.count(b"<c", pos):
        return None
    cells: list = []
    problem = None
    next_col = 0
    too_long, missing, columns = _TOO_LONG, _MISSING, _COLUMNS
    # findall gives b"" for an absent group: no r= (positional), no t= (a number), no <v>, no <is>.
    try:
        for letters, cell_type, extra, v, inline in found:
            if extra and (b" r=" in extra or b" t=" in extra):
                return None
            if letters:
                col = columns.get(letters)
                if col is None:
                    col = _column(letters)
                    if col < 0:
                        problem = _TOO_MANY_COLUMNS
                        continue
            else:
                col = next_col
                if col >= _MAX_COLUMNS:
                    problem = _TOO_MANY_COLUMNS
                    continue
            next_col = col + 1
            if inline:
                value, cell_problem = _cell_value("inlineStr", _xml_text(inline), strings)
                if cell_problem is not None:
                    problem = cell_problem
            elif not cell_type or cell_type == b"n":
                value = (int(v) if v.isdigit() else _number(v)) if v else None
            elif cell_type == b"s":
                value = None
                if v:
                    try:
                        value = strings[int(v)] if v.isdigit() else missing
                    except IndexError:
                        value = missing
                    if value is too_long:
                        value, problem = None, LONG_CELL
                    elif value is missing:
                        value, problem = None, _BAD_SHARED_STRING
            else:
                value, cell_problem = _cell_value(cell_type.decode(), _xml_text(v) if v else None, strings)
                if cell_problem is not None:
                    problem = cell_problem
            if col == len(cells):
                cells.append(value)
            else:
                _place(cells, col, value)
    except ValueError:  # e.g. a number of thousands of digits, which int() refuses
        return None
    out.append((number, cells, problem))
    return out
