"""``manage.py import_accounts FILE``: a job from a CSV or an XLSX, or a dry run."""

import hashlib
import json
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from accounts import services
from accounts.models import JobSource
from accounts.pipeline.db import StillLocked
from accounts.services import owners
from accounts.services.preparation import PreparationEnded
from accounts.uploads.preview import COUNTS, preview_stream
from accounts.uploads.reader import ENCODINGS, CsvFormatError, open_rows, read_error

from ._jobs import add_wait_arguments, report
from ._signals import terminate_as_interrupt

SHOWN_ERRORS = 50


@contextmanager
def file_errors(path):
    """A file that cannot be opened or read as rows, as the command's one error."""
    try:
        yield
    except OSError as exc:
        raise CommandError(
            _("Cannot read %(path)s: %(why)s.") % {"path": path, "why": exc.strerror}
        ) from None
    except CsvFormatError as exc:
        raise CommandError(f"{path}: {exc}") from None


class Command(BaseCommand):
    help = (
        "Queue one import job from a CSV (comma, semicolon or tab separated) or "
        "an XLSX with a UserID column and optional Nick and FaceUrl columns. "
        "--dry-run prints what the upload page's preview counts and changes "
        "nothing. The file is checked to be readable as a whole before "
        "anything is written; sending begins with its first rows. Invalid rows "
        "are skipped and reported with their line numbers. A run of the same file "
        "after one that was killed continues that run's job."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--encoding", choices=list(ENCODINGS), default="auto")
        parser.add_argument(
            "--reimport",
            action="store_true",
            help="send accounts already imported even if their profile did not change",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the preview's counts (as the upload page shows them); "
            "change nothing",
        )
        add_wait_arguments(parser)

    def handle(self, *args, path, **options):
        if options["dry_run"]:
            return self._dry_run(path, options["encoding"], options["json"])
        started = time.monotonic()
        digest, rows = self._check(path, options["encoding"])
        job = self._job(path, digest, options["reimport"])
        if options["wait"]:
            self.stderr.write(
                _("Job #%(job)s: reading %(rows)s rows; sending begins now")
                % {"job": job.pk, "rows": f"{rows:,}"}
            )
        invalid = self._fill(job, path, options["encoding"])
        job.refresh_from_db()
        if options["wait"]:
            seconds = time.monotonic() - started
            self.stderr.write(
                _(
                    "Job #%(job)s: read the whole file in %(seconds)s s; "
                    "sending the rest"
                )
                % {"job": job.pk, "seconds": f"{seconds:.1f}"}
            )
        extra = {"invalid_rows": invalid, **_found(job.options.get("summary", {}))}
        if not job.total:
            self.stdout.write(
                _(
                    "Nothing to import: every valid row is already imported "
                    "or in a running job (job #%(job)s ended with nothing to send)."
                )
                % {"job": job.pk}
            )
            return
        report(self, job, options, extra)

    def _dry_run(self, path, encoding, as_json):
        """The upload page's preview of the file, printed; nothing is written."""
        with file_errors(path), open(path, "rb") as stream:
            read_as, summary = preview_stream(stream, encoding)
        counts = {name: summary[name] for name in (*COUNTS, "to_send")}
        if as_json:
            self.stdout.write(json.dumps({"read_as": read_as, **counts}))
            return
        self.stdout.write(
            _("Dry run of %(path)s (read as %(read_as)s); nothing changed:")
            % {"path": path, "read_as": read_as}
        )
        for name, value in counts.items():
            self.stdout.write(f"  {name}: {value}")
        for row in summary["invalid_sample"]:
            self.stderr.write(
                _("line %(line)s: %(why)s") % {"line": row["line"], "why": row["error"]}
            )

    def _job(self, path, digest, reimport):
        """The dead earlier run's job on this file, or a new one."""
        job = services.command_job_to_continue(
            path=path, sha256=digest, reimport=reimport
        )
        if job is not None:
            self.stderr.write(
                _(
                    "Continuing job #%(job)s: an earlier run of this command on the "
                    "same file did not finish (its process is gone)."
                )
                % {"job": job.pk}
            )
            return job
        return services.job_prepare_create(
            source=JobSource.COMMAND,
            label=path[-255:],
            options={
                "reimport": reimport,
                "file_sha256": digest,
                "owner": owners.owner_record(),
            },
        )

    def _check(self, path, encoding):
        """Check the whole file can be read; return (its SHA-256, its data rows).

        Raises CommandError for a file that cannot be read, before anything is
        written: a bad byte on the last line refuses the whole file. Rows are
        not validated here (invalid ones are skipped and reported while the
        file is read into the job).
        """
        with file_errors(path), open(path, "rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
            stream.seek(0)
            reader = open_rows(
                stream, encoding=encoding, max_rows=settings.UPLOAD_MAX_ROWS
            )
            if reader.unknown_columns:
                ignored = ", ".join(reader.unknown_columns)
                self.stderr.write(_("ignored columns: %(names)s") % {"names": ignored})
            return digest, reader.scan()

    def _fill(self, job, path, encoding):
        """Fill ``job`` from the file in short transactions; the invalid row count.

        On a failure or an interruption (Ctrl-C, SIGTERM) the job is stopped
        with a sentence saying why: what it had queued goes back to pending,
        nothing is marked failed. A SIGKILL leaves it to a rerun of the command
        (which continues the job) or to the scheduled maintenance.
        """
        invalid = InvalidRows()
        try:
            with open(path, "rb") as stream, terminate_as_interrupt():
                reader = open_rows(
                    stream,
                    encoding=encoding,
                    max_rows=settings.UPLOAD_MAX_ROWS,
                    find_duplicates=False,  # found by the job itself: memory stays flat
                )
                services.job_prepare_rows(
                    job=job, rows=invalid.filter(reader), on_duplicate=invalid.duplicate
                )
        except PreparationEnded:
            job.refresh_from_db()
            raise CommandError(
                _(
                    "Job #%(job)s was %(status)s while %(path)s was being read; "
                    "nothing more was queued."
                )
                % {"job": job.pk, "status": job.get_status_display(), "path": path}
            ) from None
        except BaseException as exc:
            self._stop(job, path, exc)
            raise
        finally:
            invalid.print(self.stderr)
        return invalid.count

    def _stop(self, job, path, exc):
        reason = _describe(exc)
        message = (
            f"import_accounts stopped before it had read all of {path}: {reason} "
            "The accounts it had queued and not yet sent are back to pending; "
            "run the command again."
        )
        # The interruption may have come mid-transaction, even between SQLite's
        # BEGIN and Django taking note of it: stop the job on a fresh connection.
        connection.close()
        try:
            services.job_prepare_stop(job=job, message=message[:500])
        except StillLocked:
            pass  # the maintenance ends it once the database can be written
        if isinstance(exc, (OSError, CsvFormatError, StillLocked)):
            raise CommandError(
                _("%(path)s: %(why)s Job #%(job)s is stopped.")
                % {"path": path, "why": reason, "job": job.pk}
            ) from None


class InvalidRows:
    """The invalid rows met while reading: counted, the first few kept to show."""

    def __init__(self):
        self.count, self.shown = 0, []

    def filter(self, reader):
        """The valid rows of ``reader`` as account dicts; the others are kept."""
        for row in reader:
            if not row.error:
                yield row.as_account()
                continue
            self._keep(row.line, row.error)

    def duplicate(self, row, first_line):
        """A row the job left out: its UserID came on ``first_line`` already."""
        where = f"line {first_line}" if first_line else "an earlier line"
        self._keep(row["line"], f"Duplicate of {where}.")

    def _keep(self, line, error):
        self.count += 1
        if len(self.shown) < SHOWN_ERRORS:
            self.shown.append((line, error))

    def print(self, stream):
        for line, error in sorted(self.shown):
            stream.write(f"line {line}: {error}")
        if self.count > len(self.shown):
            stream.write(f"… and {self.count - len(self.shown)} more invalid rows")


def _found(summary):
    return {
        name: summary.get(name, 0) for name in ("new", "updated", "unchanged", "busy")
    }


def _describe(exc):
    if isinstance(exc, KeyboardInterrupt):
        return "it was interrupted."
    if isinstance(exc, StillLocked):
        return "the database stayed locked for too long; try again later."
    return read_error(exc, "the file")
