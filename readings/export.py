"""The period's readings for the billing system, as CSV or XLSX, in bounded memory.

Each run is an export batch (readings.services.export_batch_record): the readings are recorded
first, in one statement, and the file is made of exactly the batch's readings. Rows stream
from a server-side cursor; CSV goes out line by line, XLSX is written row by row to a
temporary file (xlsxwriter's constant-memory mode) and sent from it. The batch is marked
complete once the last chunk has gone out. The API and the admin use these same functions.
"""

import csv
import datetime as dt
import itertools
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import IO

import xlsxwriter
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from accounts.models import User
from readings.models import ExportBatch, Reading
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


def xlsx_file(rows: Iterable[tuple]) -> IO[bytes]:
    """A temporary .xlsx file holding the rows, rewound for reading; deleted when closed."""
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it after sending
    workbook = xlsxwriter.Workbook(file, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet("readings")
    sheet.write_row(0, 0, COLUMNS)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, row)
    workbook.close()
    file.seek(0)
    return file


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
    rows = period_rows(period, batch)
    if kind == "xlsx":
        file = xlsx_file(rows)
        chunks = iter(lambda: file.read(64 * 1024), b"")
    else:
        chunks = csv_lines(rows)
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


async def _in_batches(chunks: Iterator, size: int = 500) -> AsyncIterator:
    def take() -> list:
        return list(itertools.islice(chunks, size))

    while batch := await sync_to_async(take)():
        for chunk in batch:
            yield chunk
