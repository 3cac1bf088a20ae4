from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.csv_reader import ENCODINGS, CsvFormatError, open_csv
from accounts.models import JobSource

from ._jobs import add_wait_arguments, report

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = (
        "Queue one import job from a CSV with a UserID column and optional Nick and "
        "FaceUrl columns. Invalid rows are skipped and reported with their line "
        "numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--encoding", choices=list(ENCODINGS), default="auto")
        parser.add_argument(
            "--reimport",
            action="store_true",
            help="send accounts already imported even if their profile did not change",
        )
        add_wait_arguments(parser)

    def handle(self, *args, path, **options):
        try:
            with open(path, "rb") as stream:
                job, summary, errors = self._import(stream, path, options)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        except CsvFormatError as exc:
            raise CommandError(f"{path}: {exc}") from None
        for row in errors[:SHOWN_ERRORS]:
            self.stderr.write(f"line {row.line}: {row.error}")
        if len(errors) > SHOWN_ERRORS:
            self.stderr.write(f"… and {len(errors) - SHOWN_ERRORS} more invalid rows")
        extra = {
            "invalid_rows": len(errors),
            "new": summary.new,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "busy": summary.busy,
        }
        if job is None:
            self.stdout.write(
                "Nothing to import: every valid row is already imported "
                "or in a running job."
            )
            return
        report(self, job, options, extra)

    def _import(self, stream, path, options):
        reader = open_csv(
            stream, encoding=options["encoding"], max_rows=settings.UPLOAD_MAX_ROWS
        )
        if reader.unknown_columns:
            self.stderr.write(f"ignored columns: {', '.join(reader.unknown_columns)}")
        errors = []

        def valid_rows():
            for row in reader:
                if row.error:
                    errors.append(row)
                else:
                    yield row.as_account()

        job, summary = services.accounts_import_rows(
            rows=valid_rows(),
            source=JobSource.COMMAND,
            label=path[-255:],
            options={"reimport": options["reimport"]},
        )
        return job, summary, errors
