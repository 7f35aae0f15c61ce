"""Reading: the file's rows, through its layout and the phone rules, into the run's staging table.

Streams: rows are read, normalised and written in batches, so memory stays flat whatever the file's size.
"""

from collections.abc import Callable, Iterator
from itertools import islice

from imports import readers
from imports.engine import layouts, store
from imports.fieldmap import FieldMap
from subscribers import phones

BATCH = 5_000
RAW_CHARS = 64


def detect(path, field_map: FieldMap | None) -> readers.FileInfo:
    if field_map is None:
        return readers.detect(path)
    return readers.detect(path, encoding=field_map.encoding, delimiter=field_map.delimiter, sheet=field_map.sheet)


def entries(
    path, field_map: FieldMap | None, progress: Callable[[int, int], None] | None = None, header: list | None = None
) -> Iterator:
    info = detect(path, field_map)
    rows = readers.read_rows(path, info, progress=progress)
    if field_map is None:
        return layouts.preformatted(rows, header)
    return layouts.alp(rows, field_map)


def _raw(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return str(cell)[:RAW_CHARS]


def _is_blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def stage(
    tables: store.Tables,
    path,
    field_map: FieldMap | None,
    progress: Callable[[int, int], None],
    header: list | None = None,
) -> int:
    """Stage every row of the file; returns the number of rows read (`header`: see layouts.preformatted)."""
    store.drop(tables)
    source = entries(path, field_map, progress, header)
    seq = 0
    read = 0
    with_language = field_map is not None and field_map.language_column is not None
    if with_language:
        store.create_languages(tables)
    with store.Loader(tables) as loader:
        while True:
            batch = list(islice(source, BATCH))
            if not batch:
                break
            read += len(batch)
            out: list[tuple] = []
            cells: list = []
            slots: list[tuple] = []  # (row number, raw text, tags, language) of each cell sent to the phone rules
            languages: list[tuple] = []  # (seq, phone, language) of the numbers the file gives a language
            for entry in batch:
                if entry.problem:
                    seq += 1
                    raw = _raw(next((c for c in entry.phones if not _is_blank(c)), None))
                    out.append((seq, entry.number, None, entry.problem, raw, [], entry.detail))
                    continue
                present = [cell for cell in entry.phones if not _is_blank(cell)]
                if not present:
                    seq += 1
                    out.append((seq, entry.number, None, "blank", "", [], ""))
                    continue
                for cell in present:
                    cells.append(cell)
                    slots.append((entry.number, cell, entry.tags, entry.language))
            for (number, cell, tags, language), result in zip(slots, phones.normalise_many(cells), strict=True):
                seq += 1
                if result.e164 is not None:
                    out.append((seq, number, result.e164, None, "", tags, ""))
                    if language:
                        languages.append((seq, result.e164, language))
                else:
                    out.append((seq, number, None, result.reason, _raw(cell), [], ""))
            loader.write(out)
            if languages:
                store.write_languages(tables, languages)
    return read
