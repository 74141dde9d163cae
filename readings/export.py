"""The period's readings for the billing system, as CSV or XLSX, in bounded memory.

Each run is an export batch (readings.services.export_batch_record): the readings are recorded
first, in one statement, and the file is made of exactly the batch's readings. The batch is
marked complete once the last chunk has gone out. The API and the admin use these same functions.

CSV on PostgreSQL: PostgreSQL writes the lines itself (COPY … TO STDOUT WITH CSV) and they are
passed on as they arrive, about 64 KiB at a time; making each line in Python cost 8 times the COPY,
half of it formatting the times. Elsewhere (SQLite) rows stream from the ORM and csv.writer makes
the lines; the two give the same bytes (readings/tests/test_export_output.py holds them to it).
XLSX is written to a temporary file and sent from it: on PostgreSQL its worksheet's rows come
from COPY as xlsxwriter would write them, into xlsxwriter's own workbook (65 µs a row through
xlsxwriter was 7–12 times the COPY); elsewhere row by row through xlsxwriter (constant-memory mode).
The two give the same worksheet.
"""

import csv
import datetime as dt
import io
import re
import tempfile
import zipfile
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import IO

import psycopg
import xlsxwriter
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from xlsxwriter.utility import xl_rowcol_to_cell

from accounts.models import Meter, PersonalAccount, User
from readings.models import ExportBatch, ExportedReading, Reading
from readings.services import export_batch_complete, export_batch_record

COLUMNS = (
    "account_number",
    "eic",
    "meter_serial",
    "zones",
    "t1",
    "t2",
    "t3",
    "consumption_t1",
    "consumption_t2",
    "consumption_t3",
    "status",
    "channel",
    "submitted_at",
)
_FIELDS = (
    "meter__account__number",
    "meter__account__eic",
    "meter__serial",
    "meter__zones",
    "value1",
    "value2",
    "value3",
    "consumption1",
    "consumption2",
    "consumption3",
    "status",
    "channel",
    "submitted_at",
)
CHUNK = 5000


def period_rows(period: dt.date, batch: ExportBatch | None = None) -> Iterator[tuple]:
    """The period's readings (only the batch's, given one), every status, in the order they
    were recorded; times in Kyiv.

    Not sorted by account: sorting a million joined rows first made the first byte wait
    minutes, while the primary key's order streams at once (the batch's too: its primary key
    leads with the batch, then the reading).
    """
    readings = Reading.objects.filter(period=period)
    if batch is not None:
        readings = readings.filter(exports__batch=batch)
    rows = readings.order_by("id").values_list(*_FIELDS).iterator(chunk_size=CHUNK)
    for row in rows:
        yield (*row[:-1], timezone.localtime(row[-1]).isoformat(timespec="seconds"))


class _Line:
    """A file-like object whose write() hands back the line csv.writer made."""

    def write(self, line: str) -> str:
        return line


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for row in rows:
        yield writer.writerow(row)


def csv_chunks(batch: ExportBatch) -> Iterator[bytes]:
    """The batch's file as CSV (UTF-8, CRLF line ends), in chunks of about 64 KiB."""
    if connection.vendor == "postgresql":
        return _copied_csv(batch)
    return _joined(line.encode() for line in csv_lines(period_rows(batch.period, batch)))


# The batch's rows as PostgreSQL gives them to both formats: an empty string as NULL (PostgreSQL's CSV
# quotes an empty string, to tell it from NULL; csv.writer writes both as nothing, xlsxwriter leaves
# both cells out), the time as datetime.isoformat(timespec="seconds") writes it on the wall clock of
# settings.TIME_ZONE, without touching the session's time zone (a download broken off would leave it
# changed for the connection's next user in the pool).
_ROWS = """
    SELECT e.reading_id AS id, a.number, NULLIF(a.eic, '') AS eic, NULLIF(m.serial, '') AS serial, m.zones,
        r.value1, r.value2, r.value3, r.consumption1, r.consumption2, r.consumption3, r.status, r.channel,
        to_char(t.wall, 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN t.offset_ < '0' THEN '-' || to_char(-t.offset_, 'HH24:MI')
            ELSE '+' || to_char(t.offset_, 'HH24:MI') END AS submitted_at
    FROM {exported} e
    JOIN {reading} r ON r.id = e.reading_id
    JOIN {meter} m ON m.id = r.meter_id
    JOIN {account} a ON a.id = m.account_id
    CROSS JOIN LATERAL (
        SELECT r.submitted_at AT TIME ZONE %(zone)s AS wall,
            (r.submitted_at AT TIME ZONE %(zone)s) - (r.submitted_at AT TIME ZONE 'UTC') AS offset_
    ) t
    WHERE e.batch_id = %(batch)s AND r.period = %(period)s
"""
# PostgreSQL quotes exactly where csv.writer does: a comma, a quote, CR or LF in the value.
_COPY_CSV = """
COPY (
    SELECT number, eic, serial, zones, value1, value2, value3, consumption1, consumption2, consumption3,
        status, channel, submitted_at
    FROM ({rows}) q
    ORDER BY id
) TO STDOUT WITH (FORMAT csv)
"""


def _copy_statement(template: str, batch: ExportBatch) -> tuple[str, dict]:
    rows = _ROWS.format(
        exported=ExportedReading._meta.db_table,
        reading=Reading._meta.db_table,
        meter=Meter._meta.db_table,
        account=PersonalAccount._meta.db_table,
    )
    return template.format(rows=rows), {"zone": settings.TIME_ZONE, "batch": batch.pk, "period": batch.period}


_CHUNK_LINES = 700  # about 64 KiB: a line of the export is about 90 bytes


def _copied_csv(batch: ExportBatch) -> Iterator[bytes]:
    yield next(csv_lines(())).encode()
    # libpq hands over one line at a time, ending in LF; csv.writer ends lines in CRLF. Lines counted,
    # not their lengths added up: 0.6-0.9 s of CPU in Python for a million lines instead of 0.9-1.0.
    chunk: list = []
    for line in _copy_lines(*_copy_statement(_COPY_CSV, batch)):
        chunk.append(line)
        if len(chunk) >= _CHUNK_LINES:
            yield _crlf(chunk)
            chunk = []
    if chunk:
        yield _crlf(chunk)


def _copy_lines(statement: str, params: dict) -> Iterator[memoryview]:
    """The lines of COPY … TO STDOUT as libpq hands them over.

    psycopg's Copy sends the statement, and cancels it when the download breaks off (the generator
    is closed at a yield, inside the block); the lines are read from libpq itself, which takes half
    the time of Copy's own iteration (one generator and wait per line).
    """
    # psycopg's own cursor: Django's debug wrapper (DEBUG on, as in make run) takes no parameters for copy().
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        pgconn = copy.connection.pgconn
        while (received := pgconn.get_copy_data(0))[0] >= 0:
            yield received[1]
        result = pgconn.get_result()  # the COPY's own result: done, or why it failed
        while pgconn.get_result() is not None:
            pass
        if received[0] == -2 or result is None or result.status != psycopg.pq.ExecStatus.COMMAND_OK:
            raise psycopg.OperationalError(f"the export's COPY failed: {pgconn.get_error_message()}")


def _crlf(lines: list) -> bytes:
    data = b"".join(lines)
    if data.count(b"\n") == len(lines):  # no line break inside a value: every LF ends a line
        return data.replace(b"\n", b"\r\n")
    return b"".join(bytes(line[:-1]) + b"\r\n" for line in lines)


def _joined(pieces: Iterable[bytes], size: int = 65536) -> Iterator[bytes]:
    """The pieces in chunks of about `size` bytes: fewer, larger writes to the client."""
    chunk: list[bytes] = []
    length = 0
    for piece in pieces:
        chunk.append(piece)
        length += len(piece)
        if length >= size:
            yield b"".join(chunk)
            chunk, length = [], 0
    if chunk:
        yield b"".join(chunk)


# Row by row to a file, not all in memory; every string as text: a serial that starts with "=" is
# not a formula billing's Excel would run, nor one that looks like an address a link.
WORKBOOK = {"constant_memory": True, "in_memory": False, "strings_to_formulas": False, "strings_to_urls": False}


def xlsx_file(rows: Iterable[tuple]) -> IO[bytes]:
    """A temporary .xlsx file holding the rows, rewound for reading; deleted when closed."""
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it after sending
    workbook = xlsxwriter.Workbook(file, WORKBOOK)
    sheet = workbook.add_worksheet("readings")
    sheet.write_row(0, 0, COLUMNS)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, row)
    workbook.close()
    file.seek(0)
    return file


def xlsx_batch_file(batch: ExportBatch) -> IO[bytes]:
    """The batch's file as XLSX: a temporary file, rewound for reading; deleted when closed."""
    if connection.vendor == "postgresql":
        return _copied_xlsx(batch)
    return xlsx_file(period_rows(batch.period, batch))


def _cell(column: str, value: str) -> str:
    """SQL for row n's text cell in `column`: NULL when the value is (no cell, as xlsxwriter)."""
    return f"""'<c r="{column}' || n || '" t="inlineStr"><is><t>' || {value} || '</t></is></c>'"""


def _number(column: str, value: str) -> str:
    return f"""'<c r="{column}' || n || '"><v>' || {value} || '</v></c>'"""


# The worksheet's rows as xlsxwriter writes them in constant-memory mode (inline strings, numbers as
# they are, no cell for a missing value), made by PostgreSQL: one line per row, tab-separated, of
# [the row's start and its cells A–C] [the row's number] [the serial, when it needs escaping] [cells
# D–M and the row's end]. The account number, EIC, status and channel need no escaping (the
# database's constraints keep them to digits, letters and dashes), nor do serials of letters, digits,
# dots, slashes and dashes (all in practice); any other serial is escaped in Python (_inline_text).
_PLAIN = "serial ~ '^[0-9A-Za-z./-]+$'"
_COPY_XLSX = f"""
COPY (
    SELECT '<row r="' || n || '">' || {_cell("A", "number")} || coalesce({_cell("B", "eic")}, '')
            || CASE WHEN {_PLAIN} THEN {_cell("C", "serial")} ELSE '' END,
        n,
        CASE WHEN {_PLAIN} THEN NULL ELSE serial END,
        {_number("D", "zones")} || coalesce({_number("E", "value1")}, '')
            || coalesce({_number("F", "value2")}, '') || coalesce({_number("G", "value3")}, '')
            || coalesce({_number("H", "consumption1")}, '') || coalesce({_number("I", "consumption2")}, '')
            || coalesce({_number("J", "consumption3")}, '') || {_cell("K", "status")}
            || {_cell("L", "channel")} || {_cell("M", "submitted_at")} || '</row>'
    FROM (SELECT q.*, row_number() OVER (ORDER BY id) + 1 AS n FROM ({{rows}}) q) numbered
    ORDER BY id -- as numbered: not sorted again
) TO STDOUT
"""  # noqa: S608 - made of the constants above, no input
_SHEET = "xl/worksheets/sheet1.xml"
# PostgreSQL's text format escapes these in a value (COPY's "text format" in its manual).
_TEXT_ESCAPES = {b"\\\\": "\\", b"\\b": "\b", b"\\f": "\f", b"\\n": "\n", b"\\r": "\r", b"\\t": "\t", b"\\v": "\v"}


def _copied_xlsx(batch: ExportBatch) -> IO[bytes]:
    head, tail, parts = _xlsx_skeleton(batch.readings_count)
    statement, params = _copy_statement(_COPY_XLSX, batch)
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it after sending
    # Level 1: a third of the default's time for a file a quarter larger; the cells are the same.
    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for info, data in parts:
            # By name, not ZipInfo: a ZipInfo would bring the default level.
            if info.filename != _SHEET:
                archive.writestr(info.filename, data)
                continue
            with archive.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(head)
                pieces: list[bytes] = []
                for line in _copy_lines(statement, params):
                    start, number, serial, rest = bytes(line[:-1]).split(b"\t")
                    pieces.append(start)
                    if serial != b"\\N":
                        pieces.append(b'<c r="C%s" t="inlineStr">%s</c>' % (number, _inline_text(serial)))
                    pieces.append(rest)
                    if len(pieces) >= 3000:
                        sheet.write(b"".join(pieces))
                        pieces.clear()
                sheet.write(b"".join(pieces))
                sheet.write(tail)
    file.seek(0)
    return file


def _xlsx_skeleton(rows: int) -> tuple[bytes, bytes, list[tuple[zipfile.ZipInfo, bytes]]]:
    """xlsxwriter's workbook with the header row only: its worksheet before and after the rows, with
    the dimension of `rows` rows, and every part of the file."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, WORKBOOK)
    workbook.add_worksheet("readings").write_row(0, 0, COLUMNS)
    workbook.close()
    with zipfile.ZipFile(buffer) as archive:
        parts = [(info, archive.read(info)) for info in archive.infolist()]
    sheet = next(data for info, data in parts if info.filename == _SHEET)
    end = sheet.index(b"</row>") + len(b"</row>")
    last = xl_rowcol_to_cell(rows, len(COLUMNS) - 1)
    head = sheet[:end].replace(b'<dimension ref="A1:M1"/>', f'<dimension ref="A1:{last}"/>'.encode())
    return head, sheet[end:], parts


def _inline_text(escaped: bytes) -> bytes:
    """<is><t>text</t></is> as xlsxwriter writes a string in constant-memory mode, for a value in
    PostgreSQL's text format: control characters as _xHHHH_, leading or trailing whitespace kept."""
    text = re.sub(rb"\\[\\bfnrtv]", lambda m: _TEXT_ESCAPES[m[0]].encode(), escaped).decode()
    text = re.sub(r"(_x[0-9a-fA-F]{4}_)", r"_x005F\1", text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f]", lambda m: f"_x{ord(m[0]):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if re.search(r"^\s|\s$", text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<is><t{space}>{text}</t></is>".encode()


FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def period_response(
    request: HttpRequest, period: dt.date, kind: str, *, exported_by: User, new_only: bool = False
) -> StreamingHttpResponse:
    """The period's readings (or only what is new) as a streamed download and an export batch,
    for the API and the admin alike."""
    batch = export_batch_record(period=period, kind=kind, exported_by=exported_by, new_only=new_only)
    if kind == "xlsx":
        file = xlsx_batch_file(batch)
        chunks = iter(lambda: file.read(64 * 1024), b"")
    else:
        chunks = csv_chunks(batch)
    response = StreamingHttpResponse(_streamed(request, _completing(chunks, batch.pk)), content_type=FORMATS[kind])
    new = "-new" if new_only else ""
    response["Content-Disposition"] = f'attachment; filename="readings-{period:%Y-%m}{new}-{batch.pk}.{kind}"'
    response["X-Export-Batch"] = str(batch.pk)
    response["X-Export-Readings"] = str(batch.readings_count)
    return response


def _completing(chunks: Iterator, batch_id: int) -> Iterator:
    """The chunks, then the batch marked complete; a download that breaks off never gets there."""
    yield from chunks
    export_batch_complete(batch_id=batch_id)


def _streamed(request: HttpRequest, chunks: Iterator) -> Iterator | AsyncIterator:
    """Under ASGI Django reads a plain iterator whole before sending it (a million rows in
    memory); an async iterator that pulls batches from the plain one keeps memory flat."""
    if isinstance(request, ASGIRequest):
        return _in_batches(chunks)
    return chunks


async def _in_batches(chunks: Iterator, size: int = 500, limit: int = 256 * 1024) -> AsyncIterator:
    """Up to `size` chunks or `limit` bytes (or characters) at a time: one thread hop per batch, and
    a batch of 64 KiB chunks is not 30 MiB."""

    def take() -> list:
        batch, length = [], 0
        for chunk in chunks:
            batch.append(chunk)
            length += len(chunk)
            if len(batch) >= size or length >= limit:
                break
        return batch

    while batch := await sync_to_async(take)():
        for chunk in batch:
            yield chunk
