"""Master-data CSVs uploaded in admin: kept with the check of every row, imported on purpose."""

import io

from django.db import transaction
from django.utils import timezone

from accounts.errors import UploadAlreadyImported, UploadHasBadRows, UploadTooLarge, UploadUnreadable
from accounts.importing import BadRow, MasterDataFileError, read_master_data
from accounts.masterdata import MasterDataRow, master_data_import
from accounts.models import MasterDataUpload, User

PREVIEW_PROBLEMS = 500
UPLOAD_MAX_BYTES = 50 * 1024 * 1024


def master_data_upload(*, file_name: str, content: bytes, uploaded_by: User) -> MasterDataUpload:
    """Keep an uploaded master-data CSV with the result of checking every row; write no account."""
    if len(content) > UPLOAD_MAX_BYTES:
        raise UploadTooLarge(size=round(len(content) / 2**20), limit=UPLOAD_MAX_BYTES // 2**20)
    good, bad, problems = 0, 0, []
    try:
        for row in _upload_rows(content):
            if isinstance(row, BadRow):
                bad += 1
                if len(problems) < PREVIEW_PROBLEMS:
                    problems.append([row.line, row.reasons])
            else:
                good += 1
    except MasterDataFileError as error:
        raise UploadUnreadable(reason=str(error)) from None
    return MasterDataUpload.objects.create(
        uploaded_by=uploaded_by,
        file_name=file_name[:255],
        content=content,
        good_rows=good,
        bad_rows=bad,
        problems=problems,
    )


def master_data_upload_import(*, upload_id: int, imported_by: User, skip_bad_rows: bool = False) -> int:
    """Import a checked upload: all or nothing, through master_data_import like the command."""
    with transaction.atomic():
        upload = MasterDataUpload.objects.select_for_update().get(pk=upload_id)
        if upload.imported_at is not None:
            raise UploadAlreadyImported(when=timezone.localtime(upload.imported_at).strftime("%d.%m.%Y %H:%M"))
        if upload.bad_rows and not skip_bad_rows:
            raise UploadHasBadRows(count=upload.bad_rows)
        rows = (row for row in _upload_rows(bytes(upload.content)) if isinstance(row, MasterDataRow))
        imported = master_data_import(rows=rows)
        upload.imported_at, upload.imported_rows = timezone.now(), imported
        upload.save(update_fields=["imported_at", "imported_rows"])
    return imported


def _upload_rows(content: bytes):
    # surrogateescape, as the command opens files: a non-UTF-8 line is named by its number.
    text = content.decode("utf-8-sig", errors="surrogateescape")
    return read_master_data(io.StringIO(text, newline=""))
