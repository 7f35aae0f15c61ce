"""The field map of an ALP configuration: which columns of a CIS export hold phones, tags and the language.

Validated once, in `load()`; everything downstream (forms, services, the engine) works with a `FieldMap`, never a
raw dict. `dump()` gives the JSON stored in `ImportConfiguration.field_map`, in the shape it has always had.
"""

import re
from dataclasses import asdict, dataclass

from imports.readers import column_letter

_LETTERS = re.compile(r"[A-Za-z]{1,3}")
_DELIMITERS = (",", ";", "\t", "|")
_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")


@dataclass(frozen=True)
class FieldMap:
    phone_columns: tuple[str, ...]  # header names or column letters ("C")
    tag_columns: tuple[str, ...] = ()
    header_row: int = 1  # 1-based; 0 when the file has no header row
    delimiter: str | None = None  # None: detected
    encoding: str | None = None  # None: detected
    sheet: str | None = None  # None: the first sheet
    # The column that gives each number's language (en/es/fr, English/Spanish/French…); None: no such column.
    language_column: str | None = None

    @classmethod
    def load(cls, data: dict) -> "FieldMap":
        """A FieldMap from stored or submitted data; ValueError with a sentence when it does not make sense."""
        phones = _columns(data.get("phone_columns"))
        if not phones:
            raise ValueError("Name at least one phone column.")
        tags = _columns(data.get("tag_columns"))
        overlap = {c.lower() for c in phones} & {c.lower() for c in tags}
        if overlap:
            raise ValueError(f"A column cannot hold both phones and tags: {', '.join(sorted(overlap))}.")
        try:
            header_row = int(data.get("header_row", 1) or 0)
        except (TypeError, ValueError):
            raise ValueError("The header row must be a row number (0 if the file has no header).")
        if not 0 <= header_row <= 100:
            raise ValueError("The header row must be between 0 (no header) and 100.")
        if header_row == 0 and any(not is_letter(c) for c in phones + tags):
            raise ValueError("Without a header row, name columns by letter (A, B, C…).")
        delimiter = data.get("delimiter") or None
        if delimiter is not None and delimiter not in _DELIMITERS:
            raise ValueError("The delimiter must be a comma, semicolon, tab or pipe.")
        encoding = data.get("encoding") or None
        if encoding is not None and encoding not in _ENCODINGS:
            raise ValueError("The encoding must be UTF-8 or Windows-1252.")
        sheet = (data.get("sheet") or "").strip() or None
        language = (data.get("language_column") or "").strip() or None
        if language is not None:
            if language.lower() in {c.lower() for c in phones + tags}:
                raise ValueError(f"The language column “{language}” cannot also hold phones or tags.")
            if header_row == 0 and not is_letter(language):
                raise ValueError("Without a header row, name columns by letter (A, B, C…).")
        return cls(tuple(phones), tuple(tags), header_row, delimiter, encoding, sheet, language)

    def dump(self) -> dict:
        data = asdict(self)
        return {**data, "phone_columns": list(self.phone_columns), "tag_columns": list(self.tag_columns)}

    def resolve(self, header: list) -> tuple[list[int], list[int]]:
        phones, tags, _ = self.resolve_all(header)
        return phones, tags

    def resolve_all(self, header: list) -> tuple[list[int], list[int], int | None]:
        """The 0-based indexes of the phone, tag and language columns; see resolve()."""
        return self._resolve(header)

    def _resolve(self, header: list) -> tuple[list[int], list[int], int | None]:
        """The 0-based indexes of the phone and tag columns in a file with this header row.

        A name is matched against the header case-insensitively; a name that is not in the header but looks
        like a column letter is taken as one. ValueError names the columns the file lacks."""
        names = {str(cell).strip().lower(): i for i, cell in reversed(list(enumerate(header))) if cell is not None}
        missing = []

        def index(column: str) -> int | None:
            found = names.get(column.strip().lower())
            if found is None and is_letter(column):
                found = letter_index(column)
            if found is None:
                missing.append(column)
            return found

        phones = [index(c) for c in self.phone_columns]
        tags = [index(c) for c in self.tag_columns]
        language = index(self.language_column) if self.language_column else None
        if missing:
            raise ValueError(
                "The file has no column " + ", ".join(f"“{c}”" for c in missing) + ". Check the header row of the "
                "file, or change the configuration."
            )
        return [i for i in phones if i is not None], [i for i in tags if i is not None], language


def is_letter(column: str) -> bool:
    return bool(_LETTERS.fullmatch(column.strip()))


def letter_index(column: str) -> int:
    index = 0
    for char in column.strip().upper():
        index = index * 26 + (ord(char) - 64)
    return index - 1


def _columns(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    out, seen = [], set()
    for item in value:
        name = str(item).strip()
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


__all__ = ["FieldMap", "column_letter", "is_letter", "letter_index"]
