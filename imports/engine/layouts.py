"""Layouts: how a file's rows become (phone cells, tags) — Preformatted (phone in column A, every other cell a
tag) or an ALP field map (named phone and tag columns, everything else ignored)."""

from collections.abc import Iterator
from dataclasses import dataclass

from imports.fieldmap import FieldMap
from imports.readers import FileRejected, Row
from subscribers import phones
from subscribers.models import Tag, tag_key


@dataclass(slots=True)
class Entry:
    """One row of the file as the engine sees it."""

    number: int  # the file's row number
    phones: list  # the raw phone cells (at least one; blanks kept so a row of blanks is reported)
    tags: list[str]
    problem: str | None = None  # a reader problem or a tag problem: the row is rejected with this reason
    detail: str = ""
    language: str = ""  # en/es/fr from the ALP language column; "" leaves the number's language as it is


TAG_TOO_LONG = "tag_too_long"
UNREADABLE = "unreadable"


def tag_text(value) -> str:
    """A tag cell as text: spreadsheets give integers for "12" and floats for "12.5"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _clean_tags(cells) -> tuple[list[str], str | None]:
    seen: dict[str, str] = {}
    for cell in cells:
        name = tag_text(cell)
        if not name:
            continue
        if len(name) > Tag.MAX_LENGTH:
            return [], name
        seen.setdefault(tag_key(name), name)
    # In one order, so that two rows with the same tags have the same list (the engine compares lists).
    return [seen[key] for key in sorted(seen)], None


_CLEANED: dict[tuple, tuple[list[str], str | None]] = {}


def _cleaned(cells: list) -> tuple[list[str], str | None]:
    """_clean_tags, remembered: the tag columns of a file repeat a few thousand combinations over its rows.
    Only all-text cells are remembered, as a tuple key would take 1 and True (or 1.0) for the same cell; a
    text never equals a number, so any hit is a row of the same texts."""
    key = tuple(cells)
    cleaned = _CLEANED.get(key)
    if cleaned is None:
        cleaned = _clean_tags(cells)
        if all(cell.__class__ is str for cell in cells):
            if len(_CLEANED) > 50_000:
                _CLEANED.clear()
            _CLEANED[key] = cleaned
    return cleaned


def _entry(number: int, phone_cells: list, tag_cells: list) -> Entry:
    tags, too_long = _cleaned(tag_cells)
    if too_long is not None:
        detail = f"A tag is longer than {Tag.MAX_LENGTH} characters: “{too_long[:30]}…”."
        return Entry(number, phone_cells, [], TAG_TOO_LONG, detail)
    return Entry(number, phone_cells, tags)


def preformatted(rows: Iterator[Row], header: list | None = None) -> Iterator[Entry]:
    """`header`, when given, receives the cells of a first row skipped as a header, so a run that finds no number
    can say which row it took for column names."""
    first = True
    for row in rows:
        if row.problem:
            first = False
            yield Entry(row.number, [], [], UNREADABLE, row.problem)
            continue
        cells = row.cells
        if first:
            first = False
            if _is_header(cells[0] if cells else None):
                if header is not None:
                    header.extend(str(cell) for cell in cells if cell is not None and str(cell).strip())
                continue
        yield _entry(row.number, [cells[0] if cells else None], cells[1:])


def _is_header(cell) -> bool:
    """A first row whose column A is text, not a number, is a header (SPEC §4.1)."""
    if not isinstance(cell, str) or not any(char.isalpha() for char in cell):
        return False
    return phones.normalise(cell).e164 is None


_LANGUAGES: dict[str, str] = {}


def language_of(cell) -> str:
    """A language cell as en/es/fr; "" for a blank or a value that is not one (the number keeps its language)."""
    from subscribers.services import ServiceError, language_clean

    text = tag_text(cell)
    if not text:
        return ""
    found = _LANGUAGES.get(text)
    if found is None:
        try:
            found = language_clean(text)
        except ServiceError:
            found = ""
        if len(_LANGUAGES) < 1000:
            _LANGUAGES[text] = found
    return found


def alp(rows: Iterator[Row], field_map: FieldMap) -> Iterator[Entry]:
    phone_idx: list[int] | None = None
    tag_idx: list[int] = []
    language_idx: int | None = None
    if field_map.header_row == 0:
        phone_idx, tag_idx, language_idx = field_map.resolve_all([])
    for row in rows:
        if phone_idx is None:
            if row.number < field_map.header_row:
                continue
            if row.number > field_map.header_row:
                raise FileRejected(
                    f"Row {field_map.header_row} of the file, where the configuration expects the column names, is "
                    "empty. Check that you picked the right file, or change the header row of the configuration."
                )
            if row.problem:
                raise FileRejected(f"The header row (row {row.number}) could not be read: {row.problem}")
            try:
                phone_idx, tag_idx, language_idx = field_map.resolve_all(row.cells)
            except ValueError as exc:
                raise FileRejected(str(exc))
            continue
        if row.problem:
            yield Entry(row.number, [], [], UNREADABLE, row.problem)
            continue
        cells = row.cells
        width = len(cells)
        entry = _entry(
            row.number,
            [cells[i] if i < width else None for i in phone_idx],
            [cells[i] for i in tag_idx if i < width],
        )
        if language_idx is not None and language_idx < width:
            entry.language = language_of(cells[language_idx])
        yield entry
    if phone_idx is None and field_map.header_row:
        raise FileRejected(
            f"The file has no row {field_map.header_row} to read the column names from. Check that you picked the "
            "right file."
        )
