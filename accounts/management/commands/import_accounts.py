"""python manage.py import_accounts FILE.csv [--skip-invalid]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from accounts.importing import BadRow, MasterDataFileError, read_master_data
from accounts.masterdata import MasterDataRow, master_data_import


class Command(BaseCommand):
    help = "Import accounts and meters from the master-data CSV (docs/domain.md). Validates every row first."
    # The system checks import the whole URLconf, the Telegram bot's aiogram with it: about
    # 170 MiB that an import of a million rows has no use for. `manage.py check` still runs them.
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="UTF-8 CSV with a header row")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the good rows even when some rows are bad"
        )

    def handle(self, *args, file: Path, skip_invalid: bool, **options) -> None:
        bad = self._validate(file)
        if bad and not skip_invalid:
            raise CommandError(
                _(
                    "Bad rows: %(bad)s; nothing was imported. "
                    "Fix them, or run again with --skip-invalid to import only the good rows."
                )
                % {"bad": bad}
            )
        imported = master_data_import(rows=self._good_rows(file))
        message = _("Imported rows: %(imported)s.") % {"imported": imported}
        if bad:
            message += " " + _("Bad rows skipped: %(bad)s.") % {"bad": bad}
        self.stdout.write(self.style.SUCCESS(message))

    def _validate(self, file: Path) -> int:
        """First pass: report every bad row; count them."""
        bad = 0
        for row in self._rows(file):
            if isinstance(row, BadRow):
                bad += 1
                self.stderr.write(
                    _("line %(line)s: %(reasons)s") % {"line": row.line, "reasons": "; ".join(row.reasons)}
                )
        return bad

    def _good_rows(self, file: Path):
        return (row for row in self._rows(file) if isinstance(row, MasterDataRow))

    def _rows(self, file: Path):
        try:
            # surrogateescape: read_master_data names the exact line of a non-UTF-8 file
            # (a strict decoder fails a whole block ahead, or on the header of a small file).
            with file.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as lines:
                yield from read_master_data(lines)
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(reason)s.") % {"file": file, "reason": exc.strerror}
            ) from None
        except MasterDataFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
