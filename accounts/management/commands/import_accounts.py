import signal
import threading
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.csv_reader import ENCODINGS, CsvFormatError, open_csv
from accounts.models import JobSource
from accounts.preparation import PreparationEnded

from ._jobs import add_wait_arguments, report

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = (
        "Queue one import job from a CSV with a UserID column and optional Nick and "
        "FaceUrl columns. Invalid rows are skipped and reported with their line "
        "numbers. The whole file is read once before anything is written, so a "
        "file that cannot be read changes nothing."
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
        errors, count = self._check(path, options["encoding"])
        for row in errors:
            self.stderr.write(f"line {row.line}: {row.error}")
        if count > len(errors):
            self.stderr.write(f"… and {count - len(errors)} more invalid rows")
        job = services.job_prepare_create(
            source=JobSource.COMMAND,
            label=path[-255:],
            options={"reimport": options["reimport"]},
        )
        self._fill(job, path, options["encoding"])
        job.refresh_from_db()
        extra = {"invalid_rows": count, **_found(job.options.get("summary", {}))}
        if not job.total:
            self.stdout.write(
                "Nothing to import: every valid row is already imported "
                f"or in a running job (job #{job.pk} ended with nothing to send)."
            )
            return
        report(self, job, options, extra)

    def _check(self, path, encoding):
        """Read the whole file once; return (the first invalid rows, their count).

        Raises CommandError for a file that cannot be read, before anything is
        written: a bad byte on the last line refuses the whole file.
        """
        errors, count = [], 0
        try:
            with open(path, "rb") as stream:
                reader = open_csv(
                    stream, encoding=encoding, max_rows=settings.UPLOAD_MAX_ROWS
                )
                if reader.unknown_columns:
                    ignored = ", ".join(reader.unknown_columns)
                    self.stderr.write(f"ignored columns: {ignored}")
                for row in reader:
                    if row.error:
                        count += 1
                        if len(errors) < SHOWN_ERRORS:
                            errors.append(row)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        except CsvFormatError as exc:
            raise CommandError(f"{path}: {exc}") from None
        return errors, count

    def _fill(self, job, path, encoding):
        """Fill ``job`` from the file in short transactions, then start it.

        On any failure or interruption (Ctrl-C, SIGTERM) the job is stopped with
        a sentence saying why, and its queued items fail: nothing is left
        preparing. A SIGKILL leaves it to the scheduled maintenance, which
        stops it the same way once its heartbeat is stale.
        """
        try:
            with open(path, "rb") as stream, _terminate_as_interrupt():
                reader = open_csv(
                    stream, encoding=encoding, max_rows=settings.UPLOAD_MAX_ROWS
                )
                rows = (row.as_account() for row in reader if not row.error)
                services.job_prepare_rows(job=job, rows=rows)
        except PreparationEnded:
            job.refresh_from_db()
            raise CommandError(
                f"Job #{job.pk} was {job.get_status_display()} while {path} was "
                "being read; nothing more was queued."
            ) from None
        except BaseException as exc:
            reason = _describe(exc)
            services.job_prepare_stop(
                job=job,
                message=(
                    f"import_accounts stopped before it had read all of {path}: "
                    f"{reason} The accounts it had queued are marked failed; "
                    "run the command again."
                )[:500],
            )
            if isinstance(exc, (OSError, CsvFormatError)):
                message = f"{path}: {reason} Job #{job.pk} is stopped."
                raise CommandError(message) from None
            raise


def _found(summary):
    return {
        name: summary.get(name, 0) for name in ("new", "updated", "unchanged", "busy")
    }


def _describe(exc):
    if isinstance(exc, KeyboardInterrupt):
        return "it was interrupted."
    if isinstance(exc, OSError):
        return f"the file could not be read ({exc.strerror or exc})."
    if isinstance(exc, CsvFormatError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}."


@contextmanager
def _terminate_as_interrupt():
    """Turn SIGTERM into KeyboardInterrupt, so the job is stopped, not left behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
