"""Bounded memory whatever a spreadsheet's compression ratio: a 20 MB XLSX whose shared strings unpack to 1.9 GB
(96:1, under both zip-bomb checks) is refused with a clear message, and the worker that reads it stays small."""

import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from django.db import connection

from imports import readers, services
from imports.models import ImportRun, RunSource, Stage

ROOT = Path(__file__).resolve().parents[2]
STRINGS_BYTES = 1900 * 1024**2

_SMALL_PARTS = {
    "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    b"</Types>",
    "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    b"</Relationships>",
    "xl/workbook.xml": b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    b'<sheet name="Customers" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    b"</Relationships>",
    "xl/worksheets/sheet1.xml": b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>',
}


def _deflated(chunks):
    """Raw deflate of the chunks, with the CRC and size a zip member needs."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    crc = size = 0
    out = []
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        out.append(compressor.compress(chunk))
    out.append(compressor.flush())
    return b"".join(out), crc, size


def _bomb_strings(total: int):
    """The shared-strings part, as (deflated bytes, crc, size): plausible customer texts, repeated. Each block is
    compressed once and flushed so the next starts afresh, so its deflated bytes can be repeated as they are: the
    file takes seconds to build instead of a minute of compressing 1.9 GB."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    )
    block = b"".join(
        b"<si><t>Account %09d Lakeside Electric customer, District %d</t></si>" % (n % 60, n % 7) for n in range(16_000)
    )
    tail = b"</sst>"
    # Level 8 and a period of 420 texts inside deflate's 32 KB window: about 99:1, as the file that was sent.
    compressor = zlib.compressobj(8, zlib.DEFLATED, -15, 9)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    packed = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeats = (total - len(head) - len(tail)) // len(block)
    last = compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + repeats * len(block) + len(tail)
    return [first, *([packed] * repeats), last], crc, size


def _write_zip(path: Path, members) -> None:
    """A plain zip (no zip64: every member is under 4 GB) of already deflated members."""
    central = []
    with path.open("wb") as f:
        for name, (parts, crc, size) in members:
            offset = f.tell()
            compressed = sum(len(p) for p in parts)
            encoded = name.encode()
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, compressed, size, len(encoded), 0))
            f.write(encoded)
            for part in parts:
                f.write(part)
            central.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    20,
                    20,
                    0,
                    8,
                    0,
                    0x21,
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
                + encoded  # fmt: skip
            )
        start = f.tell()
        directory = b"".join(central)
        f.write(directory)
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), start, 0))


@pytest.fixture(scope="module")
def bomb_xlsx(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "customers.xlsx"
    members = [(name, _deflated_whole(content)) for name, content in _SMALL_PARTS.items()]
    members.append(("xl/sharedStrings.xml", _bomb_strings(STRINGS_BYTES)))
    _write_zip(path, members)
    return path


def _deflated_whole(content: bytes):
    data, crc, size = _deflated([content])
    return [data], crc, size


def test_the_file_is_what_the_attack_sent(bomb_xlsx):
    import zipfile

    with zipfile.ZipFile(bomb_xlsx) as zf:
        info = zf.getinfo("xl/sharedStrings.xml")
        with zf.open(info) as part:
            assert part.read(200).startswith(b'<?xml version="1.0" encoding="UTF-8"?><sst')
    assert bomb_xlsx.stat().st_size < 21 * 1024**2
    assert info.file_size > 1.8 * 1024**3
    assert 80 < info.file_size / info.compress_size < 200  # under the ratio check
    assert readers.detect(bomb_xlsx).format == "xlsx"  # and under the 2 GB budget: nothing refuses it up front


def test_reading_it_is_refused_with_what_to_do(bomb_xlsx):
    with pytest.raises(readers.FileRejected) as refused:
        list(readers.read_rows(bomb_xlsx, readers.detect(bomb_xlsx)))
    message = str(refused.value)
    assert "more distinct texts than can be read at once" in message and "Save the sheet as CSV" in message


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_that_reads_it_stays_under_500_mb(bomb_xlsx, account, rq_queues, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the test database over the network")
    with open(bomb_xlsx, "rb") as f:
        run = services.import_run_create(account=account, file=f, file_name="customers.xlsx", source=RunSource.WEB)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{connection.settings_dict['USER']}@127.0.0.1:5432/{connection.settings_dict['NAME']}",
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, "manage.py", "rqworker", "imports", "--burst"],
        cwd=ROOT, env=env, check=True, timeout=300, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # The worker and its work horse are waited for, so the largest of them shows in the children's peak.
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run.refresh_from_db()
    assert run.stage == Stage.FAILED
    assert "more distinct texts than can be read at once" in run.error
    assert not Path(run.file_path or "/nonexistent").exists()
    assert peak_kb > before or peak_kb < 500 * 1024  # a larger earlier child would hide ours: then ours was smaller
    assert peak_kb < 500 * 1024, f"the worker peaked at {peak_kb // 1024} MB"
    assert ImportRun.objects.filter(account=account).count() == 1
